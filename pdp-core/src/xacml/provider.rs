//! Attribute providers: XACML's policy information point (PIP) as a trait.
//!
//! A provider supplies attributes that the request does not carry, computed from attributes it
//! does carry — for example the consent index, which turns the patient, holder, data category
//! and requester of a closed question into the consent facts the shipped policy reasons about.
//! The provider declares its inputs and outputs once; the PDP resolves them to interned keys at
//! compile time (and keeps the inputs in every prepared request even when no policy mentions
//! them), so at decision time the provider reads and writes by index, without string lookups.
//!
//! Providers run once per individual decision, just before evaluation, inside
//! [`crate::xacml::Pdp::decide`]. They must be pure and fast: no I/O, no blocking.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use arrayvec::ArrayVec;

use super::context::Context;
use super::model::attr_key;
use super::model::Symbols;
use super::request::RequestTime;
use super::response::Status;
use super::value::Value;

pub use super::context::Entry;

/// An attribute named by category and attribute id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttributeRef {
    pub category: String,
    pub attribute_id: String,
}

impl AttributeRef {
    pub fn new(category: &str, attribute_id: &str) -> Self {
        AttributeRef {
            category: category.to_string(),
            attribute_id: attribute_id.to_string(),
        }
    }
}

impl fmt::Display for AttributeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.attribute_id, self.category)
    }
}

/// A policy information point.
pub trait AttributeProvider: Send + Sync {
    /// The request attributes the provider reads, in the order [`ProviderRequest::values`]
    /// indexes them.
    fn inputs(&self) -> Vec<AttributeRef>;
    /// The attributes it supplies, in the order [`ProvidedAttributes::push`] indexes them.
    fn outputs(&self) -> Vec<AttributeRef>;
    /// Work that depends only on the request — not on the time of the decision or on data the
    /// provider may change — done once when the request is prepared ([`crate::xacml::Pdp::prepare`]),
    /// for example resolving codes in the request to ids. Whatever it returns is handed back to
    /// [`AttributeProvider::provide`]. The default does nothing.
    fn prepare(&self, _request: &ProviderRequest<'_>) -> Option<PreparedInputs> {
        None
    }

    /// Supplies the outputs for one individual request; `prepared` is what
    /// [`AttributeProvider::prepare`] returned for it.
    fn provide(
        &self,
        request: &ProviderRequest<'_>,
        prepared: Option<&PreparedInputs>,
        out: &mut ProvidedAttributes<'_>,
    );
}

/// What a provider computed when a request was prepared; see [`AttributeProvider::prepare`].
pub type PreparedInputs = Arc<dyn Any + Send + Sync>;

/// A provider with its inputs and outputs resolved to interned keys.
pub(crate) struct BoundProvider {
    pub provider: Arc<dyn AttributeProvider>,
    pub input_keys: Vec<u64>,
    pub output_keys: Vec<u64>,
}

impl BoundProvider {
    /// Interns the provider's attributes (so that request parsing keeps the inputs).
    pub fn bind(provider: Arc<dyn AttributeProvider>, symbols: &mut Symbols) -> Self {
        let mut key = |a: &AttributeRef| {
            attr_key(symbols.intern(&a.category), symbols.intern(&a.attribute_id))
        };
        let input_keys = provider.inputs().iter().map(&mut key).collect();
        let output_keys = provider.outputs().iter().map(&mut key).collect();
        BoundProvider {
            provider,
            input_keys,
            output_keys,
        }
    }
}

/// What a provider sees of one individual request.
pub struct ProviderRequest<'a> {
    pub(crate) context: &'a Context,
    pub(crate) input_keys: &'a [u64],
    pub(crate) time: RequestTime,
}

impl<'a> ProviderRequest<'a> {
    /// The values of input `input` (all data types and issuers).
    pub fn values(&self, input: usize) -> impl Iterator<Item = &'a Value> + 'a {
        let key = self.input_keys.get(input).copied();
        let entries: &'a [Entry] = match key {
            Some(k) => self.context.values(k),
            None => &[],
        };
        entries.iter().map(|e| &e.value)
    }

    /// The time of the decision.
    pub fn time(&self) -> RequestTime {
        self.time
    }
}

/// The most values a provider can supply for one decision; further pushes are dropped (and
/// counted in [`ProvidedAttributes::overflowed`]). Kept inline so a decision allocates nothing
/// for provided attributes.
pub const MAX_PROVIDED_VALUES: usize = 16;

/// What a provider supplies for one individual request.
pub struct ProvidedAttributes<'a> {
    pub(crate) output_keys: &'a [u64],
    pub(crate) entries: ArrayVec<Entry, MAX_PROVIDED_VALUES>,
    pub(crate) failures: Vec<(u64, Box<Status>)>,
    pub(crate) overflowed: usize,
}

impl ProvidedAttributes<'_> {
    /// Adds a value of output `output`.
    pub fn push(&mut self, output: usize, value: Value) {
        if let Some(&key) = self.output_keys.get(output) {
            let entry = Entry {
                key,
                issuer: None,
                value,
            };
            if self.entries.try_push(entry).is_err() {
                self.overflowed += 1;
            }
        }
    }

    /// How many pushed values did not fit ([`MAX_PROVIDED_VALUES`]).
    pub fn overflowed(&self) -> usize {
        self.overflowed
    }

    /// Records that output `output` cannot be supplied: a designator on it evaluates to
    /// Indeterminate with this status (unless the request itself carries values for it).
    pub fn fail(&mut self, output: usize, status: Status) {
        if let Some(&key) = self.output_keys.get(output) {
            self.failures.push((key, Box::new(status)));
        }
    }

    /// Marks every output as failed with `status`.
    pub fn fail_all(&mut self, status: Status) {
        for &key in self.output_keys {
            self.failures.push((key, Box::new(status.clone())));
        }
    }
}
