//! The evaluation context of one individual decision request: the request's attributes,
//! interned against the compiled policies' symbols and sorted for lookup.

use std::sync::Arc;

use super::datatype::DataType;
use super::model::{attr_key, Symbols};
use super::provider::{KnownValue, ProvidedAttributes};
use super::request::{RequestCategory, RequestTime};
use super::response::Status;
use super::value::Value;

pub(crate) const ENVIRONMENT: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:environment";
const CURRENT_TIME_IDS: [&str; 3] = [
    "urn:oasis:names:tc:xacml:1.0:environment:current-dateTime",
    "urn:oasis:names:tc:xacml:1.0:environment:current-date",
    "urn:oasis:names:tc:xacml:1.0:environment:current-time",
];

/// One attribute value of the request.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: u64,
    pub issuer: Option<Arc<str>>,
    pub value: Value,
}

/// A prepared individual request: attribute values keyed by (category, attribute id).
///
/// Preparing costs one hash lookup per attribute; afterwards a designator lookup is a binary
/// search over a flat, sorted vector with no allocation. A one-word filter of the keys present
/// answers most lookups of an attribute the request does not carry — such as every attribute
/// a policy information point supplies — without touching the entries at all, which matters
/// when many prepared requests are kept and the entries are no longer in cache.
#[derive(Clone, Debug, Default)]
pub struct Context {
    entries: Vec<Entry>,
    /// Bit [`filter_bit`] of every key present (a one-word Bloom filter).
    filter: u64,
}

/// The filter bit of a key: the top six bits of a multiplicative hash, so that the category
/// and the attribute id both move it.
#[inline]
fn filter_bit(key: u64) -> u64 {
    1 << (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58)
}

/// The filter bits of `keys`, for [`Context::may_hold_any`].
pub(crate) fn key_filter(keys: impl IntoIterator<Item = u64>) -> u64 {
    keys.into_iter().fold(0, |f, key| f | filter_bit(key))
}

impl Context {
    /// Whether the request may hold a value of one of the attributes whose [`key_filter`] is
    /// `filter` (never `false` when it does).
    #[inline]
    pub(crate) fn may_hold_any(&self, filter: u64) -> bool {
        self.filter & filter != 0
    }

    /// Interns the attributes of `categories` against `symbols`, dropping attributes no policy
    /// mentions, and supplies the current date and time unless the request carries them.
    pub fn new<'a>(
        categories: impl IntoIterator<Item = &'a RequestCategory>,
        symbols: &Symbols,
        time: RequestTime,
    ) -> Context {
        let mut entries = Vec::new();
        for cat in categories {
            interned_entries(cat, symbols, &mut entries);
        }
        Context::from_entries(entries, symbols, time)
    }

    /// A context from already interned entries (see [`interned_entries`]): used when several
    /// individual requests share categories, so that each category is interned once.
    pub fn from_entries(entries: Vec<Entry>, symbols: &Symbols, time: RequestTime) -> Context {
        let now = current_time_entries(&current_time_keys(symbols), time);
        Context::with_time(entries, &now)
    }

    /// A context from interned entries and the current-time values `now` (keyed, from
    /// [`current_time_keys`]), each supplied unless the request carries that attribute itself.
    /// The caller computes the keys and values once for all individual requests of a request.
    pub(crate) fn with_time(mut entries: Vec<Entry>, now: &[(u64, Value)]) -> Context {
        for (key, value) in now {
            if entries.iter().any(|e| e.key == *key) {
                continue;
            }
            entries.push(Entry {
                key: *key,
                issuer: None,
                value: value.clone(),
            });
        }
        entries.sort_by_key(|e| e.key);
        let filter = entries.iter().fold(0, |f, e| f | filter_bit(e.key));
        Context { entries, filter }
    }

    /// All values of one attribute (any data type, any issuer).
    #[inline]
    pub fn values(&self, key: u64) -> &[Entry] {
        if self.filter & filter_bit(key) == 0 {
            return &[];
        }
        let start = self.entries.partition_point(|e| e.key < key);
        let len = self.entries[start..]
            .iter()
            .take_while(|e| e.key == key)
            .count();
        &self.entries[start..start + len]
    }

    /// The values of one attribute with the given data type and (when given) issuer.
    #[inline]
    pub fn matching<'a>(
        &'a self,
        key: u64,
        datatype: DataType,
        issuer: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.values(key).iter().filter_map(move |e| {
            let issuer_ok = match issuer {
                None => true,
                Some(want) => e.issuer.as_deref() == Some(want),
            };
            (issuer_ok && e.value.datatype() == datatype).then_some(&e.value)
        })
    }
}

/// What the evaluator reads: the request's own attributes plus those a policy information point
/// supplied for this decision (see [`crate::xacml::provider`]), and the attributes the provider
/// could not supply (a designator on one of those is Indeterminate with the provider's status).
#[derive(Clone, Copy, Debug)]
pub struct Lookup<'a> {
    base: &'a Context,
    known: &'a [KnownValue<'a>],
    extra: &'a [Entry],
    failures: &'a [(u64, Box<Status>)],
}

impl<'a> Lookup<'a> {
    /// The request's attributes and what the provider supplied for this decision.
    pub(crate) fn new(base: &'a Context, provided: &'a ProvidedAttributes<'a>) -> Self {
        Lookup {
            base,
            known: &provided.known_values,
            extra: provided.rare.as_ref().map_or(&[], |r| &r.entries[..]),
            failures: provided.rare.as_ref().map_or(&[], |r| &r.failures[..]),
        }
    }

    /// The request's own attributes.
    #[inline]
    pub(crate) fn request(&self) -> &'a Context {
        self.base
    }

    /// The declared values the provider supplied.
    #[inline]
    pub(crate) fn known_values(&self) -> &'a [KnownValue<'a>] {
        self.known
    }

    /// The values the provider built for this decision.
    #[inline]
    pub(crate) fn built_values(&self) -> &'a [Entry] {
        self.extra
    }

    /// Whether the provider failed to supply some attribute.
    #[inline]
    pub(crate) fn has_failures(&self) -> bool {
        !self.failures.is_empty()
    }

    /// A lookup over the request's attributes alone.
    pub fn request_only(base: &'a Context) -> Self {
        Lookup {
            base,
            known: &[],
            extra: &[],
            failures: &[],
        }
    }

    /// All values of one attribute (any data type, any issuer): the request's, then the
    /// provider's declared ones, then those it built (a bag has no order; this one is fixed).
    #[inline]
    pub fn values(&self, key: u64) -> impl Iterator<Item = &'a Entry> + 'a {
        self.base.values(key).iter().chain(
            self.known
                .iter()
                .map(|k| k.entry)
                .chain(self.extra)
                .filter(move |e| e.key == key),
        )
    }

    /// The values of one attribute with the given data type and (when given) issuer.
    #[inline]
    pub fn matching(
        &self,
        key: u64,
        datatype: DataType,
        issuer: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.values(key).filter_map(move |e| {
            let issuer_ok = match issuer {
                None => true,
                Some(want) => e.issuer.as_deref() == Some(want),
            };
            (issuer_ok && e.value.datatype() == datatype).then_some(&e.value)
        })
    }

    /// The status of a provider's failure to supply this attribute, if it failed.
    #[inline]
    pub fn failure(&self, key: u64) -> Option<&'a Status> {
        self.failures
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| &**s)
    }
}

/// The keys of `current-dateTime`, `current-date` and `current-time` (in the order of
/// [`Value::current_time_values`]), for those some policy mentions.
pub(crate) fn current_time_keys(symbols: &Symbols) -> [Option<u64>; 3] {
    let Some(env) = symbols.get(ENVIRONMENT) else {
        return [None; 3];
    };
    CURRENT_TIME_IDS.map(|id| symbols.get(id).map(|a| attr_key(env, a)))
}

/// The current-time values at `time` for the attributes of `keys` (from [`current_time_keys`])
/// that some policy mentions, keyed for [`Context::with_time`]; nothing is computed when no
/// policy mentions any of them.
pub(crate) fn current_time_entries(
    keys: &[Option<u64>; 3],
    time: RequestTime,
) -> arrayvec::ArrayVec<(u64, Value), 3> {
    let mut now = arrayvec::ArrayVec::new();
    if keys.iter().any(Option::is_some) {
        for (key, value) in keys.iter().zip(Value::current_time_values(time)) {
            if let Some(key) = key {
                now.push((*key, value));
            }
        }
    }
    now
}

/// Appends the entries of one `<Attributes>` element, interned against `symbols`; attributes no
/// policy (or provider) mentions are dropped.
pub fn interned_entries(cat: &RequestCategory, symbols: &Symbols, entries: &mut Vec<Entry>) {
    let Some(c) = symbols.get_shared(&cat.category) else {
        return;
    };
    entries.reserve(cat.attributes.len());
    for attr in &cat.attributes {
        let Some(a) = symbols.get_shared(&attr.id) else {
            continue;
        };
        let key = attr_key(c, a);
        entries.extend(attr.values.iter().map(|v| Entry {
            key,
            issuer: attr.issuer.clone(),
            value: v.clone(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: u64, n: i64) -> Entry {
        Entry {
            key,
            issuer: None,
            value: Value::Integer(n),
        }
    }

    /// The key filter only ever skips absent keys: every present key is found with all its
    /// values, and absent keys — those the filter rules out and those that share a filter bit
    /// with a present key — give nothing.
    #[test]
    fn the_key_filter_never_hides_a_present_attribute() {
        let present: Vec<u64> = (0..40u64).map(|i| (i % 5) << 32 | (i * 7 + 1)).collect();
        let mut entries: Vec<Entry> = present.iter().map(|&k| entry(k, 1)).collect();
        entries.push(entry(present[3], 2));
        let context = Context::from_entries(
            entries,
            &Symbols::default(),
            RequestTime {
                unix_secs: 0,
                nanos: 0,
            },
        );
        for &k in &present {
            let n = if k == present[3] { 2 } else { 1 };
            assert_eq!(context.values(k).len(), n, "key {k:#x}");
            assert!(context.values(k).iter().all(|e| e.key == k));
        }
        let (mut skipped, mut searched) = (0, 0);
        for k in (0..4000u64).map(|i| (i % 9) << 32 | (i * 13 + 2)) {
            if present.contains(&k) {
                continue;
            }
            assert!(context.values(k).is_empty(), "key {k:#x}");
            if context.filter & filter_bit(k) == 0 {
                skipped += 1;
            } else {
                searched += 1;
            }
        }
        assert!(
            skipped > 0 && searched > 0,
            "{skipped} skipped, {searched} searched"
        );
    }
}
