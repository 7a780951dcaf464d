//! The evaluator: expressions, targets, rules, policies and policy sets, per XACML 3.0
//! section 7, with the extended Indeterminate values {D}, {P} and {DP}.
//!
//! The evaluator only reads the compiled model and the prepared [`Context`]; it allocates only
//! for bags built in conditions and for the obligations it returns.

use std::sync::Arc;

use super::combine::Algorithm;
use super::context::Lookup;
use super::functions::{self, Bag, FnError, Function, HigherOrder, Val};
use super::model::{
    ActionExpr, Actions, Apply, Designator, Effect, Expr, IsIn, Match, Policy, PolicyNode,
    PolicySet, Rule, Target,
};
use super::response::{
    ActionList, AttributeAssignment, MissingAttributeDetail, PolicyAction, PolicyIdentifier,
    PolicyKind, Status, StatusCode,
};
use super::table::{tested_bits, RuleTable};
use super::value::Value;

/// Which decisions an Indeterminate result could have been (section 7.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ext {
    D,
    P,
    DP,
}

/// The decision of a rule, policy or policy set, with the extended Indeterminate.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Permit,
    Deny,
    NotApplicable,
    Indeterminate(Ext, Box<Status>),
}

impl Verdict {
    /// Permit ↔ Deny (only called on those two).
    pub(crate) fn opposite(&self) -> Verdict {
        match self {
            Verdict::Permit => Verdict::Deny,
            _ => Verdict::Permit,
        }
    }

    /// The Indeterminate kind of a decision that could have been this one.
    pub(crate) fn ext(&self) -> Ext {
        match self {
            Verdict::Permit => Ext::P,
            _ => Ext::D,
        }
    }
}

impl From<Effect> for Verdict {
    fn from(e: Effect) -> Verdict {
        match e {
            Effect::Permit => Verdict::Permit,
            Effect::Deny => Verdict::Deny,
        }
    }
}

/// A decision with the obligations and advice that go with it.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub obligations: ActionList,
    pub advice: ActionList,
}

impl Outcome {
    pub(crate) fn of(verdict: Verdict) -> Outcome {
        Outcome {
            verdict,
            obligations: ActionList::new(),
            advice: ActionList::new(),
        }
    }

    pub(crate) fn not_applicable() -> Outcome {
        Outcome::of(Verdict::NotApplicable)
    }

    pub(crate) fn indeterminate(ext: Ext, status: Box<Status>) -> Outcome {
        Outcome::of(Verdict::Indeterminate(ext, status))
    }

    /// Adds the obligations and advice of `other` (a result with the same decision).
    pub(crate) fn absorb(&mut self, other: Outcome) {
        self.obligations.extend(other.obligations);
        self.advice.extend(other.advice);
    }
}

/// The result of a target, `AnyOf`, `AllOf` or `Match` (section 7.7).
enum MatchResult {
    Match,
    NoMatch,
    Indeterminate(Box<Status>),
}

type ExprResult = Result<Val, Box<Status>>;

fn processing_error(msg: impl Into<String>) -> Box<Status> {
    Box::new(Status::new(StatusCode::ProcessingError, msg))
}

impl From<FnError> for Box<Status> {
    fn from(e: FnError) -> Self {
        processing_error(e.0)
    }
}

/// Evaluates one individual request against the compiled policies.
pub(crate) struct Evaluator<'a> {
    context: Lookup<'a>,
    /// The request's answers to the PDP's request atoms (see [`crate::xacml::table`]).
    request_atoms: u64,
    /// `Some` when the request asked for `ReturnPolicyIdList`.
    pub(crate) policy_ids: Option<Vec<PolicyIdentifier>>,
    /// Building a whole-tree table ([`crate::xacml::tree`]): every rule table reads its bits
    /// from this combination of test numbers instead of from the request.
    forced: Option<u64>,
    /// Set when a forced evaluation met something the combination alone does not decide (an
    /// action that reads the request, a table whose tests are not all numbered).
    forced_inexact: bool,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(context: Lookup<'a>, request_atoms: u64, want_policy_ids: bool) -> Self {
        Evaluator {
            context,
            request_atoms,
            policy_ids: want_policy_ids.then(Vec::new),
            forced: None,
            forced_inexact: false,
        }
    }

    /// An evaluator whose rule tables take their bits from the combination `numbers` of
    /// numbered tests (see [`crate::xacml::tree`]).
    pub(crate) fn forced(context: Lookup<'a>, numbers: u64) -> Self {
        Evaluator {
            forced: Some(numbers),
            ..Evaluator::new(context, 0, false)
        }
    }

    /// After a forced evaluation: whether its outcome is the tree's outcome for every request
    /// with that combination.
    pub(crate) fn forced_outcome_is_exact(&self) -> bool {
        !self.forced_inexact
    }

    // ----- policies -------------------------------------------------------------------------

    pub(crate) fn eval_node(&mut self, node: &PolicyNode) -> Outcome {
        match node {
            PolicyNode::Policy(p) => self.eval_policy(p),
            PolicyNode::PolicySet(s) => self.eval_policy_set(s),
        }
    }

    pub(crate) fn eval_policy(&mut self, policy: &Policy) -> Outcome {
        let target = self.eval_target(&policy.target);
        if let MatchResult::NoMatch = target {
            return Outcome::not_applicable();
        }
        let context = self.context;
        let rules = &policy.rules;
        let vars = &policy.variables;
        let tabled = policy
            .rule_table
            .as_ref()
            .and_then(|table| self.table_bits(table).map(|bits| table.rule_for(bits)));
        let combined = if let Some(decided) = tabled {
            match decided {
                Some(i) => {
                    self.add_actions(Outcome::of(rules[i].effect.into()), &rules[i].actions, vars)
                }
                None => Outcome::not_applicable(),
            }
        } else if policy.rule_index.is_active() {
            let mut candidates = Vec::new();
            policy.rule_index.candidates(&context, &mut candidates);
            policy
                .algorithm
                .combine(candidates.iter().map(|&i| i as usize), |i| {
                    self.eval_rule(&rules[i], vars)
                })
        } else {
            policy
                .algorithm
                .combine(0..rules.len(), |i| self.eval_rule(&rules[i], vars))
        };
        let outcome = self.finish(target, combined, &policy.actions, vars);
        self.note_policy(PolicyKind::Policy, &policy.id, &policy.version, &outcome);
        outcome
    }

    pub(crate) fn eval_policy_set(&mut self, set: &PolicySet) -> Outcome {
        let target = self.eval_target(&set.target);
        if let MatchResult::NoMatch = target {
            return Outcome::not_applicable();
        }
        let combined = if set.child_index.is_active() {
            let mut candidates = Vec::new();
            set.child_index.candidates(&self.context, &mut candidates);
            self.combine_children(set, candidates.iter().map(|&i| i as usize))
        } else {
            self.combine_children(set, 0..set.children.len())
        };
        let outcome = self.finish(target, combined, &set.actions, &[]);
        self.note_policy(PolicyKind::PolicySet, &set.id, &set.version, &outcome);
        outcome
    }

    fn combine_children(
        &mut self,
        set: &PolicySet,
        candidates: impl Iterator<Item = usize>,
    ) -> Outcome {
        let children = &set.children;
        if set.algorithm == Algorithm::OnlyOneApplicable {
            self.only_one_applicable(children, candidates)
        } else {
            set.algorithm
                .combine(candidates, |i| self.eval_node(&children[i]))
        }
    }

    /// The membership bits of a rule table, or `None` when an attribute it tests could not be
    /// supplied by a provider (then the rules are evaluated one by one, so that the provider's
    /// Indeterminate shows exactly as the conditions would raise it).
    fn table_bits(&mut self, table: &RuleTable) -> Option<u32> {
        if let Some(numbers) = self.forced {
            let bits = table.bits_of_numbered(numbers);
            self.forced_inexact |= bits.is_none();
            return Some(bits.unwrap_or(0));
        }
        let bits = tested_bits(&table.attributes, &self.context)?;
        Some(table.prefilled_bits(self.request_atoms) | bits)
    }

    /// only-one-applicable (C.9): Indeterminate if a target is Indeterminate or more than one
    /// child applies; otherwise the one applicable child's result.
    fn only_one_applicable(
        &mut self,
        children: &[PolicyNode],
        candidates: impl Iterator<Item = usize>,
    ) -> Outcome {
        let mut selected = None;
        for i in candidates {
            match self.eval_target(children[i].target()) {
                MatchResult::Indeterminate(s) => return Outcome::indeterminate(Ext::DP, s),
                MatchResult::Match => {
                    if selected.is_some() {
                        return Outcome::indeterminate(
                            Ext::DP,
                            processing_error(
                                "more than one policy is applicable under the \
                                 only-one-applicable combining algorithm",
                            ),
                        );
                    }
                    selected = Some(i);
                }
                MatchResult::NoMatch => {}
            }
        }
        match selected {
            Some(i) => self.eval_node(&children[i]),
            None => Outcome::not_applicable(),
        }
    }

    /// Applies the target result (section 7.13, table 7) and the policy's own obligations.
    fn finish(
        &mut self,
        target: MatchResult,
        combined: Outcome,
        actions: &Actions,
        vars: &[Expr],
    ) -> Outcome {
        let combined = match target {
            MatchResult::Indeterminate(status) => match combined.verdict {
                Verdict::NotApplicable => Outcome::not_applicable(),
                Verdict::Permit => Outcome::indeterminate(Ext::P, status),
                Verdict::Deny => Outcome::indeterminate(Ext::D, status),
                Verdict::Indeterminate(..) => Outcome::of(combined.verdict),
            },
            _ => combined,
        };
        self.add_actions(combined, actions, vars)
    }

    fn note_policy(&mut self, kind: PolicyKind, id: &Arc<str>, version: &Arc<str>, o: &Outcome) {
        if let Some(ids) = &mut self.policy_ids {
            if o.verdict != Verdict::NotApplicable {
                ids.push(PolicyIdentifier {
                    kind,
                    id: id.clone(),
                    version: version.clone(),
                });
            }
        }
    }

    // ----- rules ----------------------------------------------------------------------------

    fn eval_rule(&mut self, rule: &Rule, vars: &[Expr]) -> Outcome {
        let ext = Verdict::from(rule.effect).ext();
        if !rule.target.any_of.is_empty() {
            match self.eval_target(&rule.target) {
                MatchResult::NoMatch => return Outcome::not_applicable(),
                MatchResult::Indeterminate(s) => return Outcome::indeterminate(ext, s),
                MatchResult::Match => {}
            }
        }
        if let Some(condition) = &rule.condition {
            match self.eval_boolean(condition, vars) {
                Ok(true) => {}
                Ok(false) => return Outcome::not_applicable(),
                Err(s) => return Outcome::indeterminate(ext, s),
            }
        }
        self.add_actions(Outcome::of(rule.effect.into()), &rule.actions, vars)
    }

    /// Evaluates the obligation and advice expressions that apply to a Permit or Deny outcome;
    /// an evaluation error turns the outcome into Indeterminate (section 7.18).
    fn add_actions(&mut self, mut outcome: Outcome, actions: &Actions, vars: &[Expr]) -> Outcome {
        if actions.is_empty() {
            return outcome;
        }
        let effect = match outcome.verdict {
            Verdict::Permit => Effect::Permit,
            Verdict::Deny => Effect::Deny,
            _ => return outcome,
        };
        let ext = outcome.verdict.ext();
        for (exprs, into_obligations) in [(&actions.obligations, true), (&actions.advice, false)] {
            for action in exprs.iter().filter(|a| a.applies_to == effect) {
                match self.eval_action(action, vars) {
                    Ok(a) if into_obligations => outcome.obligations.push(a),
                    Ok(a) => outcome.advice.push(a),
                    Err(s) => return Outcome::indeterminate(ext, s),
                }
            }
        }
        outcome
    }

    fn eval_action(
        &mut self,
        action: &ActionExpr,
        vars: &[Expr],
    ) -> Result<Arc<PolicyAction>, Box<Status>> {
        if let Some(constant) = &action.constant {
            return Ok(constant.clone());
        }
        if self.forced.is_some() {
            // Its assignments read the request: not a function of the tests alone.
            self.forced_inexact = true;
            return Ok(Arc::new(PolicyAction {
                id: action.id.clone(),
                assignments: Arc::new([]),
            }));
        }
        let mut assignments = Vec::with_capacity(action.assignments.len());
        for a in &action.assignments {
            let assignment = |value| AttributeAssignment {
                attribute_id: a.attribute_id.clone(),
                category: a.category.clone(),
                issuer: a.issuer.clone(),
                value,
            };
            match self.eval_expr(&a.expr, vars)? {
                Val::Single(v) => assignments.push(assignment(v)),
                // A bag yields one assignment per value (section 5.41); an empty bag yields none.
                Val::Bag(b) => assignments.extend(b.values.into_iter().map(assignment)),
            }
        }
        Ok(Arc::new(PolicyAction {
            id: action.id.clone(),
            assignments: assignments.into(),
        }))
    }

    // ----- targets --------------------------------------------------------------------------

    fn eval_target(&self, target: &Target) -> MatchResult {
        let mut error = None;
        for any_of in &target.any_of {
            let mut matched = false;
            let mut any_error = None;
            for all_of in &any_of.all_of {
                match self.eval_all_of(&all_of.matches) {
                    MatchResult::Match => {
                        matched = true;
                        break;
                    }
                    MatchResult::NoMatch => {}
                    MatchResult::Indeterminate(s) => {
                        any_error.get_or_insert(s);
                    }
                }
            }
            if matched {
                continue;
            }
            match any_error {
                None => return MatchResult::NoMatch,
                Some(s) => {
                    error.get_or_insert(s);
                }
            }
        }
        match error {
            None => MatchResult::Match,
            Some(s) => MatchResult::Indeterminate(s),
        }
    }

    fn eval_all_of(&self, matches: &[Match]) -> MatchResult {
        let mut error = None;
        for m in matches {
            match self.eval_match(m) {
                MatchResult::Match => {}
                MatchResult::NoMatch => return MatchResult::NoMatch,
                MatchResult::Indeterminate(s) => {
                    error.get_or_insert(s);
                }
            }
        }
        match error {
            None => MatchResult::Match,
            Some(s) => MatchResult::Indeterminate(s),
        }
    }

    fn eval_match(&self, m: &Match) -> MatchResult {
        let d = &m.designator;
        let mut present = false;
        let mut error = None;
        for v in self
            .context
            .matching(d.key, d.datatype, d.issuer.as_deref())
        {
            present = true;
            if let Some(re) = &m.regex {
                if functions::regex_matches(re, v) {
                    return MatchResult::Match;
                }
                continue;
            }
            if m.is_equality {
                if m.value.equals(v) {
                    return MatchResult::Match;
                }
                continue;
            }
            let args = [Val::Single(m.value.clone()), Val::Single(v.clone())];
            match (m.function.eval)(&args) {
                Ok(Val::Single(Value::Boolean(true))) => return MatchResult::Match,
                Ok(Val::Single(Value::Boolean(false))) => {}
                Ok(_) => {
                    error.get_or_insert_with(|| {
                        processing_error(format!("{} did not return a boolean", m.function.id))
                    });
                }
                Err(e) => {
                    error.get_or_insert_with(|| e.into());
                }
            }
        }
        if !present {
            if let Some(status) = self.context.failure(d.key) {
                return MatchResult::Indeterminate(Box::new(status.clone()));
            }
            if d.must_be_present {
                return MatchResult::Indeterminate(missing(d));
            }
        }
        match error {
            Some(s) => MatchResult::Indeterminate(s),
            None => MatchResult::NoMatch,
        }
    }

    // ----- expressions ----------------------------------------------------------------------

    /// Evaluates a boolean expression. The shapes conditions are made of (`is-in` over a
    /// designator, `and`/`or`, variable references, boolean literals) are answered directly,
    /// without building an intermediate value: this is the inner loop of rule evaluation.
    fn eval_boolean(&mut self, expr: &Expr, vars: &[Expr]) -> Result<bool, Box<Status>> {
        match expr {
            Expr::IsIn(is_in) => return self.is_in(is_in, vars),
            Expr::Variable(i) => {
                if let Some(e) = vars.get(*i) {
                    return self.eval_boolean(e, vars);
                }
            }
            Expr::Value(Value::Boolean(b)) => return Ok(*b),
            Expr::Apply(a) if matches!(a.function, Function::And | Function::Or) => {
                let stop_on = matches!(a.function, Function::Or);
                let mut error = None;
                for arg in &a.args {
                    match self.eval_boolean(arg, vars) {
                        Ok(b) if b == stop_on => return Ok(stop_on),
                        Ok(_) => {}
                        Err(s) => {
                            error.get_or_insert(s);
                        }
                    }
                }
                return match error {
                    Some(s) => Err(s),
                    None => Ok(!stop_on),
                };
            }
            _ => {}
        }
        match self.eval_expr(expr, vars)? {
            Val::Single(Value::Boolean(b)) => Ok(b),
            _ => Err(processing_error(
                "expression did not evaluate to a single boolean",
            )),
        }
    }

    pub(crate) fn eval_expr(&mut self, expr: &Expr, vars: &[Expr]) -> ExprResult {
        match expr {
            Expr::Value(v) => Ok(Val::Single(v.clone())),
            Expr::Designator(d) => self.designator(d).map(Val::Bag),
            Expr::Apply(a) => self.apply(a, vars),
            Expr::Variable(i) => match vars.get(*i) {
                Some(e) => self.eval_expr(e, vars),
                None => Err(processing_error("reference to an undefined variable")),
            },
            Expr::RegexMatch(r) => match self.eval_expr(&r.subject, vars)? {
                Val::Single(v) => Ok(Val::Single(Value::Boolean(functions::regex_matches(
                    &r.regex, &v,
                )))),
                Val::Bag(_) => Err(processing_error("regexp-match takes a single value")),
            },
            Expr::IsIn(is_in) => Ok(Val::Single(Value::Boolean(self.is_in(is_in, vars)?))),
            Expr::Function(_) => Err(processing_error(
                "a <Function> can only be an argument of a higher-order function",
            )),
        }
    }

    /// `<type>-is-in(value, designator)` over the request's values in place.
    fn is_in(&mut self, is_in: &IsIn, vars: &[Expr]) -> Result<bool, Box<Status>> {
        let evaluated;
        let wanted = match &is_in.value {
            Expr::Value(v) => v,
            other => match self.eval_expr(other, vars)? {
                Val::Single(v) => {
                    evaluated = v;
                    &evaluated
                }
                Val::Bag(_) => return Err(processing_error("is-in takes a single value")),
            },
        };
        let d = &is_in.designator;
        let mut present = false;
        for v in self
            .context
            .matching(d.key, d.datatype, d.issuer.as_deref())
        {
            if wanted.equals(v) {
                return Ok(true);
            }
            present = true;
        }
        if !present {
            if let Some(status) = self.context.failure(d.key) {
                return Err(Box::new(status.clone()));
            }
            if d.must_be_present {
                return Err(missing(d));
            }
        }
        Ok(false)
    }

    fn designator(&self, d: &Designator) -> Result<Bag, Box<Status>> {
        let values: Vec<Value> = self
            .context
            .matching(d.key, d.datatype, d.issuer.as_deref())
            .cloned()
            .collect();
        if values.is_empty() {
            if let Some(status) = self.context.failure(d.key) {
                return Err(Box::new(status.clone()));
            }
            if d.must_be_present {
                return Err(missing(d));
            }
        }
        Ok(Bag {
            datatype: d.datatype,
            values,
        })
    }

    fn apply(&mut self, apply: &Apply, vars: &[Expr]) -> ExprResult {
        match apply.function {
            Function::Strict(f) => {
                let args = apply
                    .args
                    .iter()
                    .map(|a| self.eval_expr(a, vars))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((f.eval)(&args)?)
            }
            Function::And => self.and_or(&apply.args, vars, false),
            Function::Or => self.and_or(&apply.args, vars, true),
            Function::NOf => self.n_of(&apply.args, vars),
            Function::HigherOrder(h) => self.higher_order(h, &apply.args, vars),
        }
    }

    /// `and` (`stop_on` = false) and `or` (`stop_on` = true): evaluated left to right, stopping
    /// at the first argument equal to `stop_on`. An Indeterminate argument makes the result
    /// Indeterminate only if no later argument decides it.
    fn and_or(&mut self, args: &[Expr], vars: &[Expr], stop_on: bool) -> ExprResult {
        let mut error = None;
        for a in args {
            match self.eval_boolean(a, vars) {
                Ok(b) if b == stop_on => return Ok(Val::Single(Value::Boolean(stop_on))),
                Ok(_) => {}
                Err(s) => {
                    error.get_or_insert(s);
                }
            }
        }
        match error {
            Some(s) => Err(s),
            None => Ok(Val::Single(Value::Boolean(!stop_on))),
        }
    }

    /// `n-of` (A.3.5).
    fn n_of(&mut self, args: &[Expr], vars: &[Expr]) -> ExprResult {
        let Some((first, rest)) = args.split_first() else {
            return Err(processing_error("n-of needs at least one argument"));
        };
        let n = match self.eval_expr(first, vars)? {
            Val::Single(Value::Integer(n)) => n,
            _ => {
                return Err(processing_error(
                    "the first argument of n-of must be an integer",
                ))
            }
        };
        if n <= 0 {
            return Ok(Val::Single(Value::Boolean(true)));
        }
        if n as u64 > rest.len() as u64 {
            return Err(processing_error(format!(
                "n-of needs {n} true arguments but has only {}",
                rest.len()
            )));
        }
        let mut trues = 0i64;
        for (i, a) in rest.iter().enumerate() {
            if self.eval_boolean(a, vars)? {
                trues += 1;
                if trues >= n {
                    return Ok(Val::Single(Value::Boolean(true)));
                }
            }
            let remaining = (rest.len() - i - 1) as i64;
            if trues + remaining < n {
                break;
            }
        }
        Ok(Val::Single(Value::Boolean(false)))
    }

    fn higher_order(&mut self, h: HigherOrder, args: &[Expr], vars: &[Expr]) -> ExprResult {
        let Some((Expr::Function(f), rest)) = args.split_first() else {
            return Err(processing_error(
                "the first argument of a higher-order function must be a <Function>",
            ));
        };
        let f = *f;
        let vals = rest
            .iter()
            .map(|a| self.eval_expr(a, vars))
            .collect::<Result<Vec<_>, _>>()?;
        let truth = |r: Result<Val, Box<Status>>| -> Result<bool, Box<Status>> {
            match r? {
                Val::Single(Value::Boolean(b)) => Ok(b),
                _ => Err(processing_error(
                    "the function of a higher-order function did not return a boolean",
                )),
            }
        };
        let boolean = |b: bool| Ok(Val::Single(Value::Boolean(b)));
        match h {
            HigherOrder::AnyOf | HigherOrder::AllOf | HigherOrder::Map => {
                let (bag_pos, bag) = single_bag(&vals)?;
                let mut call_args = vals.clone();
                let mut results = Vec::with_capacity(bag.values.len());
                for v in &bag.values {
                    call_args[bag_pos] = Val::Single(v.clone());
                    let r = call(f, &call_args);
                    match h {
                        HigherOrder::AnyOf => {
                            if truth(r)? {
                                return boolean(true);
                            }
                        }
                        HigherOrder::AllOf => {
                            if !truth(r)? {
                                return boolean(false);
                            }
                        }
                        _ => match r? {
                            Val::Single(v) => results.push(v),
                            Val::Bag(_) => {
                                return Err(processing_error(
                                    "the function given to map must return a single value",
                                ))
                            }
                        },
                    }
                }
                match h {
                    HigherOrder::AnyOf => boolean(false),
                    HigherOrder::AllOf => boolean(true),
                    _ => Ok(Val::Bag(Bag {
                        datatype: map_result_type(f, &bag.datatype),
                        values: results,
                    })),
                }
            }
            HigherOrder::AnyOfAny => {
                // Every combination of one value from each bag argument (A.3.12, 3.0 form).
                let mut found = false;
                let mut error = None;
                for_each_combination(&vals, &mut |combo| {
                    match truth(call(f, combo)) {
                        Ok(true) => {
                            found = true;
                            return false;
                        }
                        Ok(false) => {}
                        Err(s) => {
                            error.get_or_insert(s);
                            return false;
                        }
                    }
                    true
                });
                if let Some(s) = error {
                    return Err(s);
                }
                boolean(found)
            }
            HigherOrder::AllOfAny | HigherOrder::AnyOfAll | HigherOrder::AllOfAll => {
                let [Val::Bag(a), Val::Bag(b)] = vals.as_slice() else {
                    return Err(processing_error(
                        "all-of-any, any-of-all and all-of-all take a function and two bags",
                    ));
                };
                let mut pair = [
                    Val::Single(Value::Boolean(false)),
                    Val::Single(Value::Boolean(false)),
                ];
                let mut test = |x: &Value, y: &Value| {
                    pair[0] = Val::Single(x.clone());
                    pair[1] = Val::Single(y.clone());
                    truth(call(f, &pair))
                };
                let result = match h {
                    HigherOrder::AllOfAny => {
                        let mut all = true;
                        for x in &a.values {
                            let mut any = false;
                            for y in &b.values {
                                if test(x, y)? {
                                    any = true;
                                    break;
                                }
                            }
                            if !any {
                                all = false;
                                break;
                            }
                        }
                        all
                    }
                    HigherOrder::AnyOfAll => {
                        let mut any = false;
                        for x in &a.values {
                            let mut all = true;
                            for y in &b.values {
                                if !test(x, y)? {
                                    all = false;
                                    break;
                                }
                            }
                            if all {
                                any = true;
                                break;
                            }
                        }
                        any
                    }
                    _ => {
                        let mut all = true;
                        'outer: for x in &a.values {
                            for y in &b.values {
                                if !test(x, y)? {
                                    all = false;
                                    break 'outer;
                                }
                            }
                        }
                        all
                    }
                };
                boolean(result)
            }
        }
    }
}

/// The one bag among the arguments of any-of, all-of or map.
fn single_bag(vals: &[Val]) -> Result<(usize, &Bag), Box<Status>> {
    let mut found = None;
    for (i, v) in vals.iter().enumerate() {
        if let Val::Bag(b) = v {
            if found.is_some() {
                return Err(processing_error(
                    "any-of, all-of and map take exactly one bag argument",
                ));
            }
            found = Some((i, b));
        }
    }
    found.ok_or_else(|| processing_error("any-of, all-of and map need one bag argument"))
}

/// The data type of map's result bag.
fn map_result_type(f: Function, input: &super::datatype::DataType) -> super::datatype::DataType {
    match f {
        Function::Strict(s) => match s.ret {
            super::functions::ArgType::Single(dt) | super::functions::ArgType::Bag(dt) => dt,
        },
        Function::And | Function::Or | Function::NOf | Function::HigherOrder(_) => {
            let _ = input;
            super::datatype::DataType::Boolean
        }
    }
}

/// Calls `f` on evaluated arguments (the function argument of a higher-order function).
fn call(f: Function, args: &[Val]) -> ExprResult {
    let as_bool = |v: &Val| match v {
        Val::Single(Value::Boolean(b)) => Ok(*b),
        _ => Err(processing_error("logical functions take boolean arguments")),
    };
    match f {
        Function::Strict(s) => Ok((s.eval)(args)?),
        Function::And => {
            for a in args {
                if !as_bool(a)? {
                    return Ok(Val::Single(Value::Boolean(false)));
                }
            }
            Ok(Val::Single(Value::Boolean(true)))
        }
        Function::Or => {
            for a in args {
                if as_bool(a)? {
                    return Ok(Val::Single(Value::Boolean(true)));
                }
            }
            Ok(Val::Single(Value::Boolean(false)))
        }
        Function::NOf => {
            let Some((Val::Single(Value::Integer(n)), rest)) = args.split_first() else {
                return Err(processing_error(
                    "the first argument of n-of must be an integer",
                ));
            };
            let mut trues = 0i64;
            for a in rest {
                if as_bool(a)? {
                    trues += 1;
                }
            }
            Ok(Val::Single(Value::Boolean(trues >= *n)))
        }
        Function::HigherOrder(_) => Err(processing_error(
            "a higher-order function cannot be the argument of another",
        )),
    }
}

/// Calls `visit` with every combination that takes one value from each bag argument (and the
/// single arguments as they are), until `visit` returns false.
fn for_each_combination(vals: &[Val], visit: &mut dyn FnMut(&[Val]) -> bool) {
    fn rec(
        vals: &[Val],
        i: usize,
        acc: &mut Vec<Val>,
        visit: &mut dyn FnMut(&[Val]) -> bool,
    ) -> bool {
        if i == vals.len() {
            return visit(acc);
        }
        match &vals[i] {
            Val::Single(v) => {
                acc.push(Val::Single(v.clone()));
                let go_on = rec(vals, i + 1, acc, visit);
                acc.pop();
                go_on
            }
            Val::Bag(b) => {
                for v in &b.values {
                    acc.push(Val::Single(v.clone()));
                    let go_on = rec(vals, i + 1, acc, visit);
                    acc.pop();
                    if !go_on {
                        return false;
                    }
                }
                true
            }
        }
    }
    let mut acc = Vec::with_capacity(vals.len());
    rec(vals, 0, &mut acc, visit);
}

/// The Indeterminate of a `MustBePresent` designator that found nothing.
fn missing(d: &Designator) -> Box<Status> {
    Box::new(Status {
        code: StatusCode::MissingAttribute,
        message: Some(format!(
            "attribute {} of category {} ({}) is required but missing",
            d.attribute_id, d.category, d.datatype
        )),
        missing_attributes: vec![MissingAttributeDetail {
            category: d.category.clone(),
            attribute_id: d.attribute_id.clone(),
            datatype: d.datatype,
            issuer: d.issuer.clone(),
        }],
    })
}
