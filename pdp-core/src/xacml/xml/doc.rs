//! Safe loading of XML documents: size, depth and DOCTYPE checks before building a tree.
//!
//! Every XML input (policies, requests) goes through [`parse_document`]. A quick-xml pass first
//! rejects DOCTYPE declarations (so entities are never defined, let alone expanded) and
//! documents nested deeper than the configured limit, then roxmltree builds the tree with DTDs
//! disallowed and a node-count cap. Both passes are iterative, so hostile input cannot exhaust
//! the stack.

use std::fmt;

use quick_xml::events::Event;
use quick_xml::Reader;

/// Limits applied to every XML document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XmlLimits {
    /// Maximum element nesting depth (the root element is depth 1).
    pub max_depth: usize,
    /// Maximum document size in bytes.
    pub max_bytes: usize,
    /// Maximum number of nodes (elements, attributes, text) in the tree.
    pub max_nodes: u32,
}

impl Default for XmlLimits {
    /// Generous for policies and requests written by people, small enough that a hostile
    /// document is refused before it costs real memory.
    fn default() -> Self {
        XmlLimits {
            max_depth: 64,
            max_bytes: 16 * 1024 * 1024,
            max_nodes: 4_000_000,
        }
    }
}

/// A line and column in a document, both starting at 1 (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a document could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XmlErrorKind {
    /// Not well-formed XML.
    Malformed(String),
    /// A `<!DOCTYPE ...>` declaration (entities and DTDs are never processed).
    Doctype,
    /// Nesting deeper than [`XmlLimits::max_depth`].
    TooDeep { limit: usize },
    /// Larger than [`XmlLimits::max_bytes`].
    TooLarge { limit: usize, actual: usize },
    /// More nodes than [`XmlLimits::max_nodes`].
    TooManyNodes { limit: u32 },
    /// Not UTF-8.
    NotUtf8,
}

/// An XML loading error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    pub kind: XmlErrorKind,
    pub position: Position,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            XmlErrorKind::Malformed(m) => write!(f, "malformed XML: {m}"),
            XmlErrorKind::Doctype => f.write_str(
                "DOCTYPE declarations are not accepted (entities and DTDs are never expanded); \
                 remove the <!DOCTYPE ...> line",
            ),
            XmlErrorKind::TooDeep { limit } => write!(
                f,
                "the document is nested deeper than the limit of {limit} elements; flatten it \
                 or raise the depth limit"
            ),
            XmlErrorKind::TooLarge { limit, actual } => write!(
                f,
                "the document is {actual} bytes, more than the limit of {limit} bytes"
            ),
            XmlErrorKind::TooManyNodes { limit } => {
                write!(f, "the document has more than {limit} XML nodes")
            }
            XmlErrorKind::NotUtf8 => f.write_str("the document is not valid UTF-8"),
        }
    }
}

impl std::error::Error for XmlError {}

/// The line and column of a byte offset in `text`.
pub fn position_at(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let mut start = offset;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.bytes().filter(|&b| b == b'\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u32 + 1;
    Position { line, column }
}

/// Line starts of a document, so that many positions can be computed without rescanning the
/// text (roxmltree's `text_pos_at` scans from the start on every call).
#[derive(Clone, Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// The line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Position {
            line: line as u32 + 1,
            column: column as u32 + 1,
        }
    }
}

/// Decodes bytes as UTF-8 (after an optional byte-order mark).
pub fn as_utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // The SIMD validator answers yes or no several times faster than the standard library;
    // only a refused document is checked again, for the position of its first bad byte.
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return Ok(text);
    }
    std::str::from_utf8(bytes).map_err(|e| XmlError {
        kind: XmlErrorKind::NotUtf8,
        position: position_at(
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
            e.valid_up_to(),
        ),
    })
}

/// Checks `text` against `limits` and parses it into a roxmltree document.
pub fn parse_document<'a>(
    text: &'a str,
    limits: &XmlLimits,
) -> Result<roxmltree::Document<'a>, XmlError> {
    if text.len() > limits.max_bytes {
        return Err(XmlError {
            kind: XmlErrorKind::TooLarge {
                limit: limits.max_bytes,
                actual: text.len(),
            },
            position: Position { line: 1, column: 1 },
        });
    }
    prescan(text, limits)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
    };
    roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        let kind = match e {
            roxmltree::Error::DtdDetected => XmlErrorKind::Doctype,
            roxmltree::Error::NodesLimitReached => XmlErrorKind::TooManyNodes {
                limit: limits.max_nodes,
            },
            other => XmlErrorKind::Malformed(other.to_string()),
        };
        XmlError {
            kind,
            position: Position {
                line: pos.row,
                column: pos.col,
            },
        }
    })
}

/// A streaming pass that refuses DOCTYPE and excessive depth without building anything.
fn prescan(text: &str, limits: &XmlLimits) -> Result<(), XmlError> {
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::DocType(_)) => {
                return Err(XmlError {
                    kind: XmlErrorKind::Doctype,
                    position: position_at(text, before),
                })
            }
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(XmlError {
                        kind: XmlErrorKind::TooDeep {
                            limit: limits.max_depth,
                        },
                        position: position_at(text, before),
                    });
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            // Well-formedness is reported by roxmltree, which gives better messages.
            Err(_) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast validator accepts long text with multi-byte characters (past its vector width)
    /// and refuses bad bytes anywhere, which are then located on the right line and column.
    #[test]
    fn utf8_is_checked_and_a_bad_byte_located() {
        let line = "<naam>Zoë Ångström — ƒ</naam>\n";
        let text = format!("<r>{}</r>", line.repeat(20));
        assert_eq!(as_utf8(text.as_bytes()).map(str::len), Ok(text.len()));
        assert_eq!(as_utf8(b"\xEF\xBB\xBF<r/>"), Ok("<r/>"));
        for (bad, line_no) in [(b"\xff".as_slice(), 21), (b"\xc3(", 21), (b"\xe2\x82", 21)] {
            let mut bytes = text.clone().into_bytes();
            let at = bytes.len() - 4;
            bytes.splice(at..at, bad.iter().copied());
            let err = as_utf8(&bytes).unwrap_err();
            assert_eq!(err.kind, XmlErrorKind::NotUtf8);
            assert_eq!(err.position.line, line_no, "{bad:?}");
        }
    }

    #[test]
    fn doctype_is_rejected_with_position() {
        let text = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x \"y\">]>\n<r>&x;</r>";
        let err = parse_document(text, &XmlLimits::default()).unwrap_err();
        assert_eq!(err.kind, XmlErrorKind::Doctype);
        assert_eq!(err.position.line, 2);
    }

    #[test]
    fn depth_limit_is_enforced() {
        let limits = XmlLimits {
            max_depth: 10,
            ..XmlLimits::default()
        };
        let deep = format!("{}{}", "<a>".repeat(11), "</a>".repeat(11));
        let err = parse_document(&deep, &limits).unwrap_err();
        assert_eq!(err.kind, XmlErrorKind::TooDeep { limit: 10 });
        let ok = format!("{}{}", "<a>".repeat(10), "</a>".repeat(10));
        assert!(parse_document(&ok, &limits).is_ok());
    }

    #[test]
    fn very_deep_document_does_not_overflow_the_stack() {
        let deep = format!("{}{}", "<a>".repeat(200_000), "</a>".repeat(200_000));
        let err = parse_document(&deep, &XmlLimits::default()).unwrap_err();
        assert!(matches!(err.kind, XmlErrorKind::TooDeep { .. }));
    }

    #[test]
    fn malformed_xml_reports_line() {
        let err = parse_document("<a>\n<b></a>", &XmlLimits::default()).unwrap_err();
        assert!(matches!(err.kind, XmlErrorKind::Malformed(_)));
        assert_eq!(err.position.line, 2);
    }

    #[test]
    fn size_limit_is_enforced() {
        let limits = XmlLimits {
            max_bytes: 8,
            ..XmlLimits::default()
        };
        let err = parse_document("<abcdefgh/>", &limits).unwrap_err();
        assert!(matches!(err.kind, XmlErrorKind::TooLarge { .. }));
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(position_at("ab\ncdé f", 8), Position { line: 2, column: 5 });
        let index = LineIndex::new("ab\ncdé f");
        assert_eq!(index.position(8), Position { line: 2, column: 5 });
        assert_eq!(index.position(0), Position { line: 1, column: 1 });
        assert_eq!(index.position(3), Position { line: 2, column: 1 });
    }
}
