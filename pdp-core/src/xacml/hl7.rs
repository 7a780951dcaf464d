//! HL7 v3 `II` and `CV` as extension data types of the engine (Cedar `extensions/` style).
//!
//! XACML 3.0 core does not know these types, but the Mitz closed question carries every
//! identifier and code in them (domain model 2.3 and 2.7): an `II` (instance identifier: an OID
//! `root` plus an `extension`, e.g. the BSN) and a `CV` (coded value: a `code` in a
//! `codeSystem`). This module holds the values and their three syntaxes; the functions over them
//! live in `functions/hl7.rs`, registered in the one function table.
//!
//! Syntaxes:
//! - **XML** (requests, policies, responses): the value is an *element* inside `AttributeValue`,
//!   in namespace [`HL7_NS`] under any prefix: `<v3:InstanceIdentifier root=".." extension=".."
//!   assigningAuthorityName=".."/>` and `<v3:CodedValue code=".." codeSystem=".."
//!   displayName=".."/>`. Child elements of these (HL7 `originalText`, `translation`) are ignored.
//! - **Canonical text** ([`Value::parse`](super::value::Value::parse) and `Display`):
//!   `root|extension` for II and `codeSystem|code` for CV, split at the first `|` (OIDs never
//!   contain one). This is the form the domain model suggests for normalised values, and what
//!   error messages and logs would show — so never log an II with the BSN root.
//!
//! Equality follows the HL7 identity rules: II compares `root` and `extension` (the assigning
//! authority name is informative), CV compares `code` and `codeSystem` (the display name is
//! informative). All comparisons are exact (OIDs and codes are case-sensitive).
//!
//! Cost: the strings of a value are stored inline (one buffer holding all its parts) when they
//! fit in [`INLINE_CAPACITY`] bytes together, as every OID-plus-code of the closed question
//! does, so an `Arc<Ii>` costs one small allocation; longer values spill into one boxed buffer.

use std::fmt;
use std::hash::{Hash, Hasher};

use arrayvec::ArrayString;

use super::datatype::DataType;
use super::value::ValueError;

/// The HL7 v3 namespace of the `InstanceIdentifier` and `CodedValue` elements.
pub const HL7_NS: &str = "urn:hl7-org:v3";

/// Local name of the element that carries an `II` value.
pub const II_ELEMENT: &str = "InstanceIdentifier";

/// Local name of the element that carries a `CV` value.
pub const CV_ELEMENT: &str = "CodedValue";

/// An HL7 v3 instance identifier: `root` (an OID or UUID naming the identifier scheme) and
/// `extension` (the identifier within it), with the optional `assigningAuthorityName`.
///
/// An II without `extension` (HL7 allows the root alone to be the identifier) has an empty
/// extension.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ii {
    /// `root`, `extension` and `assigningAuthorityName` one after the other.
    buf: Packed,
    root_end: u32,
    ext_end: u32,
    has_aan: bool,
}

/// An HL7 v3 coded value: `code` in the code system `codeSystem` (an OID), with the optional
/// `displayName`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cv {
    /// `code`, `codeSystem` and `displayName` one after the other.
    buf: Packed,
    code_end: u32,
    system_end: u32,
    has_display: bool,
}

/// How many bytes of parts a value keeps inline (without an allocation of its own). A BSN
/// under its root takes 34, a GGC code under its code system 39, a UZI number with `CIBG` 32.
pub const INLINE_CAPACITY: usize = 52;

/// The concatenated parts of a value: inline when they fit, boxed otherwise. Which form a
/// value takes depends only on its length, and equality and hashing look at the text only.
#[derive(Clone)]
enum Packed {
    Inline(ArrayString<INLINE_CAPACITY>),
    Heap(Box<str>),
}

impl Packed {
    #[inline]
    fn as_str(&self) -> &str {
        match self {
            Packed::Inline(s) => s.as_str(),
            Packed::Heap(s) => s,
        }
    }

    /// The first `end` bytes: the parts that make up a value's identity (the informative
    /// third part follows them).
    #[inline]
    fn identity_bytes(&self, end: u32) -> &[u8] {
        let bytes = self.as_str().as_bytes();
        bytes.get(..end as usize).unwrap_or(bytes)
    }
}

impl PartialEq for Packed {
    fn eq(&self, other: &Packed) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Packed {}

impl Hash for Packed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// Concatenates up to three parts into one buffer and returns it with the two split points.
fn pack(a: &str, b: &str, c: Option<&str>) -> (Packed, u32, u32) {
    let c = c.unwrap_or("");
    let len = a.len() + b.len() + c.len();
    let mut inline = ArrayString::new();
    let buf = if len <= INLINE_CAPACITY
        && inline.try_push_str(a).is_ok()
        && inline.try_push_str(b).is_ok()
        && inline.try_push_str(c).is_ok()
    {
        Packed::Inline(inline)
    } else {
        let mut s = String::with_capacity(len);
        s.push_str(a);
        s.push_str(b);
        s.push_str(c);
        Packed::Heap(s.into_boxed_str())
    };
    // Parts come from documents bounded far below 4 GiB (XmlLimits::max_bytes); saturate
    // rather than panic if a caller builds a gigantic value by hand.
    let first = u32::try_from(a.len()).unwrap_or(u32::MAX);
    let second = u32::try_from(a.len() + b.len()).unwrap_or(u32::MAX);
    (buf, first, second)
}

impl Ii {
    /// Builds an II. `root` must not be empty ([`Ii::from_parts`] checks that for input).
    pub fn new(root: &str, extension: &str, assigning_authority_name: Option<&str>) -> Ii {
        let (buf, root_end, ext_end) = pack(root, extension, assigning_authority_name);
        Ii {
            buf,
            root_end,
            ext_end,
            has_aan: assigning_authority_name.is_some(),
        }
    }

    /// Builds an II from the XML attributes of an `InstanceIdentifier` element, checking what
    /// the type requires: a non-empty `root`. Surrounding white space is not part of any part.
    pub fn from_parts(
        root: Option<&str>,
        extension: Option<&str>,
        assigning_authority_name: Option<&str>,
    ) -> Result<Ii, ValueError> {
        let root = root.map(xml_trim).unwrap_or("");
        if root.is_empty() {
            return Err(ValueError {
                datatype: DataType::Hl7Ii,
                text: II_ELEMENT.to_string(),
                reason: "the root attribute (the OID of the identifier scheme, e.g. \
                         2.16.840.1.113883.2.4.6.3 for a BSN) is missing or empty"
                    .to_string(),
            });
        }
        Ok(Ii::new(
            root,
            extension.map(xml_trim).unwrap_or(""),
            assigning_authority_name.map(xml_trim),
        ))
    }

    /// Parses the canonical text form `root|extension` (the extension may be empty).
    pub fn parse_text(text: &str) -> Result<Ii, ValueError> {
        let t = xml_trim(text);
        match t.split_once('|') {
            Some((root, extension)) => Ii::from_parts(Some(root), Some(extension), None),
            None => Err(text_error(
                DataType::Hl7Ii,
                t,
                "expected root|extension, e.g. 2.16.840.1.113883.2.4.6.3|999990019",
            )),
        }
    }

    /// The OID (or UUID) of the identifier scheme.
    pub fn root(&self) -> &str {
        self.buf
            .as_str()
            .get(..self.root_end as usize)
            .unwrap_or("")
    }

    /// The identifier within the scheme (empty when the element had none).
    pub fn extension(&self) -> &str {
        self.buf
            .as_str()
            .get(self.root_end as usize..self.ext_end as usize)
            .unwrap_or("")
    }

    /// `assigningAuthorityName`, informative only (not part of equality).
    pub fn assigning_authority_name(&self) -> Option<&str> {
        self.has_aan
            .then(|| self.buf.as_str().get(self.ext_end as usize..).unwrap_or(""))
    }

    /// HL7 identity: same root and same extension.
    pub fn equals(&self, other: &Ii) -> bool {
        // `root` and `extension` lie back to back at the start of the buffer: equal split
        // points and equal bytes up to the end of the extension mean equal parts. One
        // comparison, and no char-boundary checks (this runs for every `II` match).
        self.root_end == other.root_end
            && self.ext_end == other.ext_end
            && self.buf.identity_bytes(self.ext_end) == other.buf.identity_bytes(other.ext_end)
    }
}

impl Cv {
    /// Builds a CV. `code` and `code_system` must not be empty ([`Cv::from_parts`] checks that
    /// for input).
    pub fn new(code: &str, code_system: &str, display_name: Option<&str>) -> Cv {
        let (buf, code_end, system_end) = pack(code, code_system, display_name);
        Cv {
            buf,
            code_end,
            system_end,
            has_display: display_name.is_some(),
        }
    }

    /// Builds a CV from the XML attributes of a `CodedValue` element; `code` and `codeSystem`
    /// are required and must not be empty.
    pub fn from_parts(
        code: Option<&str>,
        code_system: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<Cv, ValueError> {
        let code = code.map(xml_trim).unwrap_or("");
        let system = code_system.map(xml_trim).unwrap_or("");
        let missing = match (code.is_empty(), system.is_empty()) {
            (false, false) => {
                return Ok(Cv::new(code, system, display_name));
            }
            (true, true) => "the code and codeSystem attributes are missing or empty",
            (true, false) => "the code attribute is missing or empty",
            (false, true) => {
                "the codeSystem attribute (the OID of the code system) is missing or empty"
            }
        };
        Err(ValueError {
            datatype: DataType::Hl7Cv,
            text: CV_ELEMENT.to_string(),
            reason: missing.to_string(),
        })
    }

    /// Parses the canonical text form `codeSystem|code`.
    pub fn parse_text(text: &str) -> Result<Cv, ValueError> {
        let t = xml_trim(text);
        match t.split_once('|') {
            Some((system, code)) => Cv::from_parts(Some(code), Some(system), None)
                .map_err(|e| text_error(DataType::Hl7Cv, t, e.reason)),
            None => Err(text_error(
                DataType::Hl7Cv,
                t,
                "expected codeSystem|code, e.g. 2.16.840.1.113883.1.11.20448|TREAT",
            )),
        }
    }

    pub fn code(&self) -> &str {
        self.buf
            .as_str()
            .get(..self.code_end as usize)
            .unwrap_or("")
    }

    /// The OID of the code system.
    pub fn code_system(&self) -> &str {
        self.buf
            .as_str()
            .get(self.code_end as usize..self.system_end as usize)
            .unwrap_or("")
    }

    /// `displayName`, informative only (not part of equality).
    pub fn display_name(&self) -> Option<&str> {
        self.has_display.then(|| {
            self.buf
                .as_str()
                .get(self.system_end as usize..)
                .unwrap_or("")
        })
    }

    /// HL7 identity: same code in the same code system.
    pub fn equals(&self, other: &Cv) -> bool {
        // As for `Ii::equals`: `code` and `codeSystem` are the buffer's first two parts.
        self.code_end == other.code_end
            && self.system_end == other.system_end
            && self.buf.identity_bytes(self.system_end)
                == other.buf.identity_bytes(other.system_end)
    }
}

/// `root|extension`.
impl fmt::Display for Ii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.root(), self.extension())
    }
}

/// `codeSystem|code`.
impl fmt::Display for Cv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.code_system(), self.code())
    }
}

impl fmt::Debug for Ii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ii")
            .field("root", &self.root())
            .field("extension", &self.extension())
            .field("assigning_authority_name", &self.assigning_authority_name())
            .finish()
    }
}

impl fmt::Debug for Cv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cv")
            .field("code", &self.code())
            .field("code_system", &self.code_system())
            .field("display_name", &self.display_name())
            .finish()
    }
}

/// XML white space (`#x20 | #x9 | #xD | #xA`).
fn xml_trim(s: &str) -> &str {
    let ws = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t' | b'\r' | b'\n'));
    // Values almost never carry white space: two byte checks settle it.
    if !ws(s.as_bytes().first()) && !ws(s.as_bytes().last()) {
        return s;
    }
    s.trim_matches([' ', '\t', '\r', '\n'])
}

fn text_error(datatype: DataType, text: &str, reason: impl Into<String>) -> ValueError {
    let shown: String = text.chars().take(64).collect();
    ValueError {
        datatype,
        text: shown,
        reason: reason.into(),
    }
}

/// The element expected inside an `AttributeValue` of `dt`, if `dt` is carried as an element.
pub fn element_name(dt: DataType) -> Option<&'static str> {
    match dt {
        DataType::Hl7Ii => Some(II_ELEMENT),
        DataType::Hl7Cv => Some(CV_ELEMENT),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BSN_ROOT: &str = "2.16.840.1.113883.2.4.6.3";
    const UZI_ROOT: &str = "2.16.528.1.1007.3.1";

    #[test]
    fn ii_parts_and_identity() {
        // Domain 2.3 row 6: UZI number with assigningAuthorityName CIBG.
        let a = Ii::new(UZI_ROOT, "000000123", Some("CIBG"));
        assert_eq!(a.root(), UZI_ROOT);
        assert_eq!(a.extension(), "000000123");
        assert_eq!(a.assigning_authority_name(), Some("CIBG"));
        // The assigning authority name is informative: not part of identity.
        assert!(a.equals(&Ii::new(UZI_ROOT, "000000123", None)));
        assert!(!a.equals(&Ii::new(UZI_ROOT, "000000456", Some("CIBG"))));
        // Same extension under another root is another identifier (a BSN is not a UZI number).
        assert!(!Ii::new(BSN_ROOT, "999990019", None).equals(&Ii::new(
            UZI_ROOT,
            "999990019",
            None
        )));
        assert_eq!(Ii::new(BSN_ROOT, "", None).extension(), "");
        assert_eq!(
            Ii::new(BSN_ROOT, "1", None).assigning_authority_name(),
            None
        );
    }

    /// Values too long to keep inline keep all their parts and compare like short ones.
    #[test]
    fn long_values_spill_and_keep_their_parts() {
        let long_root = "2.16.840.1.113883.2.4.6.3.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15";
        for (root, ext, aan) in [
            (long_root, "999990019", Some("Some assigning authority")),
            (
                BSN_ROOT,
                "999990019",
                Some("x".repeat(INLINE_CAPACITY).as_str()),
            ),
            (BSN_ROOT, "", None),
            (&*"1".repeat(INLINE_CAPACITY), "", None),
            (&*"1".repeat(INLINE_CAPACITY + 1), "", None),
        ] {
            let ii = Ii::new(root, ext, aan);
            assert_eq!(
                (ii.root(), ii.extension(), ii.assigning_authority_name()),
                (root, ext, aan)
            );
            assert_eq!(ii, ii.clone());
            assert!(ii.equals(&Ii::new(root, ext, None)));
            let cv = Cv::new(ext, root, aan);
            assert_eq!(
                (cv.code(), cv.code_system(), cv.display_name()),
                (ext, root, aan)
            );
        }
        assert_ne!(Ii::new("1.2", "3", None), Ii::new("1.2", "3", Some("")));
        assert_ne!(Ii::new("1.2", "3", None), Ii::new("1.", "23", None));
    }

    #[test]
    fn cv_parts_and_identity() {
        // Domain 2.3 row 9/2: organisation type V6 (general hospital).
        let v6 = Cv::new(
            "V6",
            "2.16.840.1.113883.2.4.15.1060",
            Some("Algemeen ziekenhuis"),
        );
        assert_eq!(v6.code(), "V6");
        assert_eq!(v6.code_system(), "2.16.840.1.113883.2.4.15.1060");
        assert_eq!(v6.display_name(), Some("Algemeen ziekenhuis"));
        assert!(v6.equals(&Cv::new("V6", "2.16.840.1.113883.2.4.15.1060", None)));
        // Codes are case-sensitive and bound to their system.
        assert!(!v6.equals(&Cv::new("v6", "2.16.840.1.113883.2.4.15.1060", None)));
        assert!(!v6.equals(&Cv::new("V6", "2.16.840.1.113883.2.4.15.111", None)));
    }

    #[test]
    fn equality_respects_where_the_parts_split() {
        // The same bytes split differently are different values.
        assert!(!Cv::new("A1", "2.3", None).equals(&Cv::new("A", "12.3", None)));
        assert!(!Ii::new("2.1", "23", None).equals(&Ii::new("2.12", "3", None)));
        // The informative part never takes part, inline or spilled to the heap.
        let long = "x".repeat(INLINE_CAPACITY);
        assert!(Cv::new("A", "2.3", Some(&long)).equals(&Cv::new("A", "2.3", Some("y"))));
        assert!(Ii::new(&long, "7", Some("CIBG")).equals(&Ii::new(&long, "7", None)));
        assert!(!Ii::new(&long, "7", None).equals(&Ii::new(&long, "8", None)));
    }

    #[test]
    fn canonical_text_forms() {
        let ii = Ii::parse_text(" 2.16.840.1.113883.2.4.6.3|999990019 ").unwrap();
        assert_eq!((ii.root(), ii.extension()), (BSN_ROOT, "999990019"));
        assert_eq!(ii.to_string(), "2.16.840.1.113883.2.4.6.3|999990019");
        let cv = Cv::parse_text("2.16.840.1.113883.1.11.20448|TREAT").unwrap();
        assert_eq!(
            (cv.code(), cv.code_system()),
            ("TREAT", "2.16.840.1.113883.1.11.20448")
        );
        assert_eq!(cv.to_string(), "2.16.840.1.113883.1.11.20448|TREAT");
        for bad in ["", "999990019", "|999990019"] {
            assert!(Ii::parse_text(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "TREAT", "|TREAT", "2.16.840.1.113883.1.11.20448|"] {
            assert!(Cv::parse_text(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn missing_required_parts_are_named() {
        let e = Ii::from_parts(None, Some("999990019"), None).unwrap_err();
        assert!(e.reason.contains("root"), "{e}");
        // The error never quotes the identifier (it may be a BSN).
        assert!(!e.to_string().contains("999990019"), "{e}");
        let e = Cv::from_parts(Some("V6"), None, None).unwrap_err();
        assert!(e.reason.contains("codeSystem"), "{e}");
        let e = Cv::from_parts(None, Some("1.2"), None).unwrap_err();
        assert!(e.reason.contains("code attribute"), "{e}");
        assert!(Ii::from_parts(Some(BSN_ROOT), None, None).is_ok());
    }
}
