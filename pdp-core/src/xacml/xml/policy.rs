//! Reads XACML 3.0 `<Policy>` and `<PolicySet>` documents into the compiled model.
//!
//! Parsing and the per-document part of compilation happen in one walk: attribute ids and
//! categories are interned, data types and functions resolved, every `<Apply>` type-checked
//! against its function's signature, and variable references resolved (with cycle detection).
//! Policy references are kept as [`Reference`]s for the resolver in `compile`, which sees all
//! documents. Every problem becomes a [`PolicyError`] with file, line and column; the walk goes
//! on after an error so that `akkoord check` can report them all at once.

use std::collections::HashMap;
use std::sync::Arc;

use roxmltree::Node;

use crate::xacml::combine::Algorithm;
use crate::xacml::datatype::DataType;
use crate::xacml::functions::{self, ArgType, Function, HigherOrder};
use crate::xacml::index::ChildIndex;
use crate::xacml::model::{
    attr_key, ActionExpr, Actions, AllOf, AnyOf, Apply, AssignmentExpr, Designator, Effect, Expr,
    IsIn, Match, Policy, RegexMatch, Rule, Symbols, Target,
};
use crate::xacml::pdp::PolicyError;
use crate::xacml::response::{AttributeAssignment, PolicyAction, PolicyKind};
use crate::xacml::table::{Atoms, RuleTable};
use crate::xacml::value::Value;
use crate::xacml::version::VersionMatch;
use crate::xacml::xml::doc::{LineIndex, Position};

/// The XACML 3.0 core schema namespace.
pub const XACML3_NS: &str = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17";

/// A top-level document after parsing: a finished policy, or a policy set whose references are
/// still to be resolved.
pub(crate) enum ParsedDoc {
    Policy(Arc<Policy>),
    PolicySet(ParsedSet),
}

/// A `<PolicySet>` whose children may still contain references.
pub(crate) struct ParsedSet {
    pub id: Arc<str>,
    pub version: Arc<str>,
    pub target: Target,
    pub algorithm: Algorithm,
    pub actions: Actions,
    pub children: Vec<ParsedChild>,
}

pub(crate) enum ParsedChild {
    Policy(Arc<Policy>),
    PolicySet(ParsedSet),
    Reference(Reference),
}

/// A `<PolicyIdReference>` or `<PolicySetIdReference>`.
pub(crate) struct Reference {
    pub kind: PolicyKind,
    pub id: String,
    pub version: VersionMatch,
    pub position: Position,
}

/// Parses one policy document. Returns `None` when it has errors (all pushed to `errors`).
pub(crate) fn parse_policy_document(
    file: &str,
    doc: &roxmltree::Document<'_>,
    symbols: &mut Symbols,
    errors: &mut Vec<PolicyError>,
    rule_tables: Option<&mut Atoms>,
) -> Option<ParsedDoc> {
    let before = errors.len();
    let mut p = Parser {
        file,
        lines: LineIndex::new(doc.input_text()),
        symbols,
        errors,
        ids: IdScope::default(),
        rule_tables,
    };
    let root = doc.root_element();
    let parsed = p.top(root);
    if p.errors.len() > before {
        None
    } else {
        parsed
    }
}

/// Policy and policy-set ids seen in one document, for the uniqueness rule.
#[derive(Default)]
struct IdScope {
    policies: HashMap<(String, String), Position>,
    sets: HashMap<(String, String), Position>,
}

/// The state of a variable definition during compilation of a policy.
enum VarState<'d> {
    Pending(Node<'d, 'd>),
    InProgress,
    Done(Option<ArgType>),
}

/// The variables of the policy being compiled.
struct Vars<'d> {
    ids: HashMap<String, usize>,
    states: Vec<VarState<'d>>,
    exprs: Vec<Option<Expr>>,
    /// How many variable definitions are being compiled, one inside the other.
    depth: usize,
}

/// The longest chain of variables referring to variables. XML nesting is limited by the document
/// loader, but a chain of references is not; without this limit a hostile policy could make
/// compilation and evaluation recurse without bound.
pub const MAX_VARIABLE_CHAIN: usize = 64;

struct Parser<'a, 'd> {
    file: &'a str,
    lines: LineIndex<'d>,
    symbols: &'a mut Symbols,
    errors: &'a mut Vec<PolicyError>,
    ids: IdScope,
    /// Build [`RuleTable`]s for policies of the supported shape (when `Some`), numbering
    /// their tests here (see [`Atoms`]).
    rule_tables: Option<&'a mut Atoms>,
}

type Opt<T> = Option<T>;

impl<'a, 'd: 'a> Parser<'a, 'd> {
    // ----- helpers --------------------------------------------------------------------------

    fn pos(&self, node: Node<'_, '_>) -> Position {
        self.lines.position(node.range().start)
    }

    fn error(&mut self, node: Node<'_, '_>, message: impl Into<String>) {
        let position = self.pos(node);
        self.errors.push(PolicyError {
            file: self.file.to_string(),
            position,
            message: message.into(),
        });
    }

    fn required<'n>(&mut self, node: Node<'n, '_>, attr: &str) -> Opt<&'n str> {
        match node.attribute(attr) {
            Some(v) => Some(v),
            None => {
                self.error(
                    node,
                    format!("<{}> needs the attribute {attr}", node.tag_name().name()),
                );
                None
            }
        }
    }

    /// The element children of `node`, checking that they are in the XACML 3.0 namespace.
    fn elements(&mut self, node: Node<'d, 'd>) -> Vec<Node<'d, 'd>> {
        let mut out = Vec::new();
        for child in node.children() {
            if child.is_element() {
                if child.tag_name().namespace() != Some(XACML3_NS) {
                    self.error(
                        child,
                        format!(
                            "<{}> is not an XACML 3.0 element (namespace {}); use the namespace {XACML3_NS}",
                            child.tag_name().name(),
                            child.tag_name().namespace().unwrap_or("none")
                        ),
                    );
                    continue;
                }
                out.push(child);
            } else if child.is_text() {
                if let Some(t) = child.text() {
                    if !t.trim().is_empty() {
                        self.error(
                            child,
                            format!("unexpected text inside <{}>", node.tag_name().name()),
                        );
                    }
                }
            }
        }
        out
    }

    fn unexpected(&mut self, child: Node<'_, '_>, parent: &str) {
        self.error(
            child,
            format!(
                "<{}> is not allowed inside <{parent}>",
                child.tag_name().name()
            ),
        );
    }

    fn boolean_attr(&mut self, node: Node<'_, '_>, attr: &str, default: bool) -> bool {
        match node.attribute(attr).map(str::trim) {
            None => default,
            Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(other) => {
                self.error(
                    node,
                    format!("{attr}=\"{other}\" must be \"true\" or \"false\""),
                );
                default
            }
        }
    }

    fn datatype(&mut self, node: Node<'_, '_>) -> Opt<DataType> {
        let uri = self.required(node, "DataType")?;
        match DataType::from_uri(uri) {
            Some(dt) => Some(dt),
            None => {
                self.error(
                    node,
                    format!("unknown data type {uri}; use one of the XACML 3.0 data types (for example http://www.w3.org/2001/XMLSchema#string)"),
                );
                None
            }
        }
    }

    fn version_attr(&mut self, node: Node<'_, '_>) -> Arc<str> {
        let v = node.attribute("Version").unwrap_or("1.0");
        if !crate::xacml::version::is_valid_version(v) {
            self.error(
                node,
                format!("Version=\"{v}\" is not a version number such as 1.0 or 2.1.3"),
            );
        }
        Arc::from(v)
    }

    // ----- documents ------------------------------------------------------------------------

    fn top(&mut self, root: Node<'d, 'd>) -> Opt<ParsedDoc> {
        let name = root.tag_name();
        if name.namespace() != Some(XACML3_NS) {
            let hint = match name.namespace() {
                Some(ns) if ns.contains("xacml:2.0") || ns.contains("xacml:1.0") => {
                    " (this looks like an XACML 1.0/2.0 policy; convert it to XACML 3.0)"
                }
                _ => "",
            };
            self.error(
                root,
                format!(
                    "the root element <{}> is not in the XACML 3.0 namespace {XACML3_NS}{hint}",
                    name.name()
                ),
            );
            return None;
        }
        match name.name() {
            "Policy" => self.policy(root).map(ParsedDoc::Policy),
            "PolicySet" => self.policy_set(root).map(ParsedDoc::PolicySet),
            other => {
                self.error(
                    root,
                    format!("the root element is <{other}>; a policy document starts with <Policy> or <PolicySet>"),
                );
                None
            }
        }
    }

    fn note_id(&mut self, node: Node<'_, '_>, kind: PolicyKind, id: &str, version: &str) {
        let pos = self.pos(node);
        let map = match kind {
            PolicyKind::Policy => &mut self.ids.policies,
            PolicyKind::PolicySet => &mut self.ids.sets,
        };
        let key = (id.to_string(), version.to_string());
        if let Some(first) = map.get(&key) {
            let first = *first;
            let what = match kind {
                PolicyKind::Policy => "PolicyId",
                PolicyKind::PolicySet => "PolicySetId",
            };
            self.error(
                node,
                format!("{what} \"{id}\" version {version} is already used at line {}; ids must be unique within a policy set", first.line),
            );
        } else {
            map.insert(key, pos);
        }
    }

    fn policy_set(&mut self, node: Node<'d, 'd>) -> Opt<ParsedSet> {
        let id = self.required(node, "PolicySetId");
        let version = self.version_attr(node);
        if let Some(id) = id {
            self.note_id(node, PolicyKind::PolicySet, id, &version);
        }
        let algorithm = self.algorithm(node, "PolicyCombiningAlgId", true);
        let mut target = None;
        let mut actions = Actions::default();
        let mut children = Vec::new();
        for child in self.elements(node) {
            match child.tag_name().name() {
                "Description" | "PolicyIssuer" | "PolicySetDefaults" => {}
                "CombinerParameters"
                | "PolicyCombinerParameters"
                | "PolicySetCombinerParameters" => self.combiner_parameters(child),
                "Target" => target = self.target(child),
                "Policy" => {
                    if let Some(p) = self.policy(child) {
                        children.push(ParsedChild::Policy(p));
                    }
                }
                "PolicySet" => {
                    if let Some(s) = self.policy_set(child) {
                        children.push(ParsedChild::PolicySet(s));
                    }
                }
                "PolicyIdReference" => {
                    if let Some(r) = self.reference(child, PolicyKind::Policy) {
                        children.push(ParsedChild::Reference(r));
                    }
                }
                "PolicySetIdReference" => {
                    if let Some(r) = self.reference(child, PolicyKind::PolicySet) {
                        children.push(ParsedChild::Reference(r));
                    }
                }
                "ObligationExpressions" => {
                    actions.obligations = self.action_exprs(child, None, true)
                }
                "AdviceExpressions" => actions.advice = self.action_exprs(child, None, false),
                _ => self.unexpected(child, "PolicySet"),
            }
        }
        if target.is_none() && !self.has_child(node, "Target") {
            self.error(
                node,
                "<PolicySet> needs a <Target> (an empty <Target/> matches every request)",
            );
        }
        Some(ParsedSet {
            id: Arc::from(id?),
            version,
            target: target?,
            algorithm: algorithm?,
            actions,
            children,
        })
    }

    fn has_child(&self, node: Node<'_, '_>, name: &str) -> bool {
        node.children()
            .any(|c| c.is_element() && c.tag_name().name() == name)
    }

    fn algorithm(&mut self, node: Node<'_, '_>, attr: &str, policy: bool) -> Opt<Algorithm> {
        let id = self.required(node, attr)?;
        let alg = if policy {
            Algorithm::policy_algorithm(id)
        } else {
            Algorithm::rule_algorithm(id)
        };
        if alg.is_none() {
            let kind = if policy { "policy" } else { "rule" };
            let hint = if !policy && id.ends_with("only-one-applicable") {
                " (only-one-applicable combines policies, not rules)"
            } else {
                ""
            };
            self.error(
                node,
                format!("unknown {kind}-combining algorithm {id}{hint}"),
            );
        }
        alg
    }

    /// `<CombinerParameters>` and its relatives are accepted; no standard algorithm uses them.
    fn combiner_parameters(&mut self, node: Node<'d, 'd>) {
        for param in self.elements(node) {
            if param.tag_name().name() != "CombinerParameter" {
                self.unexpected(param, node.tag_name().name());
                continue;
            }
            self.required(param, "ParameterName");
            for v in self.elements(param) {
                if v.tag_name().name() == "AttributeValue" {
                    self.attribute_value(v);
                } else {
                    self.unexpected(v, "CombinerParameter");
                }
            }
        }
    }

    fn reference(&mut self, node: Node<'_, '_>, kind: PolicyKind) -> Opt<Reference> {
        let id = node.text().unwrap_or("").trim();
        if id.is_empty() {
            self.error(
                node,
                format!(
                    "<{}> is empty; put the referenced id inside it",
                    node.tag_name().name()
                ),
            );
            return None;
        }
        let version = match VersionMatch::new(
            node.attribute("Version"),
            node.attribute("EarliestVersion"),
            node.attribute("LatestVersion"),
        ) {
            Ok(v) => v,
            Err(e) => {
                self.error(node, e);
                return None;
            }
        };
        Some(Reference {
            kind,
            id: id.to_string(),
            version,
            position: self.pos(node),
        })
    }

    fn policy(&mut self, node: Node<'d, 'd>) -> Opt<Arc<Policy>> {
        let id = self.required(node, "PolicyId");
        let version = self.version_attr(node);
        if let Some(id) = id {
            self.note_id(node, PolicyKind::Policy, id, &version);
        }
        let algorithm = self.algorithm(node, "RuleCombiningAlgId", false);
        let children = self.elements(node);
        // Variables first, so that references may point forward.
        let mut vars = Vars {
            ids: HashMap::new(),
            states: Vec::new(),
            exprs: Vec::new(),
            depth: 0,
        };
        for &child in &children {
            if child.tag_name().name() == "VariableDefinition" {
                let Some(vid) = self.required(child, "VariableId") else {
                    continue;
                };
                if vars.ids.contains_key(vid) {
                    self.error(
                        child,
                        format!("VariableId \"{vid}\" is defined twice in this policy"),
                    );
                    continue;
                }
                vars.ids.insert(vid.to_string(), vars.states.len());
                vars.states.push(VarState::Pending(child));
                vars.exprs.push(None);
            }
        }
        for i in 0..vars.states.len() {
            self.variable(&mut vars, i);
        }
        let mut target = None;
        let mut rules: Vec<Rule> = Vec::new();
        let mut rule_ids: HashMap<Arc<str>, Position> = HashMap::new();
        let mut actions = Actions::default();
        for &child in &children {
            match child.tag_name().name() {
                "Description" | "PolicyIssuer" | "PolicyDefaults" | "VariableDefinition" => {}
                "CombinerParameters" | "RuleCombinerParameters" => self.combiner_parameters(child),
                "Target" => target = self.target(child),
                "Rule" => {
                    if let Some(rule) = self.rule(child, &mut vars) {
                        if let Some(first) = rule_ids.get(&rule.id) {
                            let line = first.line;
                            self.error(
                                child,
                                format!(
                                    "RuleId \"{}\" is already used at line {line} in this policy",
                                    rule.id
                                ),
                            );
                        } else {
                            rule_ids.insert(rule.id.clone(), self.pos(child));
                        }
                        rules.push(rule);
                    }
                }
                "ObligationExpressions" => {
                    actions.obligations = self.action_exprs(child, Some(&mut vars), true)
                }
                "AdviceExpressions" => {
                    actions.advice = self.action_exprs(child, Some(&mut vars), false)
                }
                _ => self.unexpected(child, "Policy"),
            }
        }
        if target.is_none() && !self.has_child(node, "Target") {
            self.error(
                node,
                "<Policy> needs a <Target> (an empty <Target/> matches every request)",
            );
        }
        let variables: Vec<Expr> = vars
            .exprs
            .into_iter()
            .map(|e| e.unwrap_or(Expr::Value(Value::Boolean(false))))
            .collect();
        let rule_index = ChildIndex::build(rules.iter().map(|r| &r.target));
        let algorithm = algorithm?;
        let rule_table = match self.rule_tables.as_deref_mut() {
            Some(atoms) => RuleTable::build(algorithm, &rules, &variables, atoms),
            None => None,
        };
        Some(Arc::new(Policy {
            id: Arc::from(id?),
            version,
            target: target?,
            variables,
            rules,
            algorithm,
            actions,
            rule_index,
            rule_table,
        }))
    }

    /// Compiles variable `i` (and, recursively, the variables it references).
    fn variable(&mut self, vars: &mut Vars<'d>, i: usize) -> Opt<ArgType> {
        match std::mem::replace(&mut vars.states[i], VarState::InProgress) {
            VarState::Done(t) => {
                vars.states[i] = VarState::Done(t);
                t
            }
            VarState::InProgress => None, // reported by the reference that closed the cycle
            VarState::Pending(node) => {
                if vars.depth >= MAX_VARIABLE_CHAIN {
                    self.error(node, format!("variables refer to each other more than {MAX_VARIABLE_CHAIN} levels deep; simplify the chain of <VariableReference>s"));
                    vars.states[i] = VarState::Done(None);
                    return None;
                }
                vars.depth += 1;
                let kids = self.elements(node);
                let compiled = match kids.as_slice() {
                    [e] => self.expression(*e, Some(vars)),
                    _ => {
                        self.error(
                            node,
                            "<VariableDefinition> must contain exactly one expression",
                        );
                        None
                    }
                };
                vars.depth -= 1;
                let t = compiled.as_ref().and_then(|(_, t)| *t);
                vars.exprs[i] = compiled.map(|(e, _)| e);
                vars.states[i] = VarState::Done(t);
                t
            }
        }
    }

    fn rule(&mut self, node: Node<'d, 'd>, vars: &mut Vars<'d>) -> Opt<Rule> {
        let id = self.required(node, "RuleId");
        let effect = match self.required(node, "Effect") {
            Some("Permit") => Some(Effect::Permit),
            Some("Deny") => Some(Effect::Deny),
            Some(other) => {
                self.error(
                    node,
                    format!("Effect=\"{other}\" must be \"Permit\" or \"Deny\""),
                );
                None
            }
            None => None,
        };
        let mut target = Some(Target::default());
        let mut condition = None;
        let mut actions = Actions::default();
        let mut ok = true;
        for child in self.elements(node) {
            match child.tag_name().name() {
                "Description" => {}
                "Target" => target = self.target(child),
                "Condition" => {
                    let kids = self.elements(child);
                    match kids.as_slice() {
                        [e] => match self.expression(*e, Some(vars)) {
                            Some((expr, Some(ArgType::Single(DataType::Boolean)))) => {
                                condition = Some(expr)
                            }
                            Some((_, t)) => {
                                ok = false;
                                self.error(child, format!("a <Condition> must evaluate to a single boolean, but this one is {}", describe(t)));
                            }
                            None => ok = false,
                        },
                        _ => {
                            ok = false;
                            self.error(child, "<Condition> must contain exactly one expression");
                        }
                    }
                }
                "ObligationExpressions" => {
                    actions.obligations = self.action_exprs(child, Some(vars), true)
                }
                "AdviceExpressions" => actions.advice = self.action_exprs(child, Some(vars), false),
                _ => self.unexpected(child, "Rule"),
            }
        }
        if !ok {
            return None;
        }
        Some(Rule {
            id: Arc::from(id?),
            effect: effect?,
            target: target?,
            condition,
            actions,
        })
    }

    // ----- targets --------------------------------------------------------------------------

    fn target(&mut self, node: Node<'d, 'd>) -> Opt<Target> {
        let mut target = Target::default();
        let mut ok = true;
        for any in self.elements(node) {
            if any.tag_name().name() != "AnyOf" {
                self.unexpected(any, "Target");
                ok = false;
                continue;
            }
            let mut any_of = AnyOf::default();
            for all in self.elements(any) {
                if all.tag_name().name() != "AllOf" {
                    self.unexpected(all, "AnyOf");
                    ok = false;
                    continue;
                }
                let mut all_of = AllOf::default();
                for m in self.elements(all) {
                    if m.tag_name().name() != "Match" {
                        self.unexpected(m, "AllOf");
                        ok = false;
                        continue;
                    }
                    match self.match_(m) {
                        Some(m) => all_of.matches.push(m),
                        None => ok = false,
                    }
                }
                if all_of.matches.is_empty() && ok {
                    self.error(all, "<AllOf> must contain at least one <Match>");
                    ok = false;
                }
                any_of.all_of.push(all_of);
            }
            if any_of.all_of.is_empty() && ok {
                self.error(any, "<AnyOf> must contain at least one <AllOf>");
                ok = false;
            }
            target.any_of.push(any_of);
        }
        ok.then_some(target)
    }

    fn match_(&mut self, node: Node<'d, 'd>) -> Opt<Match> {
        let id = self.required(node, "MatchId")?;
        let function = match functions::lookup(id) {
            Some(Function::Strict(f)) => Some(f),
            Some(_) => {
                self.error(node, format!("{id} cannot be a MatchId: a match function takes two single values and returns a boolean"));
                None
            }
            None => {
                self.error(node, format!("unknown function {id} in MatchId"));
                None
            }
        };
        let mut value = None;
        let mut designator = None;
        for child in self.elements(node) {
            match child.tag_name().name() {
                "AttributeValue" => value = self.attribute_value(child),
                "AttributeDesignator" => designator = self.designator(child),
                "AttributeSelector" => {
                    self.selector_unsupported(child);
                    return None;
                }
                _ => self.unexpected(child, "Match"),
            }
        }
        let (function, value, designator) = (function?, value?, designator?);
        let expected = [
            ArgType::Single(value.datatype()),
            ArgType::Single(designator.datatype),
        ];
        if function.params != expected || function.ret != ArgType::Single(DataType::Boolean) {
            self.error(
                node,
                format!(
                    "MatchId {} takes ({}) and returns {}, but this <Match> gives it a {} value and a {} designator",
                    function.id,
                    function.params.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
                    function.ret,
                    value.datatype(),
                    designator.datatype
                ),
            );
            return None;
        }
        let is_equality =
            std::ptr::eq(function, functions::equality_function_for(value.datatype()));
        let regex = if functions::is_regexp_match(function) {
            let pattern = value.as_str().unwrap_or_default();
            match functions::compile_xsd_regex(pattern) {
                Ok(re) => Some(re),
                Err(e) => {
                    self.error(node, format!("{}: {e}", function.id));
                    return None;
                }
            }
        } else {
            None
        };
        Some(Match {
            function,
            is_equality,
            regex,
            value,
            designator,
        })
    }

    fn selector_unsupported(&mut self, node: Node<'_, '_>) {
        self.error(
            node,
            "<AttributeSelector> (XPath over request <Content>) is an optional XACML feature that Akkoord does not support; use an <AttributeDesignator>",
        );
    }

    // ----- expressions ----------------------------------------------------------------------

    fn attribute_value(&mut self, node: Node<'_, '_>) -> Opt<Value> {
        let dt = self.datatype(node)?;
        let elements: Vec<Node<'_, '_>> = node.children().filter(|c| c.is_element()).collect();
        if !elements.is_empty() {
            // Structured values (the HL7 II and CV extension types) are element content.
            if elements.len() > 1 {
                self.error(node, "an <AttributeValue> holds at most one element");
                return None;
            }
            return match Value::from_xml_element(dt, elements[0]) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.error(elements[0], e.to_string());
                    None
                }
            };
        }
        let text: String = node
            .children()
            .filter(|c| c.is_text())
            .filter_map(|c| c.text())
            .collect();
        let parsed = if dt == DataType::XPathExpression {
            match node.attribute("XPathCategory") {
                Some(cat) => Ok(Value::xpath(cat, text.trim())),
                None => {
                    self.error(
                        node,
                        "an xpathExpression value needs the XPathCategory attribute",
                    );
                    return None;
                }
            }
        } else {
            Value::parse(dt, &text)
        };
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(node, e.to_string());
                None
            }
        }
    }

    fn designator(&mut self, node: Node<'_, '_>) -> Opt<Designator> {
        let category = self.required(node, "Category");
        let attribute = self.required(node, "AttributeId");
        let datatype = self.datatype(node);
        let must_be_present = self.boolean_attr(node, "MustBePresent", false);
        let (category, attribute, datatype) = (category?, attribute?, datatype?);
        let key = attr_key(
            self.symbols.intern(category),
            self.symbols.intern(attribute),
        );
        Some(Designator {
            key,
            category: Arc::from(category),
            attribute_id: Arc::from(attribute),
            datatype,
            issuer: node.attribute("Issuer").map(Arc::from),
            must_be_present,
        })
    }

    /// Compiles an expression element. Returns the expression and its type (`None` for a
    /// `<Function>` argument, which has no value type).
    fn expression(
        &mut self,
        node: Node<'d, 'd>,
        mut vars: Option<&mut Vars<'d>>,
    ) -> Opt<(Expr, Option<ArgType>)> {
        match node.tag_name().name() {
            "AttributeValue" => {
                let v = self.attribute_value(node)?;
                let t = ArgType::Single(v.datatype());
                Some((Expr::Value(v), Some(t)))
            }
            "AttributeDesignator" => {
                let d = self.designator(node)?;
                let t = ArgType::Bag(d.datatype);
                Some((Expr::Designator(d), Some(t)))
            }
            "AttributeSelector" => {
                self.selector_unsupported(node);
                None
            }
            "Function" => {
                let id = self.required(node, "FunctionId")?;
                match functions::lookup(id) {
                    Some(f) => Some((Expr::Function(f), None)),
                    None => {
                        self.error(node, format!("unknown function {id}"));
                        None
                    }
                }
            }
            "VariableReference" => {
                let id = self.required(node, "VariableId")?;
                let Some(vars) = vars.as_deref_mut() else {
                    self.error(node, format!("<VariableReference> to \"{id}\" outside a policy; variables are only defined in a <Policy>"));
                    return None;
                };
                let Some(&i) = vars.ids.get(id) else {
                    self.error(node, format!("<VariableReference> to \"{id}\", which no <VariableDefinition> in this policy defines"));
                    return None;
                };
                if let VarState::InProgress = vars.states[i] {
                    self.error(node, format!("variable \"{id}\" refers to itself (directly or through other variables)"));
                    return None;
                }
                let t = self.variable(vars, i)?;
                Some((Expr::Variable(i), Some(t)))
            }
            "Apply" => self.apply(node, vars),
            other => {
                self.error(node, format!("<{other}> is not an expression; expected <Apply>, <AttributeValue>, <AttributeDesignator>, <VariableReference> or <Function>"));
                None
            }
        }
    }

    fn apply(
        &mut self,
        node: Node<'d, 'd>,
        mut vars: Option<&mut Vars<'d>>,
    ) -> Opt<(Expr, Option<ArgType>)> {
        let id = self.required(node, "FunctionId")?;
        let function = functions::lookup(id);
        if function.is_none() {
            self.error(node, format!("unknown function {id}"));
        }
        let mut args = Vec::new();
        let mut types = Vec::new();
        let mut ok = true;
        for child in self.elements(node) {
            if child.tag_name().name() == "Description" {
                continue;
            }
            match self.expression(child, vars.as_deref_mut()) {
                Some((e, t)) => {
                    args.push(e);
                    types.push(t);
                }
                None => ok = false,
            }
        }
        let function = function?;
        if !ok {
            return None;
        }
        match check_apply(function, &args, &types) {
            Ok(ret) => {
                if let Some(expr) = self.literal_regex(node, function, &mut args) {
                    return expr.map(|e| (e, Some(ret)));
                }
                if let Some(expr) = is_in_designator(function, &mut args) {
                    return Some((expr, Some(ret)));
                }
                Some((
                    Expr::Apply(Box::new(Apply {
                        function,
                        args,
                        ret,
                    })),
                    Some(ret),
                ))
            }
            Err(msg) => {
                self.error(node, format!("{id}: {msg}"));
                None
            }
        }
    }

    /// A `*-regexp-match` with a literal pattern becomes a [`RegexMatch`] with the pattern
    /// compiled now; an invalid literal pattern is a load error. Returns `None` when the call is
    /// not of that shape, `Some(None)` when the pattern is invalid.
    fn literal_regex(
        &mut self,
        node: Node<'_, '_>,
        function: Function,
        args: &mut Vec<Expr>,
    ) -> Option<Opt<Expr>> {
        let Function::Strict(f) = function else {
            return None;
        };
        if !functions::is_regexp_match(f) || args.len() != 2 {
            return None;
        }
        let Expr::Value(Value::String(pattern)) = &args[0] else {
            return None;
        };
        match functions::compile_xsd_regex(pattern) {
            Ok(regex) => {
                let subject = args.pop()?;
                Some(Some(Expr::RegexMatch(Box::new(RegexMatch {
                    regex,
                    subject,
                }))))
            }
            Err(e) => {
                self.error(node, format!("{}: {e}", f.id));
                Some(None)
            }
        }
    }

    // ----- obligations and advice -----------------------------------------------------------

    fn action_exprs(
        &mut self,
        node: Node<'d, 'd>,
        mut vars: Option<&mut Vars<'d>>,
        obligations: bool,
    ) -> Vec<ActionExpr> {
        let (item, id_attr, on_attr) = if obligations {
            ("ObligationExpression", "ObligationId", "FulfillOn")
        } else {
            ("AdviceExpression", "AdviceId", "AppliesTo")
        };
        let mut out = Vec::new();
        for child in self.elements(node) {
            if child.tag_name().name() != item {
                self.unexpected(child, node.tag_name().name());
                continue;
            }
            let id = self.required(child, id_attr);
            let applies_to = match self.required(child, on_attr) {
                Some("Permit") => Some(Effect::Permit),
                Some("Deny") => Some(Effect::Deny),
                Some(other) => {
                    self.error(
                        child,
                        format!("{on_attr}=\"{other}\" must be \"Permit\" or \"Deny\""),
                    );
                    None
                }
                None => None,
            };
            let mut assignments = Vec::new();
            for a in self.elements(child) {
                if a.tag_name().name() != "AttributeAssignmentExpression" {
                    self.unexpected(a, item);
                    continue;
                }
                let attribute_id = self.required(a, "AttributeId");
                let kids = self.elements(a);
                let expr = match kids.as_slice() {
                    [e] => self.expression(*e, vars.as_deref_mut()),
                    _ => {
                        self.error(
                            a,
                            "<AttributeAssignmentExpression> must contain exactly one expression",
                        );
                        None
                    }
                };
                if let (Some(attribute_id), Some((expr, t))) = (attribute_id, expr) {
                    if t.is_none() {
                        self.error(a, "a <Function> is not a value; an attribute assignment needs a value or a bag");
                        continue;
                    }
                    assignments.push(AssignmentExpr {
                        attribute_id: Arc::from(attribute_id),
                        category: a.attribute("Category").map(Arc::from),
                        issuer: a.attribute("Issuer").map(Arc::from),
                        expr,
                    });
                }
            }
            if let (Some(id), Some(applies_to)) = (id, applies_to) {
                let id: Arc<str> = Arc::from(id);
                let constant = assignments
                    .iter()
                    .map(|a| match &a.expr {
                        Expr::Value(v) => Some(AttributeAssignment {
                            attribute_id: a.attribute_id.clone(),
                            category: a.category.clone(),
                            issuer: a.issuer.clone(),
                            value: v.clone(),
                        }),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(|assignments| {
                        Arc::new(PolicyAction {
                            id: id.clone(),
                            assignments: assignments.into(),
                        })
                    });
                out.push(ActionExpr {
                    id,
                    applies_to,
                    assignments,
                    constant,
                });
            }
        }
        out
    }
}

/// `<type>-is-in(x, designator)` becomes an [`Expr::IsIn`], which the evaluator runs over the
/// request's values in place. Every standard `-is-in` is "some member equals x" under the data
/// type's own equality, which is what [`Value::equals`] implements.
fn is_in_designator(function: Function, args: &mut Vec<Expr>) -> Option<Expr> {
    let Function::Strict(f) = function else {
        return None;
    };
    if !f.id.ends_with("-is-in") || args.len() != 2 {
        return None;
    }
    if !matches!(args[1], Expr::Designator(_)) {
        return None;
    }
    let Some(Expr::Designator(designator)) = args.pop() else {
        return None;
    };
    let value = args.pop()?;
    Some(Expr::IsIn(Box::new(IsIn { value, designator })))
}

fn describe(t: Option<ArgType>) -> String {
    match t {
        Some(t) => format!("a {t}"),
        None => "a function".to_string(),
    }
}

/// Type-checks an application of `function` to arguments of types `types`, returning the result
/// type or a sentence saying what is wrong.
fn check_apply(
    function: Function,
    args: &[Expr],
    types: &[Option<ArgType>],
) -> Result<ArgType, String> {
    match function {
        Function::HigherOrder(h) => {
            let Some(Expr::Function(inner)) = args.first() else {
                return Err(
                    "the first argument of a higher-order function must be a <Function>".into(),
                );
            };
            let rest: Vec<ArgType> = types[1..]
                .iter()
                .map(|t| t.ok_or_else(|| "only the first argument may be a <Function>".to_string()))
                .collect::<Result<_, _>>()?;
            check_higher_order(h, *inner, &rest)
        }
        other => {
            let values: Vec<ArgType> = types
                .iter()
                .map(|t| {
                    t.ok_or_else(|| {
                        "a <Function> can only be the first argument of a higher-order function"
                            .to_string()
                    })
                })
                .collect::<Result<_, _>>()?;
            check_call(other, &values)
        }
    }
}

/// Type-checks a first-order call.
fn check_call(function: Function, types: &[ArgType]) -> Result<ArgType, String> {
    let boolean = ArgType::Single(DataType::Boolean);
    let expect_all = |types: &[ArgType], want: ArgType, from: usize| -> Result<(), String> {
        for (i, t) in types.iter().enumerate() {
            if *t != want {
                return Err(format!(
                    "argument {} is a {t}, expected a {want}",
                    i + 1 + from
                ));
            }
        }
        Ok(())
    };
    match function {
        Function::And | Function::Or => {
            expect_all(types, boolean, 0)?;
            Ok(boolean)
        }
        Function::NOf => {
            let Some((first, rest)) = types.split_first() else {
                return Err("n-of needs an integer argument".into());
            };
            if *first != ArgType::Single(DataType::Integer) {
                return Err(format!("argument 1 is a {first}, expected an integer"));
            }
            expect_all(rest, boolean, 1)?;
            Ok(boolean)
        }
        Function::HigherOrder(_) => Err("a higher-order function cannot be called here".into()),
        Function::Strict(f) => {
            let n = types.len();
            let count_ok = match f.variadic {
                Some(_) => n >= f.min_args,
                None => n == f.params.len(),
            };
            if !count_ok {
                return Err(match f.variadic {
                    Some(_) => format!("takes at least {} arguments, got {n}", f.min_args),
                    None => format!("takes {} arguments, got {n}", f.params.len()),
                });
            }
            for (i, t) in types.iter().enumerate() {
                let want = f.params.get(i).copied().or(f.variadic);
                if Some(*t) != want {
                    let want = want.map_or("nothing".to_string(), |w| format!("a {w}"));
                    return Err(format!("argument {} is a {t}, expected {want}", i + 1));
                }
            }
            Ok(f.ret)
        }
    }
}

fn element_type(t: ArgType) -> ArgType {
    match t {
        ArgType::Bag(dt) | ArgType::Single(dt) => ArgType::Single(dt),
    }
}

fn check_higher_order(
    h: HigherOrder,
    inner: Function,
    rest: &[ArgType],
) -> Result<ArgType, String> {
    let boolean = ArgType::Single(DataType::Boolean);
    let bags = rest.iter().filter(|t| matches!(t, ArgType::Bag(_))).count();
    let elements: Vec<ArgType> = rest.iter().map(|t| element_type(*t)).collect();
    match h {
        HigherOrder::AnyOf | HigherOrder::AllOf | HigherOrder::Map => {
            if bags != 1 {
                return Err(format!(
                    "takes a function, single values and exactly one bag; got {bags} bags"
                ));
            }
            let ret = check_call(inner, &elements)?;
            match (h, ret) {
                (HigherOrder::Map, ArgType::Single(dt)) => Ok(ArgType::Bag(dt)),
                (HigherOrder::Map, _) => {
                    Err("the function given to map must return a single value".into())
                }
                (_, r) if r == boolean => Ok(boolean),
                (_, r) => Err(format!("the function must return a boolean, not a {r}")),
            }
        }
        HigherOrder::AnyOfAny => {
            if rest.is_empty() {
                return Err("takes a function and at least one argument".into());
            }
            let ret = check_call(inner, &elements)?;
            if ret != boolean {
                return Err(format!("the function must return a boolean, not a {ret}"));
            }
            Ok(boolean)
        }
        HigherOrder::AllOfAny | HigherOrder::AnyOfAll | HigherOrder::AllOfAll => {
            if rest.len() != 2 || bags != 2 {
                return Err("takes a function and two bags".into());
            }
            let ret = check_call(inner, &elements)?;
            if ret != boolean {
                return Err(format!("the function must return a boolean, not a {ret}"));
            }
            Ok(boolean)
        }
    }
}
