//! Parsing of an XACML 3.0 `<Request>` (core schema `wd-17`) into the syntax-neutral
//! [`Request`] model.
//!
//! The parser is strict about structure (unknown elements, missing required attributes, unknown
//! data types and values that do not parse as their data type are errors naming what is wrong and
//! where) and lenient where the schema's requirement carries no information: a missing
//! `ReturnPolicyIdList`, `CombinedDecision` or `IncludeInResult` reads as `false`. Elements must be
//! in the `wd-17` namespace, under any prefix. `<Content>` is accepted and recorded; XPath over it
//! is an optional feature this engine does not implement. `<MultiRequests>` is an optional feature
//! too and is refused with an error saying so.
//!
//! Values of the HL7 v3 extension types (`urn:hl7-org:v3#II`, `#CV`) are elements
//! (`<v3:InstanceIdentifier root=".." extension=".."/>`, `<v3:CodedValue code=".."
//! codeSystem=".."/>`, see [`crate::xacml::hl7`]); every other data type is text, and an element
//! inside its `AttributeValue` is an error.
//!
//! Cost: one streaming pass of [`XmlCursor`] over the bytes (no tree, no DOM), which also
//! enforces the XML limits and refuses DOCTYPE. Names and values are borrowed from the input
//! until the model needs them; each value is parsed once into a [`Value`]; category, attribute id
//! and issuer strings are shared `Arc<str>`s — the policies' own when [`parse_request_with`] is
//! given their [`Symbols`], otherwise one allocation per distinct string in the request. Line
//! and column are only computed when an error is reported.
//!
//! This is the only XACML request parser: the SOAP envelope of the closed question
//! (`protocol::soap`) continues on the same cursor with [`read_request`] for its embedded
//! `<Request>`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::doc::{as_utf8, Position, XmlError, XmlErrorKind, XmlLimits};
use super::stream::{is_xml_whitespace, xml_trim, Item, StreamError, Tag, XmlCursor, XML_NS};
use crate::xacml::datatype::DataType;
use crate::xacml::hl7::{self, Cv, Ii, HL7_NS};
use crate::xacml::model::Symbols;
use crate::xacml::request::{Request, RequestAttribute, RequestCategory, Values};
use crate::xacml::value::{Value, ValueError};

/// The XACML 3.0 core schema namespace.
pub const XACML_NS: &str = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17";

/// What is wrong with a request.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestErrorKind {
    /// The document could not be loaded as XML (malformed, DOCTYPE, too deep, too large, ...).
    Xml(XmlErrorKind),
    /// The root element is not an XACML 3.0 `<Request>`.
    WrongRoot {
        /// The root element's name, with its namespace in braces when it has one.
        found: String,
    },
    /// An element that does not belong where it stands.
    UnknownElement {
        /// The element's name, with its namespace in braces when it is not the XACML one.
        element: String,
        /// The local name of the enclosing element.
        parent: String,
    },
    /// Non-whitespace text where only elements are allowed.
    UnexpectedText { parent: String },
    /// A required XML attribute is absent.
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    /// An XML attribute whose value is not of the expected form (e.g. a boolean flag).
    InvalidAttribute {
        element: &'static str,
        attribute: &'static str,
        value: String,
        expected: &'static str,
    },
    /// An element that may appear once appears again.
    Duplicate { element: &'static str },
    /// An `AttributeValue` whose `DataType` URI is not an XACML data type.
    UnknownDataType {
        datatype: String,
        attribute_id: String,
    },
    /// An `AttributeValue` whose text does not parse as its data type.
    InvalidValue {
        attribute_id: String,
        error: ValueError,
    },
    /// `<MultiRequests>` (Multiple Decision Profile by reference), an optional feature that is
    /// not implemented.
    MultiRequestsUnsupported,
}

/// A request that cannot be parsed: what is wrong and where.
///
/// Every kind maps to the XACML status `syntax-error`; [`RequestError::is_xml`] tells an XML
/// loading problem from a schema-level one.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestError {
    pub kind: RequestErrorKind,
    pub position: Position,
}

impl RequestError {
    /// Whether the document was not loadable XML at all (as opposed to XML that is not a valid
    /// XACML request).
    pub fn is_xml(&self) -> bool {
        matches!(self.kind, RequestErrorKind::Xml(_))
    }
}

impl From<XmlError> for RequestError {
    fn from(e: XmlError) -> Self {
        RequestError {
            kind: RequestErrorKind::Xml(e.kind),
            position: e.position,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.position)?;
        match &self.kind {
            RequestErrorKind::Xml(kind) => {
                // Reuse the loader's wording.
                let e = XmlError {
                    kind: kind.clone(),
                    position: self.position,
                };
                write!(f, "{e}")
            }
            RequestErrorKind::WrongRoot { found } => write!(
                f,
                "the root element is <{found}>, expected an XACML 3.0 <Request> in namespace \
                 {XACML_NS}"
            ),
            RequestErrorKind::UnknownElement { element, parent } => write!(
                f,
                "unknown element <{element}> inside <{parent}>; remove it or check its name \
                 and namespace"
            ),
            RequestErrorKind::UnexpectedText { parent } => write!(
                f,
                "unexpected text inside <{parent}>, which only holds elements"
            ),
            RequestErrorKind::MissingAttribute { element, attribute } => {
                write!(f, "<{element}> lacks the required attribute {attribute}")
            }
            RequestErrorKind::InvalidAttribute {
                element,
                attribute,
                value,
                expected,
            } => write!(
                f,
                "attribute {attribute}=\"{value}\" of <{element}> is invalid: expected {expected}"
            ),
            RequestErrorKind::Duplicate { element } => {
                write!(f, "<{element}> may appear only once here")
            }
            RequestErrorKind::UnknownDataType {
                datatype,
                attribute_id,
            } => write!(
                f,
                "unknown DataType \"{datatype}\" in a value of attribute {attribute_id}; use an \
                 XACML 3.0 data type URI such as http://www.w3.org/2001/XMLSchema#string"
            ),
            RequestErrorKind::InvalidValue {
                attribute_id,
                error,
            } => write!(f, "a value of attribute {attribute_id} is invalid: {error}"),
            RequestErrorKind::MultiRequestsUnsupported => f.write_str(
                "<MultiRequests> (Multiple Decision Profile by reference) is an optional XACML \
                 feature that Akkoord does not support; send one request per decision, or repeat \
                 an <Attributes> category to get one result per combination",
            ),
        }
    }
}

impl std::error::Error for RequestError {}

/// Parses an XACML 3.0 XML `<Request>`.
///
/// `bytes` must be UTF-8 (a byte-order mark is allowed); `limits` bounds size, depth and node
/// count, and DOCTYPE declarations are always refused.
pub fn parse_request(bytes: &[u8], limits: &XmlLimits) -> Result<Request, RequestError> {
    parse_request_with(bytes, limits, None)
}

/// [`parse_request`], reusing the policies' interned strings: with `symbols` (from
/// [`Pdp::symbols`](crate::xacml::Pdp::symbols)), every category, attribute id and issuer that
/// some policy mentions is a reference-count increment instead of an allocation.
pub fn parse_request_with(
    bytes: &[u8],
    limits: &XmlLimits,
    symbols: Option<&Symbols>,
) -> Result<Request, RequestError> {
    let text = as_utf8(bytes)?;
    if text.trim_start().starts_with(['{', '[']) {
        return Err(RequestError {
            kind: RequestErrorKind::Xml(XmlErrorKind::Malformed(
                "this looks like a JSON request; only the XML syntax of XACML 3.0 is supported"
                    .to_string(),
            )),
            position: Position { line: 1, column: 1 },
        });
    }
    check_size(text, limits)?;
    let mut cursor = XmlCursor::new(text, limits);
    let parsed = cursor.root().map_err(Located::from).and_then(|root| {
        let mut parser = RequestParser::new(&mut cursor, symbols);
        let request = parser.request(&root)?;
        cursor.finish()?;
        Ok(request)
    });
    parsed.map_err(|e| settle(&mut cursor, e).into_error(&cursor))
}

/// Refuses a document larger than the limit before reading any of it.
pub(crate) fn check_size(text: &str, limits: &XmlLimits) -> Result<(), XmlError> {
    if text.len() > limits.max_bytes {
        return Err(XmlError {
            kind: XmlErrorKind::TooLarge {
                limit: limits.max_bytes,
                actual: text.len(),
            },
            position: Position { line: 1, column: 1 },
        });
    }
    Ok(())
}

/// Parses the XACML `<Request>` whose start tag `tag` the cursor has just returned, through its
/// end tag, leaving the cursor after it. This is how an envelope parser (SOAP, SAML) hands its
/// embedded request to the one request parser without a second pass over the bytes.
///
/// A schema-level error is returned as found; the caller decides whether to
/// [`drain`](XmlCursor::drain) the rest of the document to prefer an XML error.
pub fn read_request<'a>(
    cursor: &mut XmlCursor<'a>,
    tag: &Tag<'a>,
    symbols: Option<&Symbols>,
) -> Result<Request, RequestError> {
    RequestParser::new(cursor, symbols)
        .request(tag)
        .map_err(|e| e.into_error(cursor))
}

/// An error with a byte offset, turned into a line and column only when reported. Boxed, so
/// that every `Result` on the success path stays two words wider than its value at most.
struct Located(Box<LocatedInner>);

struct LocatedInner {
    kind: RequestErrorKind,
    offset: usize,
}

impl Located {
    #[cold]
    fn new(kind: RequestErrorKind, offset: usize) -> Self {
        Located(Box::new(LocatedInner { kind, offset }))
    }

    fn is_xml(&self) -> bool {
        matches!(self.0.kind, RequestErrorKind::Xml(_))
    }

    fn into_error(self, cursor: &XmlCursor<'_>) -> RequestError {
        RequestError {
            position: cursor.position(self.0.offset),
            kind: self.0.kind,
        }
    }
}

impl From<StreamError> for Located {
    #[cold]
    fn from(e: StreamError) -> Self {
        Located::new(RequestErrorKind::Xml(e.kind), e.offset)
    }
}

/// A document that is not well-formed reports that, even when a schema-level problem comes
/// first in it: the XML error is the more basic one (and what a tree-building parser reports).
fn settle(cursor: &mut XmlCursor<'_>, e: Located) -> Located {
    if e.is_xml() {
        return e;
    }
    match cursor.drain() {
        Some(xml) => xml.into(),
        None => e,
    }
}

struct RequestParser<'c, 'a> {
    cursor: &'c mut XmlCursor<'a>,
    symbols: Option<&'c Symbols>,
    /// Strings already shared in this request (categories repeat, ids rarely): a short linear
    /// scan is cheaper than hashing.
    seen: Vec<Arc<str>>,
}

type Parsed<T> = Result<T, Located>;

impl<'c, 'a> RequestParser<'c, 'a> {
    fn new(cursor: &'c mut XmlCursor<'a>, symbols: Option<&'c Symbols>) -> Self {
        RequestParser {
            cursor,
            symbols,
            seen: Vec::with_capacity(16),
        }
    }

    /// The shared `Arc<str>` for `s`: from this request, from the policies, or a new one.
    fn share(&mut self, s: &str) -> Arc<str> {
        if let Some(hit) = self.seen.iter().find(|x| ***x == *s) {
            return hit.clone();
        }
        let shared = self
            .symbols
            .and_then(|symbols| symbols.shared(s))
            .unwrap_or_else(|| Arc::from(s));
        if self.seen.len() < 32 {
            self.seen.push(shared.clone());
        }
        shared
    }

    fn request(&mut self, root: &Tag<'a>) -> Parsed<Request> {
        if root.local_in(XACML_NS) != Some("Request") {
            return Err(Located::new(
                RequestErrorKind::WrongRoot {
                    found: root.display_name(XACML_NS),
                },
                root.offset,
            ));
        }
        let mut request = Request {
            return_policy_id_list: self.flag("Request", "ReturnPolicyIdList")?,
            combined_decision: self.flag("Request", "CombinedDecision")?,
            categories: Vec::with_capacity(8),
        };
        let mut seen_defaults = false;
        while let Some(child) = self.next_child("Request")? {
            match child.local_in(XACML_NS) {
                Some("Attributes") => {
                    let category = self.attributes(&child)?;
                    request.categories.push(category);
                }
                Some("RequestDefaults") => {
                    if seen_defaults {
                        return Err(Located::new(
                            RequestErrorKind::Duplicate {
                                element: "RequestDefaults",
                            },
                            child.offset,
                        ));
                    }
                    seen_defaults = true;
                    self.request_defaults()?;
                }
                Some("MultiRequests") => {
                    return Err(Located::new(
                        RequestErrorKind::MultiRequestsUnsupported,
                        child.offset,
                    ))
                }
                _ => return Err(unknown(&child, "Request")),
            }
        }
        Ok(request)
    }

    /// The next child element of the element `parent` whose start tag was read last, or `None`
    /// at its end tag. Non-whitespace text is an error.
    #[inline(always)]
    fn next_child(&mut self, parent: &str) -> Parsed<Option<Tag<'a>>> {
        loop {
            match self.cursor.next_markup()? {
                Item::Start(tag) => return Ok(Some(tag)),
                Item::End => return Ok(None),
                Item::Text { raw, offset, blank } => {
                    if !blank {
                        let text = self.cursor.text_value(raw, offset)?;
                        if !is_xml_whitespace(&text) {
                            return Err(unexpected_text(parent, offset));
                        }
                    }
                }
                Item::CData { text, offset } => {
                    if !is_xml_whitespace(text) {
                        return Err(unexpected_text(parent, offset));
                    }
                }
                // The cursor reports an unclosed element itself; Eof here is unreachable.
                Item::Eof => return Ok(None),
            }
        }
    }

    /// `<RequestDefaults>`: only `<XPathVersion>` is defined; it is accepted and ignored.
    fn request_defaults(&mut self) -> Parsed<()> {
        while let Some(child) = self.next_child("RequestDefaults")? {
            if child.local_in(XACML_NS) != Some("XPathVersion") {
                return Err(unknown(&child, "RequestDefaults"));
            }
            self.cursor.skip_element()?;
        }
        Ok(())
    }

    fn attributes(&mut self, tag: &Tag<'a>) -> Parsed<RequestCategory> {
        let category = self.required(tag, "Attributes", "Category")?;
        let category = self.share(&category);
        let xml_id = match self.cursor.attr_ns(XML_NS, "id") {
            Some(a) => Some(Arc::from(&*self.cursor.attr_value(&a)?)),
            None => None,
        };
        let mut has_content = false;
        let mut attributes = Vec::with_capacity(8);
        while let Some(child) = self.next_child("Attributes")? {
            match child.local_in(XACML_NS) {
                Some("Attribute") => {
                    let attribute = self.attribute(&child)?;
                    attributes.push(attribute);
                }
                Some("Content") => {
                    if has_content {
                        return Err(Located::new(
                            RequestErrorKind::Duplicate { element: "Content" },
                            child.offset,
                        ));
                    }
                    has_content = true;
                    self.cursor.skip_element()?;
                }
                _ => return Err(unknown(&child, "Attributes")),
            }
        }
        Ok(RequestCategory {
            category,
            xml_id,
            has_content,
            attributes,
        })
    }

    fn attribute(&mut self, tag: &Tag<'a>) -> Parsed<RequestAttribute> {
        let id = self.required(tag, "Attribute", "AttributeId")?;
        let id = self.share(&id);
        let issuer = match self.cursor.attr("Issuer") {
            Some(a) => {
                let issuer = self.cursor.attr_value(&a)?;
                Some(self.share(&issuer))
            }
            None => None,
        };
        let include_in_result = self.flag("Attribute", "IncludeInResult")?;
        let mut values = Values::new();
        while let Some(child) = self.next_child("Attribute")? {
            if child.local_in(XACML_NS) != Some("AttributeValue") {
                return Err(unknown(&child, "Attribute"));
            }
            values.push(self.attribute_value(&child, &id)?);
        }
        Ok(RequestAttribute {
            id,
            issuer,
            include_in_result,
            values,
        })
    }

    fn attribute_value(&mut self, tag: &Tag<'a>, attribute_id: &str) -> Parsed<Value> {
        let uri = self.required(tag, "AttributeValue", "DataType")?;
        let Some(datatype) = DataType::from_uri(&uri) else {
            let at = self
                .cursor
                .attr("DataType")
                .map_or(tag.offset, |a| a.offset);
            return Err(Located::new(
                RequestErrorKind::UnknownDataType {
                    datatype: uri.into_owned(),
                    attribute_id: attribute_id.to_string(),
                },
                at,
            ));
        };
        let xpath_category = match datatype {
            DataType::XPathExpression => match self.cursor.attr("XPathCategory") {
                Some(a) => Some(self.cursor.attr_value(&a)?),
                None => None,
            },
            _ => None,
        };
        if datatype.is_element_content() {
            return self.element_value(datatype, tag, attribute_id);
        }
        // The value is the element's text (text and CDATA sections, comments skipped); elements
        // inside a value only make sense for the element-valued HL7 types.
        let mut text: Cow<'a, str> = Cow::Borrowed("");
        loop {
            let chunk = match self.cursor.next_item()? {
                Item::Text { raw, offset, .. } => self.cursor.text_value(raw, offset)?,
                Item::CData { text, .. } => Cow::Borrowed(text),
                Item::Start(child) => return Err(unknown(&child, "AttributeValue")),
                Item::End | Item::Eof => break,
            };
            if text.is_empty() {
                text = chunk;
            } else {
                text.to_mut().push_str(&chunk);
            }
        }
        if datatype == DataType::XPathExpression {
            let Some(category) = xpath_category else {
                return Err(Located::new(
                    RequestErrorKind::MissingAttribute {
                        element: "AttributeValue",
                        attribute: "XPathCategory",
                    },
                    tag.offset,
                ));
            };
            return Ok(Value::xpath(&category, text.trim()));
        }
        // XML Schema: strings keep their whitespace; every other type collapses it, so
        // surrounding whitespace is not part of the value (`Value::parse` trims).
        Value::parse(datatype, &text).map_err(|error| {
            Located::new(
                RequestErrorKind::InvalidValue {
                    attribute_id: attribute_id.to_string(),
                    error,
                },
                tag.offset,
            )
        })
    }

    /// An HL7 `II` or `CV` value: one `<v3:InstanceIdentifier>` / `<v3:CodedValue>` element
    /// (white space around it allowed). Without an element, the text is read in the canonical
    /// form (`root|extension`, `codeSystem|code`).
    fn element_value(
        &mut self,
        datatype: DataType,
        tag: &Tag<'a>,
        attribute_id: &str,
    ) -> Parsed<Value> {
        let invalid = |error: ValueError, offset: usize| {
            Located::new(
                RequestErrorKind::InvalidValue {
                    attribute_id: attribute_id.to_string(),
                    error,
                },
                offset,
            )
        };
        let expected = hl7::element_name(datatype).unwrap_or("");
        let mut value = None;
        let mut text = String::new();
        loop {
            match self.cursor.next_item()? {
                Item::Start(child) => {
                    if value.is_some() {
                        return Err(unknown(&child, "AttributeValue"));
                    }
                    if child.local_in(HL7_NS) != Some(expected) {
                        let error = ValueError {
                            datatype,
                            text: child.display_name(""),
                            reason: format!(
                                "expected a <{expected}> element in namespace {HL7_NS}"
                            ),
                        };
                        return Err(invalid(error, child.offset));
                    }
                    let parsed = self.hl7_element(datatype).map_err(|e| match e {
                        Hl7Error::Value(error) => invalid(error, child.offset),
                        Hl7Error::Xml(e) => e.into(),
                    })?;
                    value = Some(parsed);
                    // HL7 children (originalText, translation) carry nothing the engine uses.
                    self.cursor.skip_element()?;
                }
                Item::Text { raw, offset, blank } => {
                    if !blank {
                        text.push_str(&self.cursor.text_value(raw, offset)?);
                    }
                }
                Item::CData { text: t, .. } => text.push_str(t),
                Item::End | Item::Eof => break,
            }
        }
        let text = xml_trim(&text);
        match value {
            Some(_) if !text.is_empty() => Err(unexpected_text("AttributeValue", tag.offset)),
            Some(v) => Ok(v),
            None if text.is_empty() => {
                let error = ValueError {
                    datatype,
                    text: String::new(),
                    reason: format!(
                        "expected a <{expected}> element in namespace {HL7_NS} inside <AttributeValue>"
                    ),
                };
                Err(invalid(error, tag.offset))
            }
            None => Value::parse(datatype, text).map_err(|error| invalid(error, tag.offset)),
        }
    }

    /// Reads the attributes of the `InstanceIdentifier` / `CodedValue` start tag just returned,
    /// in one pass over them (three lookups by name cost three passes).
    fn hl7_element(&mut self, datatype: DataType) -> Result<Value, Hl7Error> {
        let c = &*self.cursor;
        let names: [&str; 3] = if datatype == DataType::Hl7Ii {
            ["root", "extension", "assigningAuthorityName"]
        } else {
            ["code", "codeSystem", "displayName"]
        };
        let mut parts: [Option<Cow<'a, str>>; 3] = [None, None, None];
        for a in c.attrs().iter().filter(|a| a.prefix.is_empty()) {
            if let Some(k) = names.iter().position(|&n| n == a.local) {
                parts[k] = Some(c.attr_value(a).map_err(Hl7Error::Xml)?);
            }
        }
        let [first, second, third] = parts;
        Ok(if datatype == DataType::Hl7Ii {
            Value::Ii(Arc::new(
                Ii::from_parts(first.as_deref(), second.as_deref(), third.as_deref())
                    .map_err(Hl7Error::Value)?,
            ))
        } else {
            Value::Cv(Arc::new(
                Cv::from_parts(first.as_deref(), second.as_deref(), third.as_deref())
                    .map_err(Hl7Error::Value)?,
            ))
        })
    }

    /// A required attribute of the start tag just returned.
    fn required(
        &self,
        tag: &Tag<'a>,
        element: &'static str,
        attribute: &'static str,
    ) -> Parsed<Cow<'a, str>> {
        match self.cursor.attr(attribute) {
            Some(a) => Ok(self.cursor.attr_value(&a)?),
            None => Err(Located::new(
                RequestErrorKind::MissingAttribute { element, attribute },
                tag.offset,
            )),
        }
    }

    /// An `xs:boolean` attribute of the start tag just returned; absent reads as `false`.
    fn flag(&self, element: &'static str, attribute: &'static str) -> Parsed<bool> {
        let Some(attr) = self.cursor.attr(attribute) else {
            return Ok(false);
        };
        // The raw value first: flags are written without white space or references.
        match attr.raw {
            "true" | "1" => return Ok(true),
            "false" | "0" => return Ok(false),
            _ => {}
        }
        let value = self.cursor.attr_value(&attr)?;
        match value.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(Located::new(
                RequestErrorKind::InvalidAttribute {
                    element,
                    attribute,
                    value: other.to_string(),
                    expected: "\"true\" or \"false\"",
                },
                attr.offset,
            )),
        }
    }
}

enum Hl7Error {
    Value(ValueError),
    Xml(StreamError),
}

fn unknown(tag: &Tag<'_>, parent: &str) -> Located {
    Located::new(
        RequestErrorKind::UnknownElement {
            element: tag.display_name(XACML_NS),
            parent: parent.to_string(),
        },
        tag.offset,
    )
}

fn unexpected_text(parent: &str, offset: usize) -> Located {
    Located::new(
        RequestErrorKind::UnexpectedText {
            parent: parent.to_string(),
        },
        offset,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17";
    const SUBJECT: &str = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject";
    const STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
    const INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";

    fn parse(text: &str) -> Result<Request, RequestError> {
        parse_request(text.as_bytes(), &XmlLimits::default())
    }

    /// A request with one subject attribute carrying `value` of `datatype`.
    fn one_value(datatype: &str, value: &str) -> String {
        format!(
            r#"<Request xmlns="{NS}" ReturnPolicyIdList="false" CombinedDecision="false">
  <Attributes Category="{SUBJECT}">
    <Attribute AttributeId="urn:test:attr" IncludeInResult="false">
      <AttributeValue DataType="{datatype}">{value}</AttributeValue>
    </Attribute>
  </Attributes>
</Request>"#
        )
    }

    #[test]
    fn parses_every_element_kind() {
        let text = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<x:Request xmlns:x="{NS}" ReturnPolicyIdList="true" CombinedDecision="0">
  <x:RequestDefaults><x:XPathVersion>http://www.w3.org/TR/1999/REC-xpath-19991116</x:XPathVersion></x:RequestDefaults>
  <x:Attributes Category="{SUBJECT}" xml:id="subj">
    <x:Content><record xmlns="urn:example"><name>Bart</name></record></x:Content>
    <x:Attribute AttributeId="urn:test:name" Issuer="hospital" IncludeInResult="true">
      <x:AttributeValue DataType="{STRING}">  Julius Hibbert </x:AttributeValue>
      <x:AttributeValue DataType="{INTEGER}"> 42 </x:AttributeValue>
    </x:Attribute>
    <x:Attribute AttributeId="urn:test:path" IncludeInResult="false">
      <x:AttributeValue DataType="urn:oasis:names:tc:xacml:3.0:data-type:xpathExpression"
          XPathCategory="{SUBJECT}">//record/name</x:AttributeValue>
    </x:Attribute>
  </x:Attributes>
  <x:Attributes Category="urn:oasis:names:tc:xacml:3.0:attribute-category:environment"/>
</x:Request>"#
        );
        let request = parse(&text).unwrap();
        assert!(request.return_policy_id_list);
        assert!(!request.combined_decision);
        assert_eq!(request.categories.len(), 2);
        let subject = &request.categories[0];
        assert_eq!(&*subject.category, SUBJECT);
        assert_eq!(subject.xml_id.as_deref(), Some("subj"));
        assert!(subject.has_content);
        assert_eq!(subject.attributes.len(), 2);
        let name = &subject.attributes[0];
        assert_eq!(&*name.id, "urn:test:name");
        assert_eq!(name.issuer.as_deref(), Some("hospital"));
        assert!(name.include_in_result);
        assert_eq!(name.values.len(), 2);
        assert!(matches!(&name.values[0], Value::String(s) if &**s == "  Julius Hibbert "));
        assert!(matches!(name.values[1], Value::Integer(42)));
        let path = &subject.attributes[1];
        assert!(!path.include_in_result);
        assert_eq!(path.issuer, None);
        match &path.values[0] {
            Value::XPathExpression { category, path } => {
                assert_eq!(&**category, SUBJECT);
                assert_eq!(&**path, "//record/name");
            }
            other => panic!("expected an xpathExpression, got {other:?}"),
        }
        let env = &request.categories[1];
        assert!(env.attributes.is_empty());
        assert!(!env.has_content);
        assert_eq!(env.xml_id, None);
    }

    #[test]
    fn missing_flags_default_to_false_and_repeated_categories_are_kept() {
        let text = format!(
            r#"<Request xmlns="{NS}">
  <Attributes Category="{SUBJECT}"><Attribute AttributeId="a"><AttributeValue DataType="{STRING}">x</AttributeValue></Attribute></Attributes>
  <Attributes Category="{SUBJECT}"><Attribute AttributeId="a"><AttributeValue DataType="{STRING}">y</AttributeValue></Attribute></Attributes>
</Request>"#
        );
        let request = parse(&text).unwrap();
        assert!(!request.return_policy_id_list);
        assert!(!request.combined_decision);
        assert_eq!(request.categories.len(), 2);
        assert!(!request.categories[0].attributes[0].include_in_result);
    }

    #[test]
    fn cdata_and_entity_references_are_text() {
        let text = one_value(STRING, "a &amp; <![CDATA[<b>]]>");
        let request = parse(&text).unwrap();
        let value = &request.categories[0].attributes[0].values[0];
        assert!(matches!(value, Value::String(s) if &**s == "a & <b>"));
    }

    #[test]
    fn malformed_xml_is_an_xml_error() {
        let err = parse(&format!("<Request xmlns=\"{NS}\">\n<Attributes>")).unwrap_err();
        assert!(err.is_xml());
        assert!(matches!(
            err.kind,
            RequestErrorKind::Xml(XmlErrorKind::Malformed(_))
        ));
        assert!(err.to_string().contains("malformed XML"), "{err}");
    }

    #[test]
    fn json_gets_a_hint() {
        let err = parse("{\"Request\": {}}").unwrap_err();
        assert!(err.is_xml());
        assert!(err.to_string().contains("JSON"), "{err}");
    }

    #[test]
    fn not_utf8_is_an_xml_error() {
        let err = parse_request(b"<Request>\xff</Request>", &XmlLimits::default()).unwrap_err();
        assert_eq!(err.kind, RequestErrorKind::Xml(XmlErrorKind::NotUtf8));
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let text = format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE Request [<!ENTITY x \"boom\">]>\n\
             <Request xmlns=\"{NS}\">&x;</Request>"
        );
        let err = parse(&text).unwrap_err();
        assert_eq!(err.kind, RequestErrorKind::Xml(XmlErrorKind::Doctype));
        assert_eq!(err.position.line, 2);
        assert!(err.to_string().starts_with("2:1: DOCTYPE"), "{err}");
    }

    #[test]
    fn too_deep_is_refused() {
        let limits = XmlLimits {
            max_depth: 3,
            ..XmlLimits::default()
        };
        let err = parse_request(one_value(STRING, "x").as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.kind,
            RequestErrorKind::Xml(XmlErrorKind::TooDeep { limit: 3 })
        );
    }

    #[test]
    fn unknown_element_is_named() {
        let text = format!(
            "<Request xmlns=\"{NS}\">\n  <Attributes Category=\"c\">\n    <Atribute AttributeId=\"a\"/>\n  </Attributes>\n</Request>"
        );
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err.kind,
            RequestErrorKind::UnknownElement {
                element: "Atribute".into(),
                parent: "Attributes".into()
            }
        );
        assert_eq!(err.position, Position { line: 3, column: 5 });
        assert!(err.to_string().contains("<Atribute>"), "{err}");
    }

    #[test]
    fn element_in_a_foreign_namespace_is_unknown() {
        let text = format!(
            "<Request xmlns=\"{NS}\"><Attributes xmlns=\"urn:other\" Category=\"c\"/></Request>"
        );
        let err = parse(&text).unwrap_err();
        assert!(
            matches!(&err.kind, RequestErrorKind::UnknownElement { element, .. } if element == "{urn:other}Attributes"),
            "{err}"
        );
    }

    #[test]
    fn unknown_datatype_is_named() {
        let err = parse(&one_value("urn:example:nope", "x")).unwrap_err();
        assert_eq!(
            err.kind,
            RequestErrorKind::UnknownDataType {
                datatype: "urn:example:nope".into(),
                attribute_id: "urn:test:attr".into()
            }
        );
        assert_eq!(err.position.line, 4);
        let message = err.to_string();
        assert!(message.contains("urn:example:nope") && message.contains("urn:test:attr"));
    }

    #[test]
    fn value_not_parsing_as_its_type_names_the_attribute() {
        let err = parse(&one_value(INTEGER, "forty-two")).unwrap_err();
        match &err.kind {
            RequestErrorKind::InvalidValue {
                attribute_id,
                error,
            } => {
                assert_eq!(attribute_id, "urn:test:attr");
                assert_eq!(error.datatype, DataType::Integer);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(err.position, Position { line: 4, column: 7 });
        assert!(err.to_string().contains("urn:test:attr"), "{err}");
        let err = parse(&one_value(
            "http://www.w3.org/2001/XMLSchema#boolean",
            "yes",
        ))
        .unwrap_err();
        assert!(matches!(err.kind, RequestErrorKind::InvalidValue { .. }));
    }

    #[test]
    fn missing_attribute_id_is_reported() {
        let text = format!(
            "<Request xmlns=\"{NS}\"><Attributes Category=\"c\"><Attribute IncludeInResult=\"false\"/></Attributes></Request>"
        );
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err.kind,
            RequestErrorKind::MissingAttribute {
                element: "Attribute",
                attribute: "AttributeId"
            }
        );
        assert!(err.to_string().contains("AttributeId"));
    }

    #[test]
    fn missing_category_and_datatype_and_xpath_category_are_reported() {
        let err = parse(&format!("<Request xmlns=\"{NS}\"><Attributes/></Request>")).unwrap_err();
        assert!(matches!(
            err.kind,
            RequestErrorKind::MissingAttribute {
                attribute: "Category",
                ..
            }
        ));
        let text = format!(
            "<Request xmlns=\"{NS}\"><Attributes Category=\"c\"><Attribute AttributeId=\"a\"><AttributeValue>x</AttributeValue></Attribute></Attributes></Request>"
        );
        assert!(matches!(
            parse(&text).unwrap_err().kind,
            RequestErrorKind::MissingAttribute {
                attribute: "DataType",
                ..
            }
        ));
        let err = parse(&one_value(
            "urn:oasis:names:tc:xacml:3.0:data-type:xpathExpression",
            "//a",
        ))
        .unwrap_err();
        assert!(matches!(
            err.kind,
            RequestErrorKind::MissingAttribute {
                attribute: "XPathCategory",
                ..
            }
        ));
    }

    #[test]
    fn invalid_flag_is_reported() {
        let err = parse(&format!(
            "<Request xmlns=\"{NS}\" ReturnPolicyIdList=\"yes\"/>"
        ))
        .unwrap_err();
        assert!(matches!(
            err.kind,
            RequestErrorKind::InvalidAttribute {
                attribute: "ReturnPolicyIdList",
                ..
            }
        ));
    }

    #[test]
    fn wrong_root_is_reported() {
        let err = parse(&format!("<Policy xmlns=\"{NS}\"/>")).unwrap_err();
        assert_eq!(
            err.kind,
            RequestErrorKind::WrongRoot {
                found: "Policy".into()
            }
        );
        // A Request without the XACML 3.0 namespace (for example XACML 2.0) is not accepted.
        let err = parse("<Request xmlns=\"urn:oasis:names:tc:xacml:2.0:context:schema:os\"/>")
            .unwrap_err();
        assert!(matches!(err.kind, RequestErrorKind::WrongRoot { .. }));
        assert!(err.to_string().contains(NS), "{err}");
    }

    #[test]
    fn multi_requests_are_refused_clearly() {
        let text = format!(
            r#"<Request xmlns="{NS}">
  <Attributes Category="{SUBJECT}" xml:id="s1"/>
  <MultiRequests><RequestReference><AttributesReference ReferenceId="s1"/></RequestReference></MultiRequests>
</Request>"#
        );
        let err = parse(&text).unwrap_err();
        assert_eq!(err.kind, RequestErrorKind::MultiRequestsUnsupported);
        assert_eq!(err.position.line, 3);
        assert!(err.to_string().contains("MultiRequests"));
    }

    #[test]
    fn stray_text_and_duplicate_content_are_refused() {
        let text = format!("<Request xmlns=\"{NS}\">hello</Request>");
        assert!(matches!(
            parse(&text).unwrap_err().kind,
            RequestErrorKind::UnexpectedText { .. }
        ));
        let text = format!(
            "<Request xmlns=\"{NS}\"><Attributes Category=\"c\"><Content/><Content/></Attributes></Request>"
        );
        assert_eq!(
            parse(&text).unwrap_err().kind,
            RequestErrorKind::Duplicate { element: "Content" }
        );
    }

    #[test]
    fn element_inside_a_value_is_refused() {
        let err = parse(&one_value(STRING, "<b>x</b>")).unwrap_err();
        assert!(matches!(
            err.kind,
            RequestErrorKind::UnknownElement { ref parent, .. } if parent == "AttributeValue"
        ));
    }

    /// HL7 values read their parts whatever the attribute order, ignore prefixed attributes
    /// (`xsi:type`) and skip child elements (`originalText`, `translation`), empty or not.
    #[test]
    fn hl7_values_read_their_parts_in_any_order_and_skip_children() {
        let cv = r#"<v3:CodedValue xmlns:v3="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
            xsi:type="CV" displayName="Huisarts" codeSystem="2.16.840.1.113883.2.4.15.1060" code="Z3"><v3:originalText>huisarts</v3:originalText><v3:translation code="x"/></v3:CodedValue>"#;
        let request = parse(&one_value("urn:hl7-org:v3#CV", cv)).unwrap();
        let value = &request.categories[0].attributes[0].values[0];
        let cv = value.as_cv().unwrap();
        assert_eq!(cv.code(), "Z3");
        assert_eq!(cv.code_system(), "2.16.840.1.113883.2.4.15.1060");
        assert_eq!(cv.display_name(), Some("Huisarts"));

        let ii = r#"<v3:InstanceIdentifier xmlns:v3="urn:hl7-org:v3" assigningAuthorityName="CIBG"
            extension="000000789" root="2.16.528.1.1007.3.1"></v3:InstanceIdentifier>"#;
        let request = parse(&one_value("urn:hl7-org:v3#II", ii)).unwrap();
        let ii = request.categories[0].attributes[0].values[0]
            .as_ii()
            .unwrap();
        assert_eq!(ii.root(), "2.16.528.1.1007.3.1");
        assert_eq!(ii.extension(), "000000789");
        assert_eq!(ii.assigning_authority_name(), Some("CIBG"));

        // A prefixed `root` is not the HL7 attribute: the value has no root.
        let foreign = r#"<v3:InstanceIdentifier xmlns:v3="urn:hl7-org:v3" v3:root="2.16.528.1.1007.3.1" extension="1"/>"#;
        let err = parse(&one_value("urn:hl7-org:v3#II", foreign)).unwrap_err();
        assert!(err.to_string().contains("root attribute"), "{err}");
    }
}
