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

use super::context::{Context, Lookup};
use super::eval::{Evaluator, Outcome};
use super::model::PolicyNode;
use super::table::{tested_bits, Atoms, TestedAttribute};

/// The most tests a whole-tree table covers (it has 2^n entries).
pub const MAX_TREE_ATOMS: usize = 12;

/// The outcome of every combination of the tree's tests (see the module docs).
pub(crate) struct TreeTable {
    /// The tests on provided attributes, with the bit of their number.
    provided: Vec<TestedAttribute>,
    /// Indexed by the combination of test numbers; `None`: evaluate the ordinary way.
    outcomes: Vec<Option<Outcome>>,
}

impl TreeTable {
    /// The table for `root`, or `None` when the tree is not of the supported shape.
    pub fn build(root: &PolicyNode, atoms: &Atoms) -> Option<TreeTable> {
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
        Some(TreeTable {
            provided: atoms.provided_tests(),
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
        let numbers = request_atoms as u32 | tested_bits(&self.provided, lookup)?;
        self.outcomes.get(numbers as usize)?.as_ref()
    }
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
