//! Message shapes: the closed questions one exchange system sends are produced from one
//! template, so two of them differ only in their values (the message id, the patient's BSN,
//! the holder's URA, the data-category codes …). A shape is a question already parsed in full
//! with its values cut out: the bytes around the values, where each value sits, and the
//! parsed request with the values' places marked. A later question that has exactly those
//! bytes around its values is read by comparing the fixed bytes and reading the values,
//! without tokenizing the XML again; its request is the shape's request with the new values
//! put in their places.
//!
//! Why: a full parse of a 5 KB question costs more than the rest of the answer together (the
//! XML cursor alone costs about what a bare quick-xml walk over the bytes costs). Comparing
//! fixed bytes runs at memory speed, and only the values (a few hundred bytes) are looked at
//! byte by byte.
//!
//! Why this gives the same answer as the full parse, byte for byte:
//! - Everything but the values is byte-identical to a message that parsed without error:
//!   element and attribute names, namespace declarations, the `DataType`, `Category` and
//!   `AttributeId` values, white space, comments. The values are what can differ, and only
//!   inside the same delimiters: an attribute value hole ends at the same quote character,
//!   and holds no `<`, no `&` and no byte below 0x20 (so neither entity resolution nor
//!   attribute-value normalisation has anything to do, exactly as in the template); a text
//!   hole (the WS-Addressing headers) ends at the next `<` and holds no `&`, no CR and no
//!   white space (so the trimmed value is the hole itself). So the XML cursor would see the
//!   same elements, attributes and nesting, and the same limits apply (a shape is used only
//!   under the limits it was learned with; the size limit is checked again).
//! - Only these are holes: the HL7 parts that change from one question to the next (`II`
//!   `extension`; `CV` `code` and `displayName`), the `MessageID`, `Action` and `To` headers,
//!   and the query element's own attributes (SAML `ID`, `IssueInstant`, …, which the parser
//!   does not read). The HL7 values are rebuilt with the constructors the request parser calls
//!   ([`Ii::from_parts`], [`Cv::from_parts`]), the other parts (`root`, `codeSystem`,
//!   `assigningAuthorityName`) taken from the template's parsed value; a value the
//!   constructors refuse is not answered from the shape: the full parse runs and reports the
//!   fault with its position.
//! - Everything that depends on the values afterwards (BSN check digit, catalogue codes,
//!   validation of the question, the decisions) runs on the rebuilt request as on a parsed one.
//!
//! A message that matches no shape is parsed in full, and learned as a new shape when it
//! parsed without error (one more pass over its bytes). The cache holds at most `capacity`
//! shapes of at most [`MAX_SHAPE_BYTES`] each; when full, one miss in `LEARN_WHEN_FULL` (8) is
//! learned and the oldest shape makes room (a flood of one-off forms costs an eighth of a
//! learning pass per message, never memory). Readers take no lock: the shapes are published
//! through an [`ArcSwap`], so answering threads never write to a shared cache line.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use smallvec::SmallVec;

use super::soap::{ClosedQuestionEnvelope, SOAP12_NS, WSA_NS, XACML_SAMLP_NS};
use crate::xacml::hl7::{Cv, Ii, CV_ELEMENT, HL7_NS, II_ELEMENT};
use crate::xacml::request::{Request, RequestAttribute, RequestCategory, Values};
use crate::xacml::value::Value;
use crate::xacml::xml::doc::{as_utf8, XmlLimits};
use crate::xacml::xml::request::XACML_NS;
use crate::xacml::xml::scan;
use crate::xacml::xml::stream::{xml_trim, Item, Tag, XmlCursor};

/// How many shapes a service keeps by default: one per client software and question form is
/// a handful in practice (the national exchange systems, a few GP and hospital systems).
pub const DEFAULT_CAPACITY: usize = 32;

/// The most holes one shape has (more values than this: the message is not learned). A
/// question with ten data categories has about 45.
const MAX_HOLES: usize = 256;

/// Once the cache is full, one miss in this many is learned (making room for it). Learning
/// costs about one more parse of the message, so a stream of one-off forms (a client that
/// varies its indentation, or an attacker) would otherwise double the cost of each message;
/// this way it adds an eighth, and a client's new form is still learned within a few of its
/// messages. Until the cache is full every miss is learned. A power of two (a mask picks the
/// misses).
const LEARN_WHEN_FULL: u64 = 8;
const _: () = assert!(LEARN_WHEN_FULL.is_power_of_two());

/// The largest message learned as a shape. Closed questions are 2–6 KB; a larger message is
/// answered as usual but not kept, so that the cache holds at most `capacity` × 64 KB of
/// message bytes (and about as much again of parsed requests).
pub const MAX_SHAPE_BYTES: usize = 64 * 1024;

/// The values read from one message, in document order (on the stack for usual questions).
type HoleValues<'a> = SmallVec<[&'a str; 64]>;

/// How a hole ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HoleKind {
    /// An attribute value, up to its closing quote (`"` or `'`, as in the template).
    Attr { quote: u8 },
    /// Element text, up to the next `<`.
    Text,
}

#[derive(Clone, Copy, Debug)]
struct Hole {
    /// Where the fixed bytes before this hole end, in [`Shape::fixed`].
    fixed_end: usize,
    kind: HoleKind,
}

/// Where a WS-Addressing header's value comes from.
#[derive(Clone, Debug)]
enum Header {
    /// The hole with this index.
    Hole(usize),
    /// The same in every message of the shape (absent, or written in a form that is not a
    /// plain hole, e.g. with an entity reference).
    Fixed(Option<String>),
}

/// An HL7 value of the request built from holes: `request.categories[category]
/// .attributes[attribute].values[value]`, with its parts in constructor order (`root`,
/// `extension`, `assigningAuthorityName` / `code`, `codeSystem`, `displayName`). Whether it is
/// an `II` or a `CV` is the prototype's value's type.
#[derive(Clone, Copy, Debug)]
struct Slot {
    category: usize,
    attribute: usize,
    value: usize,
    parts: [Part; 3],
}

/// Where a part of an HL7 value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// Not written in the template (and so in no message of the shape).
    Absent,
    /// The hole with this index: `extension`, `code` and `displayName`, the parts that
    /// differ from one question to the next.
    Hole(usize),
    /// The template's own, as the prototype holds it: `root`, `codeSystem` and
    /// `assigningAuthorityName` name the identifier scheme or code system and are the same in
    /// every question of a client form (a client that changes one sends a new shape). Fewer
    /// holes: fewer comparisons, fewer values rebuilt.
    Fixed,
}

/// Which parts of an `II` / `CV` are holes (the others are fixed parts of the shape).
const II_HOLES: [bool; 3] = [false, true, false];
const CV_HOLES: [bool; 3] = [true, false, true];

/// One learned message shape.
pub struct Shape {
    /// The message's bytes without its holes.
    fixed: Box<[u8]>,
    /// The holes in document order.
    holes: Vec<Hole>,
    /// The limits the template was parsed under.
    limits: XmlLimits,
    /// The template's parsed request; slot values are replaced per message.
    prototype: Request,
    /// In document order, which is the order of `prototype`'s values.
    slots: Vec<Slot>,
    message_id: Header,
    action: Header,
    to: Header,
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shape")
            .field("fixed_bytes", &self.fixed.len())
            .field("holes", &self.holes.len())
            .field("slots", &self.slots.len())
            .finish()
    }
}

/// The learned shapes of one service. `Send + Sync`.
pub struct ShapeCache {
    shapes: ArcSwap<Vec<Arc<Shape>>>,
    capacity: usize,
    /// Serialises learning (readers never take it).
    learning: Mutex<()>,
    misses: AtomicU64,
    learned: AtomicU64,
}

impl std::fmt::Debug for ShapeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapeCache")
            .field("shapes", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// What the cache has done so far (for metrics and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShapeStats {
    /// Shapes held now.
    pub shapes: usize,
    /// Messages that matched no shape (parsed in full; every message when the cache is off).
    pub misses: u64,
    /// Shapes learned (more than `shapes` once old ones have made room).
    pub learned: u64,
}

impl ShapeCache {
    /// A cache of at most `capacity` shapes; 0 turns it off (every message is parsed in full).
    pub fn new(capacity: usize) -> ShapeCache {
        ShapeCache {
            shapes: ArcSwap::from_pointee(Vec::new()),
            capacity,
            learning: Mutex::new(()),
            misses: AtomicU64::new(0),
            learned: AtomicU64::new(0),
        }
    }

    /// How many shapes are held.
    pub fn len(&self) -> usize {
        self.shapes.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shapes held, misses and shapes learned so far (for `/metrics` and tests).
    pub fn stats(&self) -> ShapeStats {
        ShapeStats {
            shapes: self.len(),
            misses: self.misses.load(Ordering::Relaxed),
            learned: self.learned.load(Ordering::Relaxed),
        }
    }

    /// The envelope of `bytes` read through a learned shape, or `None`: no shape matches, or
    /// one matches but a value is not one the parser would accept (then the full parse
    /// reports it). A `None` is counted as a miss (the caller parses in full), also in a
    /// cache turned off.
    pub fn parse<'a>(
        &self,
        bytes: &'a [u8],
        limits: &XmlLimits,
    ) -> Option<ClosedQuestionEnvelope<'a>> {
        let found = self.try_parse(bytes, limits);
        if found.is_none() {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    fn try_parse<'a>(
        &self,
        bytes: &'a [u8],
        limits: &XmlLimits,
    ) -> Option<ClosedQuestionEnvelope<'a>> {
        let shapes = self.shapes.load();
        if shapes.is_empty() {
            return None;
        }
        // The whole message at once (SIMD): every hole is then a slice of valid text.
        let text = simdutf8::basic::from_utf8(bytes).ok()?;
        let mut values = HoleValues::new();
        for shape in shapes.iter() {
            if shape.limits != *limits {
                continue;
            }
            values.clear();
            if shape.read(text, &mut values) {
                // The size limit counts the text after a byte-order mark, as the parser does.
                let text_len = bytes.len() - bom_len(bytes);
                if text_len > limits.max_bytes {
                    return None;
                }
                return shape.envelope(&values);
            }
        }
        None
    }

    /// Learns the shape of `bytes`, which parsed without error into `envelope` under
    /// `limits`, unless a held shape already matches it. Messages that cannot be a shape
    /// (not UTF-8 as they are, too many values, over [`MAX_SHAPE_BYTES`]) are left alone.
    pub fn learn(&self, bytes: &[u8], limits: &XmlLimits, envelope: &ClosedQuestionEnvelope<'_>) {
        if self.capacity == 0 || bytes.len() > MAX_SHAPE_BYTES {
            return;
        }
        // Full: only one miss in LEARN_WHEN_FULL is learned (see there).
        if self.shapes.load().len() >= self.capacity
            && self.misses.load(Ordering::Relaxed) & (LEARN_WHEN_FULL - 1) != 0
        {
            return;
        }
        let Some(shape) = Shape::learn(bytes, limits, envelope) else {
            return;
        };
        let _one_learner = self.learning.lock();
        let current = self.shapes.load();
        // Another thread may have learned the same shape meanwhile.
        let mut scratch = HoleValues::new();
        let known = simdutf8::basic::from_utf8(bytes).is_ok_and(|text| {
            current
                .iter()
                .any(|s| s.limits == *limits && s.read(text, &mut scratch))
        });
        if known {
            return;
        }
        let mut next: Vec<Arc<Shape>> = current.iter().cloned().collect();
        if next.len() >= self.capacity {
            next.remove(0);
        }
        next.push(Arc::new(shape));
        self.shapes.store(Arc::new(next));
        self.learned.fetch_add(1, Ordering::Relaxed);
    }
}

/// Three bytes when `bytes` starts with a UTF-8 byte-order mark (which the parser skips).
fn bom_len(bytes: &[u8]) -> usize {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    }
}

impl Shape {
    /// Compares `text` (the message, checked as UTF-8) with the shape, collecting the hole
    /// values into `values`; `false` at the first difference in the fixed bytes or a hole
    /// value the shape cannot stand for.
    fn read<'a>(&self, text: &'a str, values: &mut HoleValues<'a>) -> bool {
        let bytes = text.as_bytes();
        let mut pos = 0usize;
        let mut fixed_at = 0usize;
        for hole in &self.holes {
            let Some(fixed) = self.fixed.get(fixed_at..hole.fixed_end) else {
                return false;
            };
            let end = pos + fixed.len();
            if bytes.get(pos..end) != Some(fixed) {
                return false;
            }
            pos = end;
            fixed_at = hole.fixed_end;
            let rest = bytes.get(pos..).unwrap_or_default();
            let len = match hole.kind {
                HoleKind::Attr { quote } => attr_hole_len(rest, quote),
                HoleKind::Text => text_hole_len(rest),
            };
            let Some(len) = len else {
                return false;
            };
            // The hole ends at an ASCII delimiter and starts after one: a character boundary.
            let Some(value) = text.get(pos..pos + len) else {
                return false;
            };
            values.push(value);
            pos += len;
        }
        bytes.get(pos..) == self.fixed.get(fixed_at..)
    }

    /// The envelope of a message that [`Shape::read`] accepted, with `values` in the holes;
    /// `None` when a value is one the request parser refuses.
    fn envelope<'a>(&self, values: &[&'a str]) -> Option<ClosedQuestionEnvelope<'a>> {
        let header = |h: &Header| -> Option<Cow<'a, str>> {
            match h {
                Header::Hole(i) => values.get(*i).map(|v| Cow::Borrowed(*v)),
                Header::Fixed(v) => v.clone().map(Cow::Owned),
            }
        };
        Some(ClosedQuestionEnvelope {
            message_id: header(&self.message_id),
            action: header(&self.action),
            to: header(&self.to),
            request: self.request(values)?,
        })
    }

    /// The prototype request with the slots' values rebuilt from `values`.
    fn request(&self, values: &[&str]) -> Option<Request> {
        let mut slots = self.slots.iter().peekable();
        let mut categories = Vec::with_capacity(self.prototype.categories.len());
        for (c, category) in self.prototype.categories.iter().enumerate() {
            let mut attributes = Vec::with_capacity(category.attributes.len());
            for (a, attribute) in category.attributes.iter().enumerate() {
                let mut new_values = Values::new();
                for (v, value) in attribute.values.iter().enumerate() {
                    let slot = slots.next_if(|s| (s.category, s.attribute, s.value) == (c, a, v));
                    new_values.push(match slot {
                        Some(slot) => slot.rebuild(value, values)?,
                        None => value.clone(),
                    });
                }
                attributes.push(RequestAttribute {
                    id: attribute.id.clone(),
                    issuer: attribute.issuer.clone(),
                    include_in_result: attribute.include_in_result,
                    values: new_values,
                });
            }
            categories.push(RequestCategory {
                category: category.category.clone(),
                xml_id: category.xml_id.clone(),
                has_content: category.has_content,
                attributes,
            });
        }
        // Every slot was filled (they are in the prototype's order; one left over would mean a
        // stale value, so the message is parsed in full instead).
        if slots.next().is_some() {
            return None;
        }
        Some(Request {
            return_policy_id_list: self.prototype.return_policy_id_list,
            combined_decision: self.prototype.combined_decision,
            categories,
        })
    }
}

impl Slot {
    /// The slot's value from the hole values; the prototype's own value (shared) when the
    /// parts are the same.
    #[inline(always)]
    fn rebuild(&self, prototype: &Value, values: &[&str]) -> Option<Value> {
        // The prototype's stored part `k` (trimmed as its constructor stored it; the
        // constructor trims again to the same).
        let fixed = |k: usize| -> Option<&str> {
            match (prototype, k) {
                (Value::Ii(old), 0) => Some(old.root()),
                (Value::Ii(old), 1) => Some(old.extension()),
                (Value::Ii(old), _) => old.assigning_authority_name(),
                (Value::Cv(old), 0) => Some(old.code()),
                (Value::Cv(old), 1) => Some(old.code_system()),
                (Value::Cv(old), _) => old.display_name(),
                _ => None,
            }
        };
        let part = |k: usize| -> Option<Option<&str>> {
            match self.parts.get(k).copied().unwrap_or(Part::Absent) {
                Part::Hole(i) => values.get(i).map(|v| Some(*v)),
                Part::Fixed => Some(fixed(k)),
                Part::Absent => Some(None),
            }
        };
        let (first, second, third) = (part(0)?, part(1)?, part(2)?);
        // Parts equal to the prototype's (compared as the constructors would store them: the
        // required parts trimmed and non-empty there, so non-empty here too) share its value;
        // other parts build a new one with the parser's constructor and its checks.
        match prototype {
            Value::Ii(old) => {
                let same = first.map(xml_trim) == Some(old.root())
                    && second.map_or("", xml_trim) == old.extension()
                    && third.map(xml_trim) == old.assigning_authority_name();
                Some(Value::Ii(if same {
                    old.clone()
                } else {
                    Arc::new(Ii::from_parts(first, second, third).ok()?)
                }))
            }
            Value::Cv(old) => {
                let same = first.map(xml_trim) == Some(old.code())
                    && second.map(xml_trim) == Some(old.code_system())
                    && third == old.display_name();
                Some(Value::Cv(if same {
                    old.clone()
                } else {
                    Arc::new(Cv::from_parts(first, second, third).ok()?)
                }))
            }
            _ => None,
        }
    }
}

/// The length of an attribute-value hole up to `quote`, or `None` when it holds what would
/// make the parser see something else than a plain value (`<`, `&`, a byte below 0x20) or
/// the quote never comes. The cursor's own scan, sixteen bytes per step.
#[inline]
fn attr_hole_len(rest: &[u8], quote: u8) -> Option<usize> {
    match scan::value_end(rest, quote) {
        Some((len, 0)) => Some(len),
        _ => None,
    }
}

/// The length of a text hole up to the next `<`, or `None` when it holds an `&`, a CR or
/// white space (the parser would resolve, normalise or trim them) or `<` never comes.
#[inline]
fn text_hole_len(rest: &[u8]) -> Option<usize> {
    for (i, &b) in rest.iter().enumerate() {
        if b == b'<' {
            return Some(i);
        }
        if ends_text_hole(b) {
            return None;
        }
    }
    None
}

/// A byte a text hole may not hold: the parser would resolve (`&`), normalise (CR) or trim
/// (white space) around it.
#[inline]
fn ends_text_hole(b: u8) -> bool {
    matches!(b, b'&' | b'\r' | b'\n' | b'\t' | b' ')
}

/// An attribute value the parser takes as written: no `<` (refused), no `&` (a reference)
/// and no byte below 0x20 (tab and line ends are normalised; the rest refused). What
/// [`attr_hole_len`] accepts in a message, checked on the template.
fn plain_attr_value(raw: &str) -> bool {
    !raw.bytes().any(|b| b < 0x20 || b == b'&' || b == b'<')
}

/// The path of the element being read while learning, from the root down.
type Path<'a> = Vec<(Option<Cow<'a, str>>, &'a str)>;

fn at(path: &Path<'_>, depth: usize, ns: &str, local: &str) -> bool {
    path.get(depth)
        .is_some_and(|(n, l)| n.as_deref() == Some(ns) && *l == local)
}

/// A hole found while learning: where it is in the message's bytes.
struct FoundHole {
    start: usize,
    len: usize,
    kind: HoleKind,
}

impl Shape {
    /// The shape of a message that parsed without error into `envelope`: one more pass of
    /// the XML cursor over its bytes, finding the holes and checking each against what the
    /// parser made of it. `None` when the message cannot serve as a shape.
    fn learn(
        bytes: &[u8],
        limits: &XmlLimits,
        envelope: &ClosedQuestionEnvelope<'_>,
    ) -> Option<Shape> {
        let text = as_utf8(bytes).ok()?;
        // Offsets of the cursor are in `text`, which starts after a byte-order mark.
        let base = bytes.len() - text.len();
        let mut cursor = XmlCursor::new(text, limits);
        let mut path: Path<'_> = Vec::with_capacity(16);
        let mut holes: Vec<FoundHole> = Vec::new();
        let mut slots: Vec<Slot> = Vec::new();
        let fixed_header = |h: &Option<Cow<'_, str>>| Header::Fixed(h.as_deref().map(String::from));
        let mut message_id = fixed_header(&envelope.message_id);
        let mut action = fixed_header(&envelope.action);
        let mut to = fixed_header(&envelope.to);
        // Counters of the request's categories, attributes and values (document order).
        let (mut category, mut attribute, mut value) =
            (None::<usize>, None::<usize>, None::<usize>);
        let mut hl7_seen = false;
        loop {
            let tag: Tag<'_> = match cursor.next_item().ok()? {
                Item::Start(tag) => tag,
                Item::End => {
                    path.pop();
                    continue;
                }
                Item::Text { .. } | Item::CData { .. } => continue,
                Item::Eof => break,
            };
            let depth = path.len();
            let in_header = depth == 2
                && at(&path, 0, SOAP12_NS, "Envelope")
                && at(&path, 1, SOAP12_NS, "Header");
            let in_request = depth >= 4
                && at(&path, 0, SOAP12_NS, "Envelope")
                && at(&path, 1, SOAP12_NS, "Body")
                && at(&path, 2, XACML_SAMLP_NS, "XACMLAuthzDecisionQuery")
                && at(&path, 3, XACML_NS, "Request");
            // The query's own attributes (SAML `ID`, `IssueInstant`, `Version`, …) are not
            // read by the parser, and `ID` and `IssueInstant` change with every message of a
            // client that sets them: holes whose values are checked like any other and then
            // left unused.
            if depth == 2
                && at(&path, 0, SOAP12_NS, "Envelope")
                && at(&path, 1, SOAP12_NS, "Body")
                && tag.local_in(XACML_SAMLP_NS) == Some("XACMLAuthzDecisionQuery")
            {
                let text = cursor.text().as_bytes();
                for a in cursor.attrs().iter().filter(|a| a.prefix.is_empty()) {
                    let quote = a.offset.checked_sub(1).and_then(|q| text.get(q)).copied();
                    let plain = plain_attr_value(a.raw);
                    if let (Some(quote @ (b'"' | b'\'')), true) = (quote, plain) {
                        holes.push(FoundHole {
                            start: base + a.offset,
                            len: a.raw.len(),
                            kind: HoleKind::Attr { quote },
                        });
                    }
                }
            }
            if in_header {
                let parsed = match tag.local_in(WSA_NS) {
                    Some("MessageID") => Some((&mut message_id, &envelope.message_id)),
                    Some("Action") => Some((&mut action, &envelope.action)),
                    Some("To") => Some((&mut to, &envelope.to)),
                    _ => None,
                };
                if let Some((slot, parsed)) = parsed {
                    // The header's content: one plain text piece becomes a hole.
                    let mut pieces = 0usize;
                    let mut plain = None;
                    loop {
                        match cursor.next_item().ok()? {
                            Item::Text { raw, offset, .. } => {
                                pieces += 1;
                                plain = Some((raw, offset));
                            }
                            Item::CData { .. } => pieces += 2,
                            Item::End => break,
                            Item::Start(_) | Item::Eof => return None,
                        }
                    }
                    if let (1, Some((raw, offset))) = (pieces, plain) {
                        let is_plain = !raw.is_empty() && !raw.bytes().any(ends_text_hole);
                        if is_plain && parsed.as_deref() == Some(raw) {
                            *slot = Header::Hole(holes.len());
                            holes.push(FoundHole {
                                start: base + offset,
                                len: raw.len(),
                                kind: HoleKind::Text,
                            });
                        }
                    }
                    // The header's end was read: nothing to push.
                    continue;
                }
            }
            // Request / Attributes / Attribute / AttributeValue / (HL7 element), each checked
            // against its parent (elements inside a <Content> are not values).
            let under_attributes = in_request && depth >= 5 && at(&path, 4, XACML_NS, "Attributes");
            let under_attribute =
                under_attributes && depth >= 6 && at(&path, 5, XACML_NS, "Attribute");
            let under_value =
                under_attribute && depth == 7 && at(&path, 6, XACML_NS, "AttributeValue");
            if in_request && tag.ns.as_deref() == Some(XACML_NS) {
                match (depth, tag.local) {
                    (4, "Attributes") => {
                        category = Some(category.map_or(0, |c| c + 1));
                        attribute = None;
                    }
                    (5, "Attribute") if under_attributes => {
                        attribute = Some(attribute.map_or(0, |a| a + 1));
                        value = None;
                    }
                    (6, "AttributeValue") if under_attribute => {
                        value = Some(value.map_or(0, |v| v + 1));
                        hl7_seen = false;
                    }
                    _ => {}
                }
            }
            if under_value && !hl7_seen {
                hl7_seen = true;
                if let (Some(c), Some(a), Some(v)) = (category, attribute, value) {
                    let parsed = envelope
                        .request
                        .categories
                        .get(c)?
                        .attributes
                        .get(a)?
                        .values
                        .get(v)?;
                    if let Some(slot) = hl7_slot(&cursor, &tag, parsed, (c, a, v), base, &mut holes)
                    {
                        slots.push(slot);
                    }
                }
            }
            path.push((tag.ns, tag.local));
        }
        if holes.len() > MAX_HOLES {
            return None;
        }
        // The fixed bytes between the holes (holes come in document order, never overlapping).
        let mut fixed = Vec::with_capacity(bytes.len());
        let mut shape_holes = Vec::with_capacity(holes.len());
        let mut prev = 0usize;
        for hole in &holes {
            fixed.extend_from_slice(bytes.get(prev..hole.start)?);
            shape_holes.push(Hole {
                fixed_end: fixed.len(),
                kind: hole.kind,
            });
            prev = hole.start + hole.len;
        }
        fixed.extend_from_slice(bytes.get(prev..)?);
        Some(Shape {
            fixed: fixed.into_boxed_slice(),
            holes: shape_holes,
            limits: *limits,
            prototype: envelope.request.clone(),
            slots,
            message_id,
            action,
            to,
        })
    }
}

/// The slot of an `InstanceIdentifier` / `CodedValue` start tag just read by `cursor`, whose
/// parsed value is `parsed`, adding its hole parts' holes to `holes`. `None` (and no holes)
/// when the element is not the parsed value's, or a hole part is written with something the
/// parser changes (an entity reference, a tab or line end): that value stays fixed.
fn hl7_slot(
    cursor: &XmlCursor<'_>,
    tag: &Tag<'_>,
    parsed: &Value,
    (category, attribute, value): (usize, usize, usize),
    base: usize,
    holes: &mut Vec<FoundHole>,
) -> Option<Slot> {
    let (names, is_hole) = match (parsed, tag.local_in(HL7_NS)) {
        (Value::Ii(_), Some(II_ELEMENT)) => {
            (["root", "extension", "assigningAuthorityName"], II_HOLES)
        }
        (Value::Cv(_), Some(CV_ELEMENT)) => (["code", "codeSystem", "displayName"], CV_HOLES),
        _ => return None,
    };
    let text = cursor.text().as_bytes();
    let mut found: SmallVec<[FoundHole; 3]> = SmallVec::new();
    let mut raw: SmallVec<[&str; 3]> = SmallVec::new();
    // Hole indices local to this element first (checked below), then made global.
    let mut parts = [Part::Absent; 3];
    for a in cursor.attrs().iter().filter(|a| a.prefix.is_empty()) {
        let Some(k) = names.iter().position(|&n| n == a.local) else {
            continue;
        };
        if !is_hole[k] {
            parts[k] = Part::Fixed;
            continue;
        }
        let quote = *text.get(a.offset.checked_sub(1)?)?;
        if !matches!(quote, b'"' | b'\'') {
            return None;
        }
        if !plain_attr_value(a.raw) {
            return None;
        }
        parts[k] = Part::Hole(found.len());
        raw.push(a.raw);
        found.push(FoundHole {
            start: base + a.offset,
            len: a.raw.len(),
            kind: HoleKind::Attr { quote },
        });
    }
    // The template's own hole values, through the path a message takes, must give the parsed
    // value, or the element is not what it seems.
    let local = Slot {
        category,
        attribute,
        value,
        parts,
    };
    let same = match (local.rebuild(parsed, &raw)?, parsed) {
        (Value::Ii(new), Value::Ii(old)) => new == *old,
        (Value::Cv(new), Value::Cv(old)) => new == *old,
        _ => false,
    };
    if !same {
        return None;
    }
    let offset = holes.len();
    holes.extend(found);
    Some(Slot {
        parts: parts.map(|p| match p {
            Part::Hole(i) => Part::Hole(offset + i),
            other => other,
        }),
        ..local
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::soap::parse_closed_question;

    const BSN_ROOT: &str = "2.16.840.1.113883.2.4.6.3";

    /// A closed question (not a complete one: the shape does not care) with `patient` as the
    /// patient's `InstanceIdentifier` attributes and `content` inside the resource category.
    fn message(patient: &str, content: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">
  <s:Header><a:MessageID>urn:uuid:1</a:MessageID></s:Header>
  <s:Body>
    <q:XACMLAuthzDecisionQuery xmlns:q="{XACML_SAMLP_NS}" xmlns:x="{XACML_NS}" xmlns:v3="urn:hl7-org:v3" ID="_1">
      <x:Request ReturnPolicyIdList="false" CombinedDecision="false">
        <x:Attributes Category="urn:oasis:names:tc:xacml:3.0:attribute-category:resource">
          <x:Attribute AttributeId="urn:oasis:names:tc:xacml:2.0:resource:resource-id" IncludeInResult="true">
            <x:AttributeValue DataType="urn:hl7-org:v3#II"><v3:InstanceIdentifier {patient}/></x:AttributeValue>
          </x:Attribute>{content}
        </x:Attributes>
      </x:Request>
    </q:XACMLAuthzDecisionQuery>
  </s:Body>
</s:Envelope>"#
        )
    }

    fn learned(template: &str) -> ShapeCache {
        let cache = ShapeCache::new(4);
        let limits = XmlLimits::default();
        let envelope =
            parse_closed_question(template.as_bytes(), &limits, None).expect("the template parses");
        cache.learn(template.as_bytes(), &limits, &envelope);
        assert_eq!(cache.len(), 1);
        cache
    }

    /// The request `cache` reads from `text`, if it matches, next to the full parse's.
    fn both(cache: &ShapeCache, text: &str) -> (Option<String>, String) {
        let limits = XmlLimits::default();
        let shaped = cache
            .parse(text.as_bytes(), &limits)
            .map(|e| format!("{:?} {:?}", e.message_id, e.request));
        let full = parse_closed_question(text.as_bytes(), &limits, None)
            .map(|e| format!("{:?} {:?}", e.message_id, e.request))
            .expect("the message parses");
        (shaped, full)
    }

    #[test]
    fn a_new_extension_is_read_with_the_templates_root() {
        let cache = learned(&message(
            &format!(r#"root="{BSN_ROOT}" extension="999990019""#),
            "",
        ));
        let other = message(&format!(r#"root="{BSN_ROOT}" extension="123456782""#), "");
        let (shaped, full) = both(&cache, &other);
        assert_eq!(shaped.as_deref(), Some(full.as_str()));
        assert!(full.contains("123456782"), "{full}");
    }

    /// A root written with a character reference is a fixed part: its parsed form is used for
    /// every message of the shape.
    #[test]
    fn a_fixed_part_with_a_reference_keeps_its_parsed_form() {
        let escaped_root = BSN_ROOT.replacen('.', "&#46;", 1);
        let cache = learned(&message(
            &format!(r#"root="{escaped_root}" extension="999990019""#),
            "",
        ));
        let other = message(
            &format!(r#"root="{escaped_root}" extension="123456782""#),
            "",
        );
        let (shaped, full) = both(&cache, &other);
        assert_eq!(shaped.as_deref(), Some(full.as_str()));
        assert!(full.contains(BSN_ROOT), "{full}");
    }

    /// A hole part written with a reference in the template is no hole: that value is fixed,
    /// so another value there is another shape.
    #[test]
    fn a_hole_part_with_a_reference_makes_the_value_fixed() {
        let template = message(
            &format!(r#"root="{BSN_ROOT}" extension="99999&#48;019""#),
            "",
        );
        let cache = learned(&template);
        let (shaped, full) = both(&cache, &template);
        assert_eq!(shaped.as_deref(), Some(full.as_str()));
        let other = message(
            &format!(r#"root="{BSN_ROOT}" extension="99999&#49;019""#),
            "",
        );
        assert_eq!(both(&cache, &other).0, None);
    }

    /// Elements inside `<Content>` look like values but are not: they stay fixed bytes.
    #[test]
    fn elements_in_content_are_not_values() {
        let patient = format!(r#"root="{BSN_ROOT}" extension="999990019""#);
        let content = |ext: &str| {
            format!(
                r#"
          <x:Content><x:Attribute><x:AttributeValue><v3:InstanceIdentifier root="{BSN_ROOT}" extension="{ext}"/></x:AttributeValue></x:Attribute></x:Content>"#
            )
        };
        let cache = learned(&message(&patient, &content("999990019")));
        let (shaped, full) = both(&cache, &message(&patient, &content("999990019")));
        assert_eq!(shaped.as_deref(), Some(full.as_str()));
        assert_eq!(
            both(&cache, &message(&patient, &content("123456782"))).0,
            None
        );
    }

    #[test]
    fn a_longer_or_shorter_message_with_the_same_form_matches() {
        let cache = learned(&message(
            &format!(r#"root="{BSN_ROOT}" extension="999990019""#),
            "",
        ));
        for ext in [
            "",
            "1",
            "12345678901234567890123456789012345678901234567890",
        ] {
            let other = message(&format!(r#"root="{BSN_ROOT}" extension="{ext}""#), "");
            let (shaped, full) = both(&cache, &other);
            assert_eq!(shaped.as_deref(), Some(full.as_str()), "{ext}");
        }
        // Bytes added or cut anywhere else: no match.
        let base = message(&format!(r#"root="{BSN_ROOT}" extension="1""#), "");
        assert_eq!(both(&cache, &format!("{base}\n")).0, None);
        assert_eq!(
            both(&cache, &base.replacen("  <s:Body>", " <s:Body>", 1)).0,
            None
        );
    }

    #[test]
    fn messages_over_the_size_cap_are_not_learned() {
        let padding = " ".repeat(MAX_SHAPE_BYTES);
        let big = message(
            &format!(r#"root="{BSN_ROOT}" extension="999990019""#),
            &padding,
        );
        let limits = XmlLimits {
            max_bytes: 2 * MAX_SHAPE_BYTES,
            ..XmlLimits::default()
        };
        let envelope = parse_closed_question(big.as_bytes(), &limits, None).expect("parses");
        let cache = ShapeCache::new(4);
        cache.learn(big.as_bytes(), &limits, &envelope);
        assert!(cache.is_empty());
    }
}
