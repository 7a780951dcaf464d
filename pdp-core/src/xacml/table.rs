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
//! Numbered tests ([`Atoms`]): every test of every table of one PDP gets a number (at most
//! [`MAX_NUMBERED_ATOMS`]). A test on an attribute of the *request* (not one a policy
//! information point supplies) has the same answer for every decision on one prepared request:
//! it is answered when the request is prepared, and read at decision time as a bit of one
//! word, with no lookup and no comparison left on the hot path. For the consent policy that is
//! the purpose of use (ETREAT, COC); only the consent facts are tested per decision. The numbers
//! also index the whole-tree table of [`crate::xacml::tree`].

use super::combine::Algorithm;
use super::context::{Context, Lookup};
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
    /// `(number, bit)`: tests on request attributes, answered when the request was prepared.
    prefilled: Vec<(u8, u32)>,
    /// `(number, bit)` of every test, when all of them are numbered (see [`Atoms`]).
    numbered: Option<Vec<(u8, u32)>>,
    /// Indexed by the bit combination: the first applicable rule, or `NONE`.
    entries: Vec<u16>,
}

/// The most tests one PDP numbers (one bit each in a `u64`); tests beyond them stay
/// decision-time tests of their table.
pub const MAX_NUMBERED_ATOMS: usize = 64;

/// Every membership test of every rule table of one PDP, numbered once (see the module docs).
///
/// The number of a test is its bit in two words: the request's answers to the tests on its own
/// attributes ([`Atoms::answer`], at preparation), and the index of a whole-tree table
/// ([`crate::xacml::tree`]), which also needs the tests on provided attributes.
#[derive(Clone, Debug, Default)]
pub struct Atoms {
    /// Keys an attribute provider supplies: their values are known only at decision time.
    provided: Vec<u64>,
    atoms: Vec<NumberedAtom>,
}

/// A numbered test, and whether it reads a provided attribute.
#[derive(Clone, Debug)]
struct NumberedAtom {
    atom: Atom,
    provided: bool,
}

impl Atoms {
    /// A registry in which tests on the `provided` keys are decision-time tests.
    pub fn new(provided: &[u64]) -> Self {
        Atoms {
            provided: provided.to_vec(),
            atoms: Vec::new(),
        }
    }

    /// The number of `atom`, numbering it if new; `None` when the registry is full.
    fn register(&mut self, atom: &Atom) -> Option<u8> {
        let existing = self.atoms.iter().position(|n| {
            let a = &n.atom;
            a.key == atom.key && a.datatype == atom.datatype && a.literal.equals(&atom.literal)
        });
        let index = match existing {
            Some(i) => i,
            None if self.atoms.len() < MAX_NUMBERED_ATOMS => {
                self.atoms.push(NumberedAtom {
                    atom: atom.clone(),
                    provided: self.provided.contains(&atom.key),
                });
                self.atoms.len() - 1
            }
            None => return None,
        };
        u8::try_from(index).ok()
    }

    /// Bit `i` set when test `i` reads the request's own attributes and holds for them.
    pub fn answer(&self, context: &Context) -> u64 {
        let mut bits = 0u64;
        for (i, n) in self.atoms.iter().enumerate() {
            if n.provided {
                continue;
            }
            let atom = &n.atom;
            if context
                .matching(atom.key, atom.datatype, None)
                .any(|v| atom.literal.equals(v))
            {
                bits |= 1 << i;
            }
        }
        bits
    }

    /// The tests on provided attributes, grouped by attribute, each literal with the bit of its
    /// number (for the whole-tree table, which exists only while every number is below 32).
    pub(crate) fn provided_tests(&self) -> Vec<TestedAttribute> {
        let mut tests: Vec<TestedAttribute> = Vec::new();
        for (i, n) in self.atoms.iter().enumerate().filter(|(_, n)| n.provided) {
            let a = &n.atom;
            let bit = 1u32.checked_shl(i as u32).unwrap_or(0);
            match tests
                .iter_mut()
                .find(|t| t.key == a.key && t.datatype == a.datatype)
            {
                Some(t) => t.literals.push((a.literal.clone(), bit)),
                None => tests.push(TestedAttribute {
                    key: a.key,
                    datatype: a.datatype,
                    literals: vec![(a.literal.clone(), bit)],
                }),
            }
        }
        tests
    }

    /// How many tests are numbered.
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

    /// The table's bits for a combination of test numbers, or `None` when not all of its tests
    /// are numbered.
    pub fn bits_of_numbered(&self, numbers: u64) -> Option<u32> {
        let numbered = self.numbered.as_ref()?;
        let mut bits = 0;
        for &(atom, bit) in numbered {
            if numbers >> atom & 1 != 0 {
                bits |= bit;
            }
        }
        Some(bits)
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
    /// Its tests are numbered in `atoms` while it has room.
    pub fn build(
        algorithm: Algorithm,
        rules: &[Rule],
        variables: &[Expr],
        atoms_registry: &mut Atoms,
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
        let mut numbered = Some(Vec::with_capacity(atoms.len()));
        for (bit, atom) in atoms.into_iter().enumerate() {
            let bit = 1u32 << bit;
            let number = atoms_registry.register(&atom);
            match (number, &mut numbered) {
                (Some(n), Some(all)) => all.push((n, bit)),
                (None, _) => numbered = None,
                _ => {}
            }
            if let Some(n) = number {
                if !atoms_registry.provided.contains(&atom.key) {
                    prefilled.push((n, bit));
                    continue;
                }
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
            numbered,
            entries,
        })
    }
}

/// The bits of the literals in `tests` that the attributes of `lookup` hold, or `None` when a
/// tested attribute is absent because its provider failed (the caller then evaluates the rules
/// one by one, so that the provider's Indeterminate shows where the conditions raise it).
#[inline]
pub(crate) fn tested_bits(tests: &[TestedAttribute], lookup: &Lookup<'_>) -> Option<u32> {
    let mut bits = 0;
    for test in tests {
        let mut present = false;
        for v in lookup.matching(test.key, test.datatype, None) {
            present = true;
            for (literal, bit) in &test.literals {
                if literal.equals(v) {
                    bits |= bit;
                }
            }
        }
        if !present && lookup.failure(test.key).is_some() {
            return None;
        }
    }
    Some(bits)
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
