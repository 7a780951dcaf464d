//! Attribute values: one Rust variant per XACML data type, parsed from the lexical form once.
//!
//! Strings and other heap values sit behind `Arc` so that copying a value from the request into
//! a bag, an obligation or a function result costs a reference-count increment, not an
//! allocation.
//!
//! OWNER NOTE (skeleton): the variant list and the public functions below are the contract used
//! by the rest of the engine; the representation of the temporal and name types is free.

use std::fmt;
use std::sync::Arc;

use super::datatype::DataType;
pub use super::names::{DnsName, IpAddress, Rfc822Name, X500Name};
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
    XPathExpression { category: Arc<str>, path: Arc<str> },
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
