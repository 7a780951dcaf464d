//! Rule tables: a compile-time decision table for policies whose rules only test membership.
//!
//! Many real policies — Akkoord's own consent policy among them — are a first-applicable list
//! of rules without targets whose conditions are boolean combinations (`and`, `or`, `not`,
//! variable references, boolean literals) of "literal `is-in` attribute" tests. Such a policy is
//! a pure function of a handful of membership bits. When there are at most [`MAX_ATOMS`]
//! distinct tests, the compile step evaluates every rule for every combination of bits once and
//! stores, per combination, the first rule that applies. At decision time the evaluator reads
//! each tested attribute once, sets the bits, and looks up the deciding rule: one pass over a
//! few values instead of evaluating every condition in turn.
//!
//! Exactness: membership tests with `MustBePresent="false"` never fail, and `and`/`or`/`not`
//! over them are total, so the table is the same function the conditions compute. The one
//! source of Indeterminate left — an attribute provider that failed to supply a tested
//! attribute — is detected at decision time, and the evaluator then falls back to ordinary
//! evaluation. Policies of any other shape are always evaluated rule by rule.
//!
//! Request atoms: a test on an attribute of the *request* (not one a policy information point
//! supplies) has the same answer for every decision on one prepared request. Such tests are
//! registered once per PDP in [`RequestAtoms`] (at most [`MAX_REQUEST_ATOMS`], shared by all
//! tables), answered when the request is prepared, and read at decision time as bits of one
//! word: no lookup and no comparison left for them on the hot path. For the consent policy that
//! is the purpose of use (ETREAT, COC); only the consent facts are tested per decision.

use super::combine::Algorithm;
use super::context::Context;
use super::datatype::DataType;
use super::functions::Function;
use super::model::{Expr, Rule};
use super::value::Value;

/// Most distinct membership tests a table covers (the table has 2^n entries).
pub const MAX_ATOMS: usize = 12;

/// No rule applies for this combination.
const NONE: u16 = u16::MAX;

/// One attribute tested for membership of one or more literals.
#[derive(Clone, Debug)]
pub struct TestedAttribute {
    pub key: u64,
    pub datatype: DataType,
    /// `(literal, bit)`: the bit to set when the attribute holds a value equal to the literal.
    pub literals: Vec<(Value, u32)>,
}

/// The decision table of one policy (see the module docs).
#[derive(Clone, Debug)]
pub struct RuleTable {
    /// The attributes tested at decision time.
    pub attributes: Vec<TestedAttribute>,
    /// `(request atom, bit)`: tests answered when the request was prepared.
    prefilled: Vec<(u8, u32)>,
    /// Indexed by the bit combination: the first applicable rule, or `NONE`.
    entries: Vec<u16>,
}

/// The most request atoms one PDP answers at preparation (one bit each in a `u64`); tests
/// beyond them stay decision-time tests.
pub const MAX_REQUEST_ATOMS: usize = 32;

/// The membership tests on request attributes of all rule tables of one PDP (see the module
/// docs), answered once per prepared request by [`RequestAtoms::answer`].
#[derive(Clone, Debug, Default)]
pub struct RequestAtoms {
    /// Keys an attribute provider supplies: their values are known only at decision time.
    provided: Vec<u64>,
    atoms: Vec<Atom>,
}

impl RequestAtoms {
    /// A registry that never registers a test on one of the `provided` keys.
    pub fn new(provided: &[u64]) -> Self {
        RequestAtoms {
            provided: provided.to_vec(),
            atoms: Vec::new(),
        }
    }

    /// The index of `atom`, registering it; `None` when it tests a provided attribute or the
    /// registry is full.
    fn register(&mut self, atom: &Atom) -> Option<u8> {
        if self.provided.contains(&atom.key) {
            return None;
        }
        let existing = self.atoms.iter().position(|a| {
            a.key == atom.key && a.datatype == atom.datatype && a.literal.equals(&atom.literal)
        });
        let index = match existing {
            Some(i) => i,
            None if self.atoms.len() < MAX_REQUEST_ATOMS => {
                self.atoms.push(atom.clone());
                self.atoms.len() - 1
            }
            None => return None,
        };
        u8::try_from(index).ok()
    }

    /// Bit `i` set when request atom `i` holds for this request's own attributes.
    pub fn answer(&self, context: &Context) -> u64 {
        let mut bits = 0u64;
        for (i, atom) in self.atoms.iter().enumerate() {
            if context
                .matching(atom.key, atom.datatype, None)
                .any(|v| atom.literal.equals(v))
            {
                bits |= 1 << i;
            }
        }
        bits
    }

    /// How many tests are registered.
    pub fn len(&self) -> usize {
        self.atoms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }
}

impl RuleTable {
    /// The bits of the tests answered at preparation, from the request's atom word.
    #[inline]
    pub fn prefilled_bits(&self, request_atoms: u64) -> u32 {
        let mut bits = 0;
        for &(atom, bit) in &self.prefilled {
            if request_atoms >> atom & 1 != 0 {
                bits |= bit;
            }
        }
        bits
    }

    /// The deciding rule for a combination of bits, if any.
    #[inline]
    pub fn rule_for(&self, bits: u32) -> Option<usize> {
        match self.entries.get(bits as usize) {
            Some(&NONE) | None => None,
            Some(&i) => Some(usize::from(i)),
        }
    }

    /// Builds the table for a policy, or `None` when the policy is not of the supported shape.
    /// Tests on request attributes are registered in `request_atoms` where it has room.
    pub fn build(
        algorithm: Algorithm,
        rules: &[Rule],
        variables: &[Expr],
        request_atoms: &mut RequestAtoms,
    ) -> Option<RuleTable> {
        if algorithm != Algorithm::FirstApplicable || rules.is_empty() || rules.len() >= 0xFFFF {
            return None;
        }
        let mut atoms: Vec<Atom> = Vec::new();
        let mut formulas = Vec::with_capacity(rules.len());
        for rule in rules {
            if !rule.target.any_of.is_empty() {
                return None;
            }
            let formula = match &rule.condition {
                None => Formula::Const(true),
                Some(c) => formula(c, variables, &mut atoms, 0)?,
            };
            formulas.push(formula);
        }
        if atoms.is_empty() || atoms.len() > MAX_ATOMS {
            return None;
        }
        let entries = (0u32..1 << atoms.len())
            .map(|bits| {
                formulas
                    .iter()
                    .position(|f| f.eval(bits))
                    .map_or(NONE, |i| i as u16)
            })
            .collect();
        let mut attributes: Vec<TestedAttribute> = Vec::new();
        let mut prefilled = Vec::new();
        for (bit, atom) in atoms.into_iter().enumerate() {
            let bit = 1u32 << bit;
            if let Some(index) = request_atoms.register(&atom) {
                prefilled.push((index, bit));
                continue;
            }
            match attributes
                .iter_mut()
                .find(|a| a.key == atom.key && a.datatype == atom.datatype)
            {
                Some(a) => a.literals.push((atom.literal, bit)),
                None => attributes.push(TestedAttribute {
                    key: atom.key,
                    datatype: atom.datatype,
                    literals: vec![(atom.literal, bit)],
                }),
            }
        }
        Some(RuleTable {
            attributes,
            prefilled,
            entries,
        })
    }
}

/// One membership test.
#[derive(Clone, Debug)]
struct Atom {
    key: u64,
    datatype: DataType,
    literal: Value,
}

/// A condition as a formula over atom bits.
enum Formula {
    Const(bool),
    Atom(u32),
    And(Vec<Formula>),
    Or(Vec<Formula>),
    Not(Box<Formula>),
}

impl Formula {
    fn eval(&self, bits: u32) -> bool {
        match self {
            Formula::Const(b) => *b,
            Formula::Atom(i) => bits & (1 << i) != 0,
            Formula::And(fs) => fs.iter().all(|f| f.eval(bits)),
            Formula::Or(fs) => fs.iter().any(|f| f.eval(bits)),
            Formula::Not(f) => !f.eval(bits),
        }
    }
}

/// Translates a condition, or `None` if it is not a membership formula.
fn formula(expr: &Expr, vars: &[Expr], atoms: &mut Vec<Atom>, depth: usize) -> Option<Formula> {
    // Variables may chain; the parser bounds chains, this guards the recursion regardless.
    if depth > 64 {
        return None;
    }
    match expr {
        Expr::Value(Value::Boolean(b)) => Some(Formula::Const(*b)),
        Expr::Variable(i) => formula(vars.get(*i)?, vars, atoms, depth + 1),
        Expr::IsIn(is_in) => {
            let d = &is_in.designator;
            let Expr::Value(literal) = &is_in.value else {
                return None;
            };
            if d.issuer.is_some() || d.must_be_present || literal.datatype() != d.datatype {
                return None;
            }
            let index = match atoms.iter().position(|a| {
                a.key == d.key && a.datatype == d.datatype && a.literal.equals(literal)
            }) {
                Some(i) => i,
                None => {
                    atoms.push(Atom {
                        key: d.key,
                        datatype: d.datatype,
                        literal: literal.clone(),
                    });
                    atoms.len() - 1
                }
            };
            Some(Formula::Atom(index as u32))
        }
        Expr::Apply(a) => {
            let mut args = || {
                a.args
                    .iter()
                    .map(|x| formula(x, vars, atoms, depth + 1))
                    .collect::<Option<Vec<_>>>()
            };
            match a.function {
                Function::And => Some(Formula::And(args()?)),
                Function::Or => Some(Formula::Or(args()?)),
                Function::Strict(f) if f.id == "urn:oasis:names:tc:xacml:1.0:function:not" => {
                    let [x] = a.args.as_slice() else {
                        return None;
                    };
                    Some(Formula::Not(Box::new(formula(x, vars, atoms, depth + 1)?)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}
