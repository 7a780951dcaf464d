//! The XACML 3.0 data types (core spec Appendix A.2), as a small `Copy` enum.
//!
//! A data type is resolved from its URI once, at compile or request-parse time; from then on the
//! engine only compares enum tags. Legacy identifiers (XACML 1.0/2.0 duration URIs) are accepted
//! on input and written back in their XACML 3.0 form.

use std::fmt;

const XS: &str = "http://www.w3.org/2001/XMLSchema#";

/// One XACML data type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataType {
    String,
    Boolean,
    Integer,
    Double,
    Time,
    Date,
    DateTime,
    AnyUri,
    HexBinary,
    Base64Binary,
    DayTimeDuration,
    YearMonthDuration,
    X500Name,
    Rfc822Name,
    IpAddress,
    DnsName,
    XPathExpression,
    /// HL7 v3 instance identifier (`urn:hl7-org:v3#II`): an extension type, see `xacml::hl7`.
    Hl7Ii,
    /// HL7 v3 coded value (`urn:hl7-org:v3#CV`): an extension type, see `xacml::hl7`.
    Hl7Cv,
}

impl DataType {
    /// Every data type, in the order of Appendix A.2, then the HL7 v3 extension types.
    pub const ALL: [DataType; 19] = [
        DataType::String,
        DataType::Boolean,
        DataType::Integer,
        DataType::Double,
        DataType::Time,
        DataType::Date,
        DataType::DateTime,
        DataType::AnyUri,
        DataType::HexBinary,
        DataType::Base64Binary,
        DataType::DayTimeDuration,
        DataType::YearMonthDuration,
        DataType::X500Name,
        DataType::Rfc822Name,
        DataType::IpAddress,
        DataType::DnsName,
        DataType::XPathExpression,
        DataType::Hl7Ii,
        DataType::Hl7Cv,
    ];

    /// The XACML 3.0 identifier of this data type.
    pub fn uri(self) -> &'static str {
        match self {
            DataType::String => "http://www.w3.org/2001/XMLSchema#string",
            DataType::Boolean => "http://www.w3.org/2001/XMLSchema#boolean",
            DataType::Integer => "http://www.w3.org/2001/XMLSchema#integer",
            DataType::Double => "http://www.w3.org/2001/XMLSchema#double",
            DataType::Time => "http://www.w3.org/2001/XMLSchema#time",
            DataType::Date => "http://www.w3.org/2001/XMLSchema#date",
            DataType::DateTime => "http://www.w3.org/2001/XMLSchema#dateTime",
            DataType::AnyUri => "http://www.w3.org/2001/XMLSchema#anyURI",
            DataType::HexBinary => "http://www.w3.org/2001/XMLSchema#hexBinary",
            DataType::Base64Binary => "http://www.w3.org/2001/XMLSchema#base64Binary",
            DataType::DayTimeDuration => "http://www.w3.org/2001/XMLSchema#dayTimeDuration",
            DataType::YearMonthDuration => "http://www.w3.org/2001/XMLSchema#yearMonthDuration",
            DataType::X500Name => "urn:oasis:names:tc:xacml:1.0:data-type:x500Name",
            DataType::Rfc822Name => "urn:oasis:names:tc:xacml:1.0:data-type:rfc822Name",
            DataType::IpAddress => "urn:oasis:names:tc:xacml:2.0:data-type:ipAddress",
            DataType::DnsName => "urn:oasis:names:tc:xacml:2.0:data-type:dnsName",
            DataType::XPathExpression => "urn:oasis:names:tc:xacml:3.0:data-type:xpathExpression",
            DataType::Hl7Ii => "urn:hl7-org:v3#II",
            DataType::Hl7Cv => "urn:hl7-org:v3#CV",
        }
    }

    /// Resolves a data type URI, including the legacy XACML 1.0/2.0 duration identifiers.
    /// Returns `None` for an unknown URI; callers turn that into an error naming the URI.
    pub fn from_uri(uri: &str) -> Option<DataType> {
        if let Some(local) = uri.strip_prefix(XS) {
            return Some(match local {
                "string" => DataType::String,
                "boolean" => DataType::Boolean,
                "integer" => DataType::Integer,
                "double" => DataType::Double,
                "time" => DataType::Time,
                "date" => DataType::Date,
                "dateTime" => DataType::DateTime,
                "anyURI" => DataType::AnyUri,
                "hexBinary" => DataType::HexBinary,
                "base64Binary" => DataType::Base64Binary,
                "dayTimeDuration" => DataType::DayTimeDuration,
                "yearMonthDuration" => DataType::YearMonthDuration,
                _ => return None,
            });
        }
        Some(match uri {
            "urn:oasis:names:tc:xacml:1.0:data-type:x500Name" => DataType::X500Name,
            "urn:oasis:names:tc:xacml:1.0:data-type:rfc822Name" => DataType::Rfc822Name,
            "urn:oasis:names:tc:xacml:2.0:data-type:ipAddress" => DataType::IpAddress,
            "urn:oasis:names:tc:xacml:2.0:data-type:dnsName" => DataType::DnsName,
            "urn:oasis:names:tc:xacml:3.0:data-type:xpathExpression" => DataType::XPathExpression,
            "urn:hl7-org:v3#II" => DataType::Hl7Ii,
            "urn:hl7-org:v3#CV" => DataType::Hl7Cv,
            // Legacy duration identifiers (XACML 1.0 and 2.0).
            "http://www.w3.org/TR/2002/WD-xquery-operators-20020816#dayTimeDuration"
            | "urn:oasis:names:tc:xacml:2.0:data-type:dayTimeDuration" => DataType::DayTimeDuration,
            "http://www.w3.org/TR/2002/WD-xquery-operators-20020816#yearMonthDuration"
            | "urn:oasis:names:tc:xacml:2.0:data-type:yearMonthDuration" => {
                DataType::YearMonthDuration
            }
            _ => return None,
        })
    }

    /// Whether values of this type are written as an XML element inside `AttributeValue`
    /// (the HL7 types) rather than as text.
    pub fn is_element_content(self) -> bool {
        matches!(self, DataType::Hl7Ii | DataType::Hl7Cv)
    }

    /// Short name used in error messages and in function identifiers (`string`, `dateTime`, ...).
    pub fn short_name(self) -> &'static str {
        let uri = self.uri();
        match uri.rfind(['#', ':']) {
            Some(i) => &uri[i + 1..],
            None => uri,
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        for dt in DataType::ALL {
            assert_eq!(DataType::from_uri(dt.uri()), Some(dt));
        }
    }

    #[test]
    fn legacy_duration_uris_resolve() {
        assert_eq!(
            DataType::from_uri("urn:oasis:names:tc:xacml:2.0:data-type:dayTimeDuration"),
            Some(DataType::DayTimeDuration)
        );
        assert_eq!(
            DataType::from_uri(
                "http://www.w3.org/TR/2002/WD-xquery-operators-20020816#yearMonthDuration"
            ),
            Some(DataType::YearMonthDuration)
        );
        assert_eq!(DataType::from_uri("http://example.com#nope"), None);
    }

    #[test]
    fn short_names() {
        assert_eq!(DataType::DateTime.short_name(), "dateTime");
        assert_eq!(DataType::Rfc822Name.short_name(), "rfc822Name");
        assert_eq!(DataType::Hl7Ii.short_name(), "II");
        assert_eq!(DataType::Hl7Cv.short_name(), "CV");
    }

    #[test]
    fn hl7_uris_resolve() {
        assert_eq!(
            DataType::from_uri("urn:hl7-org:v3#II"),
            Some(DataType::Hl7Ii)
        );
        assert_eq!(
            DataType::from_uri("urn:hl7-org:v3#CV"),
            Some(DataType::Hl7Cv)
        );
        assert_eq!(DataType::from_uri("urn:hl7-org:v3#CD"), None);
    }
}
