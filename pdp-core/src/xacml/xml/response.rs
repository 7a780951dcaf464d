//! Writing an XACML 3.0 `<Response>` (core schema `wd-17`) as XML.
//!
//! The writer appends to a caller-supplied `String`, so a server can reuse one buffer per
//! connection; values are written through an escaping [`fmt::Write`] adapter and are never
//! formatted into an intermediate string. Elements follow the schema's order: `Decision`,
//! `Status`, `Obligations`, `AssociatedAdvice`, `Attributes`, `PolicyIdentifierList`.
//!
//! Values of the HL7 v3 extension types are written as their elements
//! (`<v3:InstanceIdentifier root=".." extension=".."/>`, `<v3:CodedValue code=".."
//! codeSystem=".."/>`), with the `v3` prefix declared once on `<Response>`, as the closed
//! question's answer (domain model 2.9) shows it.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::sync::Arc;

use arrayvec::ArrayVec;

use quick_xml::escape::{escape, partial_escape};

use super::request::XACML_NS;
use crate::xacml::hl7::HL7_NS;
use crate::xacml::request::RequestCategory;
use crate::xacml::response::{
    AttributeAssignment, Decision, DecisionResult, DecisionView, PolicyAction, PolicyIdentifier,
    PolicyKind, Response, Status,
};
use crate::xacml::value::Value;

/// Appends `response` to `out` as an XML document with declaration and the `wd-17` namespace.
pub fn write_response(response: &Response, out: &mut String) {
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    write_response_element(response, out);
}

/// Appends the `<Response>` element alone (no XML declaration), for embedding in an envelope
/// such as the SOAP Body of the closed question's answer. It declares its own default
/// namespace (`wd-17`) and the `v3` prefix of the HL7 namespace.
pub fn write_response_element(response: &Response, out: &mut String) {
    write_results_element(&response.results, out);
}

/// [`write_response_element`] for results that need not be collected into a [`Response`]
/// first: owned [`DecisionResult`]s or borrowed [`DecisionView`]s, for example decided one by
/// one while writing. Same bytes for the same results.
pub fn write_results_element<R: WritableResult>(
    results: impl IntoIterator<Item = R>,
    out: &mut String,
) {
    out.push_str("<Response xmlns=\"");
    out.push_str(XACML_NS);
    out.push_str("\" xmlns:v3=\"");
    out.push_str(HL7_NS);
    out.push_str("\">\n");
    let mut repeats = Repeats::default();
    for result in results {
        write_result(&result.parts(), &mut repeats, out);
    }
    out.push_str("</Response>\n");
}

/// The elements a response repeats, written once and copied after: the individual decisions
/// of one request share their echoed categories (the closed question's patient and holder are
/// in every result) and often their obligations and advice (compiled constants). Only items
/// shared at the time of writing (more than one reference) are kept, so a one-off item is
/// written straight to the output. Each kept item is held by a clone of its `Arc`, so its
/// address, the key, cannot be reused by another item while the response is written.
#[derive(Default)]
struct Repeats {
    /// The kept items' text, one after the other.
    text: String,
    categories: Seen<RequestCategory>,
    obligations: Seen<PolicyAction>,
    advice: Seen<PolicyAction>,
}

/// The kept items of one kind and where their text lies in [`Repeats::text`].
struct Seen<T>(ArrayVec<(Arc<T>, Range<usize>), 8>);

impl<T> Default for Seen<T> {
    fn default() -> Self {
        Seen(ArrayVec::new())
    }
}

impl<T> Seen<T> {
    /// Appends what `write_item` writes for `item`, copied from `text` when `item` was written
    /// before in this response.
    fn write(
        &mut self,
        item: &Arc<T>,
        text: &mut String,
        out: &mut String,
        write_item: impl FnOnce(&T, &mut String),
    ) {
        if Arc::strong_count(item) == 1 {
            return write_item(item, out);
        }
        if let Some((_, range)) = self.0.iter().find(|(seen, _)| Arc::ptr_eq(seen, item)) {
            return out.push_str(text.get(range.clone()).unwrap_or_default());
        }
        let start = out.len();
        write_item(item, out);
        if !self.0.is_full() {
            let written = out.get(start..).unwrap_or_default();
            let kept = text.len()..text.len() + written.len();
            text.push_str(written);
            self.0.push((item.clone(), kept));
        }
    }
}

/// A result the writer can write: an owned [`DecisionResult`] or a borrowed [`DecisionView`].
pub trait WritableResult {
    /// The parts of the result, borrowed.
    fn parts(&self) -> ResultParts<'_>;
}

/// What [`write_result`] reads of a result, borrowed.
pub struct ResultParts<'a> {
    decision: Decision,
    status: &'a Status,
    obligations: &'a [Arc<PolicyAction>],
    advice: &'a [Arc<PolicyAction>],
    attributes: &'a [Arc<RequestCategory>],
    policy_identifiers: Option<&'a [PolicyIdentifier]>,
}

impl WritableResult for &DecisionResult {
    fn parts(&self) -> ResultParts<'_> {
        ResultParts {
            decision: self.decision,
            status: &self.status,
            obligations: &self.obligations,
            advice: &self.advice,
            attributes: &self.attributes,
            policy_identifiers: self.policy_identifiers.as_deref(),
        }
    }
}

impl WritableResult for DecisionView<'_> {
    fn parts(&self) -> ResultParts<'_> {
        ResultParts {
            decision: self.decision,
            status: &self.status,
            obligations: &self.obligations,
            advice: &self.advice,
            attributes: self.attributes,
            policy_identifiers: self.policy_identifiers.as_deref(),
        }
    }
}

fn write_result(result: &ResultParts<'_>, repeats: &mut Repeats, out: &mut String) {
    out.push_str("  <Result>\n    <Decision>");
    out.push_str(result.decision.as_str());
    out.push_str("</Decision>\n");
    write_status(result.status, out);
    write_actions(
        result.obligations,
        Kind::OBLIGATION,
        &mut repeats.obligations,
        &mut repeats.text,
        out,
    );
    write_actions(
        result.advice,
        Kind::ADVICE,
        &mut repeats.advice,
        &mut repeats.text,
        out,
    );
    for category in result.attributes {
        repeats
            .categories
            .write(category, &mut repeats.text, out, write_attributes);
    }
    if let Some(ids) = result.policy_identifiers {
        write_policy_identifiers(ids, out);
    }
    out.push_str("  </Result>\n");
}

fn write_status(status: &Status, out: &mut String) {
    out.push_str("    <Status>\n      <StatusCode Value=\"");
    out.push_str(status.code.uri());
    out.push_str("\"/>\n");
    if let Some(message) = &status.message {
        out.push_str("      <StatusMessage>");
        push_text(message, out);
        out.push_str("</StatusMessage>\n");
    }
    if !status.missing_attributes.is_empty() {
        out.push_str("      <StatusDetail>\n");
        for missing in &status.missing_attributes {
            out.push_str("        <MissingAttributeDetail");
            push_attr(" Category=\"", &missing.category, out);
            push_attr(" AttributeId=\"", &missing.attribute_id, out);
            push_trusted_attr(" DataType=\"", missing.datatype.uri(), out);
            if let Some(issuer) = &missing.issuer {
                push_attr(" Issuer=\"", issuer, out);
            }
            out.push_str("/>\n");
        }
        out.push_str("      </StatusDetail>\n");
    }
    out.push_str("    </Status>\n");
}

/// The element names of obligations or advice.
struct Kind {
    list: &'static str,
    element: &'static str,
    id_attribute: &'static str,
}

impl Kind {
    const OBLIGATION: Kind = Kind {
        list: "Obligations",
        element: "Obligation",
        id_attribute: " ObligationId=\"",
    };
    const ADVICE: Kind = Kind {
        list: "AssociatedAdvice",
        element: "Advice",
        id_attribute: " AdviceId=\"",
    };
}

fn write_actions(
    actions: &[Arc<PolicyAction>],
    kind: Kind,
    seen: &mut Seen<PolicyAction>,
    text: &mut String,
    out: &mut String,
) {
    if actions.is_empty() {
        return;
    }
    out.push_str("    <");
    out.push_str(kind.list);
    out.push_str(">\n");
    for action in actions {
        seen.write(action, text, out, |action, out| {
            write_action(action, &kind, out)
        });
    }
    out.push_str("    </");
    out.push_str(kind.list);
    out.push_str(">\n");
}

fn write_action(action: &PolicyAction, kind: &Kind, out: &mut String) {
    out.push_str("      <");
    out.push_str(kind.element);
    push_attr(kind.id_attribute, &action.id, out);
    if action.assignments.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for assignment in action.assignments.iter() {
        write_assignment(assignment, out);
    }
    out.push_str("      </");
    out.push_str(kind.element);
    out.push_str(">\n");
}

fn write_assignment(assignment: &AttributeAssignment, out: &mut String) {
    out.push_str("        <AttributeAssignment");
    push_attr(" AttributeId=\"", &assignment.attribute_id, out);
    if let Some(category) = &assignment.category {
        push_attr(" Category=\"", category, out);
    }
    if let Some(issuer) = &assignment.issuer {
        push_attr(" Issuer=\"", issuer, out);
    }
    push_value_attrs_and_text(&assignment.value, out);
    out.push_str("</AttributeAssignment>\n");
}

fn write_attributes(category: &RequestCategory, out: &mut String) {
    out.push_str("    <Attributes Category=\"");
    push_attr_value(&category.category, out);
    if let Some(id) = &category.xml_id {
        out.push_str("\" xml:id=\"");
        push_attr_value(id, out);
    }
    if category.attributes.is_empty() {
        out.push_str("\"/>\n");
        return;
    }
    out.push_str("\">\n");
    for attribute in &category.attributes {
        out.push_str("      <Attribute AttributeId=\"");
        push_attr_value(&attribute.id, out);
        if let Some(issuer) = &attribute.issuer {
            out.push_str("\" Issuer=\"");
            push_attr_value(issuer, out);
        }
        out.push_str("\" IncludeInResult=\"true\">\n");
        for value in &attribute.values {
            out.push_str("        <AttributeValue");
            push_value_attrs_and_text(value, out);
            out.push_str("</AttributeValue>\n");
        }
        out.push_str("      </Attribute>\n");
    }
    out.push_str("    </Attributes>\n");
}

fn write_policy_identifiers(ids: &[PolicyIdentifier], out: &mut String) {
    if ids.is_empty() {
        out.push_str("    <PolicyIdentifierList/>\n");
        return;
    }
    out.push_str("    <PolicyIdentifierList>\n");
    for id in ids {
        let element = match id.kind {
            PolicyKind::Policy => "PolicyIdReference",
            PolicyKind::PolicySet => "PolicySetIdReference",
        };
        out.push_str("      <");
        out.push_str(element);
        push_attr(" Version=\"", &id.version, out);
        out.push('>');
        push_text(&id.id, out);
        out.push_str("</");
        out.push_str(element);
        out.push_str(">\n");
    }
    out.push_str("    </PolicyIdentifierList>\n");
}

/// Writes ` DataType="..."` (and `XPathCategory` for XPath expressions), closes the start tag and
/// writes the value's lexical form as text.
fn push_value_attrs_and_text(value: &Value, out: &mut String) {
    if let Value::XPathExpression { category, path } = value {
        push_trusted_attr(" DataType=\"", value.datatype().uri(), out);
        push_attr(" XPathCategory=\"", category, out);
        out.push('>');
        push_text(path, out);
        return;
    }
    out.push_str(" DataType=\"");
    out.push_str(value.datatype().uri());
    // The constant runs between the values are pushed whole.
    match value {
        Value::Ii(ii) => {
            out.push_str("\"><v3:InstanceIdentifier root=\"");
            push_attr_value(ii.root(), out);
            out.push_str("\" extension=\"");
            push_attr_value(ii.extension(), out);
            if let Some(aan) = ii.assigning_authority_name() {
                out.push_str("\" assigningAuthorityName=\"");
                push_attr_value(aan, out);
            }
            out.push_str("\"/>");
        }
        Value::Cv(cv) => {
            out.push_str("\"><v3:CodedValue code=\"");
            push_attr_value(cv.code(), out);
            out.push_str("\" codeSystem=\"");
            push_attr_value(cv.code_system(), out);
            if let Some(display) = cv.display_name() {
                out.push_str("\" displayName=\"");
                push_attr_value(display, out);
            }
            out.push_str("\"/>");
        }
        // Strings are the common case: escape them directly, without the formatter.
        Value::String(s) | Value::AnyUri(s) => {
            out.push_str("\">");
            push_text(s, out);
        }
        _ => {
            out.push_str("\">");
            let _ = write!(EscapedText(out), "{value}");
        }
    }
}

/// Appends ` name="value"` with the value escaped for a double-quoted attribute; `lead` is
/// the constant part ` name="`.
fn push_attr(lead: &str, value: &str, out: &mut String) {
    out.push_str(lead);
    push_attr_value(value, out);
    out.push('"');
}

/// [`push_attr`] for a value that never needs escaping (a data type URI of the engine).
fn push_trusted_attr(lead: &str, value: &str, out: &mut String) {
    debug_assert!(!needs_escape(value.as_bytes(), false));
    out.push_str(lead);
    out.push_str(value);
    out.push('"');
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of some byte is set when that byte of `x` is zero (exact as a yes/no).
#[inline(always)]
fn zero_mask(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Marks for the bytes of `x` that might need escaping (see [`needs_escape`]); zero when none.
#[inline(always)]
fn special_mask(x: u64, text: bool) -> u64 {
    // Some byte below 0x20 (exact as a yes/no for any bound up to 0x80).
    let ctl = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    // `<` (0x3C) and `>` (0x3E) differ in bit 1 alone, and no other byte ORed with that bit
    // gives 0x3E: one test finds both. Likewise `&` (0x26) and `'` (0x27) in bit 0.
    let angles = zero_mask((x | (ONES * 0x02)) ^ (ONES * u64::from(b'>')));
    if text {
        ctl | angles | zero_mask(x ^ (ONES * u64::from(b'&')))
    } else {
        let amp_or_apos = zero_mask((x | ONES) ^ (ONES * u64::from(b'\'')));
        ctl | angles | amp_or_apos | zero_mask(x ^ (ONES * u64::from(b'"')))
    }
}

/// Whether `bytes` hold a byte that might need escaping: `&`, `<`, `>`, any control byte
/// (tab, line ends and the rest), and in attribute values (`!text`) quotes. Eight bytes at a
/// time, without a branch per byte; a control byte other than tab and line ends sends the
/// value through the escaping path, which copies it unchanged, so the answer only errs on the
/// safe side.
#[inline]
pub(crate) fn needs_escape(bytes: &[u8], text: bool) -> bool {
    let mut marks = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        marks |= special_mask(u64::from_le_bytes(word), text);
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return marks != 0;
    }
    // The tail: the last eight bytes again when there are eight (re-reading a few is
    // harmless for a yes/no answer); otherwise the bytes shifted into a word padded with a
    // neutral byte, in registers. (Copying the tail into a padded stack buffer and loading
    // it as one word stalls: the narrower stores cannot forward to the wider load.)
    let tail = match bytes.len().checked_sub(8).and_then(|at| bytes.get(at..)) {
        Some(last) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(last);
            u64::from_le_bytes(word)
        }
        None => rest
            .iter()
            .enumerate()
            .fold(u64::from_le_bytes([b'a'; 8]), |w, (i, &b)| {
                let shift = 8 * i as u32;
                (w & !(0xff << shift)) | (u64::from(b) << shift)
            }),
    };
    marks |= special_mask(tail, text);
    marks != 0
}

/// Escapes `&`, `<`, `>`, quotes, and the whitespace characters that attribute-value
/// normalisation would otherwise turn into spaces.
fn push_attr_value(value: &str, out: &mut String) {
    // Nearly every value (ids, OIDs, codes) needs no escaping: one word scan, then a copy.
    if !needs_escape(value.as_bytes(), false) {
        out.push_str(value);
        return;
    }
    let escaped = escape(value);
    if escaped.contains(['\n', '\r', '\t']) {
        for c in escaped.chars() {
            match c {
                '\n' => out.push_str("&#xA;"),
                '\r' => out.push_str("&#xD;"),
                '\t' => out.push_str("&#x9;"),
                c => out.push(c),
            }
        }
    } else {
        out.push_str(&escaped);
    }
}

/// Escapes `&`, `<`, `>` for element text, and `\r`, which XML parsers would otherwise turn
/// into `\n`.
fn push_text(text: &str, out: &mut String) {
    if !needs_escape(text.as_bytes(), true) {
        out.push_str(text);
        return;
    }
    let escaped = partial_escape(text);
    if escaped.contains('\r') {
        out.push_str(&escaped.replace('\r', "&#xD;"));
    } else {
        out.push_str(&escaped);
    }
}

/// A [`fmt::Write`] that escapes everything written through it as element text.
struct EscapedText<'a>(&'a mut String);

impl fmt::Write for EscapedText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_text(s, self.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::xacml::datatype::DataType;
    use crate::xacml::request::RequestAttribute;
    use crate::xacml::response::{Decision, MissingAttributeDetail, StatusCode};

    const SUBJECT: &str = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject";

    fn string(s: &str) -> Value {
        Value::String(Arc::from(s))
    }

    fn written(response: &Response) -> String {
        let mut out = String::new();
        write_response(response, &mut out);
        out
    }

    fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
        node.children()
            .find(|c| c.has_tag_name((XACML_NS, name)))
            .unwrap_or_else(|| panic!("no <{name}> in <{}>", node.tag_name().name()))
    }

    fn children<'a, 'i>(
        node: roxmltree::Node<'a, 'i>,
        name: &'static str,
    ) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
        node.children()
            .filter(move |c| c.has_tag_name((XACML_NS, name)))
    }

    fn full_result() -> DecisionResult {
        let mut status = Status::new(StatusCode::MissingAttribute, "need <role> & \"dept\"");
        status.missing_attributes.push(MissingAttributeDetail {
            category: Arc::from(SUBJECT),
            attribute_id: Arc::from("urn:test:role"),
            datatype: DataType::String,
            issuer: Some(Arc::from("hr")),
        });
        let mut result = DecisionResult::new(Decision::Permit, status);
        result.obligations.push(Arc::new(PolicyAction {
            id: Arc::from("urn:test:obligation:notify"),
            assignments: vec![
                AttributeAssignment {
                    attribute_id: Arc::from("urn:test:text"),
                    category: Some(Arc::from(SUBJECT)),
                    issuer: Some(Arc::from("a\"b")),
                    value: string("x < y && z > 'w'\r\n"),
                },
                AttributeAssignment {
                    attribute_id: Arc::from("urn:test:count"),
                    category: None,
                    issuer: None,
                    value: Value::Integer(-7),
                },
                AttributeAssignment {
                    attribute_id: Arc::from("urn:test:path"),
                    category: None,
                    issuer: None,
                    value: Value::XPathExpression {
                        category: Arc::from(SUBJECT),
                        path: Arc::from("//a[@b < 3]"),
                    },
                },
            ]
            .into(),
        }));
        result.obligations.push(Arc::new(PolicyAction {
            id: Arc::from("urn:test:obligation:empty"),
            assignments: Arc::new([]),
        }));
        result.advice.push(Arc::new(PolicyAction {
            id: Arc::from("urn:test:advice"),
            assignments: vec![AttributeAssignment {
                attribute_id: Arc::from("urn:test:flag"),
                category: None,
                issuer: None,
                value: Value::Boolean(true),
            }]
            .into(),
        }));
        Arc::make_mut(&mut result.attributes).push(Arc::new(RequestCategory {
            category: Arc::from(SUBJECT),
            xml_id: Some(Arc::from("s1")),
            has_content: false,
            attributes: vec![RequestAttribute {
                id: Arc::from("urn:test:name"),
                issuer: Some(Arc::from("hospital")),
                include_in_result: true,
                values: vec![string("Julius"), string("Hibbert\tMD")].into(),
            }],
        }));
        result.policy_identifiers = Some(vec![
            PolicyIdentifier {
                kind: PolicyKind::Policy,
                id: Arc::from("urn:test:policy&1"),
                version: Arc::from("1.0"),
            },
            PolicyIdentifier {
                kind: PolicyKind::PolicySet,
                id: Arc::from("urn:test:set"),
                version: Arc::from("2.1"),
            },
        ]);
        result
    }

    #[test]
    fn minimal_response() {
        let response = Response {
            results: vec![DecisionResult::new(Decision::NotApplicable, Status::ok())],
        };
        let text = written(&response);
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        let doc = roxmltree::Document::parse(&text).unwrap();
        let root = doc.root_element();
        assert!(root.has_tag_name((XACML_NS, "Response")));
        let result = child(root, "Result");
        assert_eq!(child(result, "Decision").text(), Some("NotApplicable"));
        let status = child(result, "Status");
        assert_eq!(
            child(status, "StatusCode").attribute("Value"),
            Some("urn:oasis:names:tc:xacml:1.0:status:ok")
        );
        assert_eq!(children(status, "StatusMessage").count(), 0);
        for absent in [
            "Obligations",
            "AssociatedAdvice",
            "Attributes",
            "PolicyIdentifierList",
        ] {
            assert_eq!(children(result, absent).count(), 0, "{absent}");
        }
    }

    #[test]
    fn every_element_round_trips_through_a_parser() {
        let response = Response {
            results: vec![
                full_result(),
                DecisionResult::new(
                    Decision::Indeterminate,
                    Status::new(StatusCode::SyntaxError, "bad"),
                ),
            ],
        };
        let text = written(&response);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let results: Vec<_> = children(doc.root_element(), "Result").collect();
        assert_eq!(results.len(), 2);
        let result = results[0];
        assert_eq!(child(result, "Decision").text(), Some("Permit"));

        let status = child(result, "Status");
        assert_eq!(
            child(status, "StatusCode").attribute("Value"),
            Some(StatusCode::MissingAttribute.uri())
        );
        assert_eq!(
            child(status, "StatusMessage").text(),
            Some("need <role> & \"dept\"")
        );
        let detail = child(child(status, "StatusDetail"), "MissingAttributeDetail");
        assert_eq!(detail.attribute("Category"), Some(SUBJECT));
        assert_eq!(detail.attribute("AttributeId"), Some("urn:test:role"));
        assert_eq!(detail.attribute("DataType"), Some(DataType::String.uri()));
        assert_eq!(detail.attribute("Issuer"), Some("hr"));

        let obligations: Vec<_> = children(child(result, "Obligations"), "Obligation").collect();
        assert_eq!(obligations.len(), 2);
        assert_eq!(
            obligations[0].attribute("ObligationId"),
            Some("urn:test:obligation:notify")
        );
        let assignments: Vec<_> = children(obligations[0], "AttributeAssignment").collect();
        assert_eq!(assignments.len(), 3);
        assert_eq!(
            assignments[0].attribute("AttributeId"),
            Some("urn:test:text")
        );
        assert_eq!(assignments[0].attribute("Category"), Some(SUBJECT));
        assert_eq!(assignments[0].attribute("Issuer"), Some("a\"b"));
        assert_eq!(
            assignments[0].attribute("DataType"),
            Some(DataType::String.uri())
        );
        assert_eq!(assignments[0].text(), Some("x < y && z > 'w'\r\n"));
        assert_eq!(assignments[1].attribute("Category"), None);
        assert_eq!(assignments[1].attribute("Issuer"), None);
        assert_eq!(
            assignments[1].attribute("DataType"),
            Some(DataType::Integer.uri())
        );
        assert_eq!(assignments[1].text(), Some("-7"));
        assert_eq!(
            assignments[2].attribute("DataType"),
            Some(DataType::XPathExpression.uri())
        );
        assert_eq!(assignments[2].attribute("XPathCategory"), Some(SUBJECT));
        assert_eq!(assignments[2].text(), Some("//a[@b < 3]"));
        assert_eq!(children(obligations[1], "AttributeAssignment").count(), 0);

        let advice = child(child(result, "AssociatedAdvice"), "Advice");
        assert_eq!(advice.attribute("AdviceId"), Some("urn:test:advice"));
        let flag = child(advice, "AttributeAssignment");
        assert_eq!(flag.attribute("DataType"), Some(DataType::Boolean.uri()));
        assert_eq!(flag.text(), Some("true"));

        let attributes = child(result, "Attributes");
        assert_eq!(attributes.attribute("Category"), Some(SUBJECT));
        assert_eq!(
            attributes.attribute(("http://www.w3.org/XML/1998/namespace", "id")),
            Some("s1")
        );
        let attribute = child(attributes, "Attribute");
        assert_eq!(attribute.attribute("AttributeId"), Some("urn:test:name"));
        assert_eq!(attribute.attribute("Issuer"), Some("hospital"));
        assert_eq!(attribute.attribute("IncludeInResult"), Some("true"));
        let values: Vec<_> = children(attribute, "AttributeValue")
            .map(|v| v.text().unwrap_or(""))
            .collect();
        assert_eq!(values, ["Julius", "Hibbert\tMD"]);

        let list: Vec<_> = child(result, "PolicyIdentifierList")
            .children()
            .filter(|n| n.is_element())
            .map(|n| {
                (
                    n.tag_name().name(),
                    n.attribute("Version").unwrap_or(""),
                    n.text().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            list,
            [
                ("PolicyIdReference", "1.0", "urn:test:policy&1"),
                ("PolicySetIdReference", "2.1", "urn:test:set"),
            ]
        );

        assert_eq!(child(results[1], "Decision").text(), Some("Indeterminate"));
    }

    #[test]
    fn schema_order_of_result_children() {
        let text = written(&Response {
            results: vec![full_result()],
        });
        let doc = roxmltree::Document::parse(&text).unwrap();
        let result = child(doc.root_element(), "Result");
        let names: Vec<_> = result
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(
            names,
            [
                "Decision",
                "Status",
                "Obligations",
                "AssociatedAdvice",
                "Attributes",
                "PolicyIdentifierList"
            ]
        );
    }

    #[test]
    fn attribute_values_with_newlines_and_tabs_survive() {
        let mut out = String::new();
        push_attr(" A=\"", "a\nb\tc\rd<\"&'", &mut out);
        assert_eq!(out, " A=\"a&#xA;b&#x9;c&#xD;d&lt;&quot;&amp;&apos;\"");
        let element = format!("<x{out}/>");
        let doc = roxmltree::Document::parse(&element).unwrap();
        assert_eq!(doc.root_element().attribute("A"), Some("a\nb\tc\rd<\"&'"));
    }

    #[test]
    fn hl7_values_are_written_as_elements() {
        let mut result = DecisionResult::new(Decision::Permit, Status::ok());
        Arc::make_mut(&mut result.attributes).push(Arc::new(RequestCategory {
            category: Arc::from("urn:oasis:names:tc:xacml:3.0:attribute-category:resource"),
            xml_id: None,
            has_content: false,
            attributes: vec![RequestAttribute {
                id: Arc::from("urn:oasis:names:tc:xacml:2.0:resource:resource-id"),
                issuer: None,
                include_in_result: true,
                values: vec![Value::ii("2.16.840.1.113883.2.4.6.3", "999990019", None)].into(),
            }],
        }));
        result.obligations.push(Arc::new(PolicyAction {
            id: Arc::from("urn:test:notify"),
            assignments: vec![AttributeAssignment {
                attribute_id: Arc::from("urn:test:purpose"),
                category: None,
                issuer: None,
                value: Value::cv(
                    "ETREAT",
                    "2.16.840.1.113883.1.11.20448",
                    Some("nood & spoed"),
                ),
            }]
            .into(),
        }));
        let text = written(&Response {
            results: vec![result],
        });
        let doc = roxmltree::Document::parse(&text).unwrap();
        let result = child(doc.root_element(), "Result");
        let value = child(
            child(child(result, "Attributes"), "Attribute"),
            "AttributeValue",
        );
        assert_eq!(value.attribute("DataType"), Some("urn:hl7-org:v3#II"));
        let ii = value.first_element_child().unwrap();
        assert!(ii.has_tag_name((HL7_NS, "InstanceIdentifier")));
        assert_eq!(ii.attribute("root"), Some("2.16.840.1.113883.2.4.6.3"));
        assert_eq!(ii.attribute("extension"), Some("999990019"));
        let assignment = child(
            child(child(result, "Obligations"), "Obligation"),
            "AttributeAssignment",
        );
        let cv = assignment.first_element_child().unwrap();
        assert!(cv.has_tag_name((HL7_NS, "CodedValue")));
        assert_eq!(cv.attribute("code"), Some("ETREAT"));
        assert_eq!(cv.attribute("displayName"), Some("nood & spoed"));
        // And the request parser reads the written value back.
        let back = crate::xacml::value::Value::from_xml_element(
            crate::xacml::datatype::DataType::Hl7Cv,
            cv,
        )
        .unwrap();
        assert!(back.equals(&Value::cv("ETREAT", "2.16.840.1.113883.1.11.20448", None)));
    }

    #[test]
    fn empty_policy_identifier_list_is_written() {
        let mut result = DecisionResult::new(Decision::Deny, Status::ok());
        result.policy_identifiers = Some(Vec::new());
        let text = written(&Response {
            results: vec![result],
        });
        assert!(text.contains("<PolicyIdentifierList/>"), "{text}");
    }

    /// The word-at-a-time escape check agrees with a byte-by-byte one (up to control bytes,
    /// which it sends to the escaping path on purpose).
    #[test]
    fn escape_check_matches_a_byte_scan() {
        let alphabet = [
            b'a', b'1', b'.', b'&', b'<', b'>', b'"', b'\'', b'\n', b'\r', b'\t', 0x01, 0x7f, 0xc3,
            0xa9, b' ', b'#',
        ];
        for bytes in super::super::test_bytes::random_byte_strings(
            0x2545_f491_4f6c_dd1du64,
            &alphabet,
            6,
            b'x',
            30,
            20_000,
        ) {
            let attr = bytes
                .iter()
                .any(|&b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'') || b < 0x20);
            let text = bytes
                .iter()
                .any(|&b| matches!(b, b'&' | b'<' | b'>') || b < 0x20);
            assert_eq!(needs_escape(&bytes, false), attr, "{bytes:?}");
            assert_eq!(needs_escape(&bytes, true), text, "{bytes:?}");
        }
    }

    #[test]
    fn appends_to_the_buffer() {
        let mut out = String::from("prefix");
        write_response(&Response::default(), &mut out);
        assert!(out.starts_with("prefix<?xml"));
        assert!(out.ends_with("</Response>\n"));
    }
}
