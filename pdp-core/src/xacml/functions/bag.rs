//! Bag functions (A.3.10): `<type>-one-and-only`, `-bag-size`, `-is-in` and `-bag`.
//!
//! `ipAddress` and `dnsName` have only `one-and-only`, `bag-size` and `bag` (XACML 2.0 defined
//! no equality for them, hence no `is-in`).

use crate::xacml::datatype::DataType;
use crate::xacml::value::Value;

use super::args::{self, fixed, fn_id, ret, ret_bool, variadic, BOOLEAN, INTEGER};
use super::registry::Entry;
use super::{ArgType, Bag, FnError, Function, StrictFn, Val};

pub(super) fn one_and_only(a: &[Val]) -> Result<Val, FnError> {
    let b = args::bag(a, 0)?;
    match b.values.as_slice() {
        [v] => ret(v.clone()),
        values => Err(FnError::new(format!(
            "{}-one-and-only: expected a bag of exactly one value, got {}",
            b.datatype,
            values.len()
        ))),
    }
}

pub(super) fn bag_size(a: &[Val]) -> Result<Val, FnError> {
    let n = args::bag(a, 0)?.values.len();
    ret(Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)))
}

pub(super) fn is_in(a: &[Val]) -> Result<Val, FnError> {
    let v = args::single(a, 0)?;
    ret_bool(args::bag(a, 1)?.values.iter().any(|x| v.equals(x)))
}

pub(super) fn make_bag(dt: DataType, a: &[Val]) -> Result<Val, FnError> {
    let values = (0..a.len())
        .map(|i| args::single(a, i).cloned())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Val::Bag(Bag {
        datatype: dt,
        values,
    }))
}

macro_rules! bag_functions {
    (
        full { $( $m:ident: $dt:ident, $name:literal, $ver:literal; )* }
        basic { $( $bm:ident: $bdt:ident, $bname:literal, $bver:literal; )* }
    ) => {
        $(
            pub(super) mod $m {
                use super::*;
                const T: ArgType = ArgType::Single(DataType::$dt);
                const B: ArgType = ArgType::Bag(DataType::$dt);
                pub static ONE_AND_ONLY: StrictFn =
                    fixed(fn_id!($ver, $name, "-one-and-only"), &[B], T, one_and_only);
                pub static BAG_SIZE: StrictFn =
                    fixed(fn_id!($ver, $name, "-bag-size"), &[B], INTEGER, bag_size);
                pub static IS_IN: StrictFn =
                    fixed(fn_id!($ver, $name, "-is-in"), &[T, B], BOOLEAN, is_in);
                pub static BAG: StrictFn =
                    variadic(fn_id!($ver, $name, "-bag"), &[], T, 0, B, |a| {
                        make_bag(DataType::$dt, a)
                    });
            }
        )*
        $(
            pub(super) mod $bm {
                use super::*;
                const T: ArgType = ArgType::Single(DataType::$bdt);
                const B: ArgType = ArgType::Bag(DataType::$bdt);
                pub static ONE_AND_ONLY: StrictFn =
                    fixed(fn_id!($bver, $bname, "-one-and-only"), &[B], T, one_and_only);
                pub static BAG_SIZE: StrictFn =
                    fixed(fn_id!($bver, $bname, "-bag-size"), &[B], INTEGER, bag_size);
                pub static BAG: StrictFn =
                    variadic(fn_id!($bver, $bname, "-bag"), &[], T, 0, B, |a| {
                        make_bag(DataType::$bdt, a)
                    });
            }
        )*

        pub(super) static ENTRIES: &[Entry] = &[
            $(
                (fn_id!($ver, $name, "-one-and-only"), Function::Strict(&$m::ONE_AND_ONLY)),
                (fn_id!($ver, $name, "-bag-size"), Function::Strict(&$m::BAG_SIZE)),
                (fn_id!($ver, $name, "-is-in"), Function::Strict(&$m::IS_IN)),
                (fn_id!($ver, $name, "-bag"), Function::Strict(&$m::BAG)),
            )*
            $(
                (fn_id!($bver, $bname, "-one-and-only"), Function::Strict(&$bm::ONE_AND_ONLY)),
                (fn_id!($bver, $bname, "-bag-size"), Function::Strict(&$bm::BAG_SIZE)),
                (fn_id!($bver, $bname, "-bag"), Function::Strict(&$bm::BAG)),
            )*
        ];
    };
}

bag_functions! {
    full {
        string: String, "string", "1.0";
        boolean: Boolean, "boolean", "1.0";
        integer: Integer, "integer", "1.0";
        double: Double, "double", "1.0";
        time: Time, "time", "1.0";
        date: Date, "date", "1.0";
        date_time: DateTime, "dateTime", "1.0";
        any_uri: AnyUri, "anyURI", "1.0";
        hex_binary: HexBinary, "hexBinary", "1.0";
        base64_binary: Base64Binary, "base64Binary", "1.0";
        day_time_duration: DayTimeDuration, "dayTimeDuration", "3.0";
        year_month_duration: YearMonthDuration, "yearMonthDuration", "3.0";
        x500_name: X500Name, "x500Name", "1.0";
        rfc822_name: Rfc822Name, "rfc822Name", "1.0";
    }
    basic {
        ip_address: IpAddress, "ipAddress", "2.0";
        dns_name: DnsName, "dnsName", "2.0";
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;

    #[test]
    fn one_and_only_needs_exactly_one_value() {
        let r = call(&string::ONE_AND_ONLY, &[bag_of(DataType::String, &["a"])]);
        assert_eq!(r.as_str(), Some("a"));
        let e = fails(&string::ONE_AND_ONLY, &[bag_of(DataType::String, &[])]);
        assert!(e.0.contains("got 0"), "{}", e.0);
        fails(
            &string::ONE_AND_ONLY,
            &[bag_of(DataType::String, &["a", "b"])],
        );
        fails(
            &ip_address::ONE_AND_ONLY,
            &[bag_of(DataType::IpAddress, &[])],
        );
        fails(&string::ONE_AND_ONLY, &[s("a")]);
    }

    #[test]
    fn bag_size_counts_duplicates() {
        let r = call(
            &integer::BAG_SIZE,
            &[bag_of(DataType::Integer, &["1", "1", "2"])],
        );
        assert_eq!(r.as_integer(), Some(3));
        let r = call(&dns_name::BAG_SIZE, &[bag_of(DataType::DnsName, &[])]);
        assert_eq!(r.as_integer(), Some(0));
    }

    #[test]
    fn is_in_uses_the_type_equality() {
        let names = bag_of(DataType::Rfc822Name, &["Anderson@SUN.COM", "b@c.d"]);
        assert!(truth(
            &rfc822_name::IS_IN,
            &[v(DataType::Rfc822Name, "Anderson@sun.com"), names.clone()]
        ));
        assert!(!truth(
            &rfc822_name::IS_IN,
            &[v(DataType::Rfc822Name, "anderson@sun.com"), names]
        ));
        assert!(truth(
            &double::IS_IN,
            &[d(f64::NAN), bag_of(DataType::Double, &["NaN"])]
        ));
        assert!(!truth(
            &double::IS_IN,
            &[d(f64::NAN), bag_of(DataType::Double, &["1.0"])]
        ));
        assert!(!truth(
            &string::IS_IN,
            &[s("a"), bag_of(DataType::String, &[])]
        ));
    }

    #[test]
    fn bag_builds_a_typed_bag() {
        match (date::BAG.eval)(&[]) {
            Ok(Val::Bag(b)) => {
                assert_eq!(b.datatype, DataType::Date);
                assert!(b.values.is_empty());
            }
            other => panic!("{other:?}"),
        }
        match (string::BAG.eval)(&[s("a"), s("a")]) {
            Ok(Val::Bag(b)) => assert_eq!(b.values.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(string::BAG.min_args, 0);
        assert_eq!(
            string::BAG.variadic,
            Some(ArgType::Single(DataType::String))
        );
    }
}
