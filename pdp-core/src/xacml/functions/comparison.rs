//! Ordering predicates (A.3.6 numeric, A.3.8 non-numeric) and `time-in-range`.
//!
//! Doubles compare as IEEE numbers (every comparison with NaN is false); strings by code point;
//! temporal values as instants, with UTC for a missing timezone.

use std::cmp::Ordering;

use crate::xacml::datatype::DataType;
use crate::xacml::temporal::Time;
use crate::xacml::value::Value;

use super::args::{self, fixed, fn_id, ret_bool, BOOLEAN, TIME};
use super::registry::Entry;
use super::{ArgType, FnError, Function, StrictFn, Val};

/// The order of two values of the same type; `None` when unordered (NaN).
fn order(a: &Value, b: &Value) -> Result<Option<Ordering>, FnError> {
    Ok(match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => Some(x.cmp(y)),
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Time(x), Value::Time(y)) => Some(x.compare(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.compare(y)),
        (Value::DateTime(x), Value::DateTime(y)) => Some(x.compare(y)),
        _ => {
            return Err(FnError::new(format!(
                "cannot order a {} and a {}",
                a.datatype(),
                b.datatype()
            )))
        }
    })
}

fn compare(a: &[Val], accept: fn(Ordering) -> bool) -> Result<Val, FnError> {
    let o = order(args::single(a, 0)?, args::single(a, 1)?)?;
    ret_bool(o.is_some_and(accept))
}

macro_rules! comparisons {
    ($( $gt:ident, $ge:ident, $lt:ident, $le:ident: $dt:ident, $name:literal; )*) => {
        $(
            pub(super) static $gt: StrictFn = fixed(
                fn_id!("1.0", $name, "-greater-than"),
                &[ArgType::Single(DataType::$dt), ArgType::Single(DataType::$dt)],
                BOOLEAN,
                |a| compare(a, Ordering::is_gt),
            );
            pub(super) static $ge: StrictFn = fixed(
                fn_id!("1.0", $name, "-greater-than-or-equal"),
                &[ArgType::Single(DataType::$dt), ArgType::Single(DataType::$dt)],
                BOOLEAN,
                |a| compare(a, Ordering::is_ge),
            );
            pub(super) static $lt: StrictFn = fixed(
                fn_id!("1.0", $name, "-less-than"),
                &[ArgType::Single(DataType::$dt), ArgType::Single(DataType::$dt)],
                BOOLEAN,
                |a| compare(a, Ordering::is_lt),
            );
            pub(super) static $le: StrictFn = fixed(
                fn_id!("1.0", $name, "-less-than-or-equal"),
                &[ArgType::Single(DataType::$dt), ArgType::Single(DataType::$dt)],
                BOOLEAN,
                |a| compare(a, Ordering::is_le),
            );
        )*

        pub(super) static ENTRIES: &[Entry] = &[
            $(
                (fn_id!("1.0", $name, "-greater-than"), Function::Strict(&$gt)),
                (fn_id!("1.0", $name, "-greater-than-or-equal"), Function::Strict(&$ge)),
                (fn_id!("1.0", $name, "-less-than"), Function::Strict(&$lt)),
                (fn_id!("1.0", $name, "-less-than-or-equal"), Function::Strict(&$le)),
            )*
            (fn_id!("2.0", "time-in-range"), Function::Strict(&TIME_IN_RANGE)),
        ];
    };
}

comparisons! {
    INTEGER_GT, INTEGER_GE, INTEGER_LT, INTEGER_LE: Integer, "integer";
    DOUBLE_GT, DOUBLE_GE, DOUBLE_LT, DOUBLE_LE: Double, "double";
    STRING_GT, STRING_GE, STRING_LT, STRING_LE: String, "string";
    TIME_GT, TIME_GE, TIME_LT, TIME_LE: Time, "time";
    DATE_GT, DATE_GE, DATE_LT, DATE_LE: Date, "date";
    DATE_TIME_GT, DATE_TIME_GE, DATE_TIME_LT, DATE_TIME_LE: DateTime, "dateTime";
}

fn time_arg(a: &[Val], i: usize) -> Result<Time, FnError> {
    match args::single(a, i)? {
        Value::Time(t) => Ok(*t),
        _ => Err(FnError::new(format!("argument {} is not a time", i + 1))),
    }
}

/// `time-in-range(t, lower, upper)` (A.3.8): true when `t` lies in the inclusive range from
/// `lower` to `upper`, where `upper` is taken to be at most 24 hours after `lower` (so the range
/// may wrap past midnight). A missing timezone on `t` is the default (UTC); `lower` and `upper`
/// without a timezone take the timezone of `t`.
fn time_in_range(a: &[Val]) -> Result<Val, FnError> {
    let (t, lower, upper) = (time_arg(a, 0)?, time_arg(a, 1)?, time_arg(a, 2)?);
    let tz = Some(t.timezone().unwrap_or(0));
    let day = 86_400_000_000_000i128;
    let at = |x: &Time| x.utc_nanos(tz).rem_euclid(day);
    let (t, lo, hi) = (at(&t), at(&lower), at(&upper));
    ret_bool(if lo <= hi {
        lo <= t && t <= hi
    } else {
        t >= lo || t <= hi
    })
}

pub(super) static TIME_IN_RANGE: StrictFn = fixed(
    fn_id!("2.0", "time-in-range"),
    &[TIME, TIME, TIME],
    BOOLEAN,
    time_in_range,
);

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;

    #[test]
    fn numeric_comparisons() {
        assert!(truth(&INTEGER_GT, &[i(2), i(1)]));
        assert!(!truth(&INTEGER_GT, &[i(1), i(1)]));
        assert!(truth(&INTEGER_GE, &[i(1), i(1)]));
        assert!(truth(&INTEGER_LT, &[i(-1), i(1)]));
        assert!(truth(&INTEGER_LE, &[i(1), i(1)]));
        assert!(truth(&DOUBLE_GT, &[d(1.5), d(1.25)]));
        assert!(truth(&DOUBLE_LE, &[d(f64::NEG_INFINITY), d(0.0)]));
        // Comparisons with NaN are all false.
        for f in [&DOUBLE_GT, &DOUBLE_GE, &DOUBLE_LT, &DOUBLE_LE] {
            assert!(!truth(f, &[d(f64::NAN), d(1.0)]));
        }
    }

    #[test]
    fn string_comparison_is_by_code_point() {
        assert!(truth(&STRING_LT, &[s("B"), s("a")]));
        assert!(truth(&STRING_GT, &[s("ab"), s("a")]));
        assert!(truth(&STRING_GE, &[s("é"), s("z")]));
        assert!(truth(&STRING_LE, &[s(""), s("")]));
    }

    #[test]
    fn temporal_comparisons_use_instants() {
        let t = |x: &str| v(DataType::Time, x);
        let dt = |x: &str| v(DataType::DateTime, x);
        let da = |x: &str| v(DataType::Date, x);
        assert!(truth(&TIME_GT, &[t("12:00:00-01:00"), t("12:30:00Z")]));
        assert!(truth(&TIME_LE, &[t("13:00:00+01:00"), t("12:00:00")]));
        assert!(truth(&TIME_GE, &[t("13:00:00+01:00"), t("12:00:00")]));
        assert!(truth(
            &DATE_TIME_LT,
            &[dt("2002-04-02T12:00:00Z"), dt("2002-04-02T12:00:00-01:00")]
        ));
        assert!(!truth(
            &DATE_TIME_GT,
            &[
                dt("2002-04-02T12:00:00-01:00"),
                dt("2002-04-02T17:00:00+04:00")
            ]
        ));
        assert!(truth(
            &DATE_LT,
            &[da("2004-12-25Z"), da("2004-12-25-05:00")]
        ));
        assert!(truth(&DATE_GE, &[da("2004-12-26"), da("2004-12-25")]));
    }

    #[test]
    fn time_in_range_examples() {
        let t = |x: &str| v(DataType::Time, x);
        assert!(truth(
            &TIME_IN_RANGE,
            &[t("09:00:00"), t("08:00:00"), t("17:00:00")]
        ));
        assert!(truth(
            &TIME_IN_RANGE,
            &[t("08:00:00"), t("08:00:00"), t("17:00:00")]
        ));
        assert!(truth(
            &TIME_IN_RANGE,
            &[t("17:00:00"), t("08:00:00"), t("17:00:00")]
        ));
        assert!(!truth(
            &TIME_IN_RANGE,
            &[t("17:00:01"), t("08:00:00"), t("17:00:00")]
        ));
        // A range that wraps past midnight.
        assert!(truth(
            &TIME_IN_RANGE,
            &[t("03:00:00"), t("22:00:00"), t("05:00:00")]
        ));
        assert!(!truth(
            &TIME_IN_RANGE,
            &[t("12:00:00"), t("22:00:00"), t("05:00:00")]
        ));
        // Bounds without a timezone take the first argument's timezone.
        assert!(truth(
            &TIME_IN_RANGE,
            &[t("09:00:00+05:00"), t("08:00:00"), t("10:00:00")]
        ));
        // Bounds with a timezone are converted: 04:00Z is 09:00+05:00.
        assert!(truth(
            &TIME_IN_RANGE,
            &[t("09:00:00+05:00"), t("03:30:00Z"), t("04:30:00Z")]
        ));
        assert!(!truth(
            &TIME_IN_RANGE,
            &[t("09:00:00+05:00"), t("08:30:00Z"), t("09:30:00Z")]
        ));
    }

    #[test]
    fn mismatched_types_are_errors() {
        fails(&INTEGER_GT, &[i(1), d(1.0)]);
        fails(&TIME_IN_RANGE, &[i(1), i(2), i(3)]);
    }
}
