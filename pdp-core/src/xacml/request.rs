//! The request context as parsed from a syntax (XML today, JSON later), before interning.
//!
//! This is the syntax-neutral form of an XACML `<Request>`: categories of attributes with typed
//! values. The evaluator turns it into one or more interned individual requests (the Multiple
//! Decision Profile splits repeated categories), so that parsing never depends on the policies.

use std::sync::Arc;

use super::value::Value;

/// A whole `<Request>`.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `ReturnPolicyIdList="true"`: list the applicable policies in each result.
    pub return_policy_id_list: bool,
    /// `CombinedDecision="true"`: combine the individual decisions into one (optional feature).
    pub combined_decision: bool,
    /// The `<Attributes>` elements, in document order. A category may appear more than once
    /// (Multiple Decision Profile: one result per combination).
    pub categories: Vec<RequestCategory>,
}

/// One `<Attributes Category="...">` element.
#[derive(Clone, Debug)]
pub struct RequestCategory {
    pub category: Arc<str>,
    /// The `xml:id` attribute, if any (used by `<MultiRequests>` references).
    pub xml_id: Option<Arc<str>>,
    /// Whether a `<Content>` element was present. Content is accepted; it is only reachable
    /// through XPath `AttributeSelector`s, an optional feature this engine does not implement.
    pub has_content: bool,
    pub attributes: Vec<RequestAttribute>,
}

/// The values of one attribute: nearly always exactly one, kept inline (no allocation of its
/// own); more spill to the heap. Build one with `smallvec![..]`, `Values::from_buf([v])` or
/// `vec![..].into()`; it dereferences to a slice.
pub type Values = smallvec::SmallVec<[Value; 1]>;

/// One `<Attribute>` with its values (all values of one attribute share its id and issuer, but
/// each value carries its own data type).
#[derive(Clone, Debug)]
pub struct RequestAttribute {
    pub id: Arc<str>,
    pub issuer: Option<Arc<str>>,
    pub include_in_result: bool,
    pub values: Values,
}

/// The time at which a request is evaluated, supplied by the caller (the core never reads a
/// clock). It provides the environment attributes `current-time`, `current-date` and
/// `current-dateTime` when the request does not carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestTime {
    /// Seconds since the Unix epoch, UTC.
    pub unix_secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl From<std::time::SystemTime> for RequestTime {
    /// The decision time of a clock reading (the caller reads the clock: the core does not).
    fn from(t: std::time::SystemTime) -> RequestTime {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => RequestTime {
                unix_secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            // A clock before 1970: count backwards, keeping nanos within the second.
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                if d.subsec_nanos() == 0 {
                    RequestTime {
                        unix_secs: -secs,
                        nanos: 0,
                    }
                } else {
                    RequestTime {
                        unix_secs: -secs - 1,
                        nanos: 1_000_000_000 - d.subsec_nanos(),
                    }
                }
            }
        }
    }
}
