//! Target indexing: with thousands of policies (or rules) under one parent, only the children
//! whose target can match the request are evaluated.
//!
//! A child is *indexed* when its target has an `<AnyOf>` in which every `<AllOf>` contains an
//! equality match (`string-equal`, `anyURI-equal`, `integer-equal`, `boolean-equal`) of a
//! literal against an attribute designator without `Issuer` and with `MustBePresent="false"`.
//! Such a target is "No match" — whatever else it contains — unless the request carries one of
//! those literal values for that attribute: an `AllOf` with a false match is "No match" even if
//! other matches are Indeterminate, and an `AnyOf` whose `AllOf`s are all "No match" makes the
//! target "No match" (XACML 3.0 section 7.7). A child the index excludes therefore evaluates to
//! NotApplicable, which every combining algorithm treats like a child that is not there.
//! Children that cannot be indexed are always candidates. Candidates keep document order, so
//! ordered algorithms (first-applicable, ordered-*-overrides) are unaffected.

use std::collections::HashMap;
use std::sync::Arc;

use super::context::Lookup;
use super::datatype::DataType;
use super::model::{AllOf, AnyOf, Target};
use super::value::Value;

/// Below this many children a linear scan is cheaper than the index.
const MIN_CHILDREN: usize = 8;

/// A literal value as an exact hash key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum KeyValue {
    String(Arc<str>),
    AnyUri(Arc<str>),
    Integer(i64),
    Boolean(bool),
}

impl KeyValue {
    /// The key of a value whose equality function is plain equality of the lexical value.
    fn of(value: &Value) -> Option<KeyValue> {
        Some(match value {
            Value::String(s) => KeyValue::String(s.clone()),
            Value::AnyUri(s) => KeyValue::AnyUri(s.clone()),
            Value::Integer(i) => KeyValue::Integer(*i),
            Value::Boolean(b) => KeyValue::Boolean(*b),
            _ => return None,
        })
    }
}

/// The function ids whose result is exactly [`KeyValue`] equality.
const EXACT_EQUALITY: [&str; 4] = [
    "urn:oasis:names:tc:xacml:1.0:function:string-equal",
    "urn:oasis:names:tc:xacml:1.0:function:anyURI-equal",
    "urn:oasis:names:tc:xacml:1.0:function:integer-equal",
    "urn:oasis:names:tc:xacml:1.0:function:boolean-equal",
];

/// The index over the targets of one parent's children.
#[derive(Debug, Default)]
pub struct ChildIndex {
    /// Children the index cannot exclude, in order.
    always: Vec<u32>,
    /// (attribute key, literal) → indexed children that need it, in order.
    by_value: HashMap<(u64, KeyValue), Vec<u32>>,
    /// The distinct (attribute key, data type) pairs that `by_value` is keyed on.
    attributes: Vec<(u64, DataType)>,
}

impl ChildIndex {
    /// Builds the index for children with these targets (in order). Returns an inactive index
    /// when there are too few children or nothing to index.
    pub fn build<'a>(targets: impl ExactSizeIterator<Item = &'a Target>) -> ChildIndex {
        if targets.len() < MIN_CHILDREN {
            return ChildIndex::default();
        }
        let mut index = ChildIndex::default();
        for (i, target) in targets.enumerate() {
            let i = i as u32;
            match target.any_of.iter().find_map(index_keys) {
                Some(keys) => {
                    for (key, dt, value) in keys {
                        if !index.attributes.contains(&(key, dt)) {
                            index.attributes.push((key, dt));
                        }
                        let list = index.by_value.entry((key, value)).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
                None => index.always.push(i),
            }
        }
        if index.by_value.is_empty() {
            return ChildIndex::default();
        }
        index
    }

    /// Whether the index narrows anything; when false, evaluate every child.
    pub fn is_active(&self) -> bool {
        !self.by_value.is_empty()
    }

    /// Writes the candidate children for `context` into `out`, sorted and without duplicates.
    pub fn candidates(&self, context: &Lookup<'_>, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.always);
        for &(key, dt) in &self.attributes {
            for entry in context.values(key) {
                if entry.value.datatype() != dt {
                    continue;
                }
                if let Some(kv) = KeyValue::of(&entry.value) {
                    if let Some(children) = self.by_value.get(&(key, kv)) {
                        out.extend_from_slice(children);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// The index keys of an `<AnyOf>` if every `<AllOf>` in it has an indexable match.
fn index_keys(any_of: &AnyOf) -> Option<Vec<(u64, DataType, KeyValue)>> {
    if any_of.all_of.is_empty() {
        return None;
    }
    any_of.all_of.iter().map(all_of_key).collect()
}

fn all_of_key(all_of: &AllOf) -> Option<(u64, DataType, KeyValue)> {
    all_of.matches.iter().find_map(|m| {
        let d = &m.designator;
        if !EXACT_EQUALITY.contains(&m.function.id)
            || d.issuer.is_some()
            || d.must_be_present
            || m.value.datatype() != d.datatype
        {
            return None;
        }
        Some((d.key, d.datatype, KeyValue::of(&m.value)?))
    })
}
