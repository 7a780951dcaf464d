//! Argument accessors, signature shorthands and constructors shared by the function modules.
//!
//! The compile step type-checks every call against the declared signature, so a mismatch here
//! means a bug elsewhere; it still becomes a processing error rather than a panic.

use crate::xacml::datatype::DataType;
use crate::xacml::value::Value;

use super::{ArgType, Bag, FnError, StrictFn, Val};

/// The evaluation function of a [`StrictFn`].
pub(super) type EvalFn = fn(&[Val]) -> Result<Val, FnError>;

pub(super) const STRING: ArgType = ArgType::Single(DataType::String);
pub(super) const BOOLEAN: ArgType = ArgType::Single(DataType::Boolean);
pub(super) const INTEGER: ArgType = ArgType::Single(DataType::Integer);
pub(super) const DOUBLE: ArgType = ArgType::Single(DataType::Double);
pub(super) const TIME: ArgType = ArgType::Single(DataType::Time);
pub(super) const DATE: ArgType = ArgType::Single(DataType::Date);
pub(super) const DATE_TIME: ArgType = ArgType::Single(DataType::DateTime);
pub(super) const ANY_URI: ArgType = ArgType::Single(DataType::AnyUri);
pub(super) const DAY_TIME_DURATION: ArgType = ArgType::Single(DataType::DayTimeDuration);
pub(super) const YEAR_MONTH_DURATION: ArgType = ArgType::Single(DataType::YearMonthDuration);
pub(super) const X500_NAME: ArgType = ArgType::Single(DataType::X500Name);
pub(super) const RFC822_NAME: ArgType = ArgType::Single(DataType::Rfc822Name);

/// A function with a fixed number of parameters.
pub(super) const fn fixed(
    id: &'static str,
    params: &'static [ArgType],
    ret: ArgType,
    eval: EvalFn,
) -> StrictFn {
    StrictFn {
        id,
        params,
        variadic: None,
        min_args: params.len(),
        ret,
        eval,
    }
}

/// A function whose `params` may be followed by any number of `rest` arguments, with at least
/// `min_args` arguments in all.
pub(super) const fn variadic(
    id: &'static str,
    params: &'static [ArgType],
    rest: ArgType,
    min_args: usize,
    ret: ArgType,
    eval: EvalFn,
) -> StrictFn {
    StrictFn {
        id,
        params,
        variadic: Some(rest),
        min_args,
        ret,
        eval,
    }
}

fn mismatch(i: usize, expected: &str) -> FnError {
    FnError::new(format!("argument {} is not {expected}", i + 1))
}

pub(super) fn single(args: &[Val], i: usize) -> Result<&Value, FnError> {
    match args.get(i) {
        Some(Val::Single(v)) => Ok(v),
        _ => Err(mismatch(i, "a single value")),
    }
}

pub(super) fn bag(args: &[Val], i: usize) -> Result<&Bag, FnError> {
    match args.get(i) {
        Some(Val::Bag(b)) => Ok(b),
        _ => Err(mismatch(i, "a bag")),
    }
}

pub(super) fn boolean(args: &[Val], i: usize) -> Result<bool, FnError> {
    single(args, i)?
        .as_bool()
        .ok_or_else(|| mismatch(i, "a boolean"))
}

pub(super) fn integer(args: &[Val], i: usize) -> Result<i64, FnError> {
    single(args, i)?
        .as_integer()
        .ok_or_else(|| mismatch(i, "an integer"))
}

pub(super) fn double(args: &[Val], i: usize) -> Result<f64, FnError> {
    single(args, i)?
        .as_double()
        .ok_or_else(|| mismatch(i, "a double"))
}

/// The text of a `string` or `anyURI` argument.
pub(super) fn text(args: &[Val], i: usize) -> Result<&str, FnError> {
    single(args, i)?
        .as_str()
        .ok_or_else(|| mismatch(i, "a string or anyURI"))
}

pub(super) fn ret_bool(b: bool) -> Result<Val, FnError> {
    Ok(Val::Single(Value::Boolean(b)))
}

pub(super) fn ret(v: Value) -> Result<Val, FnError> {
    Ok(Val::Single(v))
}

/// Builds a full function identifier from a version (`"1.0"`) and a local name.
macro_rules! fn_id {
    ($ver:literal, $($name:expr),+) => {
        concat!("urn:oasis:names:tc:xacml:", $ver, ":function:", $($name),+)
    };
}
pub(super) use fn_id;

/// Test helpers: build arguments and read results.
#[cfg(test)]
pub(super) mod testing {
    use super::*;

    pub fn v(dt: DataType, s: &str) -> Val {
        Val::Single(Value::parse(dt, s).unwrap_or_else(|e| panic!("{e}")))
    }
    pub fn s(s: &str) -> Val {
        v(DataType::String, s)
    }
    pub fn i(n: i64) -> Val {
        Val::Single(Value::Integer(n))
    }
    pub fn d(x: f64) -> Val {
        Val::Single(Value::Double(x))
    }
    pub fn b(x: bool) -> Val {
        Val::Single(Value::Boolean(x))
    }
    pub fn bag_of(dt: DataType, items: &[&str]) -> Val {
        Val::Bag(Bag {
            datatype: dt,
            values: items
                .iter()
                .map(|s| Value::parse(dt, s).unwrap_or_else(|e| panic!("{e}")))
                .collect(),
        })
    }
    /// Calls `f` and returns the single result value.
    pub fn call(f: &StrictFn, args: &[Val]) -> Value {
        match (f.eval)(args) {
            Ok(Val::Single(v)) => v,
            other => panic!("{}: unexpected {other:?}", f.id),
        }
    }
    /// Calls `f` and returns the result printed.
    pub fn show(f: &StrictFn, args: &[Val]) -> String {
        call(f, args).to_string()
    }
    pub fn truth(f: &StrictFn, args: &[Val]) -> bool {
        call(f, args)
            .as_bool()
            .unwrap_or_else(|| panic!("{} did not return a boolean", f.id))
    }
    /// Calls `f` expecting a processing error.
    pub fn fails(f: &StrictFn, args: &[Val]) -> FnError {
        match (f.eval)(args) {
            Err(e) => e,
            Ok(v) => panic!("{}: expected an error, got {v:?}", f.id),
        }
    }
}
