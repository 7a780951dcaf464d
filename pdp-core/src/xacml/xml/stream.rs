//! A streaming, namespace-aware XML cursor over borrowed text: the one reader under the hot-path
//! parsers (the XACML request parser and the SOAP envelope of the closed question).
//!
//! Why not roxmltree here: building a tree costs more than the whole decision. The cursor walks
//! quick-xml events once, resolves namespace prefixes itself (one pass over each start tag's
//! attributes, bindings borrowed from the input), and enforces during that same pass what
//! [`parse_document`](super::doc::parse_document) enforces for policies: no DOCTYPE (so no
//! entity is ever defined), bounded depth and node count, one root element, matching end tags,
//! bound prefixes, unique attributes, no text outside the root.
//!
//! Everything it hands out borrows from the input (`&'a str`); entity references are only
//! resolved, into an owned string, when a caller asks for a value that contains one. Errors carry
//! a byte offset; callers turn it into a line and column with [`XmlCursor::position`] only when
//! they build an error, so the success path never counts lines.
//!
//! Empty elements (`<a/>`) are reported as a start followed by an end, so callers need one code
//! path for both forms.

use std::borrow::Cow;

use quick_xml::events::attributes::Attributes;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::doc::{LineIndex, Position, XmlErrorKind, XmlLimits};

/// The namespace bound to the `xml` prefix (`xml:id`, `xml:lang`).
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// An XML problem found while streaming: what and at which byte offset of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamError {
    pub kind: XmlErrorKind,
    pub offset: usize,
}

impl StreamError {
    fn malformed(offset: usize, message: impl Into<String>) -> Self {
        StreamError {
            kind: XmlErrorKind::Malformed(message.into()),
            offset,
        }
    }
}

/// A start tag, with its name resolved against the namespace bindings in scope.
#[derive(Clone, Debug)]
pub struct Tag<'a> {
    /// The element's namespace; `None` when it has none.
    pub ns: Option<Cow<'a, str>>,
    pub local: &'a str,
    /// Byte offset of the `<`.
    pub offset: usize,
}

impl Tag<'_> {
    /// The local name when the element is in namespace `ns`.
    pub fn local_in(&self, ns: &str) -> Option<&str> {
        (self.ns.as_deref() == Some(ns)).then_some(self.local)
    }

    /// `local` for elements in `home_ns` or without a namespace, `{ns}local` for others: the
    /// form error messages use.
    pub fn display_name(&self, home_ns: &str) -> String {
        match self.ns.as_deref() {
            Some(ns) if ns != home_ns => format!("{{{ns}}}{}", self.local),
            _ => self.local.to_string(),
        }
    }
}

/// One attribute of the current start tag, as written (value still escaped).
#[derive(Clone, Copy, Debug)]
pub struct Attr<'a> {
    pub prefix: &'a str,
    pub local: &'a str,
    /// The value between the quotes, entity references and all.
    pub raw: &'a str,
    /// Byte offset of the value.
    pub offset: usize,
}

/// What the cursor found next.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// A start tag; its attributes are available from [`XmlCursor::attrs`] until the next call.
    Start(Tag<'a>),
    /// The end of the innermost open element (also reported after an empty element).
    End,
    /// Character data inside the root element, still escaped (see [`XmlCursor::text_value`]).
    Text { raw: &'a str, offset: usize },
    /// A CDATA section: literal text.
    CData { text: &'a str, offset: usize },
    /// The end of a well-formed document.
    Eof,
}

struct Binding<'a> {
    prefix: &'a str,
    uri: Cow<'a, str>,
    depth: usize,
}

/// The streaming cursor. Reuse is not needed: it allocates only for namespace bindings and
/// attributes beyond the first few, once per document.
pub struct XmlCursor<'a> {
    text: &'a str,
    reader: Reader<&'a [u8]>,
    limits: XmlLimits,
    depth: usize,
    nodes: u32,
    root_seen: bool,
    /// An empty element was just reported; its end comes next.
    pending_end: bool,
    ns: Vec<Binding<'a>>,
    attrs: Vec<Attr<'a>>,
}

impl<'a> XmlCursor<'a> {
    /// A cursor at the start of `text`. The caller checks the size limit (it needs the byte
    /// length before decoding anyway).
    pub fn new(text: &'a str, limits: &XmlLimits) -> Self {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        XmlCursor {
            text,
            reader,
            limits: *limits,
            depth: 0,
            nodes: 0,
            root_seen: false,
            pending_end: false,
            ns: Vec::with_capacity(8),
            attrs: Vec::with_capacity(8),
        }
    }

    /// The whole document text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The line and column of a byte offset (scans the text: call it only to report an error).
    pub fn position(&self, offset: usize) -> Position {
        LineIndex::new(self.text).position(offset)
    }

    /// The current element depth (1 inside the root's start tag).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The attributes of the start tag last returned, `xmlns` declarations excluded.
    pub fn attrs(&self) -> &[Attr<'a>] {
        &self.attrs
    }

    /// The unprefixed attribute `local` of the start tag last returned.
    pub fn attr(&self, local: &str) -> Option<Attr<'a>> {
        self.attrs
            .iter()
            .find(|a| a.prefix.is_empty() && a.local == local)
            .copied()
    }

    /// The attribute `{ns}local` of the start tag last returned (prefixed attributes only, as
    /// namespaces in XML prescribe).
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<Attr<'a>> {
        self.attrs
            .iter()
            .find(|a| {
                !a.prefix.is_empty() && a.local == local && self.resolve(a.prefix) == Some(ns)
            })
            .copied()
    }

    /// The namespace bound to a non-empty prefix, if any.
    pub fn resolve(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.ns
            .iter()
            .rev()
            .find(|b| b.prefix == prefix)
            .map(|b| &*b.uri)
            .filter(|uri| !uri.is_empty())
    }

    /// An attribute's value with white space normalised (tab, newline, carriage return become a
    /// space, as XML attribute-value normalisation requires) and entity references resolved.
    /// Borrowed unless the value contains either.
    pub fn attr_value(&self, attr: &Attr<'a>) -> Result<Cow<'a, str>, StreamError> {
        let raw = attr.raw;
        if !raw
            .bytes()
            .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
        {
            return Ok(Cow::Borrowed(raw));
        }
        let normalised = raw.replace("\r\n", " ").replace(['\t', '\n', '\r'], " ");
        unescape(&normalised, attr.offset).map(|v| Cow::Owned(v.into_owned()))
    }

    /// Character data with line ends normalised (`\r\n` and `\r` become `\n`, as an XML
    /// processor must) and entity references resolved. Borrowed unless it contains either.
    pub fn text_value(&self, raw: &'a str, offset: usize) -> Result<Cow<'a, str>, StreamError> {
        if !raw.bytes().any(|b| matches!(b, b'&' | b'\r')) {
            return Ok(Cow::Borrowed(raw));
        }
        if !raw.contains('\r') {
            return unescape(raw, offset);
        }
        let normalised = raw.replace("\r\n", "\n").replace('\r', "\n");
        unescape(&normalised, offset).map(|v| Cow::Owned(v.into_owned()))
    }

    /// The next item. Comments, processing instructions, the XML declaration and white space
    /// outside the root element are skipped.
    pub fn next_item(&mut self) -> Result<Item<'a>, StreamError> {
        if self.pending_end {
            self.pending_end = false;
            self.close();
            return Ok(Item::End);
        }
        loop {
            let offset = self.reader.buffer_position() as usize;
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => {
                    return Err(StreamError::malformed(
                        self.reader.error_position() as usize,
                        e.to_string(),
                    ))
                }
            };
            self.nodes = self.nodes.saturating_add(1);
            if self.nodes > self.limits.max_nodes {
                return Err(StreamError {
                    kind: XmlErrorKind::TooManyNodes {
                        limit: self.limits.max_nodes,
                    },
                    offset,
                });
            }
            match event {
                Event::Start(start) => {
                    let raw = self.sub(&start, offset)?;
                    return self
                        .open(raw, start.name().as_ref().len(), offset)
                        .map(Item::Start);
                }
                Event::Empty(start) => {
                    let raw = self.sub(&start, offset)?;
                    let tag = self.open(raw, start.name().as_ref().len(), offset)?;
                    self.pending_end = true;
                    return Ok(Item::Start(tag));
                }
                Event::End(_) => {
                    if self.depth == 0 {
                        return Err(StreamError::malformed(
                            offset,
                            "end tag without a start tag",
                        ));
                    }
                    self.close();
                    return Ok(Item::End);
                }
                Event::Text(t) => {
                    let raw = self.sub(&t, offset)?;
                    if self.depth == 0 {
                        if !is_xml_whitespace(raw) {
                            let message = if self.root_seen {
                                "text after the root element"
                            } else {
                                "text before the root element; an XML document starts with \
                                 an element"
                            };
                            return Err(StreamError::malformed(offset, message));
                        }
                        continue;
                    }
                    return Ok(Item::Text { raw, offset });
                }
                Event::CData(c) => {
                    let text = self.sub(&c, offset)?;
                    if self.depth == 0 {
                        return Err(StreamError::malformed(
                            offset,
                            "CDATA section outside the root element",
                        ));
                    }
                    return Ok(Item::CData { text, offset });
                }
                Event::Decl(_) => {
                    if offset != 0 {
                        return Err(StreamError::malformed(
                            offset,
                            "an XML declaration is only allowed at the very start",
                        ));
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => {
                    return Err(StreamError {
                        kind: XmlErrorKind::Doctype,
                        offset,
                    })
                }
                Event::Eof => {
                    if self.depth > 0 {
                        return Err(StreamError::malformed(
                            offset,
                            format!(
                                "unexpected end of the document: {} element(s) are not closed",
                                self.depth
                            ),
                        ));
                    }
                    if !self.root_seen {
                        return Err(StreamError::malformed(
                            offset,
                            "the document has no root element",
                        ));
                    }
                    return Ok(Item::Eof);
                }
            }
        }
    }

    /// The first start tag of the document (the root element).
    pub fn root(&mut self) -> Result<Tag<'a>, StreamError> {
        match self.next_item()? {
            Item::Start(tag) => Ok(tag),
            // `next` reports an empty document and text outside the root itself; nothing else
            // can come before the root.
            _ => Err(StreamError::malformed(
                0,
                "the document has no root element",
            )),
        }
    }

    /// Skips the rest of the element whose start tag was just returned, through its end tag.
    pub fn skip_element(&mut self) -> Result<(), StreamError> {
        let target = self.depth.saturating_sub(1);
        loop {
            match self.next_item()? {
                Item::End if self.depth == target => return Ok(()),
                Item::Eof => return Err(StreamError::malformed(self.text.len(), "unexpected end")),
                _ => {}
            }
        }
    }

    /// After the root element has ended: checks that only comments, processing instructions
    /// and white space follow.
    pub fn finish(&mut self) -> Result<(), StreamError> {
        match self.next_item()? {
            Item::Eof => Ok(()),
            _ => Err(StreamError::malformed(
                self.reader.buffer_position() as usize,
                "content after the root element",
            )),
        }
    }

    /// Reads the rest of the document and returns its first XML problem, if any. Parsers call
    /// this after finding a schema-level error, so that a document that is not even well-formed
    /// gets the XML error (the more basic problem), as a tree-building parser would report it.
    pub fn drain(&mut self) -> Option<StreamError> {
        loop {
            match self.next_item() {
                Ok(Item::Eof) => return None,
                Ok(_) => {}
                Err(e) => return Some(e),
            }
        }
    }

    /// The input text that `part` (a slice quick-xml handed out) covers, with the input's
    /// lifetime. quick-xml borrows every event from the input when reading from a slice, so
    /// this never fails in practice; if it ever did, the document is refused rather than
    /// misread.
    fn sub(&self, part: &[u8], offset: usize) -> Result<&'a str, StreamError> {
        let base = self.text.as_ptr() as usize;
        let start = (part.as_ptr() as usize).wrapping_sub(base);
        self.text
            .get(start..start.wrapping_add(part.len()))
            .filter(|_| start <= self.text.len())
            .ok_or_else(|| StreamError::malformed(offset, "unreadable markup"))
    }

    /// Handles a start tag: depth and root checks, namespace declarations, attributes, name
    /// resolution.
    fn open(
        &mut self,
        raw: &'a str,
        name_len: usize,
        offset: usize,
    ) -> Result<Tag<'a>, StreamError> {
        if self.depth == 0 {
            if self.root_seen {
                return Err(StreamError::malformed(
                    offset,
                    "a second root element; a document has exactly one",
                ));
            }
            self.root_seen = true;
        }
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(StreamError {
                kind: XmlErrorKind::TooDeep {
                    limit: self.limits.max_depth,
                },
                offset,
            });
        }
        let qname = raw.get(..name_len).unwrap_or(raw);
        self.attrs.clear();
        let mut attributes = Attributes::new(raw, name_len);
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute.map_err(|e| StreamError::malformed(offset, e.to_string()))?;
            let key = self.sub(attribute.key.as_ref(), offset)?;
            let value = match &attribute.value {
                Cow::Borrowed(v) => self.sub(v, offset)?,
                Cow::Owned(_) => {
                    return Err(StreamError::malformed(offset, "unreadable attribute"))
                }
            };
            let value_offset = value.as_ptr() as usize - self.text.as_ptr() as usize;
            if value.bytes().any(|b| b == b'<') {
                return Err(StreamError::malformed(
                    value_offset,
                    format!("'<' is not allowed in the value of attribute {key}"),
                ));
            }
            let (prefix, local) = split_qname(key);
            if prefix.is_empty() && local == "xmlns" {
                let uri = unescape(value, value_offset)?;
                self.bind("", uri, value_offset)?;
                continue;
            }
            if prefix == "xmlns" {
                let uri = unescape(value, value_offset)?;
                self.bind(local, uri, value_offset)?;
                continue;
            }
            // Local names first: they differ in length almost always, which settles the
            // comparison without a call into `memcmp` (this check runs for every attribute).
            if self
                .attrs
                .iter()
                .any(|a| a.local.len() == local.len() && a.local == local && a.prefix == prefix)
            {
                return Err(StreamError::malformed(
                    offset,
                    format!("attribute {key} appears twice"),
                ));
            }
            self.attrs.push(Attr {
                prefix,
                local,
                raw: value,
                offset: value_offset,
            });
        }
        // Prefixed attributes must use bound prefixes.
        for a in &self.attrs {
            if !a.prefix.is_empty() && self.resolve(a.prefix).is_none() {
                return Err(StreamError::malformed(
                    a.offset,
                    format!("the namespace prefix '{}' is not declared", a.prefix),
                ));
            }
        }
        let (prefix, local) = split_qname(qname);
        let ns = if prefix.is_empty() {
            self.ns
                .iter()
                .rev()
                .find(|b| b.prefix.is_empty())
                .map(|b| b.uri.clone())
                .filter(|uri| !uri.is_empty())
        } else {
            match self.resolve_binding(prefix) {
                Some(uri) => Some(uri),
                None => {
                    return Err(StreamError::malformed(
                        offset,
                        format!("the namespace prefix '{prefix}' of <{qname}> is not declared"),
                    ))
                }
            }
        };
        Ok(Tag { ns, local, offset })
    }

    fn resolve_binding(&self, prefix: &str) -> Option<Cow<'a, str>> {
        if prefix == "xml" {
            return Some(Cow::Borrowed(XML_NS));
        }
        self.ns
            .iter()
            .rev()
            .find(|b| b.prefix == prefix)
            .map(|b| b.uri.clone())
            .filter(|uri| !uri.is_empty())
    }

    fn bind(
        &mut self,
        prefix: &'a str,
        uri: Cow<'a, str>,
        offset: usize,
    ) -> Result<(), StreamError> {
        if prefix == "xmlns" || (prefix == "xml" && uri != XML_NS) {
            return Err(StreamError::malformed(
                offset,
                format!("the prefix '{prefix}' is reserved and cannot be declared"),
            ));
        }
        if !prefix.is_empty() && uri.is_empty() {
            return Err(StreamError::malformed(
                offset,
                format!("the prefix '{prefix}' is bound to an empty namespace name"),
            ));
        }
        self.ns.push(Binding {
            prefix,
            uri,
            depth: self.depth,
        });
        Ok(())
    }

    fn close(&mut self) {
        while self.ns.last().is_some_and(|b| b.depth >= self.depth) {
            self.ns.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

/// `prefix:local` split at the first colon; no colon means no prefix.
fn split_qname(name: &str) -> (&str, &str) {
    // A byte scan: names are short, and `split_once` goes through the generic searcher.
    match name.bytes().position(|b| b == b':') {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => ("", name),
    }
}

/// XML white space only (`#x20 | #x9 | #xD | #xA`).
pub fn is_xml_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn unescape(raw: &str, offset: usize) -> Result<Cow<'_, str>, StreamError> {
    if !raw.contains('&') {
        return Ok(Cow::Borrowed(raw));
    }
    quick_xml::escape::unescape(raw).map_err(|e| {
        StreamError::malformed(
            offset,
            format!("{e}; only the five predefined entities and character references are allowed"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(text: &str) -> Result<Vec<String>, StreamError> {
        let mut cursor = XmlCursor::new(text, &XmlLimits::default());
        let mut out = Vec::new();
        loop {
            match cursor.next_item()? {
                Item::Start(tag) => out.push(format!(
                    "<{}{}",
                    tag.ns
                        .as_deref()
                        .map(|n| format!("{{{n}}}"))
                        .unwrap_or_default(),
                    tag.local
                )),
                Item::End => out.push(">".into()),
                Item::Text { raw, offset } => {
                    out.push(cursor.text_value(raw, offset)?.into_owned())
                }
                Item::CData { text, .. } => out.push(text.to_string()),
                Item::Eof => return Ok(out),
            }
        }
    }

    #[test]
    fn namespaces_resolve_in_scope() {
        let items = walk(
            r#"<a xmlns="urn:d" xmlns:p="urn:p"><p:b/><c xmlns="urn:e"><d/></c><e xmlns=""/></a>"#,
        )
        .unwrap();
        assert_eq!(
            items,
            [
                "<{urn:d}a",
                "<{urn:p}b",
                ">",
                "<{urn:e}c",
                "<{urn:e}d",
                ">",
                ">",
                "<e",
                ">",
                ">"
            ]
        );
    }

    #[test]
    fn well_formedness_is_checked() {
        for bad in [
            "<a><b></a>",
            "<a>",
            "<a/><b/>",
            "<a/>text",
            "<p:a/>",
            "<a p:x=\"1\"/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a x=\"<\"/>",
            "<a>&unknown;</a>",
            "",
            "</a>",
            "<a xmlns:p=\"\"/>",
        ] {
            assert!(walk(bad).is_err(), "{bad:?}");
        }
        assert!(walk("<?xml version=\"1.0\"?><!-- c --><a/><!-- d -->\n").is_ok());
    }

    #[test]
    fn text_and_attributes_are_unescaped_and_normalised() {
        let text = "<a x=\"1&amp;\n2&#10;\">a &lt;\r\nb</a>";
        let mut cursor = XmlCursor::new(text, &XmlLimits::default());
        assert!(matches!(cursor.next_item(), Ok(Item::Start(_))));
        let x = cursor.attr("x").unwrap();
        assert_eq!(cursor.attr_value(&x).unwrap(), "1& 2\n");
        match cursor.next_item() {
            Ok(Item::Text { raw, offset }) => {
                assert_eq!(cursor.text_value(raw, offset).unwrap(), "a <\nb")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn doctype_depth_and_node_limits() {
        let e = walk("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").unwrap_err();
        assert_eq!(e.kind, XmlErrorKind::Doctype);
        let limits = XmlLimits {
            max_depth: 3,
            ..XmlLimits::default()
        };
        let mut cursor = XmlCursor::new("<a><b><c><d/></c></b></a>", &limits);
        assert_eq!(
            cursor.drain().map(|e| e.kind),
            Some(XmlErrorKind::TooDeep { limit: 3 })
        );
        let limits = XmlLimits {
            max_nodes: 3,
            ..XmlLimits::default()
        };
        let mut cursor = XmlCursor::new("<a><b/><b/><b/></a>", &limits);
        assert!(matches!(
            cursor.drain().map(|e| e.kind),
            Some(XmlErrorKind::TooManyNodes { .. })
        ));
    }
}
