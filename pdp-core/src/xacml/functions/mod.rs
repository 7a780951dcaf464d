//! The XACML 3.0 function library (core spec Appendix A.3), resolved once at compile time.
//!
//! A function identifier resolves to a [`Function`]. Ordinary functions ([`StrictFn`]) take
//! evaluated arguments and carry a static signature that the compile step uses to reject
//! ill-typed policies at load. The logical functions `and`, `or` and `n-of` evaluate their
//! arguments lazily, and the higher-order functions take another function as their first
//! argument; the evaluator implements those two groups itself.
//!
//! Layout: one module per family of Appendix A.3 (`equality`, `arithmetic`, `comparison`,
//! `string`, `conversion`, `date_arithmetic`, `bag`, `set`, `regex`, `special_match`), each with
//! a static table of its identifiers; `hl7` holds the functions of the HL7 v3 extension types
//! `II` and `CV` under Akkoord identifiers (`urn:akkoord:function:hl7:...`); `registry`
//! resolves an identifier against those tables ([`lookup`]). The optional XPath functions and `access-permitted` deliberately do not resolve,
//! so a policy using them is rejected at load rather than failing at evaluation.

mod args;
mod arithmetic;
mod bag;
mod comparison;
mod conversion;
mod date_arithmetic;
mod equality;
mod hl7;
mod regex;
mod registry;
mod set;
mod special_match;
mod string;

pub use equality::equality_function_for;
pub use regex::{compile_xsd_regex, is_regexp_match, regex_matches, MAX_PATTERN_LEN};
pub use registry::{all_ids, lookup};

use std::borrow::Cow;
use std::fmt;

use super::datatype::DataType;
use super::value::Value;

/// The type of an argument or of a result: one value, or a bag of values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgType {
    Single(DataType),
    Bag(DataType),
}

impl fmt::Display for ArgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgType::Single(dt) => write!(f, "{dt}"),
            ArgType::Bag(dt) => write!(f, "bag of {dt}"),
        }
    }
}

/// A bag: an unordered collection of values of one data type (may be empty).
#[derive(Clone, Debug)]
pub struct Bag {
    pub datatype: DataType,
    pub values: Vec<Value>,
}

/// An evaluated argument or result.
#[derive(Clone, Debug)]
pub enum Val {
    Single(Value),
    Bag(Bag),
}

/// A function evaluation error; the evaluator turns it into Indeterminate with status
/// `processing-error` and this message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnError(pub Cow<'static, str>);

impl FnError {
    pub fn new(msg: impl Into<Cow<'static, str>>) -> Self {
        FnError(msg.into())
    }
}

impl fmt::Display for FnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A function with a fixed signature that takes already evaluated arguments.
pub struct StrictFn {
    /// The XACML identifier (the 3.0 one; legacy aliases resolve to the same `StrictFn`).
    pub id: &'static str,
    /// The declared parameters, in order.
    pub params: &'static [ArgType],
    /// When `Some(t)`, any number of further arguments of type `t` may follow `params`.
    pub variadic: Option<ArgType>,
    /// The minimum total number of arguments (equals `params.len()` unless variadic).
    pub min_args: usize,
    /// The result type.
    pub ret: ArgType,
    /// Evaluates the function. The arguments are guaranteed to match the signature (the compile
    /// step checked it), so an implementation may treat a mismatch as a processing error.
    pub eval: fn(&[Val]) -> Result<Val, FnError>,
}

impl fmt::Debug for StrictFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrictFn").field("id", &self.id).finish()
    }
}

/// The higher-order bag functions of A.3.12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HigherOrder {
    AnyOf,
    AllOf,
    AnyOfAny,
    AllOfAny,
    AnyOfAll,
    AllOfAll,
    Map,
}

/// A resolved function.
#[derive(Clone, Copy, Debug)]
pub enum Function {
    Strict(&'static StrictFn),
    /// `and`: lazily evaluated, left to right, stops at the first False.
    And,
    /// `or`: lazily evaluated, left to right, stops at the first True.
    Or,
    /// `n-of`: first argument an integer N, stops as soon as N arguments are True.
    NOf,
    HigherOrder(HigherOrder),
}
