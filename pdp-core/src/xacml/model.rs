//! The compiled policy model: what the evaluator walks.
//!
//! Everything here is resolved: attribute ids and categories are interned [`SymId`]s, data types
//! are [`DataType`] tags, functions are [`Function`]s with checked signatures, variable
//! references are indexes, and policy references point at the shared compiled node. Nothing in
//! this model is looked up by string at decision time.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::combine::Algorithm;
use super::datatype::DataType;
use super::functions::{ArgType, Function, StrictFn};
use super::index::ChildIndex;
use super::response::PolicyAction;
use super::table::RuleTable;
use super::value::Value;

/// An interned identifier (attribute id or category).
pub type SymId = u32;

/// The interning table of attribute ids and categories, built at compile time.
///
/// Requests are interned against this table; an id that no policy mentions has no symbol and is
/// simply never looked up.
#[derive(Debug, Default, Clone)]
pub struct Symbols {
    ids: HashMap<Arc<str>, SymId, BuildHasherDefault<SymbolHasher>>,
    names: Vec<Arc<str>>,
    /// The symbols by the address of their shared text: a request parser that shares the
    /// policies' strings ([`Symbols::shared`]) hands back these very allocations, which
    /// [`Symbols::get_shared`] then finds by one word instead of hashing the text again. The
    /// table keeps every one of them alive, so no other string can have the same address.
    by_address: HashMap<usize, SymId, BuildHasherDefault<SymbolHasher>>,
}

/// The hasher of the symbol table: FxHash-style, eight bytes per step, instead of SipHash,
/// whose per-lookup cost matched an allocation on the request path. Flooding is no concern: the
/// table's keys come from the policies, and requests only look up (never insert).
#[derive(Default, Clone, Copy)]
pub struct SymbolHasher(u64);

const SYMBOL_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl SymbolHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SYMBOL_SEED);
    }
}

impl Hasher for SymbolHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Symbols {
    /// The symbol of `name`, creating it if needed.
    pub fn intern(&mut self, name: &str) -> SymId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as SymId;
        let name: Arc<str> = Arc::from(name);
        self.by_address.insert(address(&name), id);
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    /// [`Symbols::get`] for a string a request holds: found by its address when it is the
    /// table's own text (see [`Symbols::shared`]), by its text otherwise.
    #[inline]
    pub fn get_shared(&self, name: &Arc<str>) -> Option<SymId> {
        match self.by_address.get(&address(name)) {
            Some(&id) => Some(id),
            None => self.get(name),
        }
    }

    /// The symbol of `name`, if some policy mentions it.
    pub fn get(&self, name: &str) -> Option<SymId> {
        self.ids.get(name).copied()
    }

    /// The text of a symbol.
    pub fn name(&self, id: SymId) -> &Arc<str> {
        &self.names[id as usize]
    }

    /// The shared text of `name` if some policy mentions it, so that a request parser can reuse
    /// it (a reference-count increment) instead of allocating a copy.
    pub fn shared(&self, name: &str) -> Option<Arc<str>> {
        self.ids.get_key_value(name).map(|(k, _)| k.clone())
    }
}

/// The address of a shared string's text, the key of [`Symbols::get_shared`].
#[inline]
fn address(name: &Arc<str>) -> usize {
    Arc::as_ptr(name).cast::<u8>() as usize
}

/// The key of an attribute in the request context: category and attribute id together.
#[inline]
pub fn attr_key(category: SymId, attribute: SymId) -> u64 {
    ((category as u64) << 32) | attribute as u64
}

/// The effect of a rule, and the decision an obligation or advice applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Permit,
    Deny,
}

/// `<AttributeDesignator>`, resolved.
#[derive(Clone, Debug)]
pub struct Designator {
    pub key: u64,
    pub category: Arc<str>,
    pub attribute_id: Arc<str>,
    pub datatype: DataType,
    pub issuer: Option<Arc<str>>,
    pub must_be_present: bool,
}

/// An expression of a condition, variable definition, apply argument or assignment.
#[derive(Clone, Debug)]
pub enum Expr {
    Value(Value),
    Designator(Designator),
    Apply(Box<Apply>),
    /// A reference to the `n`-th variable definition of the enclosing policy.
    Variable(usize),
    /// A `<Function>` element: only an argument of a higher-order function.
    Function(Function),
    /// A `*-regexp-match` whose pattern is a literal, compiled once at load.
    RegexMatch(Box<RegexMatch>),
    /// `<type>-is-in(value, designator)`: evaluated over the request's values in place, without
    /// building the bag (the common shape of conditions on multi-valued attributes).
    IsIn(Box<IsIn>),
}

/// `<type>-is-in` whose bag is an attribute designator.
#[derive(Clone, Debug)]
pub struct IsIn {
    /// The single value looked for.
    pub value: Expr,
    pub designator: Designator,
}

/// A regular-expression match with a pattern compiled at load time.
#[derive(Clone, Debug)]
pub struct RegexMatch {
    pub regex: regex::Regex,
    /// The subject expression (the function's second argument).
    pub subject: Expr,
}

/// `<Apply>`, with its result type computed at compile time.
#[derive(Clone, Debug)]
pub struct Apply {
    pub function: Function,
    pub args: Vec<Expr>,
    pub ret: ArgType,
}

/// `<Match>`: `function(value, each value of designator)`.
#[derive(Clone, Debug)]
pub struct Match {
    pub function: &'static StrictFn,
    /// True when `function` is the data type's own equality, so that the evaluator can compare
    /// values directly instead of building an argument list.
    pub is_equality: bool,
    /// For a `*-regexp-match` MatchId, the literal pattern compiled once at load.
    pub regex: Option<regex::Regex>,
    pub value: Value,
    pub designator: Designator,
}

/// `<AllOf>`: a conjunction of matches.
#[derive(Clone, Debug, Default)]
pub struct AllOf {
    pub matches: Vec<Match>,
}

/// `<AnyOf>`: a disjunction of `AllOf`s.
#[derive(Clone, Debug, Default)]
pub struct AnyOf {
    pub all_of: Vec<AllOf>,
}

/// `<Target>`: a conjunction of `AnyOf`s; empty matches everything.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub any_of: Vec<AnyOf>,
}

/// `<AttributeAssignmentExpression>`.
#[derive(Clone, Debug)]
pub struct AssignmentExpr {
    pub attribute_id: Arc<str>,
    pub category: Option<Arc<str>>,
    pub issuer: Option<Arc<str>>,
    pub expr: Expr,
}

/// An `<ObligationExpression>` or `<AdviceExpression>`.
#[derive(Clone, Debug)]
pub struct ActionExpr {
    pub id: Arc<str>,
    pub applies_to: Effect,
    pub assignments: Vec<AssignmentExpr>,
    /// The evaluated action, when every assignment is a literal: built once at compile time.
    pub constant: Option<Arc<PolicyAction>>,
}

/// Obligation and advice expressions of a rule, policy or policy set.
#[derive(Clone, Debug, Default)]
pub struct Actions {
    pub obligations: Vec<ActionExpr>,
    pub advice: Vec<ActionExpr>,
}

impl Actions {
    pub fn is_empty(&self) -> bool {
        self.obligations.is_empty() && self.advice.is_empty()
    }
}

/// `<Rule>`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: Arc<str>,
    pub effect: Effect,
    pub target: Target,
    pub condition: Option<Expr>,
    pub actions: Actions,
}

/// `<Policy>`.
#[derive(Debug)]
pub struct Policy {
    pub id: Arc<str>,
    pub version: Arc<str>,
    pub target: Target,
    pub variables: Vec<Expr>,
    pub rules: Vec<Rule>,
    pub algorithm: Algorithm,
    pub actions: Actions,
    pub rule_index: ChildIndex,
    /// The decision table, when the rules are pure membership tests (see [`RuleTable`]).
    pub rule_table: Option<RuleTable>,
}

/// `<PolicySet>`, with references resolved.
#[derive(Debug)]
pub struct PolicySet {
    pub id: Arc<str>,
    pub version: Arc<str>,
    pub target: Target,
    pub children: Vec<PolicyNode>,
    pub algorithm: Algorithm,
    pub actions: Actions,
    pub child_index: ChildIndex,
}

/// A member of a policy set: a policy or a policy set, defined inline or referenced.
#[derive(Clone, Debug)]
pub enum PolicyNode {
    Policy(Arc<Policy>),
    PolicySet(Arc<PolicySet>),
}

impl PolicyNode {
    pub fn target(&self) -> &Target {
        match self {
            PolicyNode::Policy(p) => &p.target,
            PolicyNode::PolicySet(p) => &p.target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request string is found by address when it is the table's own text and by its text
    /// when it is a copy; a string no policy mentions has no symbol either way.
    #[test]
    fn shared_strings_are_found_by_address_and_copies_by_text() {
        let mut symbols = Symbols::default();
        let id = symbols.intern("urn:test:attr");
        let other = symbols.intern("urn:test:other");
        let shared = symbols.shared("urn:test:attr").unwrap();
        assert!(Arc::ptr_eq(&shared, symbols.name(id)));
        assert_eq!(symbols.get_shared(&shared), Some(id));
        let copy: Arc<str> = Arc::from("urn:test:attr");
        assert!(!Arc::ptr_eq(&copy, &shared));
        assert_eq!(symbols.get_shared(&copy), Some(id));
        assert_eq!(
            symbols.get_shared(&Arc::from("urn:test:other")),
            Some(other)
        );
        assert_eq!(symbols.get_shared(&Arc::from("urn:test:unknown")), None);
        // A clone of the table keeps the same texts, so addresses still match.
        let clone = symbols.clone();
        assert_eq!(clone.get_shared(&shared), Some(id));
    }
}
