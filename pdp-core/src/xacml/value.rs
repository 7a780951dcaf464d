//! Attribute values: one Rust variant per XACML data type, parsed from the lexical form once.
//!
//! Strings and other heap values sit behind `Arc` so that copying a value from the request into
//! a bag, an obligation or a function result costs a reference-count increment, not an
//! allocation.
//!
//! Parsing trims surrounding white space for every type except `string` (XML Schema
//! `whiteSpace=collapse` for the other types; a string is kept verbatim). `Display` writes the
//! XML Schema lexical form: temporal and name values print as written (their own timezone, the
//! original spelling of a name), numbers and binaries in canonical form.
//!
//! The HL7 v3 extension types `II` and `CV` ([`super::hl7`]) are values like any other here;
//! their XML form is an element, parsed by [`Value::from_xml_element`] (policies) or by the
//! streaming request parser, and their text form is the canonical `root|extension` /
//! `codeSystem|code`.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;

use super::datatype::DataType;
pub use super::hl7::{Cv, Ii};
use super::hl7::{CV_ELEMENT, HL7_NS, II_ELEMENT};
pub use super::names::{DnsName, IpAddress, Rfc822Name, X500Name};
use super::request::RequestTime;
pub use super::temporal::{Date, DateTime, DayTimeDuration, Time, YearMonthDuration};

/// One attribute value of a known data type.
#[derive(Clone, Debug)]
pub enum Value {
    String(Arc<str>),
    Boolean(bool),
    Integer(i64),
    Double(f64),
    Time(Time),
    Date(Date),
    DateTime(DateTime),
    AnyUri(Arc<str>),
    HexBinary(Arc<[u8]>),
    Base64Binary(Arc<[u8]>),
    DayTimeDuration(DayTimeDuration),
    YearMonthDuration(YearMonthDuration),
    X500Name(Arc<X500Name>),
    Rfc822Name(Arc<Rfc822Name>),
    IpAddress(Arc<IpAddress>),
    DnsName(Arc<DnsName>),
    /// An XPath expression with its `XPathCategory` (kept, never evaluated: XPath is optional).
    XPathExpression {
        category: Arc<str>,
        path: Arc<str>,
    },
    /// HL7 v3 instance identifier (extension type `urn:hl7-org:v3#II`).
    Ii(Arc<Ii>),
    /// HL7 v3 coded value (extension type `urn:hl7-org:v3#CV`).
    Cv(Arc<Cv>),
}

/// A value that does not parse as its data type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    pub datatype: DataType,
    /// The offending text, shortened to at most 64 characters.
    pub text: String,
    /// What is wrong, as a sentence fragment ("expected 'true' or 'false'").
    pub reason: String,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a valid {}: {}",
            self.text, self.datatype, self.reason
        )
    }
}

impl std::error::Error for ValueError {}

/// Longest text quoted back in a [`ValueError`].
const MAX_ERROR_TEXT: usize = 64;

impl ValueError {
    fn new(datatype: DataType, text: &str, reason: impl Into<String>) -> ValueError {
        let text = match text.char_indices().nth(MAX_ERROR_TEXT) {
            Some((i, _)) => format!("{}...", &text[..i]),
            None => text.to_owned(),
        };
        ValueError {
            datatype,
            text,
            reason: reason.into(),
        }
    }
}

/// XML white space (`#x20 | #x9 | #xD | #xA`), the only characters `whiteSpace=collapse` strips.
fn xml_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// Checks the XML Schema `double` lexical space, which Rust's `f64::from_str` is looser than
/// (it would accept `inf`, `infinity` and `nan`).
fn parse_double(s: &str) -> Option<f64> {
    match s {
        "INF" | "+INF" => return Some(f64::INFINITY),
        "-INF" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut mantissa_digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        mantissa_digits += i - frac_start;
    }
    if mantissa_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse().ok()
}

fn parse_integer(s: &str) -> Result<i64, &'static str> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected an optional sign and decimal digits");
    }
    // `i64::from_str` accepts a leading '+' too, so the whole text can be handed over.
    s.parse()
        .map_err(|_| "the integer is outside the supported 64-bit range")
}

fn parse_hex(s: &str) -> Result<Vec<u8>, &'static str> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err("expected an even number of hexadecimal digits");
    }
    b.chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16);
            let lo = (pair[1] as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err("expected hexadecimal digits"),
            }
        })
        .collect()
}

fn parse_base64(s: &str) -> Result<Vec<u8>, &'static str> {
    // XML Schema allows white space between the base64 characters.
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "expected base64 text")
}

/// Writes a double the way XACML responses expect: `NaN`, `INF`, `-INF`, integral values with
/// one decimal (`3.0`), others as the shortest text that reads back to the same value, with an
/// exponent only for very large or very small magnitudes.
fn write_double(f: &mut fmt::Formatter<'_>, d: f64) -> fmt::Result {
    if d.is_nan() {
        f.write_str("NaN")
    } else if d.is_infinite() {
        f.write_str(if d > 0.0 { "INF" } else { "-INF" })
    } else if d == 0.0 {
        f.write_str(if d.is_sign_negative() { "-0.0" } else { "0.0" })
    } else if (1e-6..1e16).contains(&d.abs()) {
        if d.fract() == 0.0 {
            write!(f, "{d:.1}")
        } else {
            write!(f, "{d}")
        }
    } else {
        write!(f, "{d:E}")
    }
}

impl Value {
    /// Parses the lexical form `text` as data type `dt`. Strings are kept verbatim; all other
    /// types are trimmed of surrounding XML white space first. An XPath expression parsed here
    /// gets an empty category (use [`Value::xpath`] when the category is known).
    pub fn parse(dt: DataType, text: &str) -> Result<Value, ValueError> {
        if dt == DataType::String {
            return Ok(Value::String(text.into()));
        }
        let t = xml_trim(text);
        let err = |reason: &str| ValueError::new(dt, t, reason);
        Ok(match dt {
            DataType::String => Value::String(text.into()),
            DataType::Boolean => match t {
                "true" | "1" => Value::Boolean(true),
                "false" | "0" => Value::Boolean(false),
                _ => return Err(err("expected 'true', 'false', '1' or '0'")),
            },
            DataType::Integer => Value::Integer(parse_integer(t).map_err(err)?),
            DataType::Double => Value::Double(
                parse_double(t)
                    .ok_or_else(|| err("expected a decimal number, INF, -INF or NaN"))?,
            ),
            DataType::Time => Value::Time(Time::parse(t).map_err(err)?),
            DataType::Date => Value::Date(Date::parse(t).map_err(err)?),
            DataType::DateTime => Value::DateTime(DateTime::parse(t).map_err(err)?),
            DataType::AnyUri => Value::AnyUri(t.into()),
            DataType::HexBinary => Value::HexBinary(parse_hex(t).map_err(err)?.into()),
            DataType::Base64Binary => Value::Base64Binary(parse_base64(t).map_err(err)?.into()),
            DataType::DayTimeDuration => {
                Value::DayTimeDuration(DayTimeDuration::parse(t).map_err(err)?)
            }
            DataType::YearMonthDuration => {
                Value::YearMonthDuration(YearMonthDuration::parse(t).map_err(err)?)
            }
            DataType::X500Name => Value::X500Name(Arc::new(X500Name::parse(t).map_err(err)?)),
            DataType::Rfc822Name => Value::Rfc822Name(Arc::new(Rfc822Name::parse(t).map_err(err)?)),
            DataType::IpAddress => Value::IpAddress(Arc::new(IpAddress::parse(t).map_err(err)?)),
            DataType::DnsName => Value::DnsName(Arc::new(DnsName::parse(t).map_err(err)?)),
            DataType::XPathExpression => Value::xpath("", t),
            DataType::Hl7Ii => Value::Ii(Arc::new(Ii::parse_text(t)?)),
            DataType::Hl7Cv => Value::Cv(Arc::new(Cv::parse_text(t)?)),
        })
    }

    /// Parses a value given as an XML element inside `<AttributeValue>` (the HL7 types:
    /// `<v3:InstanceIdentifier root=".." extension=".."/>` for `II`,
    /// `<v3:CodedValue code=".." codeSystem=".."/>` for `CV`, namespace `urn:hl7-org:v3` under
    /// any prefix). The policy parser calls this for an `AttributeValue` with element content;
    /// any other data type is an error saying its value must be text.
    pub fn from_xml_element(
        dt: DataType,
        element: roxmltree::Node<'_, '_>,
    ) -> Result<Value, ValueError> {
        let name = element.tag_name();
        let expected = match dt {
            DataType::Hl7Ii => II_ELEMENT,
            DataType::Hl7Cv => CV_ELEMENT,
            _ => {
                return Err(ValueError::new(
                    dt,
                    name.name(),
                    "a value of this data type is text; remove the element inside \
                     <AttributeValue>",
                ))
            }
        };
        if name.namespace() != Some(HL7_NS) || name.name() != expected {
            let found = match name.namespace() {
                Some(ns) => format!("{{{ns}}}{}", name.name()),
                None => name.name().to_string(),
            };
            return Err(ValueError::new(
                dt,
                &found,
                format!("expected a <{expected}> element in namespace {HL7_NS}"),
            ));
        }
        Ok(match dt {
            DataType::Hl7Ii => Value::Ii(Arc::new(Ii::from_parts(
                element.attribute("root"),
                element.attribute("extension"),
                element.attribute("assigningAuthorityName"),
            )?)),
            _ => Value::Cv(Arc::new(Cv::from_parts(
                element.attribute("code"),
                element.attribute("codeSystem"),
                element.attribute("displayName"),
            )?)),
        })
    }

    /// An HL7 II value (`assigning_authority_name` is informative, not part of equality).
    pub fn ii(root: &str, extension: &str, assigning_authority_name: Option<&str>) -> Value {
        Value::Ii(Arc::new(Ii::new(root, extension, assigning_authority_name)))
    }

    /// An HL7 CV value (`display_name` is informative, not part of equality).
    pub fn cv(code: &str, code_system: &str, display_name: Option<&str>) -> Value {
        Value::Cv(Arc::new(Cv::new(code, code_system, display_name)))
    }

    /// An XPath expression value with its `XPathCategory` attribute.
    pub fn xpath(category: &str, path: &str) -> Value {
        Value::XPathExpression {
            category: category.into(),
            path: path.into(),
        }
    }

    /// The data type of this value.
    pub fn datatype(&self) -> DataType {
        match self {
            Value::String(_) => DataType::String,
            Value::Boolean(_) => DataType::Boolean,
            Value::Integer(_) => DataType::Integer,
            Value::Double(_) => DataType::Double,
            Value::Time(_) => DataType::Time,
            Value::Date(_) => DataType::Date,
            Value::DateTime(_) => DataType::DateTime,
            Value::AnyUri(_) => DataType::AnyUri,
            Value::HexBinary(_) => DataType::HexBinary,
            Value::Base64Binary(_) => DataType::Base64Binary,
            Value::DayTimeDuration(_) => DataType::DayTimeDuration,
            Value::YearMonthDuration(_) => DataType::YearMonthDuration,
            Value::X500Name(_) => DataType::X500Name,
            Value::Rfc822Name(_) => DataType::Rfc822Name,
            Value::IpAddress(_) => DataType::IpAddress,
            Value::DnsName(_) => DataType::DnsName,
            Value::XPathExpression { .. } => DataType::XPathExpression,
            Value::Ii(_) => DataType::Hl7Ii,
            Value::Cv(_) => DataType::Hl7Cv,
        }
    }

    /// The equality of the `<type>-equal` function of A.3.1; false for different data types.
    /// Doubles compare as IEEE numbers except that `NaN` equals `NaN`: the XACML TC conformance
    /// cases IIC350 and IIC358 require it (as Java's `Double.equals` in the reference engines
    /// does), and it makes a `NaN` in a policy usable at all. Temporal values compare as instants with
    /// UTC for a missing timezone, durations by length. `ipAddress`, `dnsName` and
    /// `xpathExpression` have no standard equality function; they compare by their parts.
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Boolean(a), Value::Boolean(b)) => a == b,
            (Value::Integer(a), Value::Integer(b)) => a == b,
            (Value::Double(a), Value::Double(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Time(a), Value::Time(b)) => a == b,
            (Value::Date(a), Value::Date(b)) => a == b,
            (Value::DateTime(a), Value::DateTime(b)) => a == b,
            (Value::AnyUri(a), Value::AnyUri(b)) => a == b,
            (Value::HexBinary(a), Value::HexBinary(b)) => a == b,
            (Value::Base64Binary(a), Value::Base64Binary(b)) => a == b,
            (Value::DayTimeDuration(a), Value::DayTimeDuration(b)) => a == b,
            (Value::YearMonthDuration(a), Value::YearMonthDuration(b)) => a == b,
            (Value::X500Name(a), Value::X500Name(b)) => a.equals(b),
            (Value::Rfc822Name(a), Value::Rfc822Name(b)) => a.equals(b),
            (Value::IpAddress(a), Value::IpAddress(b)) => a.equals(b),
            (Value::DnsName(a), Value::DnsName(b)) => a.equals(b),
            (
                Value::XPathExpression {
                    category: ca,
                    path: pa,
                },
                Value::XPathExpression {
                    category: cb,
                    path: pb,
                },
            ) => ca == cb && pa == pb,
            (Value::Ii(a), Value::Ii(b)) => a.equals(b),
            (Value::Cv(a), Value::Cv(b)) => a.equals(b),
            _ => false,
        }
    }

    /// The values of the environment attributes `current-dateTime`, `current-date` and
    /// `current-time` (in that order) for the instant `t`, in UTC with a `Z` timezone.
    pub fn current_time_values(t: RequestTime) -> [Value; 3] {
        // RequestTime comes from a clock, so it is always in range; fall back to the epoch
        // rather than panic if a caller passes something absurd.
        let dt = DateTime::from_unix(t.unix_secs, t.nanos).unwrap_or(DateTime::UNIX_EPOCH);
        [
            Value::DateTime(dt),
            Value::Date(dt.date()),
            Value::Time(dt.time()),
        ]
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_double(&self) -> Option<f64> {
        match self {
            Value::Double(d) => Some(*d),
            _ => None,
        }
    }

    pub fn as_ii(&self) -> Option<&Ii> {
        match self {
            Value::Ii(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_cv(&self) -> Option<&Cv> {
        match self {
            Value::Cv(v) => Some(v),
            _ => None,
        }
    }

    /// The text of a `string` or `anyURI` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::AnyUri(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) | Value::AnyUri(s) => f.write_str(s),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Double(d) => write_double(f, *d),
            Value::Time(t) => write!(f, "{t}"),
            Value::Date(d) => write!(f, "{d}"),
            Value::DateTime(d) => write!(f, "{d}"),
            Value::HexBinary(b) => {
                for byte in b.iter() {
                    write!(f, "{byte:02X}")?;
                }
                Ok(())
            }
            Value::Base64Binary(b) => {
                f.write_str(&base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::DayTimeDuration(d) => write!(f, "{d}"),
            Value::YearMonthDuration(d) => write!(f, "{d}"),
            Value::X500Name(n) => write!(f, "{n}"),
            Value::Rfc822Name(n) => write!(f, "{n}"),
            Value::IpAddress(n) => write!(f, "{n}"),
            Value::DnsName(n) => write!(f, "{n}"),
            Value::XPathExpression { path, .. } => f.write_str(path),
            Value::Ii(v) => write!(f, "{v}"),
            Value::Cv(v) => write!(f, "{v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(dt: DataType, s: &str) -> Value {
        Value::parse(dt, s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn round_trip(dt: DataType, s: &str) -> String {
        p(dt, s).to_string()
    }

    #[test]
    fn strings_are_verbatim_and_other_types_are_trimmed() {
        assert_eq!(round_trip(DataType::String, "  a b \n"), "  a b \n");
        assert_eq!(round_trip(DataType::Integer, " \n 12 \t"), "12");
        assert_eq!(round_trip(DataType::AnyUri, " http://x/ "), "http://x/");
    }

    #[test]
    fn booleans() {
        // XML Schema 3.2.2: {true, false, 1, 0}; canonical form true/false.
        assert_eq!(p(DataType::Boolean, "1").as_bool(), Some(true));
        assert_eq!(p(DataType::Boolean, "0").as_bool(), Some(false));
        assert_eq!(round_trip(DataType::Boolean, "true"), "true");
        for bad in ["True", "yes", "", "2"] {
            assert!(Value::parse(DataType::Boolean, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn integers() {
        // XML Schema 3.3.13: optional sign, digits; canonical form drops '+' and leading zeros.
        assert_eq!(p(DataType::Integer, "+0012").as_integer(), Some(12));
        assert_eq!(round_trip(DataType::Integer, "-1"), "-1");
        assert_eq!(round_trip(DataType::Integer, "+0012"), "12");
        for bad in ["1.0", "", "+", "1e3", "12a", "99999999999999999999"] {
            let e = Value::parse(DataType::Integer, bad).unwrap_err();
            assert_eq!(e.datatype, DataType::Integer);
        }
    }

    #[test]
    fn doubles() {
        // XML Schema 3.2.5 lexical forms.
        assert_eq!(p(DataType::Double, "-1E4").as_double(), Some(-1e4));
        assert_eq!(
            p(DataType::Double, "1267.43233E12").as_double(),
            Some(1267.43233e12)
        );
        assert_eq!(p(DataType::Double, "12.78e-2").as_double(), Some(0.1278));
        assert_eq!(p(DataType::Double, ".5").as_double(), Some(0.5));
        assert_eq!(p(DataType::Double, "12").as_double(), Some(12.0));
        assert!(p(DataType::Double, "NaN")
            .as_double()
            .is_some_and(f64::is_nan));
        for (text, shown) in [
            ("INF", "INF"),
            ("-INF", "-INF"),
            ("NaN", "NaN"),
            ("5.5", "5.5"),
            ("10.0", "10.0"),
            ("-5.55", "-5.55"),
            ("73985.34256", "73985.34256"),
            ("3", "3.0"),
            ("1E21", "1E21"),
        ] {
            assert_eq!(round_trip(DataType::Double, text), shown);
        }
        for bad in [
            "inf", "nan", "Infinity", "1.0.0", "e5", "1e", "", "0x10", "1,5",
        ] {
            assert!(Value::parse(DataType::Double, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn binaries() {
        // XML Schema 3.2.15: hexBinary canonical form is upper case.
        assert_eq!(round_trip(DataType::HexBinary, "0fb8"), "0FB8");
        assert!(p(DataType::HexBinary, "0FB8").equals(&p(DataType::HexBinary, "0fb8")));
        assert!(Value::parse(DataType::HexBinary, "0FB").is_err());
        assert!(Value::parse(DataType::HexBinary, "0G").is_err());
        // RFC 2045 base64; white space inside is allowed by XML Schema.
        assert!(
            p(DataType::Base64Binary, "SGVs bG8=").equals(&p(DataType::Base64Binary, "SGVsbG8="))
        );
        assert_eq!(round_trip(DataType::Base64Binary, "SGVsbG8="), "SGVsbG8=");
        assert!(Value::parse(DataType::Base64Binary, "SGVsbG8").is_err());
    }

    #[test]
    fn temporal_and_names_print_as_written() {
        for (dt, s) in [
            (DataType::Time, "22:12:10-14:00"),
            (DataType::Date, "2002-10-10"),
            (DataType::DateTime, "2002-05-30T09:30:10Z"),
            (DataType::DayTimeDuration, "P12DT148H18M21S"),
            (DataType::YearMonthDuration, "-P28Y7M"),
            (
                DataType::X500Name,
                "cn=Julius Hibbert, o=Medi Corporation, c=US",
            ),
            (DataType::Rfc822Name, "j_hibbert@MEDICO.COM"),
            (DataType::IpAddress, "122.45.38.245/255.255.255.64:8080"),
            (DataType::DnsName, "a.different.host:-45"),
        ] {
            assert_eq!(round_trip(dt, s), s);
            assert_eq!(p(dt, s).datatype(), dt);
        }
    }

    #[test]
    fn equality_is_per_type() {
        assert!(!p(DataType::String, "1").equals(&p(DataType::Integer, "1")));
        assert!(!p(DataType::String, "a").equals(&p(DataType::AnyUri, "a")));
        assert!(p(DataType::Double, "NaN").equals(&p(DataType::Double, "NaN")));
        assert!(p(DataType::Double, "1.0").equals(&p(DataType::Double, "1")));
        assert!(p(DataType::DateTime, "2002-04-02T12:00:00-01:00")
            .equals(&p(DataType::DateTime, "2002-04-02T17:00:00+04:00")));
        assert!(Value::xpath("c", "/a").equals(&Value::xpath("c", "/a")));
        assert!(!Value::xpath("c", "/a").equals(&Value::xpath("d", "/a")));
    }

    #[test]
    fn errors_name_the_type_and_shorten_the_text() {
        let long = "x".repeat(200);
        let e = Value::parse(DataType::Date, &long).unwrap_err();
        assert_eq!(e.datatype, DataType::Date);
        assert!(e.text.len() < 80);
        assert!(e.to_string().contains("is not a valid date"));
    }

    #[test]
    fn hl7_values_parse_from_elements_and_text() {
        let xml = r#"<a xmlns:hl7="urn:hl7-org:v3">
            <hl7:InstanceIdentifier root="2.16.840.1.113883.2.4.6.3" extension="999990019"/>
            <hl7:CodedValue code="GGC002" codeSystem="2.16.840.1.113883.2.4.3.111.5.10.1" displayName="Behandelgegevens"/>
            <InstanceIdentifier root="1.2"/>
            <hl7:InstanceIdentifier extension="999990019"/>
        </a>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let elements: Vec<_> = doc
            .root_element()
            .children()
            .filter(|n| n.is_element())
            .collect();
        let ii = Value::from_xml_element(DataType::Hl7Ii, elements[0]).unwrap();
        assert!(ii.equals(&p(DataType::Hl7Ii, "2.16.840.1.113883.2.4.6.3|999990019")));
        assert!(ii.equals(&Value::ii(
            "2.16.840.1.113883.2.4.6.3",
            "999990019",
            Some("NLMINBIZA")
        )));
        assert_eq!(ii.to_string(), "2.16.840.1.113883.2.4.6.3|999990019");
        assert_eq!(ii.datatype(), DataType::Hl7Ii);
        let cv = Value::from_xml_element(DataType::Hl7Cv, elements[1]).unwrap();
        assert_eq!(
            cv.as_cv().and_then(|c| c.display_name()),
            Some("Behandelgegevens")
        );
        assert!(cv.equals(&Value::cv(
            "GGC002",
            "2.16.840.1.113883.2.4.3.111.5.10.1",
            None
        )));
        assert!(!cv.equals(&ii));
        assert_eq!(
            round_trip(DataType::Hl7Cv, "2.16.840.1.113883.1.11.20448|COC"),
            "2.16.840.1.113883.1.11.20448|COC"
        );
        // Wrong element, wrong namespace, missing root, text type with an element.
        assert!(Value::from_xml_element(DataType::Hl7Cv, elements[0]).is_err());
        let e = Value::from_xml_element(DataType::Hl7Ii, elements[2]).unwrap_err();
        assert!(e.reason.contains(HL7_NS), "{e}");
        let e = Value::from_xml_element(DataType::Hl7Ii, elements[3]).unwrap_err();
        assert!(e.reason.contains("root"), "{e}");
        let e = Value::from_xml_element(DataType::String, elements[0]).unwrap_err();
        assert!(e.reason.contains("text"), "{e}");
    }

    #[test]
    fn current_time_values_are_utc() {
        // 2021-03-04T05:06:07.5Z
        let t = RequestTime {
            unix_secs: 1_614_834_367,
            nanos: 500_000_000,
        };
        let [dt, d, tm] = Value::current_time_values(t);
        assert_eq!(dt.to_string(), "2021-03-04T05:06:07.5Z");
        assert_eq!(d.to_string(), "2021-03-04Z");
        assert_eq!(tm.to_string(), "05:06:07.5Z");
    }
}
