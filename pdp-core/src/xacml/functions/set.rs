//! Set functions (A.3.11): `<type>-intersection`, `-at-least-one-member-of`, `-union`,
//! `-subset` and `-set-equals`, with membership decided by the type's equality.
//!
//! Bags in policies are small, so membership is a linear scan (no hashing: equality is not
//! structural for temporal values and names).

use crate::xacml::datatype::DataType;
use crate::xacml::value::Value;

use super::args::{self, fixed, fn_id, ret_bool, variadic, BOOLEAN};
use super::registry::Entry;
use super::{ArgType, Bag, FnError, Function, StrictFn, Val};

fn contains(values: &[Value], v: &Value) -> bool {
    values.iter().any(|x| x.equals(v))
}

fn push_distinct(out: &mut Vec<Value>, v: &Value) {
    if !contains(out, v) {
        out.push(v.clone());
    }
}

pub(super) fn intersection(a: &[Val]) -> Result<Val, FnError> {
    let (x, y) = (args::bag(a, 0)?, args::bag(a, 1)?);
    let mut out = Vec::new();
    for v in x.values.iter().filter(|v| contains(&y.values, v)) {
        push_distinct(&mut out, v);
    }
    Ok(Val::Bag(Bag {
        datatype: x.datatype,
        values: out,
    }))
}

pub(super) fn union(a: &[Val]) -> Result<Val, FnError> {
    let datatype = args::bag(a, 0)?.datatype;
    let mut out = Vec::new();
    for i in 0..a.len() {
        for v in &args::bag(a, i)?.values {
            push_distinct(&mut out, v);
        }
    }
    Ok(Val::Bag(Bag {
        datatype,
        values: out,
    }))
}

fn is_subset(x: &Bag, y: &Bag) -> bool {
    x.values.iter().all(|v| contains(&y.values, v))
}

pub(super) fn at_least_one_member_of(a: &[Val]) -> Result<Val, FnError> {
    let (x, y) = (args::bag(a, 0)?, args::bag(a, 1)?);
    ret_bool(x.values.iter().any(|v| contains(&y.values, v)))
}

pub(super) fn subset(a: &[Val]) -> Result<Val, FnError> {
    ret_bool(is_subset(args::bag(a, 0)?, args::bag(a, 1)?))
}

pub(super) fn set_equals(a: &[Val]) -> Result<Val, FnError> {
    let (x, y) = (args::bag(a, 0)?, args::bag(a, 1)?);
    ret_bool(is_subset(x, y) && is_subset(y, x))
}

macro_rules! set_functions {
    ($( $m:ident: $dt:ident, $name:literal, $ver:literal; )*) => {
        $(
            pub(super) mod $m {
                use super::*;
                const B: ArgType = ArgType::Bag(DataType::$dt);
                pub static INTERSECTION: StrictFn =
                    fixed(fn_id!($ver, $name, "-intersection"), &[B, B], B, intersection);
                pub static AT_LEAST_ONE_MEMBER_OF: StrictFn = fixed(
                    fn_id!($ver, $name, "-at-least-one-member-of"),
                    &[B, B],
                    BOOLEAN,
                    at_least_one_member_of,
                );
                /// Two or more bags since XACML 3.0.
                pub static UNION: StrictFn =
                    variadic(fn_id!($ver, $name, "-union"), &[B, B], B, 2, B, union);
                pub static SUBSET: StrictFn =
                    fixed(fn_id!($ver, $name, "-subset"), &[B, B], BOOLEAN, subset);
                pub static SET_EQUALS: StrictFn =
                    fixed(fn_id!($ver, $name, "-set-equals"), &[B, B], BOOLEAN, set_equals);
            }
        )*

        pub(super) static ENTRIES: &[Entry] = &[
            $(
                (fn_id!($ver, $name, "-intersection"), Function::Strict(&$m::INTERSECTION)),
                (
                    fn_id!($ver, $name, "-at-least-one-member-of"),
                    Function::Strict(&$m::AT_LEAST_ONE_MEMBER_OF),
                ),
                (fn_id!($ver, $name, "-union"), Function::Strict(&$m::UNION)),
                (fn_id!($ver, $name, "-subset"), Function::Strict(&$m::SUBSET)),
                (fn_id!($ver, $name, "-set-equals"), Function::Strict(&$m::SET_EQUALS)),
            )*
        ];
    };
}

set_functions! {
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

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;

    fn strings(v: Result<Val, FnError>) -> Vec<String> {
        match v {
            Ok(Val::Bag(b)) => b.values.iter().map(|v| v.to_string()).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn ints(items: &[&str]) -> Val {
        bag_of(DataType::Integer, items)
    }

    #[test]
    fn intersection_has_no_duplicates() {
        let r =
            (integer::INTERSECTION.eval)(&[ints(&["1", "2", "2", "3"]), ints(&["2", "3", "4"])]);
        assert_eq!(strings(r), ["2", "3"]);
        let r = (integer::INTERSECTION.eval)(&[ints(&["1"]), ints(&[])]);
        assert!(strings(r).is_empty());
    }

    #[test]
    fn union_of_two_or_more_bags_has_no_duplicates() {
        let r = (integer::UNION.eval)(&[ints(&["1", "1"]), ints(&["2", "1"]), ints(&["3"])]);
        assert_eq!(strings(r), ["1", "2", "3"]);
        assert_eq!(integer::UNION.min_args, 2);
        // Equality is the type's: these two dateTimes are one instant.
        let r = (date_time::UNION.eval)(&[
            bag_of(DataType::DateTime, &["2002-04-02T12:00:00-01:00"]),
            bag_of(DataType::DateTime, &["2002-04-02T17:00:00+04:00"]),
        ]);
        assert_eq!(strings(r).len(), 1);
    }

    #[test]
    fn membership_predicates() {
        assert!(truth(
            &integer::AT_LEAST_ONE_MEMBER_OF,
            &[ints(&["1", "5"]), ints(&["5", "6"])]
        ));
        assert!(!truth(
            &integer::AT_LEAST_ONE_MEMBER_OF,
            &[ints(&["1"]), ints(&["5"])]
        ));
        assert!(!truth(
            &integer::AT_LEAST_ONE_MEMBER_OF,
            &[ints(&[]), ints(&["5"])]
        ));
        assert!(truth(
            &integer::SUBSET,
            &[ints(&["1", "1"]), ints(&["1", "2"])]
        ));
        assert!(truth(&integer::SUBSET, &[ints(&[]), ints(&[])]));
        assert!(!truth(
            &integer::SUBSET,
            &[ints(&["1", "3"]), ints(&["1", "2"])]
        ));
        assert!(truth(
            &integer::SET_EQUALS,
            &[ints(&["1", "2", "2"]), ints(&["2", "1"])]
        ));
        assert!(!truth(
            &integer::SET_EQUALS,
            &[ints(&["1", "2"]), ints(&["1"])]
        ));
        let a = bag_of(DataType::String, &["a"]);
        assert!(!truth(
            &string::SET_EQUALS,
            &[a, bag_of(DataType::String, &["A"])]
        ));
    }

    #[test]
    fn non_bag_arguments_are_errors() {
        fails(&integer::SUBSET, &[i(1), ints(&["1"])]);
        fails(&integer::UNION, &[ints(&["1"]), i(1)]);
    }
}
