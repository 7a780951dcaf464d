//! The whole-tree table: a compile-time decision table for a policy tree that is a pure
//! function of its membership tests.
//!
//! When every policy of the tree has a rule table ([`crate::xacml::table`]), no policy or policy
//! set has a target, and the tests of all tables together are few ([`MAX_TREE_ATOMS`]), the
//! decision of the whole tree — combining algorithms, obligations and advice included — depends
//! only on which tests hold. The compile step then evaluates the tree once for every combination
//! of the numbered tests ([`super::table::Atoms`]) and keeps each outcome. A decision reads the
//! request's prepared answers, tests the provided attributes (one pass over a few values), and
//! copies the stored outcome: no policy is walked, no rule is looked at.
//!
//! Exactness: the stored outcome is what the evaluator computes for that combination, so the
//! table is the same function as evaluation, with three exceptions that take the ordinary path:
//! - an obligation or advice whose attribute assignments are not constant (they read the
//!   request, so the outcome is not a function of the tests alone): that combination is stored
//!   as "evaluate";
//! - a provider that failed to supply a tested attribute (the tables then fall back to
//!   rule-by-rule evaluation, which raises the provider's Indeterminate where it belongs);
//! - a request that asks for `ReturnPolicyIdList`.
//!
//! The consent policy is such a tree: eight tests (three choices at two levels, two purposes),
//! 256 stored outcomes, and the emergency obligation, which echoes the holder and the data
//! category, is the one combination family evaluated the ordinary way.

use super::context::{key_filter, Context, Entry, Lookup};
use super::eval::{Evaluator, Outcome};
use super::model::PolicyNode;
use super::table::{tested_bits, Atoms, TestedAttribute};

/// The most tests a whole-tree table covers (it has 2^n entries).
pub const MAX_TREE_ATOMS: usize = 12;

/// The outcome of every combination of the tree's tests (see the module docs).
pub(crate) struct TreeTable {
    /// The tests on provided attributes, with the bit of their number.
    provided: Vec<TestedAttribute>,
    /// Per value the provider declared (numbered across its outputs, see
    /// [`crate::xacml::provider::ProvidedAttributes::push_known`]), the
    /// bits of the tests it passes: computed once here, so a decision whose provided values
    /// are all declared ones ORs a few words instead of comparing values.
    known_bits: Vec<u32>,
    /// The key filter of the tested attributes: a request that may carry one of them itself
    /// takes the general path (as does a provided value that was not declared).
    tested_filter: u64,
    /// Indexed by the combination of test numbers; `None`: evaluate the ordinary way.
    outcomes: Vec<Option<Outcome>>,
}

impl TreeTable {
    /// The table for `root`, or `None` when the tree is not of the supported shape.
    /// `known` holds the provider's declared values, per output (see
    /// [`crate::xacml::provider::AttributeProvider::known_values`]).
    pub fn build(root: &PolicyNode, atoms: &Atoms, known: &[Vec<Entry>]) -> Option<TreeTable> {
        if atoms.is_empty() || atoms.len() > MAX_TREE_ATOMS || !supported(root, 0) {
            return None;
        }
        let empty = Context::default();
        let outcomes = (0u64..1 << atoms.len())
            .map(|numbers| {
                let mut ev = Evaluator::forced(Lookup::request_only(&empty), numbers);
                let outcome = ev.eval_node(root);
                ev.forced_outcome_is_exact().then_some(outcome)
            })
            .collect();
        let provided = atoms.provided_tests();
        let known_bits = known
            .iter()
            .flatten()
            .map(|entry| entry_bits(&provided, entry))
            .collect();
        Some(TreeTable {
            tested_filter: key_filter(provided.iter().map(|t| t.key)),
            known_bits,
            provided,
            outcomes,
        })
    }

    /// How many combinations the table covers.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// The stored outcome for this decision, or `None` when it must be evaluated the ordinary
    /// way (see the module docs). `request_atoms` are the request's prepared answers.
    #[inline]
    pub fn outcome(&self, lookup: &Lookup<'_>, request_atoms: u64) -> Option<&Outcome> {
        let numbers = request_atoms as u32 | self.provided_bits(lookup)?;
        self.outcomes.get(numbers as usize)?.as_ref()
    }

    /// [`tested_bits`] of the provided tests; from [`TreeTable::known_bits`] when the tested
    /// attributes come from declared provider values alone (the same bits: each is what
    /// `tested_bits` computes for that value), by comparing values otherwise.
    #[inline]
    fn provided_bits(&self, lookup: &Lookup<'_>) -> Option<u32> {
        if !lookup.has_failures() && !lookup.request().may_hold_any(self.tested_filter) {
            let mut bits = 0;
            let mut declared = true;
            for k in lookup.known_values() {
                match self.known_bits.get(k.number as usize) {
                    Some(b) => bits |= b,
                    None => declared = false,
                }
            }
            for e in lookup.built_values() {
                declared &= !self.provided.iter().any(|t| t.key == e.key);
            }
            if declared {
                return Some(bits);
            }
        }
        tested_bits(&self.provided, lookup)
    }
}

/// The bits of the tests in `tests` that `entry`'s value passes.
fn entry_bits(tests: &[TestedAttribute], entry: &Entry) -> u32 {
    tests
        .iter()
        .filter(|t| t.key == entry.key && t.datatype == entry.value.datatype())
        .flat_map(|t| &t.literals)
        .filter(|(literal, _)| literal.equals(&entry.value))
        .fold(0, |bits, (_, bit)| bits | bit)
}

/// Whether every node of the tree is a target-less policy with a rule table, or a target-less
/// policy set of such nodes. Bounded like the tree itself (references are resolved, cycles
/// rejected at compile time); the depth guard only keeps a hostile tree from recursing deeply.
fn supported(node: &PolicyNode, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match node {
        PolicyNode::Policy(p) => p.target.any_of.is_empty() && p.rule_table.is_some(),
        PolicyNode::PolicySet(s) => {
            s.target.any_of.is_empty()
                && !s.child_index.is_active()
                && s.children.iter().all(|c| supported(c, depth + 1))
        }
    }
}
