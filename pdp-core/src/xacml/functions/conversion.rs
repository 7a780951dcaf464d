//! Conversions between `string` and the other data types (A.3.9, XACML 3.0):
//! `<type>-from-string` parses the lexical form (an invalid one is a processing error) and
//! `string-from-<type>` writes it, as [`Value`]'s `Display` does.

use crate::xacml::datatype::DataType;
use crate::xacml::value::Value;

use super::args::{self, fixed, fn_id, ret, STRING};
use super::registry::Entry;
use super::{ArgType, FnError, Function, StrictFn, Val};

fn from_string(dt: DataType, a: &[Val]) -> Result<Val, FnError> {
    let text = args::text(a, 0)?;
    Value::parse(dt, text)
        .map(Val::Single)
        .map_err(|e| FnError::new(format!("{}-from-string: {e}", dt.short_name())))
}

fn string_from(a: &[Val]) -> Result<Val, FnError> {
    ret(Value::String(args::single(a, 0)?.to_string().into()))
}

macro_rules! conversions {
    ($( $from:ident, $to:ident: $dt:ident, $name:literal; )*) => {
        $(
            pub(super) static $from: StrictFn = fixed(
                fn_id!("3.0", $name, "-from-string"),
                &[STRING],
                ArgType::Single(DataType::$dt),
                |a| from_string(DataType::$dt, a),
            );
            pub(super) static $to: StrictFn = fixed(
                fn_id!("3.0", "string-from-", $name),
                &[ArgType::Single(DataType::$dt)],
                STRING,
                string_from,
            );
        )*

        pub(super) static ENTRIES: &[Entry] = &[
            $(
                (fn_id!("3.0", $name, "-from-string"), Function::Strict(&$from)),
                (fn_id!("3.0", "string-from-", $name), Function::Strict(&$to)),
            )*
        ];
    };
}

conversions! {
    BOOLEAN_FROM_STRING, STRING_FROM_BOOLEAN: Boolean, "boolean";
    INTEGER_FROM_STRING, STRING_FROM_INTEGER: Integer, "integer";
    DOUBLE_FROM_STRING, STRING_FROM_DOUBLE: Double, "double";
    TIME_FROM_STRING, STRING_FROM_TIME: Time, "time";
    DATE_FROM_STRING, STRING_FROM_DATE: Date, "date";
    DATE_TIME_FROM_STRING, STRING_FROM_DATE_TIME: DateTime, "dateTime";
    ANY_URI_FROM_STRING, STRING_FROM_ANY_URI: AnyUri, "anyURI";
    DAY_TIME_DURATION_FROM_STRING, STRING_FROM_DAY_TIME_DURATION: DayTimeDuration, "dayTimeDuration";
    YEAR_MONTH_DURATION_FROM_STRING, STRING_FROM_YEAR_MONTH_DURATION: YearMonthDuration, "yearMonthDuration";
    X500_NAME_FROM_STRING, STRING_FROM_X500_NAME: X500Name, "x500Name";
    RFC822_NAME_FROM_STRING, STRING_FROM_RFC822_NAME: Rfc822Name, "rfc822Name";
    IP_ADDRESS_FROM_STRING, STRING_FROM_IP_ADDRESS: IpAddress, "ipAddress";
    DNS_NAME_FROM_STRING, STRING_FROM_DNS_NAME: DnsName, "dnsName";
}

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;

    #[test]
    fn from_string_parses_the_lexical_form() {
        assert_eq!(call(&BOOLEAN_FROM_STRING, &[s("1")]).as_bool(), Some(true));
        assert_eq!(
            call(&INTEGER_FROM_STRING, &[s("-012")]).as_integer(),
            Some(-12)
        );
        assert_eq!(
            call(&DOUBLE_FROM_STRING, &[s("1.5E2")]).as_double(),
            Some(150.0)
        );
        let t = call(&TIME_FROM_STRING, &[s("10:00:00+01:00")]);
        assert!(t.equals(&Value::parse(DataType::Time, "09:00:00Z").unwrap()));
        assert_eq!(
            call(&DATE_FROM_STRING, &[s("2002-10-10")]).datatype(),
            DataType::Date
        );
        assert_eq!(
            call(&DATE_TIME_FROM_STRING, &[s("2002-10-10T12:00:00Z")]).datatype(),
            DataType::DateTime
        );
        assert_eq!(
            call(&ANY_URI_FROM_STRING, &[s("urn:x")]).as_str(),
            Some("urn:x")
        );
        assert_eq!(
            call(&DAY_TIME_DURATION_FROM_STRING, &[s("P1D")]).datatype(),
            DataType::DayTimeDuration
        );
        assert_eq!(
            call(&YEAR_MONTH_DURATION_FROM_STRING, &[s("P1Y")]).datatype(),
            DataType::YearMonthDuration
        );
        assert_eq!(
            call(&X500_NAME_FROM_STRING, &[s("cn=A,o=B")]).datatype(),
            DataType::X500Name
        );
        assert_eq!(
            call(&RFC822_NAME_FROM_STRING, &[s("a@b.c")]).datatype(),
            DataType::Rfc822Name
        );
        assert_eq!(
            call(&IP_ADDRESS_FROM_STRING, &[s("10.0.0.1")]).datatype(),
            DataType::IpAddress
        );
        assert_eq!(
            call(&DNS_NAME_FROM_STRING, &[s("a.b")]).datatype(),
            DataType::DnsName
        );
    }

    #[test]
    fn invalid_lexical_forms_are_errors() {
        for (f, text) in [
            (&BOOLEAN_FROM_STRING, "yes"),
            (&INTEGER_FROM_STRING, "1.5"),
            (&DOUBLE_FROM_STRING, "one"),
            (&TIME_FROM_STRING, "25:00:00"),
            (&DATE_FROM_STRING, "2001-02-29"),
            (&DATE_TIME_FROM_STRING, "2001-02-28"),
            (&DAY_TIME_DURATION_FROM_STRING, "P1Y"),
            (&YEAR_MONTH_DURATION_FROM_STRING, "P1D"),
            (&X500_NAME_FROM_STRING, "no equals sign"),
            (&RFC822_NAME_FROM_STRING, "nobody"),
            (&IP_ADDRESS_FROM_STRING, "300.1.1.1"),
            (&DNS_NAME_FROM_STRING, "a..b"),
        ] {
            let e = fails(f, &[s(text)]);
            assert!(e.0.contains("from-string"), "{}", e.0);
        }
    }

    #[test]
    fn string_from_writes_the_lexical_form() {
        assert_eq!(show(&STRING_FROM_BOOLEAN, &[b(false)]), "false");
        assert_eq!(show(&STRING_FROM_INTEGER, &[i(-7)]), "-7");
        assert_eq!(show(&STRING_FROM_DOUBLE, &[d(2.5)]), "2.5");
        assert_eq!(show(&STRING_FROM_DOUBLE, &[d(f64::NEG_INFINITY)]), "-INF");
        assert_eq!(
            show(
                &STRING_FROM_DATE_TIME,
                &[v(DataType::DateTime, "2002-05-30T09:30:10.50+02:00")]
            ),
            "2002-05-30T09:30:10.5+02:00"
        );
        assert_eq!(
            show(
                &STRING_FROM_RFC822_NAME,
                &[v(DataType::Rfc822Name, "Ann@SUN.COM")]
            ),
            "Ann@SUN.COM"
        );
        let r = call(&STRING_FROM_ANY_URI, &[v(DataType::AnyUri, "urn:x")]);
        assert_eq!(r.datatype(), DataType::String);
    }
}
