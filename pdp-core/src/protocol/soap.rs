//! The Mitz closed question on the wire: a SOAP 1.2 envelope with WS-Addressing headers whose
//! Body holds one SAML 2.0 profile `XACMLAuthzDecisionQuery` around an XACML 3.0 `<Request>`
//! (domain model 2.1–2.3, 2.8), and the answer: the XACML `<Response>` directly in the SOAP Body
//! (2.6, 2.9), or a SOAP 1.2 Fault.
//!
//! Three parts, kept apart: [`parse_closed_question`] (bytes → [`ClosedQuestionEnvelope`]), the
//! model ([`ClosedQuestionEnvelope`], [`SoapFault`]), and the writers ([`write_closed_answer`],
//! [`write_fault`]). Deciding is not here: the caller evaluates `envelope.request` and hands
//! the `Response` back.
//!
//! Cost: parsing is one streaming pass over the bytes. The envelope is walked by the same
//! [`XmlCursor`] that then continues into the embedded `<Request>` with the one XACML request
//! parser ([`read_request`]), so the request bytes are read once, without a tree. The writers
//! append to a caller-owned `String` (reuse one per connection).
//!
//! What is accepted, as real clients send it: any namespace prefixes and default namespaces;
//! WS-Addressing 1.0 `Action`, `MessageID`, `To`, `ReplyTo`, `RelatesTo` (also `From`,
//! `FaultTo`), with or without `mustUnderstand`; the SAML `RequestAbstractType` attributes (`ID`,
//! `Version`, `IssueInstant`, ...) and `saml:Issuer` present or not. Any other header block that
//! must be understood (`mustUnderstand="1"`/`"true"`, addressed to this node) gets a
//! `MustUnderstand` fault — notably a WS-Security header, since message-level signatures are not
//! verified here; an enveloped `ds:Signature` inside the query is accepted unverified (mTLS
//! authenticates the sender, domain 2.5). A SOAP 1.1 envelope gets `VersionMismatch`.
//!
//! Fault reasons name what is wrong and where (line:column) but never quote attribute values or
//! text from the request: a value can be a BSN, and fault texts end up in client logs.

use std::borrow::Cow;
use std::fmt;

use quick_xml::escape::partial_escape;

use crate::xacml::model::Symbols;
use crate::xacml::request::Request;
use crate::xacml::response::Response;
use crate::xacml::xml::doc::{as_utf8, XmlErrorKind, XmlLimits};
use crate::xacml::xml::request::{read_request, RequestError, RequestErrorKind, XACML_NS};
use crate::xacml::xml::response::{needs_escape, write_results_element, WritableResult};
use crate::xacml::xml::stream::{is_xml_whitespace, xml_trim, Item, StreamError, Tag, XmlCursor};

/// SOAP 1.2 envelope namespace.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 envelope namespace (refused with `VersionMismatch`).
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// WS-Addressing 1.0 namespace.
pub const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";
/// The SAML 2.0 profile of XACML 3.0, protocol namespace (`XACMLAuthzDecisionQuery`).
pub const XACML_SAMLP_NS: &str =
    "urn:oasis:names:tc:xacml:3.0:profile:saml2.0:v2:schema:protocol:wd-14";
/// SAML 2.0 assertion namespace (`saml:Issuer`).
pub const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// XML-DSig namespace (`ds:Signature`).
pub const XMLDSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The `wsa:Action` of the closed question's answer; one client refuses any other (domain 2.6).
pub const ANSWER_ACTION: &str = "http://schemas.otv.nl/toestemmingsregister/XACMLAuthzDecisionQuery/IGeslotenAutorisatievraagService/XACMLAuthzDecisionQueryResponse";
/// The `wsa:Action` of a SOAP fault (WS-Addressing 1.0 SOAP binding).
pub const FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";
/// The media type of answers and faults.
pub const ANSWER_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// SOAP 1.2 roles a header block may target that include this node.
const ROLE_NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
const ROLE_ULTIMATE_RECEIVER: &str =
    "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";

/// A parsed closed question: the WS-Addressing headers the answer needs and the XACML request.
/// The headers borrow from the message bytes unless they hold entity references (no
/// allocation per header on the request path); `into_owned` on one keeps it longer.
#[derive(Clone, Debug)]
pub struct ClosedQuestionEnvelope<'a> {
    /// `wsa:MessageID`; the answer's `wsa:RelatesTo` repeats it.
    pub message_id: Option<Cow<'a, str>>,
    /// `wsa:Action` as sent (clients send `XACMLAuthorizationDecisionQueryRequest`).
    pub action: Option<Cow<'a, str>>,
    /// `wsa:To`, the endpoint the client addressed.
    pub to: Option<Cow<'a, str>>,
    /// The XACML 3.0 request inside the `XACMLAuthzDecisionQuery`.
    pub request: Request,
}

/// The SOAP 1.2 fault codes this service produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultCode {
    /// The question is malformed or incomplete: the client must change it.
    Sender,
    /// The service could not answer (an internal problem): retrying may help.
    Receiver,
    /// A header block that must be understood is not.
    MustUnderstand,
    /// Not a SOAP 1.2 envelope (e.g. SOAP 1.1).
    VersionMismatch,
}

impl FaultCode {
    /// The local name of the code in the SOAP 1.2 namespace.
    pub fn local_name(self) -> &'static str {
        match self {
            FaultCode::Sender => "Sender",
            FaultCode::Receiver => "Receiver",
            FaultCode::MustUnderstand => "MustUnderstand",
            FaultCode::VersionMismatch => "VersionMismatch",
        }
    }
}

/// A SOAP 1.2 fault: its code and a reason in English that names what is wrong. Never contains
/// values from the request (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoapFault {
    pub code: FaultCode,
    pub reason: String,
}

impl SoapFault {
    pub fn sender(reason: impl Into<String>) -> Self {
        SoapFault {
            code: FaultCode::Sender,
            reason: reason.into(),
        }
    }

    pub fn receiver(reason: impl Into<String>) -> Self {
        SoapFault {
            code: FaultCode::Receiver,
            reason: reason.into(),
        }
    }

    /// The HTTP status to send with this fault: 400 for the client's problems (`Sender`,
    /// `VersionMismatch`, `MustUnderstand`), 500 for the service's own (`Receiver`), as the
    /// SOAP 1.2 HTTP binding prescribes.
    pub fn http_status(&self) -> u16 {
        match self.code {
            FaultCode::Receiver => 500,
            FaultCode::Sender | FaultCode::MustUnderstand | FaultCode::VersionMismatch => 400,
        }
    }
}

impl fmt::Display for SoapFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SOAP fault {}: {}", self.code.local_name(), self.reason)
    }
}

impl std::error::Error for SoapFault {}

/// Whether an HTTP `Content-Type` is one the closed question may arrive with:
/// `application/soap+xml` (SOAP 1.2) or `text/xml` (the Nuts client), case-insensitive, with
/// any parameters (`action`, ...) except a `charset` other than UTF-8, which this parser cannot
/// read. The server answers anything else with a `Sender` fault (domain 2.1).
pub fn content_type_ok(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/soap+xml")
        && !media.eq_ignore_ascii_case("text/xml")
    {
        return false;
    }
    parts.all(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return param.trim().is_empty();
        };
        if !name.trim().eq_ignore_ascii_case("charset") {
            return true;
        }
        let value = value.trim().trim_matches('"');
        value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
    })
}

/// Parses a closed question: SOAP 1.2 envelope, WS-Addressing headers, the
/// `XACMLAuthzDecisionQuery` and its XACML 3.0 `<Request>`, in one pass. With `symbols` (from
/// [`Pdp::symbols`](crate::xacml::Pdp::symbols)) the request's ids share the policies' strings.
///
/// Every problem is a [`SoapFault`] ready to send: `Sender` for malformed or incomplete
/// questions (also for XML that is not well-formed, a DOCTYPE, or exceeded `limits`),
/// `MustUnderstand` for an unknown mandatory header, `VersionMismatch` for SOAP 1.1.
pub fn parse_closed_question<'a>(
    bytes: &'a [u8],
    limits: &XmlLimits,
    symbols: Option<&Symbols>,
) -> Result<ClosedQuestionEnvelope<'a>, SoapFault> {
    let text = as_utf8(bytes)
        .map_err(|e| SoapFault::sender(format!("{}: the message is not XML: {e}", e.position)))?;
    if text.len() > limits.max_bytes {
        return Err(SoapFault::sender(format!(
            "the message is {} bytes, more than the limit of {} bytes",
            text.len(),
            limits.max_bytes
        )));
    }
    let mut cursor = XmlCursor::new(text, limits);
    let parsed = EnvelopeParser {
        cursor: &mut cursor,
        symbols,
    }
    .envelope();
    parsed.map_err(|failure| {
        // A message that is not even well-formed reports that first: it is the more basic
        // problem, and the rest of it cannot be trusted.
        let failure = match failure {
            Failure::Xml(_) => failure,
            Failure::Request(ref e) if e.is_xml() => failure,
            other => match cursor.drain() {
                Some(xml) => Failure::Xml(xml),
                None => other,
            },
        };
        failure.into_fault(&cursor)
    })
}

/// Why parsing stopped, before positions are computed.
enum Failure {
    Xml(StreamError),
    Request(RequestError),
    Soap {
        code: FaultCode,
        offset: usize,
        reason: String,
    },
}

impl From<StreamError> for Failure {
    fn from(e: StreamError) -> Self {
        Failure::Xml(e)
    }
}

impl Failure {
    fn sender(offset: usize, reason: impl Into<String>) -> Self {
        Failure::Soap {
            code: FaultCode::Sender,
            offset,
            reason: reason.into(),
        }
    }

    fn into_fault(self, cursor: &XmlCursor<'_>) -> SoapFault {
        match self {
            Failure::Xml(e) => SoapFault::sender(format!(
                "{}: {}",
                cursor.position(e.offset),
                xml_reason(&e.kind)
            )),
            Failure::Request(e) => SoapFault::sender(request_reason(&e)),
            Failure::Soap {
                code,
                offset,
                reason,
            } => SoapFault {
                code,
                reason: format!("{}: {reason}", cursor.position(offset)),
            },
        }
    }
}

fn xml_reason(kind: &XmlErrorKind) -> String {
    match kind {
        XmlErrorKind::Malformed(m) => format!("the message is not well-formed XML: {m}"),
        XmlErrorKind::Doctype => {
            "DOCTYPE declarations are not accepted (entities and DTDs are never expanded); \
             remove the <!DOCTYPE ...>"
                .to_string()
        }
        XmlErrorKind::TooDeep { limit } => {
            format!("the message is nested deeper than the limit of {limit} elements")
        }
        XmlErrorKind::TooLarge { limit, actual } => {
            format!("the message is {actual} bytes, more than the limit of {limit} bytes")
        }
        XmlErrorKind::TooManyNodes { limit } => {
            format!("the message has more than {limit} XML nodes")
        }
        XmlErrorKind::NotUtf8 => "the message is not valid UTF-8".to_string(),
    }
}

/// A fault reason for a request error that quotes no value from the request (unlike
/// `RequestError`'s `Display`, which is meant for the author of a request file).
fn request_reason(e: &RequestError) -> String {
    let what = match &e.kind {
        RequestErrorKind::Xml(kind) => xml_reason(kind),
        RequestErrorKind::InvalidAttribute {
            element,
            attribute,
            expected,
            ..
        } => format!("attribute {attribute} of <{element}> is invalid: expected {expected}"),
        RequestErrorKind::UnknownDataType { attribute_id, .. } => format!(
            "unknown DataType in a value of attribute {attribute_id}; use an XACML 3.0 data type \
             URI or urn:hl7-org:v3#II / urn:hl7-org:v3#CV"
        ),
        RequestErrorKind::InvalidValue {
            attribute_id,
            error,
        } => format!(
            "a value of attribute {attribute_id} is not a valid {}: {}",
            error.datatype, error.reason
        ),
        // The remaining kinds name elements and attributes only.
        _ => {
            let full = e.to_string();
            let prefix = format!("{}: ", e.position);
            return format!(
                "{}: in the XACML Request: {}",
                e.position,
                full.strip_prefix(&prefix).unwrap_or(&full)
            );
        }
    };
    format!("{}: in the XACML Request: {what}", e.position)
}

/// The WS-Addressing headers found so far.
#[derive(Default)]
struct Addressing<'a> {
    message_id: Option<Cow<'a, str>>,
    action: Option<Cow<'a, str>>,
    to: Option<Cow<'a, str>>,
}

struct EnvelopeParser<'c, 'a> {
    cursor: &'c mut XmlCursor<'a>,
    symbols: Option<&'c Symbols>,
}

impl<'a> EnvelopeParser<'_, 'a> {
    fn envelope(&mut self) -> Result<ClosedQuestionEnvelope<'a>, Failure> {
        let root = self.cursor.root()?;
        match (root.ns.as_deref(), root.local) {
            (Some(SOAP12_NS), "Envelope") => {}
            (Some(SOAP11_NS), "Envelope") => {
                return Err(Failure::Soap {
                    code: FaultCode::VersionMismatch,
                    offset: root.offset,
                    reason: format!(
                        "this is a SOAP 1.1 envelope; the closed question uses SOAP 1.2 \
                         (namespace {SOAP12_NS}, media type application/soap+xml)"
                    ),
                })
            }
            (_, "Envelope") => {
                return Err(Failure::Soap {
                    code: FaultCode::VersionMismatch,
                    offset: root.offset,
                    reason: format!("the Envelope is not in the SOAP 1.2 namespace {SOAP12_NS}"),
                })
            }
            (Some(XACML_NS), "Request") => {
                return Err(Failure::sender(
                    root.offset,
                    "a bare XACML Request; send it inside a SOAP 1.2 Envelope, in the Body's \
                     XACMLAuthzDecisionQuery",
                ))
            }
            _ => {
                return Err(Failure::sender(
                    root.offset,
                    format!(
                        "the root element is <{}>, expected a SOAP 1.2 Envelope",
                        root.display_name("")
                    ),
                ))
            }
        }
        let mut addressing = Addressing::default();
        let mut request = None;
        let mut seen_header = false;
        while let Some(child) = self.next_child("Envelope")? {
            match child.local_in(SOAP12_NS) {
                Some("Header") if !seen_header && request.is_none() => {
                    seen_header = true;
                    self.header(&mut addressing)?;
                }
                Some("Body") if request.is_none() => {
                    request = Some(self.body(&child)?);
                }
                _ => {
                    return Err(Failure::sender(
                        child.offset,
                        format!(
                            "unexpected <{}> in the Envelope, which holds an optional Header \
                             followed by one Body",
                            child.display_name(SOAP12_NS)
                        ),
                    ))
                }
            }
        }
        let Some(request) = request else {
            return Err(Failure::sender(
                root.offset,
                "the Envelope has no Body; put the XACMLAuthzDecisionQuery in a SOAP 1.2 Body",
            ));
        };
        self.cursor.finish()?;
        Ok(ClosedQuestionEnvelope {
            message_id: addressing.message_id,
            action: addressing.action,
            to: addressing.to,
            request,
        })
    }

    fn header(&mut self, addressing: &mut Addressing<'a>) -> Result<(), Failure> {
        while let Some(block) = self.next_child("Header")? {
            let must_understand = self.must_understand(&block)?;
            let targets_us = match self.cursor.attr_ns(SOAP12_NS, "role") {
                None => true,
                Some(role) => {
                    let role = self.cursor.attr_value(&role)?;
                    let role = role.trim();
                    role.is_empty() || role == ROLE_NEXT || role == ROLE_ULTIMATE_RECEIVER
                }
            };
            let slot = match block.local_in(WSA_NS) {
                Some("Action") => Some(&mut addressing.action),
                Some("MessageID") => Some(&mut addressing.message_id),
                Some("To") => Some(&mut addressing.to),
                // Understood: the answer goes back on the same connection whatever they say, and
                // RelatesTo on a question carries nothing for the answer.
                Some("ReplyTo" | "FaultTo" | "From" | "RelatesTo") => {
                    self.cursor.skip_element()?;
                    continue;
                }
                _ => None,
            };
            match slot {
                Some(slot) => {
                    if slot.is_some() {
                        return Err(Failure::sender(
                            block.offset,
                            format!(
                                "the header wsa:{} appears twice; WS-Addressing allows one",
                                block.local
                            ),
                        ));
                    }
                    *slot = Some(self.text_content(&block)?);
                }
                None if must_understand && targets_us => {
                    return Err(Failure::Soap {
                        code: FaultCode::MustUnderstand,
                        offset: block.offset,
                        reason: format!(
                            "the header block <{}> is marked mustUnderstand but this service \
                             does not understand it; remove it or drop mustUnderstand",
                            block.display_name("")
                        ),
                    })
                }
                None => self.cursor.skip_element()?,
            }
        }
        Ok(())
    }

    /// `soap:mustUnderstand` of the header block just opened (`xs:boolean`, absent = false).
    fn must_understand(&self, block: &Tag<'a>) -> Result<bool, Failure> {
        let Some(attr) = self.cursor.attr_ns(SOAP12_NS, "mustUnderstand") else {
            return Ok(false);
        };
        match self.cursor.attr_value(&attr)?.trim() {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(Failure::sender(
                attr.offset,
                format!(
                    "mustUnderstand of <{}> must be \"true\", \"false\", \"1\" or \"0\"",
                    block.display_name("")
                ),
            )),
        }
    }

    /// The text of a WS-Addressing element (trimmed); an element inside is an error.
    fn text_content(&mut self, block: &Tag<'a>) -> Result<Cow<'a, str>, Failure> {
        // Borrowed from the input while it is one piece (the usual case).
        let mut text: Cow<'a, str> = Cow::Borrowed("");
        loop {
            let chunk = match self.cursor.next_item()? {
                Item::Text { raw, offset, .. } => self.cursor.text_value(raw, offset)?,
                Item::CData { text: t, .. } => Cow::Borrowed(t),
                Item::Start(child) => {
                    return Err(Failure::sender(
                        child.offset,
                        format!(
                            "<{}> inside wsa:{}, which holds text only",
                            child.display_name(""),
                            block.local
                        ),
                    ))
                }
                Item::End | Item::Eof => break,
            };
            if text.is_empty() {
                text = chunk;
            } else {
                text.to_mut().push_str(&chunk);
            }
        }
        Ok(match text {
            Cow::Borrowed(t) => Cow::Borrowed(xml_trim(t)),
            Cow::Owned(t) => Cow::Owned(xml_trim(&t).to_string()),
        })
    }

    fn body(&mut self, body: &Tag<'a>) -> Result<Request, Failure> {
        let mut request = None;
        while let Some(child) = self.next_child("Body")? {
            match (child.ns.as_deref(), child.local) {
                (Some(XACML_SAMLP_NS), "XACMLAuthzDecisionQuery") if request.is_none() => {
                    request = Some(self.query(&child)?);
                }
                (Some(XACML_SAMLP_NS), "XACMLAuthzDecisionQuery") => {
                    return Err(Failure::sender(
                        child.offset,
                        "a second XACMLAuthzDecisionQuery; send one question per message",
                    ))
                }
                (_, "XACMLAuthzDecisionQuery") => {
                    return Err(Failure::sender(
                        child.offset,
                        format!(
                            "XACMLAuthzDecisionQuery is in the wrong namespace; expected \
                             {XACML_SAMLP_NS} (SAML 2.0 profile of XACML 3.0)"
                        ),
                    ))
                }
                (Some(XACML_NS), "Request") => {
                    return Err(Failure::sender(
                        child.offset,
                        format!(
                            "the XACML Request must be wrapped in an XACMLAuthzDecisionQuery \
                             (namespace {XACML_SAMLP_NS})"
                        ),
                    ))
                }
                _ => {
                    return Err(Failure::sender(
                        child.offset,
                        format!(
                            "unexpected <{}> in the Body; expected one XACMLAuthzDecisionQuery \
                             in namespace {XACML_SAMLP_NS}",
                            child.display_name("")
                        ),
                    ))
                }
            }
        }
        request.ok_or_else(|| {
            Failure::sender(
                body.offset,
                format!("the Body holds no XACMLAuthzDecisionQuery (namespace {XACML_SAMLP_NS})"),
            )
        })
    }

    fn query(&mut self, query: &Tag<'a>) -> Result<Request, Failure> {
        // The SAML RequestAbstractType attributes (ID, Version, IssueInstant, Destination,
        // Consent) and the profile's flags are optional and carry nothing the decision uses.
        let mut request = None;
        while let Some(child) = self.next_child("XACMLAuthzDecisionQuery")? {
            match (child.ns.as_deref(), child.local) {
                (Some(XACML_NS), "Request") if request.is_none() => {
                    let parsed = read_request(self.cursor, &child, self.symbols)
                        .map_err(Failure::Request)?;
                    request = Some(parsed);
                }
                (Some(XACML_NS), "Request") => {
                    return Err(Failure::sender(
                        child.offset,
                        "a second XACML Request in the query; send one Request with one \
                         <Attributes> per data category",
                    ))
                }
                (_, "Request") => {
                    return Err(Failure::sender(
                        child.offset,
                        format!(
                            "the Request is in the wrong namespace; expected XACML 3.0 \
                             ({XACML_NS})"
                        ),
                    ))
                }
                (Some(SAML_NS), "Issuer") | (Some(XMLDSIG_NS), "Signature")
                    if request.is_none() =>
                {
                    self.cursor.skip_element()?;
                }
                _ => {
                    return Err(Failure::sender(
                        child.offset,
                        format!(
                            "unexpected <{}> in the XACMLAuthzDecisionQuery, which holds an \
                             optional saml:Issuer and one XACML 3.0 Request",
                            child.display_name("")
                        ),
                    ))
                }
            }
        }
        request.ok_or_else(|| {
            Failure::sender(
                query.offset,
                format!(
                    "the XACMLAuthzDecisionQuery holds no XACML 3.0 Request (namespace \
                     {XACML_NS})"
                ),
            )
        })
    }

    /// The next child element of the element opened last, `None` at its end; text other than
    /// white space is an error.
    fn next_child(&mut self, parent: &str) -> Result<Option<Tag<'a>>, Failure> {
        loop {
            match self.cursor.next_markup()? {
                Item::Start(tag) => return Ok(Some(tag)),
                Item::End | Item::Eof => return Ok(None),
                Item::Text { raw, offset, blank } => {
                    if !blank && !is_xml_whitespace(&self.cursor.text_value(raw, offset)?) {
                        return Err(Failure::sender(
                            offset,
                            format!("unexpected text inside <{parent}>, which holds elements only"),
                        ));
                    }
                }
                Item::CData { text, offset } => {
                    if !is_xml_whitespace(text) {
                        return Err(Failure::sender(
                            offset,
                            format!("unexpected text inside <{parent}>, which holds elements only"),
                        ));
                    }
                }
            }
        }
    }
}

/// Appends the SOAP 1.2 answer to a closed question (domain 2.6/2.9): `wsa:Action`
/// [`ANSWER_ACTION`], `wsa:RelatesTo` with the question's `MessageID` when it had one, and the
/// XACML `<Response>` directly in the Body. Send it with HTTP 200 and [`ANSWER_CONTENT_TYPE`].
pub fn write_closed_answer(response: &Response, relates_to: Option<&str>, out: &mut String) {
    write_closed_answer_of(&response.results, relates_to, out);
}

/// [`write_closed_answer`] for results not collected into a [`Response`]: owned results or
/// [`crate::xacml::response::DecisionView`]s decided while writing (same bytes).
pub fn write_closed_answer_of<R: WritableResult>(
    results: impl IntoIterator<Item = R>,
    relates_to: Option<&str>,
    out: &mut String,
) {
    let results = results.into_iter();
    // One growth at most: an answer is about 1.5 KB per result plus the envelope.
    out.reserve(1024 + 1536 * results.size_hint().0);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<s:Envelope xmlns:s=\"");
    out.push_str(SOAP12_NS);
    out.push_str("\" xmlns:a=\"");
    out.push_str(WSA_NS);
    out.push_str("\">\n<s:Header>\n<a:Action>");
    out.push_str(ANSWER_ACTION);
    out.push_str("</a:Action>\n");
    if let Some(id) = relates_to {
        out.push_str("<a:RelatesTo>");
        // A message id (a URN) needs no escaping: a word scan instead of a byte scan.
        if needs_escape(id.as_bytes(), true) {
            out.push_str(&partial_escape(id));
        } else {
            out.push_str(id);
        }
        out.push_str("</a:RelatesTo>\n");
    }
    out.push_str("</s:Header>\n<s:Body>\n");
    write_results_element(results, out);
    out.push_str("</s:Body>\n</s:Envelope>\n");
}

/// Appends a SOAP 1.2 Fault envelope for `fault` (send it with [`SoapFault::http_status`] and
/// [`ANSWER_CONTENT_TYPE`]). A `VersionMismatch` fault carries the `Upgrade` header naming
/// SOAP 1.2, as the SOAP 1.2 specification asks.
pub fn write_fault(fault: &SoapFault, out: &mut String) {
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<s:Envelope xmlns:s=\"");
    out.push_str(SOAP12_NS);
    out.push_str("\" xmlns:a=\"");
    out.push_str(WSA_NS);
    out.push_str("\">\n<s:Header>\n<a:Action>");
    out.push_str(FAULT_ACTION);
    out.push_str("</a:Action>\n");
    if fault.code == FaultCode::VersionMismatch {
        out.push_str("<s:Upgrade><s:SupportedEnvelope qname=\"s:Envelope\"/></s:Upgrade>\n");
    }
    out.push_str("</s:Header>\n<s:Body>\n<s:Fault>\n<s:Code><s:Value>s:");
    out.push_str(fault.code.local_name());
    out.push_str("</s:Value></s:Code>\n<s:Reason><s:Text xml:lang=\"en\">");
    out.push_str(&partial_escape(&fault.reason));
    out.push_str("</s:Text></s:Reason>\n</s:Fault>\n</s:Body>\n</s:Envelope>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        for ok in [
            "application/soap+xml",
            "application/soap+xml; charset=UTF-8",
            "Application/SOAP+XML;charset=\"utf-8\"; action=\"XACMLAuthorizationDecisionQueryRequest\"",
            "text/xml",
            "text/xml; charset=utf-8",
        ] {
            assert!(content_type_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "application/json",
            "application/xml",
            "text/plain",
            "text/xml; charset=iso-8859-1",
            "application/soap+xml-foo",
        ] {
            assert!(!content_type_ok(bad), "{bad}");
        }
    }

    #[test]
    fn http_statuses() {
        assert_eq!(SoapFault::sender("x").http_status(), 400);
        assert_eq!(SoapFault::receiver("x").http_status(), 500);
        for code in [FaultCode::MustUnderstand, FaultCode::VersionMismatch] {
            assert_eq!(
                SoapFault {
                    code,
                    reason: String::new()
                }
                .http_status(),
                400
            );
        }
    }

    #[test]
    fn fault_envelope_is_well_formed() {
        let mut out = String::new();
        write_fault(
            &SoapFault {
                code: FaultCode::VersionMismatch,
                reason: "a < b & c".to_string(),
            },
            &mut out,
        );
        let doc = roxmltree::Document::parse(&out).unwrap();
        let value = doc
            .descendants()
            .find(|n| n.has_tag_name((SOAP12_NS, "Value")))
            .and_then(|n| n.text());
        assert_eq!(value, Some("s:VersionMismatch"));
        let text = doc
            .descendants()
            .find(|n| n.has_tag_name((SOAP12_NS, "Text")))
            .and_then(|n| n.text());
        assert_eq!(text, Some("a < b & c"));
        assert!(doc
            .descendants()
            .any(|n| n.has_tag_name((SOAP12_NS, "SupportedEnvelope"))));
    }
}
