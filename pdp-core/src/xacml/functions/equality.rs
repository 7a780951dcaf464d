//! Equality predicates (A.3.1): `<type>-equal` for every type that has one, and
//! `string-equal-ignore-case`.
//!
//! All of them share one evaluation, [`Value::equals`](crate::xacml::value::Value::equals), which already implements the
//! type-specific rules (instants for temporal values, RFC 3280 for X.500 names, ...).

use crate::xacml::datatype::DataType;

use super::args::{self, fixed, fn_id, ret_bool, BOOLEAN, STRING};
use super::registry::Entry;
use super::{ArgType, FnError, Function, StrictFn, Val};

pub(super) fn eval_equal(a: &[Val]) -> Result<Val, FnError> {
    ret_bool(args::single(a, 0)?.equals(args::single(a, 1)?))
}

/// `string-equal-ignore-case`: equal after `string-normalize-to-lower-case` of both (A.3.1).
fn eval_equal_ignore_case(a: &[Val]) -> Result<Val, FnError> {
    ret_bool(args::text(a, 0)?.to_lowercase() == args::text(a, 1)?.to_lowercase())
}

macro_rules! equality_functions {
    ($( $stat:ident: $dt:ident, $name:literal, $ver:literal $(, alias $alias:literal)?; )*) => {
        $(
            pub(super) static $stat: StrictFn = fixed(
                fn_id!($ver, $name, "-equal"),
                &[ArgType::Single(DataType::$dt), ArgType::Single(DataType::$dt)],
                BOOLEAN,
                eval_equal,
            );
        )*

        pub(super) static ENTRIES: &[Entry] = &[
            $(
                (fn_id!($ver, $name, "-equal"), Function::Strict(&$stat)),
                $( (fn_id!($alias, $name, "-equal"), Function::Strict(&$stat)), )?
            )*
            (fn_id!("3.0", "string-equal-ignore-case"), Function::Strict(&STRING_EQUAL_IGNORE_CASE)),
        ];
    };
}

equality_functions! {
    STRING_EQUAL: String, "string", "1.0";
    BOOLEAN_EQUAL: Boolean, "boolean", "1.0";
    INTEGER_EQUAL: Integer, "integer", "1.0";
    DOUBLE_EQUAL: Double, "double", "1.0";
    DATE_EQUAL: Date, "date", "1.0";
    TIME_EQUAL: Time, "time", "1.0";
    DATE_TIME_EQUAL: DateTime, "dateTime", "1.0";
    ANY_URI_EQUAL: AnyUri, "anyURI", "1.0";
    X500_NAME_EQUAL: X500Name, "x500Name", "1.0";
    RFC822_NAME_EQUAL: Rfc822Name, "rfc822Name", "1.0";
    HEX_BINARY_EQUAL: HexBinary, "hexBinary", "1.0";
    BASE64_BINARY_EQUAL: Base64Binary, "base64Binary", "1.0";
    // XACML 1.0 defined these with the XQuery working-draft types; 3.0 deprecates those ids.
    DAY_TIME_DURATION_EQUAL: DayTimeDuration, "dayTimeDuration", "3.0", alias "1.0";
    YEAR_MONTH_DURATION_EQUAL: YearMonthDuration, "yearMonthDuration", "3.0", alias "1.0";
}

pub(super) static STRING_EQUAL_IGNORE_CASE: StrictFn = fixed(
    fn_id!("3.0", "string-equal-ignore-case"),
    &[STRING, STRING],
    BOOLEAN,
    eval_equal_ignore_case,
);

/// XACML defines no equality function for these types; the compile step still needs one (for a
/// `<Match>` on such a value, say), so these carry Akkoord identifiers that [`super::lookup`]
/// does not resolve.
macro_rules! extension_equality {
    ($( $stat:ident: $dt:ident, $name:literal; )*) => {
        $(
            pub(super) static $stat: StrictFn = fixed(
                concat!("urn:akkoord:function:", $name, "-equal"),
                &[ArgType::Single(DataType::$dt), ArgType::Single(DataType::$dt)],
                BOOLEAN,
                eval_equal,
            );
        )*
    };
}

extension_equality! {
    IP_ADDRESS_EQUAL: IpAddress, "ipAddress";
    DNS_NAME_EQUAL: DnsName, "dnsName";
    XPATH_EXPRESSION_EQUAL: XPathExpression, "xpathExpression";
}

/// The `<type>-equal` function of `dt`.
pub fn equality_function_for(dt: DataType) -> &'static StrictFn {
    match dt {
        DataType::String => &STRING_EQUAL,
        DataType::Boolean => &BOOLEAN_EQUAL,
        DataType::Integer => &INTEGER_EQUAL,
        DataType::Double => &DOUBLE_EQUAL,
        DataType::Time => &TIME_EQUAL,
        DataType::Date => &DATE_EQUAL,
        DataType::DateTime => &DATE_TIME_EQUAL,
        DataType::AnyUri => &ANY_URI_EQUAL,
        DataType::HexBinary => &HEX_BINARY_EQUAL,
        DataType::Base64Binary => &BASE64_BINARY_EQUAL,
        DataType::DayTimeDuration => &DAY_TIME_DURATION_EQUAL,
        DataType::YearMonthDuration => &YEAR_MONTH_DURATION_EQUAL,
        DataType::X500Name => &X500_NAME_EQUAL,
        DataType::Rfc822Name => &RFC822_NAME_EQUAL,
        DataType::IpAddress => &IP_ADDRESS_EQUAL,
        DataType::DnsName => &DNS_NAME_EQUAL,
        DataType::XPathExpression => &XPATH_EXPRESSION_EQUAL,
        DataType::Hl7Ii => &super::hl7::II_EQUAL,
        DataType::Hl7Cv => &super::hl7::CV_EQUAL,
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;

    #[test]
    fn equality_per_type() {
        use DataType as T;
        let eq = |dt, a: &str, b: &str| truth(equality_function_for(dt), &[v(dt, a), v(dt, b)]);
        assert!(eq(T::String, "abc", "abc"));
        assert!(!eq(T::String, "abc", "ABC"));
        assert!(eq(T::Boolean, "true", "1"));
        assert!(eq(T::Integer, "007", "7"));
        // NaN equals NaN (conformance IIC350/IIC358), and nothing else.
        assert!(eq(T::Double, "NaN", "NaN"));
        assert!(!eq(T::Double, "NaN", "0"));
        assert!(eq(T::Double, "-0", "0"));
        assert!(eq(T::Date, "2004-12-25-12:00", "2004-12-26+12:00"));
        assert!(eq(T::Time, "13:20:00-05:00", "18:20:00Z"));
        assert!(eq(
            T::DateTime,
            "2002-04-02T12:00:00-01:00",
            "2002-04-02T17:00:00+04:00"
        ));
        // anyURI-equal compares code points, no URI normalisation.
        assert!(!eq(T::AnyUri, "http://a/b", "HTTP://a/b"));
        assert!(eq(T::X500Name, "cn=A, o=B", "CN=a,O=b"));
        assert!(eq(T::Rfc822Name, "Anderson@SUN.COM", "Anderson@sun.com"));
        assert!(!eq(T::Rfc822Name, "Anderson@sun.com", "anderson@sun.com"));
        assert!(eq(T::HexBinary, "0a0B", "0A0b"));
        assert!(eq(T::Base64Binary, "AQID", "AQID"));
        assert!(eq(T::DayTimeDuration, "PT36H", "P1DT12H"));
        assert!(eq(T::YearMonthDuration, "P18M", "P1Y6M"));
        assert!(eq(T::IpAddress, "10.0.0.1:80", "10.0.0.1:80"));
        assert!(eq(T::DnsName, "A.com", "a.COM"));
    }

    #[test]
    fn ignore_case() {
        assert!(truth(
            &STRING_EQUAL_IGNORE_CASE,
            &[s("Straße"), s("STRAßE")]
        ));
        assert!(!truth(&STRING_EQUAL_IGNORE_CASE, &[s("a"), s("b")]));
    }

    #[test]
    fn mismatched_arguments_are_errors_not_panics() {
        fails(&INTEGER_EQUAL, &[i(1)]);
        fails(&STRING_EQUAL_IGNORE_CASE, &[i(1), s("a")]);
    }
}
