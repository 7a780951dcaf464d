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

    /// The closed set of values each output can take, when it has one: one list per output,
    /// in output order (an empty or missing list for an output whose values are open). A
    /// provider that declares them supplies those values with
    /// [`ProvidedAttributes::push_known`], by index: the decision then neither builds nor
    /// reference-counts a value. The default declares none.
    fn known_values(&self) -> Vec<Vec<Value>> {
        Vec::new()
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
#[derive(Clone)]
pub enum PreparedInputs {
    /// A few words the provider packs itself. They are kept inside the prepared request, so a
    /// decision reads them from a line it touches anyway: no allocation when preparing, no
    /// pointer to follow (and likely no cache miss) when deciding.
    Words([u64; PREPARED_WORDS]),
    /// Anything else, shared.
    Shared(Arc<dyn Any + Send + Sync>),
}

/// How many words [`PreparedInputs::Words`] holds.
pub const PREPARED_WORDS: usize = 2;

impl PreparedInputs {
    /// The packed words, if the provider packed its inputs.
    pub fn words(&self) -> Option<&[u64; PREPARED_WORDS]> {
        match self {
            PreparedInputs::Words(w) => Some(w),
            PreparedInputs::Shared(_) => None,
        }
    }

    /// The shared value, if it is a `T`.
    pub fn shared<T: Any>(&self) -> Option<&T> {
        match self {
            PreparedInputs::Shared(v) => v.downcast_ref(),
            PreparedInputs::Words(_) => None,
        }
    }
}

/// A provider with its inputs and outputs resolved to interned keys.
pub(crate) struct BoundProvider {
    pub provider: Arc<dyn AttributeProvider>,
    pub input_keys: Vec<u64>,
    pub output_keys: Vec<u64>,
    /// Per output, its known values as ready entries ([`AttributeProvider::known_values`]).
    pub known: Vec<Vec<Entry>>,
    /// Per output, the number of its first known value when all are numbered in order.
    pub known_starts: Vec<u32>,
}

impl BoundProvider {
    /// Interns the provider's attributes (so that request parsing keeps the inputs).
    pub fn bind(provider: Arc<dyn AttributeProvider>, symbols: &mut Symbols) -> Self {
        let mut key = |a: &AttributeRef| {
            attr_key(symbols.intern(&a.category), symbols.intern(&a.attribute_id))
        };
        let input_keys = provider.inputs().iter().map(&mut key).collect();
        let output_keys: Vec<u64> = provider.outputs().iter().map(&mut key).collect();
        let known = provider
            .known_values()
            .into_iter()
            .zip(&output_keys)
            .map(|(values, &key)| {
                values
                    .into_iter()
                    .map(|value| Entry {
                        key,
                        issuer: None,
                        value,
                    })
                    .collect()
            })
            .collect::<Vec<Vec<Entry>>>();
        let known_starts = known
            .iter()
            .scan(0u32, |next, values| {
                let start = *next;
                *next += values.len() as u32;
                Some(start)
            })
            .collect();
        BoundProvider {
            provider,
            input_keys,
            output_keys,
            known,
            known_starts,
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

/// One of the provider's declared values, supplied by number: a reference (nothing to copy or
/// drop) and its number among all declared values (outputs in order, values in order), by
/// which compiled tables know in advance which tests it passes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KnownValue<'a> {
    pub entry: &'a Entry,
    pub number: u32,
}

/// What a provider supplies for one individual request. Declared values and values built for
/// the decision are kept apart: a decision that only gets declared values (the consent
/// provider's) has nothing to drop afterwards.
pub struct ProvidedAttributes<'a> {
    pub(crate) output_keys: &'a [u64],
    pub(crate) known: &'a [Vec<Entry>],
    /// Where each output's values start in the numbering of all known values.
    pub(crate) known_starts: &'a [u32],
    pub(crate) known_values: ArrayVec<KnownValue<'a>, MAX_PROVIDED_VALUES>,
    /// Values built for the decision and failures: allocated on first use, so that a decision
    /// without either drops nothing but an empty pointer.
    pub(crate) rare: Option<Box<Rare>>,
    pub(crate) overflowed: usize,
}

/// What most decisions never get from a provider (see [`ProvidedAttributes::rare`]).
#[derive(Default)]
pub(crate) struct Rare {
    pub entries: Vec<Entry>,
    pub failures: Vec<(u64, Box<Status>)>,
}

impl<'a> ProvidedAttributes<'a> {
    /// Nothing supplied yet, for a provider bound with these outputs and known values.
    pub(crate) fn new(
        output_keys: &'a [u64],
        known: &'a [Vec<Entry>],
        known_starts: &'a [u32],
    ) -> Self {
        ProvidedAttributes {
            output_keys,
            known,
            known_starts,
            known_values: ArrayVec::new(),
            rare: None,
            overflowed: 0,
        }
    }

    /// Whether [`MAX_PROVIDED_VALUES`] values are held.
    #[inline]
    fn full(&self) -> bool {
        self.known_values.len() + self.rare.as_ref().map_or(0, |r| r.entries.len())
            >= MAX_PROVIDED_VALUES
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Adds a value of output `output`.
    pub fn push(&mut self, output: usize, value: Value) {
        if let Some(&key) = self.output_keys.get(output) {
            if self.full() {
                self.overflowed += 1;
                return;
            }
            self.rare().entries.push(Entry {
                key,
                issuer: None,
                value,
            });
        }
    }

    /// Adds known value `index` of output `output` ([`AttributeProvider::known_values`]). An
    /// index the provider did not declare adds nothing and is counted as not supplied
    /// ([`ProvidedAttributes::overflowed`]).
    #[inline]
    pub fn push_known(&mut self, output: usize, index: usize) {
        let entry = self.known.get(output).and_then(|values| values.get(index));
        let start = self.known_starts.get(output);
        match (entry, start) {
            (Some(entry), Some(&start)) if !self.full() => self.known_values.push(KnownValue {
                entry,
                number: start + index as u32,
            }),
            _ => self.overflowed += 1,
        }
    }

    /// How many pushed values were not supplied: beyond [`MAX_PROVIDED_VALUES`], or a known
    /// value that was never declared.
    pub fn overflowed(&self) -> usize {
        self.overflowed
    }

    /// Records that output `output` cannot be supplied: a designator on it evaluates to
    /// Indeterminate with this status (unless the request itself carries values for it).
    pub fn fail(&mut self, output: usize, status: Status) {
        if let Some(&key) = self.output_keys.get(output) {
            self.rare().failures.push((key, Box::new(status)));
        }
    }

    /// Marks every output as failed with `status`.
    pub fn fail_all(&mut self, status: Status) {
        let Some((&last, rest)) = self.output_keys.split_last() else {
            return;
        };
        for &key in rest {
            self.rare().failures.push((key, Box::new(status.clone())));
        }
        // The last output takes the status itself: one copy fewer.
        self.rare().failures.push((last, Box::new(status)));
    }
}
