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

use super::doc::{LineIndex, Position, XmlErrorKind, XmlLimits};
use super::scan::{self, value_end as scan_value, ws_len, V_LT, V_SPECIAL};

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
    /// The value holds an entity reference or a tab / line end, so [`XmlCursor::attr_value`]
    /// has work to do (found while scanning for the closing quote, so the common case is free).
    special: bool,
}

/// What the cursor found next.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// A start tag; its attributes are available from [`XmlCursor::attrs`] until the next call.
    Start(Tag<'a>),
    /// The end of the innermost open element (also reported after an empty element).
    End,
    /// Character data inside the root element, still escaped (see [`XmlCursor::text_value`]);
    /// `blank` when it is white space only (as written: a character reference to a space is
    /// not blank), found while looking for its end.
    Text {
        raw: &'a str,
        offset: usize,
        blank: bool,
    },
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

/// XML white space (`#x20 | #x9 | #xD | #xA`), for the short byte loops that remain (the long
/// scans are in [`scan`]).
#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The streaming cursor: its own tokenizer over the borrowed bytes (a start tag, its
/// attributes, namespace declarations and checks are handled in one scan of the tag). It
/// allocates only for namespace bindings, open elements and attributes beyond the first few,
/// once per document.
pub struct XmlCursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Byte offset of the next unread markup or text.
    pos: usize,
    limits: XmlLimits,
    depth: usize,
    nodes: u32,
    root_seen: bool,
    /// An empty element was just reported; its end comes next.
    pending_end: bool,
    /// Blank text is skipped rather than reported (set only inside [`XmlCursor::next_markup`]).
    skip_blank: bool,
    /// Qualified names of the open elements (not of an empty one), for end-tag matching.
    /// (Inline `SmallVec`s instead of these three allocations measured 3 k instructions more
    /// per closed question: every access pays the inline-or-heap branch.)
    open: Vec<&'a str>,
    ns: Vec<Binding<'a>>,
    attrs: Vec<Attr<'a>>,
}

impl<'a> XmlCursor<'a> {
    /// A cursor at the start of `text`. The caller checks the size limit (it needs the byte
    /// length before decoding anyway).
    pub fn new(text: &'a str, limits: &XmlLimits) -> Self {
        XmlCursor {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            limits: *limits,
            depth: 0,
            nodes: 0,
            root_seen: false,
            pending_end: false,
            skip_blank: false,
            open: Vec::with_capacity(16),
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
            .find(|a| a.prefix.is_empty() && same(a.local, local))
            .copied()
    }

    /// The attribute `{ns}local` of the start tag last returned (prefixed attributes only, as
    /// namespaces in XML prescribe).
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<Attr<'a>> {
        self.attrs
            .iter()
            .find(|a| {
                !a.prefix.is_empty() && same(a.local, local) && self.resolve(a.prefix) == Some(ns)
            })
            .copied()
    }

    /// The namespace bound to a non-empty prefix, if any.
    pub fn resolve(&self, prefix: &str) -> Option<&str> {
        if same(prefix, "xml") {
            return Some(XML_NS);
        }
        self.ns
            .iter()
            .rev()
            .find(|b| same(b.prefix, prefix))
            .map(|b| &*b.uri)
            .filter(|uri| !uri.is_empty())
    }

    /// An attribute's value with white space normalised (tab, newline, carriage return become a
    /// space, as XML attribute-value normalisation requires) and entity references resolved.
    /// Borrowed unless the value contains either.
    #[inline]
    pub fn attr_value(&self, attr: &Attr<'a>) -> Result<Cow<'a, str>, StreamError> {
        let raw = attr.raw;
        if !attr.special {
            return Ok(Cow::Borrowed(raw));
        }
        let normalised = raw.replace("\r\n", " ").replace(['\t', '\n', '\r'], " ");
        unescape(&normalised, attr.offset).map(|v| Cow::Owned(v.into_owned()))
    }

    /// Character data with line ends normalised (`\r\n` and `\r` become `\n`, as an XML
    /// processor must) and entity references resolved. Borrowed unless it contains either.
    pub fn text_value(&self, raw: &'a str, offset: usize) -> Result<Cow<'a, str>, StreamError> {
        if memchr::memchr2(b'&', b'\r', raw.as_bytes()).is_none() {
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
            let offset = self.pos;
            self.nodes = self.nodes.saturating_add(1);
            if self.nodes > self.limits.max_nodes {
                return Err(StreamError {
                    kind: XmlErrorKind::TooManyNodes {
                        limit: self.limits.max_nodes,
                    },
                    offset,
                });
            }
            let Some(&first) = self.bytes.get(offset) else {
                return self.eof(offset);
            };
            if first != b'<' {
                // Indentation between elements is the common text: white space up to the next
                // `<`, found without a search; otherwise the search starts after the white space.
                let rest = self.bytes.get(offset..).unwrap_or_default();
                let ws = ws_len(rest);
                let tail = rest.get(ws..).unwrap_or_default();
                let blank = matches!(tail.first(), None | Some(b'<'));
                let end = if blank {
                    offset + ws
                } else {
                    memchr::memchr(b'<', tail).map_or(self.bytes.len(), |i| offset + ws + i)
                };
                self.pos = end;
                // Indentation inside element-only content: nothing to slice or report.
                if blank && self.skip_blank && self.depth > 0 {
                    continue;
                }
                let raw = self.slice(offset, end)?;
                if self.depth == 0 {
                    if !blank {
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
                return Ok(Item::Text { raw, offset, blank });
            }
            match self.bytes.get(offset + 1) {
                Some(b'/') => return self.end_tag(offset),
                Some(b'?') => self.processing_instruction(offset)?,
                Some(b'!') => {
                    if let Some(text) = self.bang(offset)? {
                        return Ok(Item::CData { text, offset });
                    }
                }
                // Built straight into the caller's result: a `(Tag, bool)` passed back through
                // a temporary costs a store-forwarding stall per tag.
                _ => return self.start_tag(offset),
            }
        }
    }

    /// [`next_item`](Self::next_item) for element-only content: blank text (indentation) is
    /// skipped inside the cursor instead of being reported; other text is reported as usual.
    #[inline]
    pub fn next_markup(&mut self) -> Result<Item<'a>, StreamError> {
        self.skip_blank = true;
        let item = self.next_item();
        self.skip_blank = false;
        item
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
        // An empty element (`<v3:InstanceIdentifier .../>`, the usual HL7 value) has nothing
        // to skip but its pending end.
        if self.pending_end {
            self.pending_end = false;
            self.close();
            return Ok(());
        }
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
                self.pos,
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

    /// `text[start..end]`; every offset the tokenizer produces lies next to an ASCII delimiter,
    /// so this never fails, but a bad offset refuses the document rather than panicking.
    #[inline]
    fn slice(&self, start: usize, end: usize) -> Result<&'a str, StreamError> {
        self.text
            .get(start..end)
            .ok_or_else(|| StreamError::malformed(start, "unreadable markup"))
    }

    /// The end of the input.
    fn eof(&self, offset: usize) -> Result<Item<'a>, StreamError> {
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
        Ok(Item::Eof)
    }

    /// `</name>` at `offset`: it must close the innermost open element.
    fn end_tag(&mut self, offset: usize) -> Result<Item<'a>, StreamError> {
        let name_start = offset + 2;
        // The common form, `</name>` closing the innermost element: one comparison, no search.
        if let Some(&expected) = self.open.last() {
            let name_end = name_start + expected.len();
            if self.bytes.get(name_end) == Some(&b'>')
                && self.bytes.get(name_start..name_end) == Some(expected.as_bytes())
            {
                self.open.pop();
                self.pos = name_end + 1;
                self.close();
                return Ok(Item::End);
            }
        }
        let Some(gt) = memchr::memchr(b'>', self.bytes.get(name_start..).unwrap_or_default())
            .map(|i| name_start + i)
        else {
            return Err(StreamError::malformed(
                offset,
                "an end tag is not closed with '>'",
            ));
        };
        let name = self.slice(name_start, gt)?;
        let name = name.trim_end_matches([' ', '\t', '\r', '\n']);
        let Some(&expected) = self.open.last() else {
            return Err(StreamError::malformed(
                offset,
                "end tag without a start tag",
            ));
        };
        if name != expected {
            return Err(StreamError::malformed(
                offset,
                format!("the end tag </{name}> does not match the start tag <{expected}>"),
            ));
        }
        self.open.pop();
        self.pos = gt + 1;
        self.close();
        Ok(Item::End)
    }

    /// `<?target ...?>` at `offset`: the XML declaration (only at the very start) or a
    /// processing instruction, both skipped.
    fn processing_instruction(&mut self, offset: usize) -> Result<(), StreamError> {
        let body = offset + 2;
        let Some(end) = memchr::memmem::find(self.bytes.get(body..).unwrap_or_default(), b"?>")
            .map(|i| body + i)
        else {
            return Err(StreamError::malformed(
                offset,
                "a processing instruction is not closed with '?>'",
            ));
        };
        let content = self.bytes.get(body..end).unwrap_or_default();
        let target_len = content
            .iter()
            .position(|&b| is_ws(b))
            .unwrap_or(content.len());
        if target_len == 0 {
            return Err(StreamError::malformed(
                offset,
                "a processing instruction without a target",
            ));
        }
        if content.get(..target_len) == Some(b"xml".as_slice()) && offset != 0 {
            return Err(StreamError::malformed(
                offset,
                "an XML declaration is only allowed at the very start",
            ));
        }
        self.pos = end + 2;
        Ok(())
    }

    /// `<!` at `offset`: a comment (skipped), a CDATA section (returned) or a DOCTYPE (refused:
    /// no DTD, so no entity, is ever read).
    fn bang(&mut self, offset: usize) -> Result<Option<&'a str>, StreamError> {
        let rest = self.bytes.get(offset..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            let body = offset + 4;
            let Some(end) =
                memchr::memmem::find(self.bytes.get(body..).unwrap_or_default(), b"-->")
            else {
                return Err(StreamError::malformed(
                    offset,
                    "a comment is not closed with '-->'",
                ));
            };
            self.pos = body + end + 3;
            return Ok(None);
        }
        if rest.starts_with(b"<![CDATA[") {
            let body = offset + 9;
            let Some(end) =
                memchr::memmem::find(self.bytes.get(body..).unwrap_or_default(), b"]]>")
            else {
                return Err(StreamError::malformed(
                    offset,
                    "a CDATA section is not closed with ']]>'",
                ));
            };
            if self.depth == 0 {
                return Err(StreamError::malformed(
                    offset,
                    "CDATA section outside the root element",
                ));
            }
            let text = self.slice(body, body + end)?;
            self.pos = body + end + 3;
            return Ok(Some(text));
        }
        if rest
            .get(2..9)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"DOCTYPE"))
        {
            return Err(StreamError {
                kind: XmlErrorKind::Doctype,
                offset,
            });
        }
        Err(StreamError::malformed(
            offset,
            "'<!' starts neither a comment nor a CDATA section",
        ))
    }

    /// The name that starts at `start`: where it ends (the first byte that ends a name) and
    /// where its first colon is, found in the same scan ([`scan::name_end`]).
    #[inline]
    fn scan_name(&self, start: usize) -> (usize, Option<usize>) {
        let (end, colon) = scan::name_end(self.bytes.get(start..).unwrap_or_default());
        (start + end, colon.map(|c| start + c))
    }

    /// Splits `name`, which starts at byte `start`, at the first colon that
    /// [`scan_name`](Self::scan_name) found.
    #[inline(always)]
    fn qname_parts(name: &'a str, start: usize, colon: Option<usize>) -> (&'a str, &'a str) {
        let Some(k) = colon.and_then(|c| c.checked_sub(start)) else {
            return ("", name);
        };
        // The colon is ASCII, so both sides of it are character boundaries.
        match (name.get(..k), name.get(k + 1..)) {
            (Some(prefix), Some(local)) => (prefix, local),
            _ => ("", name),
        }
    }

    #[inline]
    fn skip_ws(&self, mut i: usize) -> usize {
        // One space between attributes is the common case.
        if self.bytes.get(i) == Some(&b' ') && self.bytes.get(i + 1).is_some_and(|&b| !is_ws(b)) {
            return i + 1;
        }
        while self.bytes.get(i).is_some_and(|&b| is_ws(b)) {
            i += 1;
        }
        i
    }

    /// A start tag at `offset`, in one scan: name, attributes (values found by their quotes,
    /// checked for `<` and classified on the way), namespace declarations, duplicate and
    /// prefix checks, depth and root checks, name resolution. An empty element (`<a/>`) leaves
    /// its end pending.
    fn start_tag(&mut self, offset: usize) -> Result<Item<'a>, StreamError> {
        let name_start = offset + 1;
        let (name_end, name_colon) = self.scan_name(name_start);
        if name_end == name_start {
            return Err(StreamError::malformed(
                offset,
                "'<' must start a tag name; write &lt; for a literal '<'",
            ));
        }
        let qname = self.slice(name_start, name_end)?;
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
        self.attrs.clear();
        let mut i = name_end;
        let empty = loop {
            let after_value = i;
            i = self.skip_ws(i);
            match self.bytes.get(i) {
                Some(b'>') => {
                    i += 1;
                    break false;
                }
                Some(b'/') => {
                    if self.bytes.get(i + 1) != Some(&b'>') {
                        return Err(StreamError::malformed(
                            i,
                            "'/' in a start tag not before '>'",
                        ));
                    }
                    i += 2;
                    break true;
                }
                None => {
                    return Err(StreamError::malformed(
                        offset,
                        format!("the start tag <{qname}> is not closed with '>'"),
                    ))
                }
                Some(_) => {}
            }
            if i == after_value {
                return Err(StreamError::malformed(
                    i,
                    format!("white space is required between the attributes of <{qname}>"),
                ));
            }
            i = self.attribute(i, qname)?;
        };
        self.pos = i;
        // Prefixed attributes must use bound prefixes.
        for a in &self.attrs {
            if !a.prefix.is_empty() && self.resolve(a.prefix).is_none() {
                return Err(StreamError::malformed(
                    a.offset,
                    format!("the namespace prefix '{}' is not declared", a.prefix),
                ));
            }
        }
        let (prefix, local) = Self::qname_parts(qname, name_start, name_colon);
        let ns = if prefix.is_empty() {
            self.ns
                .iter()
                .rev()
                .find(|b| b.prefix.is_empty())
                .and_then(|b| copy_uri(&b.uri))
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
        if !empty {
            self.open.push(qname);
        }
        self.pending_end = empty;
        Ok(Item::Start(Tag { ns, local, offset }))
    }

    /// One attribute `name = "value"` starting at `start`; returns the offset after it.
    fn attribute(&mut self, start: usize, qname: &str) -> Result<usize, StreamError> {
        let (key_end, key_colon) = self.scan_name(start);
        if key_end == start {
            return Err(StreamError::malformed(
                start,
                format!("an attribute name is expected in the start tag <{qname}>"),
            ));
        }
        let key = self.slice(start, key_end)?;
        // `name="` as nearly always written: no white space to skip.
        let mut i = key_end + 1;
        if self.bytes.get(key_end) != Some(&b'=') {
            i = self.skip_ws(key_end);
            if self.bytes.get(i) != Some(&b'=') {
                return Err(StreamError::malformed(
                    start,
                    format!("attribute {key} has no value (expected {key}=\"...\")"),
                ));
            }
            i += 1;
        }
        if !matches!(self.bytes.get(i), Some(b'"' | b'\'')) {
            i = self.skip_ws(i);
        }
        let quote = match self.bytes.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => q,
            _ => {
                return Err(StreamError::malformed(
                    i,
                    format!("the value of attribute {key} must be quoted"),
                ))
            }
        };
        let value_start = i + 1;
        let rest = self.bytes.get(value_start..).unwrap_or_default();
        let Some((len, flags)) = scan_value(rest, quote) else {
            return Err(StreamError::malformed(
                value_start,
                format!("the value of attribute {key} is not closed"),
            ));
        };
        let j = value_start + len;
        if flags & V_LT != 0 {
            return Err(StreamError::malformed(
                value_start,
                format!("'<' is not allowed in the value of attribute {key}"),
            ));
        }
        let special = flags & V_SPECIAL != 0;
        let value = self.slice(value_start, j)?;
        let (prefix, local) = Self::qname_parts(key, start, key_colon);
        if prefix.is_empty() && same(local, "xmlns") {
            let uri = Self::namespace_name(value, value_start, special)?;
            self.bind("", uri, value_start)?;
        } else if same(prefix, "xmlns") {
            let uri = Self::namespace_name(value, value_start, special)?;
            self.bind(local, uri, value_start)?;
        } else {
            // Runs for every attribute: `same` settles almost all by length.
            let mut twice = false;
            for a in &self.attrs {
                twice |= same(a.local, local) && same(a.prefix, prefix);
            }
            if twice {
                return Err(StreamError::malformed(
                    start,
                    format!("attribute {key} appears twice"),
                ));
            }
            self.attrs.push(Attr {
                prefix,
                local,
                raw: value,
                offset: value_start,
                special,
            });
        }
        Ok(j + 1)
    }

    /// The namespace name declared by an `xmlns` attribute's value: borrowed when the scan
    /// found no entity reference (nor tab or line end) in it, as nearly always.
    #[inline]
    fn namespace_name(
        value: &'a str,
        offset: usize,
        special: bool,
    ) -> Result<Cow<'a, str>, StreamError> {
        if !special {
            return Ok(Cow::Borrowed(value));
        }
        unescape(value, offset)
    }

    #[inline]
    fn resolve_binding(&self, prefix: &str) -> Option<Cow<'a, str>> {
        // `same`, not `==`: a slice comparison is a call into `memcmp` per tag.
        if same(prefix, "xml") {
            return Some(Cow::Borrowed(XML_NS));
        }
        self.ns
            .iter()
            .rev()
            .find(|b| same(b.prefix, prefix))
            .and_then(|b| copy_uri(&b.uri))
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

/// A bound namespace name for a tag, `None` for the empty one (an undeclared default). The
/// borrowed case, nearly every document's, is a copy of two words made in place (a clone
/// through `Cow::clone` costs a call and a round trip through memory per tag).
#[inline(always)]
fn copy_uri<'a>(uri: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    match uri {
        Cow::Borrowed("") => None,
        Cow::Borrowed(s) => Some(Cow::Borrowed(s)),
        Cow::Owned(s) if s.is_empty() => None,
        Cow::Owned(s) => Some(Cow::Owned(s.clone())),
    }
}

/// Equality of the short strings the cursor compares per tag (prefixes, attribute names): the
/// lengths settle most comparisons, and equal lengths are compared byte by byte in place,
/// which for a few bytes is cheaper than a call into `memcmp`.
#[inline(always)]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// `s` without surrounding XML white space (`#x20 | #x9 | #xD | #xA`); two byte checks when
/// there is none, as nearly always.
pub fn xml_trim(s: &str) -> &str {
    let ws = |b: Option<&u8>| b.is_some_and(|&b| is_ws(b));
    if !ws(s.as_bytes().first()) && !ws(s.as_bytes().last()) {
        return s;
    }
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// XML white space only (`#x20 | #x9 | #xD | #xA`).
pub fn is_xml_whitespace(s: &str) -> bool {
    s.bytes().all(is_ws)
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
                Item::Text { raw, offset, blank } => {
                    assert_eq!(blank, is_xml_whitespace(raw), "{raw:?}");
                    out.push(cursor.text_value(raw, offset)?.into_owned())
                }
                Item::CData { text, .. } => out.push(text.to_string()),
                Item::Eof => return Ok(out),
            }
        }
    }

    /// A namespace name is its declared value with references resolved (and kept as written
    /// otherwise); an undefined entity in one is an error.
    #[test]
    fn namespace_names_resolve_references() {
        let items =
            walk(r#"<a xmlns="urn:a&amp;b" xmlns:p="urn:&#x70;"><p:b/><c xmlns="urn:c"/></a>"#)
                .unwrap();
        assert_eq!(
            items,
            ["<{urn:a&b}a", "<{urn:p}b", ">", "<{urn:c}c", ">", ">"]
        );
        assert!(walk(r#"<a xmlns="urn:&bogus;"/>"#).is_err());
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
        assert!(walk("\n <a/>\t\r\n").is_ok());
        // White space around `=` and between attributes, in every form.
        let spaced = "<a x = '1'\n y\t=\t\"2\"  z=\n'3' w='4' />";
        let mut cursor = XmlCursor::new(spaced, &XmlLimits::default());
        assert!(matches!(cursor.next_item(), Ok(Item::Start(_))));
        let values: Vec<_> = cursor.attrs().iter().map(|a| (a.local, a.raw)).collect();
        assert_eq!(values, [("x", "1"), ("y", "2"), ("z", "3"), ("w", "4")]);
        for bad in [
            "<a x/>",
            "<a x=1/>",
            "<a x=\"1\"y=\"2\"/>",
            "<a x = />",
            "<a x=\"1/>",
            "<a x=",
            "<a x",
            "<a ",
        ] {
            assert!(walk(bad).is_err(), "{bad:?}");
        }
        for bad in [" x<a/>", "<a/> x", "<a/>\n&#32;"] {
            assert!(walk(bad).is_err(), "{bad:?}");
        }
        // Element-only content: blank text is skipped, other text still reported.
        let mut cursor = XmlCursor::new("<a>\n <b/> x <c/>\n</a>", &XmlLimits::default());
        let mut kinds = Vec::new();
        loop {
            match cursor.next_markup() {
                Ok(Item::Eof) => break,
                Ok(Item::Start(tag)) => kinds.push(tag.local.to_string()),
                Ok(Item::Text { raw, .. }) => kinds.push(format!("text {raw:?}")),
                Ok(_) => kinds.push("end".to_string()),
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(kinds, ["a", "b", "end", "text \" x \"", "c", "end", "end"]);
        // Blank and other text (the walk checks the blank flag of each).
        let items = walk("<a>\n  <b> x </b>&#32;<c>\t</c> y\n<d/>z</a>").unwrap();
        assert_eq!(
            items,
            ["<a", "\n  ", "<b", " x ", ">", " ", "<c", "\t", ">", " y\n", "<d", ">", "z", ">"]
        );
    }

    #[test]
    fn text_and_attributes_are_unescaped_and_normalised() {
        let text = "<a x=\"1&amp;\n2&#10;\">a &lt;\r\nb</a>";
        let mut cursor = XmlCursor::new(text, &XmlLimits::default());
        assert!(matches!(cursor.next_item(), Ok(Item::Start(_))));
        let x = cursor.attr("x").unwrap();
        assert_eq!(cursor.attr_value(&x).unwrap(), "1& 2\n");
        match cursor.next_item() {
            Ok(Item::Text { raw, offset, .. }) => {
                assert_eq!(cursor.text_value(raw, offset).unwrap(), "a <\nb")
            }
            other => panic!("{other:?}"),
        }
    }

    /// The sixteen-at-a-time value scan agrees with a byte-by-byte one on every length, quote
    /// position and special byte.
    #[test]
    fn value_scan_matches_a_byte_scan() {
        fn naive(rest: &[u8], quote: u8) -> Option<(usize, u8)> {
            let mut flags = 0;
            for (i, &b) in rest.iter().enumerate() {
                if b == quote {
                    return Some((i, flags));
                }
                if b == b'<' {
                    flags |= V_LT;
                } else if b == b'&' || b < 0x20 {
                    flags |= V_SPECIAL;
                }
            }
            None
        }
        let alphabet = [
            b'a', b'"', b'\'', b'<', b'&', b'\t', b'\n', b'\r', 0x1f, 0x20, 0x7f, 0xc3,
        ];
        for bytes in super::super::test_bytes::random_byte_strings(
            0x2545_f491_4f6c_dd1du64,
            &alphabet,
            3,
            b'x',
            40,
            20_000,
        ) {
            for quote in [b'"', b'\''] {
                assert_eq!(scan_value(&bytes, quote), naive(&bytes, quote), "{bytes:?}");
            }
        }
    }

    /// The indentation skip agrees with a byte-by-byte white-space scan (mostly spaces, so that
    /// runs of eight and more occur).
    #[test]
    fn white_space_scan_matches_a_byte_scan() {
        let alphabet = [b'\t', b'\n', b'\r', b'<', b'a', 0xc3];
        for bytes in super::super::test_bytes::random_byte_strings(
            0x9e37_79b9_7f4a_7c15u64,
            &alphabet,
            4,
            b' ',
            40,
            20_000,
        ) {
            let naive = bytes.iter().position(|&b| !is_ws(b)).unwrap_or(bytes.len());
            assert_eq!(ws_len(&bytes), naive, "{bytes:?}");
        }
    }

    /// The sixteen-at-a-time name scan agrees with a byte-by-byte one on every length, end
    /// byte (every byte below `-`, and `/ < = >`, end a name), colon position and non-ASCII
    /// byte.
    #[test]
    fn name_scan_matches_a_byte_scan() {
        fn naive(rest: &[u8]) -> (usize, Option<usize>) {
            let mut colon = None;
            for (k, &b) in rest.iter().enumerate() {
                if b < b'-' || matches!(b, b'/' | b'<' | b'=' | b'>') {
                    return (k, colon);
                }
                if b == b':' && colon.is_none() {
                    colon = Some(k);
                }
            }
            (rest.len(), colon)
        }
        let alphabet = [
            b'a', b'Z', b'_', b'-', b'.', b'0', b'9', b':', b' ', b'\t', b'\n', b'\r', b'/', b'>',
            b'=', b'<', b'"', b'\'', b'@', b'A', b'!', b',', b';', b'?', 0x7f, 0xc3, 0xa9, 0x80,
            0xff, 0x00,
        ];
        for bytes in super::super::test_bytes::random_byte_strings(
            0x9e37_79b9_7f4a_7c15u64,
            &alphabet,
            4,
            b'q',
            40,
            20_000,
        ) {
            // The scanner works on text; bytes that are not UTF-8 only matter as bytes here.
            let cursor = XmlCursor {
                text: "",
                bytes: &bytes,
                pos: 0,
                limits: XmlLimits::default(),
                depth: 0,
                nodes: 0,
                root_seen: false,
                pending_end: false,
                skip_blank: false,
                open: Vec::new(),
                ns: Vec::new(),
                attrs: Vec::new(),
            };
            for start in 0..bytes.len().min(3) {
                let (end, colon) = naive(&bytes[start..]);
                assert_eq!(
                    cursor.scan_name(start),
                    (start + end, colon.map(|c| start + c)),
                    "{bytes:?} from {start}"
                );
            }
        }
    }

    #[test]
    fn trim_and_text_values() {
        for (raw, trimmed) in [
            ("", ""),
            ("a", "a"),
            (" a\t", "a"),
            ("\r\n a b \n", "a b"),
            (" \t ", ""),
            ("\u{a0}a\u{a0}", "\u{a0}a\u{a0}"),
        ] {
            assert_eq!(xml_trim(raw), trimmed, "{raw:?}");
        }
        let cursor = XmlCursor::new("<a/>", &XmlLimits::default());
        assert!(matches!(
            cursor.text_value("plain", 0),
            Ok(Cow::Borrowed("plain"))
        ));
        assert_eq!(cursor.text_value("a\r\nb&amp;", 0).unwrap(), "a\nb&");
        assert_eq!(cursor.text_value("x &lt; y", 0).unwrap(), "x < y");
        assert!(cursor.text_value("&bogus;", 0).is_err());
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
