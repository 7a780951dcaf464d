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
//! Cost: one pass over a roxmltree tree built by [`parse_document`]; each value is parsed once
//! into a [`Value`], ids are copied once into `Arc<str>`.

use std::fmt;
use std::sync::Arc;

use roxmltree::{Document, Node};

use super::doc::{as_utf8, parse_document, Position, XmlError, XmlErrorKind, XmlLimits};
use crate::xacml::datatype::DataType;
use crate::xacml::request::{Request, RequestAttribute, RequestCategory};
use crate::xacml::value::{Value, ValueError};

/// The XACML 3.0 core schema namespace.
pub const XACML_NS: &str = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17";

/// The namespace of `xml:id`.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

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
/// count, and DOCTYPE declarations are always refused (see [`parse_document`]).
pub fn parse_request(bytes: &[u8], limits: &XmlLimits) -> Result<Request, RequestError> {
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
    let doc = parse_document(text, limits)?;
    RequestParser { doc: &doc }.request(doc.root_element())
}

struct RequestParser<'d, 'input> {
    doc: &'d Document<'input>,
}

impl<'d, 'input> RequestParser<'d, 'input> {
    fn pos(&self, node: Node<'d, 'input>) -> Position {
        let p = self.doc.text_pos_at(node.range().start);
        Position {
            line: p.row,
            column: p.col,
        }
    }

    fn err(&self, node: Node<'d, 'input>, kind: RequestErrorKind) -> RequestError {
        RequestError {
            kind,
            position: self.pos(node),
        }
    }

    fn request(&self, root: Node<'d, 'input>) -> Result<Request, RequestError> {
        if !is_xacml(root, "Request") {
            return Err(self.err(
                root,
                RequestErrorKind::WrongRoot {
                    found: qualified_name(root),
                },
            ));
        }
        let mut request = Request {
            return_policy_id_list: self.flag(root, "Request", "ReturnPolicyIdList")?,
            combined_decision: self.flag(root, "Request", "CombinedDecision")?,
            categories: Vec::new(),
        };
        let mut seen_defaults = false;
        for child in self.element_children(root, "Request")? {
            match xacml_name(child) {
                Some("RequestDefaults") => {
                    if seen_defaults {
                        return Err(self.err(
                            child,
                            RequestErrorKind::Duplicate {
                                element: "RequestDefaults",
                            },
                        ));
                    }
                    seen_defaults = true;
                    self.request_defaults(child)?;
                }
                Some("Attributes") => request.categories.push(self.attributes(child)?),
                Some("MultiRequests") => {
                    return Err(self.err(child, RequestErrorKind::MultiRequestsUnsupported))
                }
                _ => return Err(self.unknown(child, "Request")),
            }
        }
        Ok(request)
    }

    /// `<RequestDefaults>`: only `<XPathVersion>` is defined; it is accepted and ignored.
    fn request_defaults(&self, node: Node<'d, 'input>) -> Result<(), RequestError> {
        for child in self.element_children(node, "RequestDefaults")? {
            if xacml_name(child) != Some("XPathVersion") {
                return Err(self.unknown(child, "RequestDefaults"));
            }
        }
        Ok(())
    }

    fn attributes(&self, node: Node<'d, 'input>) -> Result<RequestCategory, RequestError> {
        let category = self.required(node, "Attributes", "Category")?;
        let xml_id = node.attribute((XML_NS, "id")).map(Arc::from);
        let mut has_content = false;
        let mut attributes = Vec::new();
        for child in self.element_children(node, "Attributes")? {
            match xacml_name(child) {
                Some("Content") => {
                    if has_content {
                        return Err(
                            self.err(child, RequestErrorKind::Duplicate { element: "Content" })
                        );
                    }
                    has_content = true;
                }
                Some("Attribute") => attributes.push(self.attribute(child)?),
                _ => return Err(self.unknown(child, "Attributes")),
            }
        }
        Ok(RequestCategory {
            category: Arc::from(category),
            xml_id,
            has_content,
            attributes,
        })
    }

    fn attribute(&self, node: Node<'d, 'input>) -> Result<RequestAttribute, RequestError> {
        let id = self.required(node, "Attribute", "AttributeId")?;
        let issuer = node.attribute("Issuer").map(Arc::from);
        let include_in_result = self.flag(node, "Attribute", "IncludeInResult")?;
        let mut values = Vec::new();
        for child in self.element_children(node, "Attribute")? {
            if xacml_name(child) != Some("AttributeValue") {
                return Err(self.unknown(child, "Attribute"));
            }
            values.push(self.attribute_value(child, id)?);
        }
        Ok(RequestAttribute {
            id: Arc::from(id),
            issuer,
            include_in_result,
            values,
        })
    }

    fn attribute_value(
        &self,
        node: Node<'d, 'input>,
        attribute_id: &str,
    ) -> Result<Value, RequestError> {
        let uri = self.required(node, "AttributeValue", "DataType")?;
        let Some(datatype) = DataType::from_uri(uri) else {
            let at = node.attribute_node("DataType").map_or_else(
                || self.pos(node),
                |a| self.position_of(a.range_value().start),
            );
            return Err(RequestError {
                kind: RequestErrorKind::UnknownDataType {
                    datatype: uri.to_string(),
                    attribute_id: attribute_id.to_string(),
                },
                position: at,
            });
        };
        // The value is the element's text; elements inside a value only make sense for XPath
        // content, which no XACML data type of this engine carries.
        let mut text = String::new();
        for child in node.children() {
            if child.is_element() {
                return Err(self.unknown(child, "AttributeValue"));
            }
            if child.is_text() {
                text.push_str(child.text().unwrap_or(""));
            }
        }
        if datatype == DataType::XPathExpression {
            let category = self.required(node, "AttributeValue", "XPathCategory")?;
            return Ok(Value::xpath(category, text.trim()));
        }
        // XML Schema: strings keep their whitespace; every other type collapses it, so
        // surrounding whitespace is not part of the value.
        let lexical = if datatype == DataType::String {
            text.as_str()
        } else {
            text.trim()
        };
        Value::parse(datatype, lexical).map_err(|error| {
            self.err(
                node,
                RequestErrorKind::InvalidValue {
                    attribute_id: attribute_id.to_string(),
                    error,
                },
            )
        })
    }

    fn position_of(&self, offset: usize) -> Position {
        let p = self.doc.text_pos_at(offset);
        Position {
            line: p.row,
            column: p.col,
        }
    }

    /// The element children of `node`; non-whitespace text is an error, comments and
    /// processing instructions are skipped.
    fn element_children(
        &self,
        node: Node<'d, 'input>,
        name: &str,
    ) -> Result<Vec<Node<'d, 'input>>, RequestError> {
        let mut out = Vec::new();
        for child in node.children() {
            if child.is_element() {
                out.push(child);
            } else if child.is_text() && !child.text().unwrap_or("").trim().is_empty() {
                return Err(self.err(
                    child,
                    RequestErrorKind::UnexpectedText {
                        parent: name.to_string(),
                    },
                ));
            }
        }
        Ok(out)
    }

    fn unknown(&self, node: Node<'d, 'input>, parent: &str) -> RequestError {
        self.err(
            node,
            RequestErrorKind::UnknownElement {
                element: qualified_name(node),
                parent: parent.to_string(),
            },
        )
    }

    fn required(
        &self,
        node: Node<'d, 'input>,
        element: &'static str,
        attribute: &'static str,
    ) -> Result<&'d str, RequestError> {
        node.attribute(attribute).ok_or_else(|| {
            self.err(
                node,
                RequestErrorKind::MissingAttribute { element, attribute },
            )
        })
    }

    /// An `xs:boolean` attribute; absent reads as `false`.
    fn flag(
        &self,
        node: Node<'d, 'input>,
        element: &'static str,
        attribute: &'static str,
    ) -> Result<bool, RequestError> {
        let Some(attr) = node.attribute_node(attribute) else {
            return Ok(false);
        };
        match attr.value().trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(RequestError {
                kind: RequestErrorKind::InvalidAttribute {
                    element,
                    attribute,
                    value: other.to_string(),
                    expected: "\"true\" or \"false\"",
                },
                position: self.position_of(attr.range_value().start),
            }),
        }
    }
}

/// The local name of an element in the XACML namespace, `None` for any other namespace.
fn xacml_name<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    let name = node.tag_name();
    (name.namespace() == Some(XACML_NS)).then(|| name.name())
}

fn is_xacml(node: Node<'_, '_>, local: &str) -> bool {
    xacml_name(node) == Some(local)
}

/// `Name` for XACML elements, `{namespace}Name` for others, for error messages.
fn qualified_name(node: Node<'_, '_>) -> String {
    let name = node.tag_name();
    match name.namespace() {
        Some(XACML_NS) => name.name().to_string(),
        Some(ns) => format!("{{{ns}}}{}", name.name()),
        None => name.name().to_string(),
    }
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
}
