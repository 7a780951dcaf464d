//! Arithmetic (A.3.2), numeric conversion (A.3.4) and the logical `not` (A.3.5).
//!
//! Integers are 64-bit: an overflow is a processing error rather than a wrapped result. Doubles
//! follow IEEE 754, except that dividing by zero is an error for both types, as A.3.2 requires.

use crate::xacml::value::Value;

use super::args::{self, fixed, fn_id, ret, ret_bool, variadic, BOOLEAN, DOUBLE, INTEGER};
use super::registry::Entry;
use super::{FnError, Function, StrictFn, Val};

fn overflow() -> FnError {
    FnError::new("integer overflow")
}

fn int_fold(a: &[Val], op: fn(i64, i64) -> Option<i64>) -> Result<Val, FnError> {
    let mut acc = args::integer(a, 0)?;
    for i in 1..a.len() {
        acc = op(acc, args::integer(a, i)?).ok_or_else(overflow)?;
    }
    ret(Value::Integer(acc))
}

fn double_fold(a: &[Val], op: fn(f64, f64) -> f64) -> Result<Val, FnError> {
    let mut acc = args::double(a, 0)?;
    for i in 1..a.len() {
        acc = op(acc, args::double(a, i)?);
    }
    ret(Value::Double(acc))
}

fn integer_divide(a: &[Val]) -> Result<Val, FnError> {
    let (x, y) = (args::integer(a, 0)?, args::integer(a, 1)?);
    if y == 0 {
        return Err(FnError::new("integer-divide: division by zero"));
    }
    // Truncates toward zero, as op:numeric-integer-divide does.
    ret(Value::Integer(x.checked_div(y).ok_or_else(overflow)?))
}

fn integer_mod(a: &[Val]) -> Result<Val, FnError> {
    let (x, y) = (args::integer(a, 0)?, args::integer(a, 1)?);
    if y == 0 {
        return Err(FnError::new("integer-mod: division by zero"));
    }
    // The sign follows the dividend, as op:numeric-mod does; i64::MIN % -1 is 0.
    ret(Value::Integer(x.checked_rem(y).unwrap_or(0)))
}

fn double_divide(a: &[Val]) -> Result<Val, FnError> {
    let (x, y) = (args::double(a, 0)?, args::double(a, 1)?);
    if y == 0.0 {
        return Err(FnError::new("double-divide: division by zero"));
    }
    ret(Value::Double(x / y))
}

/// `round` is `fn:round`: the nearest integral value, halves toward positive infinity
/// (`round(2.5) = 3`, `round(-2.5) = -2`).
fn round(x: f64) -> f64 {
    let f = x.floor();
    if x - f >= 0.5 {
        f + 1.0
    } else {
        f
    }
}

/// `double-to-integer` truncates toward zero; NaN, infinities and values outside the 64-bit
/// range have no integer and are errors.
fn double_to_integer(a: &[Val]) -> Result<Val, FnError> {
    let x = args::double(a, 0)?.trunc();
    // 2^63 is exactly representable; every double below it and >= -2^63 fits in an i64.
    if x.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x) {
        return Err(FnError::new(
            "double-to-integer: the value has no 64-bit integer equivalent",
        ));
    }
    ret(Value::Integer(x as i64))
}

pub(super) static INTEGER_ADD: StrictFn = variadic(
    fn_id!("1.0", "integer-add"),
    &[INTEGER, INTEGER],
    INTEGER,
    2,
    INTEGER,
    |a| int_fold(a, i64::checked_add),
);
pub(super) static DOUBLE_ADD: StrictFn = variadic(
    fn_id!("1.0", "double-add"),
    &[DOUBLE, DOUBLE],
    DOUBLE,
    2,
    DOUBLE,
    |a| double_fold(a, |x, y| x + y),
);
pub(super) static INTEGER_MULTIPLY: StrictFn = variadic(
    fn_id!("1.0", "integer-multiply"),
    &[INTEGER, INTEGER],
    INTEGER,
    2,
    INTEGER,
    |a| int_fold(a, i64::checked_mul),
);
pub(super) static DOUBLE_MULTIPLY: StrictFn = variadic(
    fn_id!("1.0", "double-multiply"),
    &[DOUBLE, DOUBLE],
    DOUBLE,
    2,
    DOUBLE,
    |a| double_fold(a, |x, y| x * y),
);
pub(super) static INTEGER_SUBTRACT: StrictFn = fixed(
    fn_id!("1.0", "integer-subtract"),
    &[INTEGER, INTEGER],
    INTEGER,
    |a| int_fold(a, i64::checked_sub),
);
pub(super) static DOUBLE_SUBTRACT: StrictFn = fixed(
    fn_id!("1.0", "double-subtract"),
    &[DOUBLE, DOUBLE],
    DOUBLE,
    |a| double_fold(a, |x, y| x - y),
);
pub(super) static INTEGER_DIVIDE: StrictFn = fixed(
    fn_id!("1.0", "integer-divide"),
    &[INTEGER, INTEGER],
    INTEGER,
    integer_divide,
);
pub(super) static DOUBLE_DIVIDE: StrictFn = fixed(
    fn_id!("1.0", "double-divide"),
    &[DOUBLE, DOUBLE],
    DOUBLE,
    double_divide,
);
pub(super) static INTEGER_MOD: StrictFn = fixed(
    fn_id!("1.0", "integer-mod"),
    &[INTEGER, INTEGER],
    INTEGER,
    integer_mod,
);
pub(super) static INTEGER_ABS: StrictFn =
    fixed(fn_id!("1.0", "integer-abs"), &[INTEGER], INTEGER, |a| {
        ret(Value::Integer(
            args::integer(a, 0)?.checked_abs().ok_or_else(overflow)?,
        ))
    });
pub(super) static DOUBLE_ABS: StrictFn =
    fixed(fn_id!("1.0", "double-abs"), &[DOUBLE], DOUBLE, |a| {
        ret(Value::Double(args::double(a, 0)?.abs()))
    });
pub(super) static ROUND: StrictFn = fixed(fn_id!("1.0", "round"), &[DOUBLE], DOUBLE, |a| {
    ret(Value::Double(round(args::double(a, 0)?)))
});
pub(super) static FLOOR: StrictFn = fixed(fn_id!("1.0", "floor"), &[DOUBLE], DOUBLE, |a| {
    ret(Value::Double(args::double(a, 0)?.floor()))
});
pub(super) static DOUBLE_TO_INTEGER: StrictFn = fixed(
    fn_id!("1.0", "double-to-integer"),
    &[DOUBLE],
    INTEGER,
    double_to_integer,
);
pub(super) static INTEGER_TO_DOUBLE: StrictFn = fixed(
    fn_id!("1.0", "integer-to-double"),
    &[INTEGER],
    DOUBLE,
    |a| ret(Value::Double(args::integer(a, 0)? as f64)),
);
pub(super) static NOT: StrictFn = fixed(fn_id!("1.0", "not"), &[BOOLEAN], BOOLEAN, |a| {
    ret_bool(!args::boolean(a, 0)?)
});

pub(super) static ENTRIES: &[Entry] = &[
    (INTEGER_ADD.id, Function::Strict(&INTEGER_ADD)),
    (DOUBLE_ADD.id, Function::Strict(&DOUBLE_ADD)),
    (INTEGER_MULTIPLY.id, Function::Strict(&INTEGER_MULTIPLY)),
    (DOUBLE_MULTIPLY.id, Function::Strict(&DOUBLE_MULTIPLY)),
    (INTEGER_SUBTRACT.id, Function::Strict(&INTEGER_SUBTRACT)),
    (DOUBLE_SUBTRACT.id, Function::Strict(&DOUBLE_SUBTRACT)),
    (INTEGER_DIVIDE.id, Function::Strict(&INTEGER_DIVIDE)),
    (DOUBLE_DIVIDE.id, Function::Strict(&DOUBLE_DIVIDE)),
    (INTEGER_MOD.id, Function::Strict(&INTEGER_MOD)),
    (INTEGER_ABS.id, Function::Strict(&INTEGER_ABS)),
    (DOUBLE_ABS.id, Function::Strict(&DOUBLE_ABS)),
    (ROUND.id, Function::Strict(&ROUND)),
    (FLOOR.id, Function::Strict(&FLOOR)),
    (DOUBLE_TO_INTEGER.id, Function::Strict(&DOUBLE_TO_INTEGER)),
    (INTEGER_TO_DOUBLE.id, Function::Strict(&INTEGER_TO_DOUBLE)),
    (NOT.id, Function::Strict(&NOT)),
];

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;

    #[test]
    fn integer_arithmetic() {
        assert_eq!(
            call(&INTEGER_ADD, &[i(1), i(2), i(3)]).as_integer(),
            Some(6)
        );
        assert_eq!(
            call(&INTEGER_MULTIPLY, &[i(2), i(-3), i(4)]).as_integer(),
            Some(-24)
        );
        assert_eq!(
            call(&INTEGER_SUBTRACT, &[i(5), i(7)]).as_integer(),
            Some(-2)
        );
        // op:numeric-integer-divide truncates: 7 div -2 = -3.
        assert_eq!(call(&INTEGER_DIVIDE, &[i(7), i(-2)]).as_integer(), Some(-3));
        // op:numeric-mod: 5 mod 3 = 2, -5 mod 3 = -2, 5 mod -3 = 2.
        assert_eq!(call(&INTEGER_MOD, &[i(5), i(3)]).as_integer(), Some(2));
        assert_eq!(call(&INTEGER_MOD, &[i(-5), i(3)]).as_integer(), Some(-2));
        assert_eq!(call(&INTEGER_MOD, &[i(5), i(-3)]).as_integer(), Some(2));
        assert_eq!(call(&INTEGER_ABS, &[i(-4)]).as_integer(), Some(4));
    }

    #[test]
    fn integer_errors() {
        fails(&INTEGER_DIVIDE, &[i(1), i(0)]);
        fails(&INTEGER_MOD, &[i(1), i(0)]);
        fails(&INTEGER_ADD, &[i(i64::MAX), i(1)]);
        fails(&INTEGER_MULTIPLY, &[i(i64::MAX), i(2)]);
        fails(&INTEGER_SUBTRACT, &[i(i64::MIN), i(1)]);
        fails(&INTEGER_ABS, &[i(i64::MIN)]);
        fails(&INTEGER_DIVIDE, &[i(i64::MIN), i(-1)]);
        fails(&INTEGER_ADD, &[d(1.0), i(1)]);
    }

    #[test]
    fn double_arithmetic() {
        assert_eq!(
            call(&DOUBLE_ADD, &[d(1.5), d(2.25), d(-1.0)]).as_double(),
            Some(2.75)
        );
        assert_eq!(
            call(&DOUBLE_MULTIPLY, &[d(1.5), d(2.0)]).as_double(),
            Some(3.0)
        );
        assert_eq!(
            call(&DOUBLE_SUBTRACT, &[d(1.5), d(2.0)]).as_double(),
            Some(-0.5)
        );
        assert_eq!(
            call(&DOUBLE_DIVIDE, &[d(1.0), d(4.0)]).as_double(),
            Some(0.25)
        );
        assert_eq!(call(&DOUBLE_ABS, &[d(-2.5)]).as_double(), Some(2.5));
        assert_eq!(show(&DOUBLE_ADD, &[d(f64::INFINITY), d(1.0)]), "INF");
        // A.3.2: a zero divisor is an error for doubles too.
        fails(&DOUBLE_DIVIDE, &[d(1.0), d(0.0)]);
        fails(&DOUBLE_DIVIDE, &[d(1.0), d(-0.0)]);
    }

    #[test]
    fn round_and_floor_follow_xquery() {
        // fn:round: round(2.5) = 3, round(2.4999) = 2, round(-2.5) = -2.
        for (x, r) in [
            (2.5, 3.0),
            (2.4999, 2.0),
            (-2.5, -2.0),
            (-2.6, -3.0),
            (0.49999999999999994, 0.0),
        ] {
            assert_eq!(call(&ROUND, &[d(x)]).as_double(), Some(r), "round({x})");
        }
        // fn:floor: floor(10.5) = 10, floor(-10.5) = -11.
        assert_eq!(call(&FLOOR, &[d(10.5)]).as_double(), Some(10.0));
        assert_eq!(call(&FLOOR, &[d(-10.5)]).as_double(), Some(-11.0));
        assert!(call(&ROUND, &[d(f64::NAN)])
            .as_double()
            .is_some_and(f64::is_nan));
    }

    #[test]
    fn numeric_conversion() {
        assert_eq!(call(&DOUBLE_TO_INTEGER, &[d(5.9)]).as_integer(), Some(5));
        assert_eq!(call(&DOUBLE_TO_INTEGER, &[d(-5.9)]).as_integer(), Some(-5));
        assert_eq!(call(&INTEGER_TO_DOUBLE, &[i(3)]).as_double(), Some(3.0));
        fails(&DOUBLE_TO_INTEGER, &[d(f64::NAN)]);
        fails(&DOUBLE_TO_INTEGER, &[d(f64::INFINITY)]);
        fails(&DOUBLE_TO_INTEGER, &[d(1e19)]);
    }

    #[test]
    fn logical_not() {
        assert!(!truth(&NOT, &[b(true)]));
        assert!(truth(&NOT, &[b(false)]));
        fails(&NOT, &[i(1)]);
    }
}
