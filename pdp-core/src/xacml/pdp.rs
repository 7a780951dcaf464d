//! The public face of the engine: compile policies once, evaluate requests many times.

use std::fmt;

use super::compile::{self, LoadedDoc};
use std::sync::Arc;

use super::context::{interned_entries, Context, Entry, Lookup};
use super::eval::{Evaluator, Outcome, Verdict};
use super::model::{PolicyNode, Symbols};
use super::provider::{
    AttributeProvider, BoundProvider, PreparedInputs, ProvidedAttributes, ProviderRequest,
};
use super::request::{Request, RequestCategory, RequestTime};
use super::response::{Decision, DecisionResult, PolicyIdentifier, Response, Status, StatusCode};
use super::table::Atoms;
use super::tree::TreeTable;
use super::xml::doc::{parse_document, Position, XmlLimits};
use super::xml::policy::parse_policy_document;

/// One policy document to load: a name for error messages (usually the file path) and its text.
#[derive(Clone, Copy, Debug)]
pub struct PolicySource<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Options of the compile step.
#[derive(Clone, Copy, Debug)]
pub struct CompileOptions {
    pub xml_limits: XmlLimits,
    /// Compile decision tables for policies whose rules only test membership (see
    /// [`crate::xacml::table`]). On by default; off evaluates every rule in turn (same results).
    pub rule_tables: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            xml_limits: XmlLimits::default(),
            rule_tables: true,
        }
    }
}

/// A policy that cannot be loaded: where, and what is wrong in a sentence saying what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub position: Position,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.position, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// A compiled policy decision point: the root policy (or policy set) with everything it
/// references, ready to evaluate. Immutable and `Send + Sync`: share it behind an `Arc`.
pub struct Pdp {
    root: PolicyNode,
    symbols: Symbols,
    provider: Option<BoundProvider>,
    /// The rule tables' tests on request attributes, answered in [`Pdp::prepare`].
    request_atoms: Atoms,
    /// The whole tree as one table, when its shape allows (see [`crate::xacml::tree`]).
    tree: Option<TreeTable>,
}

/// An individual decision request, interned and ready to evaluate (see [`Pdp::prepare`]).
#[derive(Clone)]
pub struct PreparedRequest {
    context: Context,
    echo: Arc<Vec<Arc<RequestCategory>>>,
    return_policy_ids: bool,
    time: RequestTime,
    /// What the attribute provider prepared for this request, if anything.
    provider_inputs: Option<PreparedInputs>,
    /// The answers to the PDP's request atoms (see [`crate::xacml::table`]).
    request_atoms: u64,
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("context", &self.context)
            .field("echo", &self.echo)
            .field("return_policy_ids", &self.return_policy_ids)
            .field("time", &self.time)
            .field("provider_inputs", &self.provider_inputs.is_some())
            .finish()
    }
}

impl Pdp {
    /// Parses and compiles `sources`; the first is the root, the others are reachable through
    /// `PolicyIdReference`/`PolicySetIdReference`. Returns every error found, in input order.
    pub fn compile(
        sources: &[PolicySource<'_>],
        options: &CompileOptions,
    ) -> Result<Pdp, Vec<PolicyError>> {
        Pdp::compile_with_provider(sources, options, None)
    }

    /// Like [`Pdp::compile`], with a policy information point that supplies attributes at
    /// decision time (see [`crate::xacml::provider`]).
    pub fn compile_with_provider(
        sources: &[PolicySource<'_>],
        options: &CompileOptions,
        provider: Option<Arc<dyn AttributeProvider>>,
    ) -> Result<Pdp, Vec<PolicyError>> {
        if sources.is_empty() {
            return Err(vec![PolicyError {
                file: String::new(),
                position: Position::default(),
                message: "no policy given; pass at least the root policy".to_string(),
            }]);
        }
        let mut symbols = Symbols::default();
        let provider = provider.map(|p| BoundProvider::bind(p, &mut symbols));
        let mut request_atoms = Atoms::new(provider.as_ref().map_or(&[], |p| &p.output_keys[..]));
        let mut errors = Vec::new();
        let mut docs = Vec::with_capacity(sources.len());
        for src in sources {
            let doc = match parse_document(src.text, &options.xml_limits) {
                Ok(doc) => doc,
                Err(e) => {
                    errors.push(PolicyError {
                        file: src.name.to_string(),
                        position: e.position,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            if let Some(parsed) = parse_policy_document(
                src.name,
                &doc,
                &mut symbols,
                &mut errors,
                options.rule_tables.then_some(&mut request_atoms),
            ) {
                docs.push(LoadedDoc {
                    file: src.name.to_string(),
                    doc: parsed,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let nodes = compile::resolve(&docs)?;
        let root = nodes.into_iter().next().ok_or_else(|| {
            vec![PolicyError {
                file: sources[0].name.to_string(),
                position: Position::default(),
                message: "the root policy could not be compiled".to_string(),
            }]
        })?;
        let tree = TreeTable::build(&root, &request_atoms);
        Ok(Pdp {
            root,
            symbols,
            provider,
            request_atoms,
            tree,
        })
    }

    /// How many outcomes the whole-tree table holds, when the policy tree compiled to one (see
    /// [`crate::xacml::tree`]): decisions then read a stored outcome instead of walking the tree.
    pub fn tree_table_outcomes(&self) -> Option<usize> {
        self.tree.as_ref().map(TreeTable::len)
    }

    /// The interned attribute ids and categories of the compiled policies (for request parsers
    /// that want to share their strings).
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// Evaluates a parsed request (all its individual decisions) at `time`.
    pub fn evaluate(&self, request: &Request, time: RequestTime) -> Response {
        let prepared = self.prepare(request, time);
        if request.combined_decision && prepared.len() > 1 {
            return Response {
                results: vec![DecisionResult::new(
                    Decision::Indeterminate,
                    Status::new(
                        StatusCode::ProcessingError,
                        "CombinedDecision is not supported; send the individual requests without it",
                    ),
                )],
            };
        }
        Response {
            results: prepared.iter().map(|p| self.decide(p)).collect(),
        }
    }

    /// Splits a request into its individual decision requests (Multiple Decision Profile:
    /// one per combination of repeated categories) and interns each against the policies.
    pub fn prepare(&self, request: &Request, time: RequestTime) -> Vec<PreparedRequest> {
        let combinations = individual_requests(&request.categories);
        // The echo of each category is built once and shared by every combination containing it.
        let echoes: Vec<Option<Arc<RequestCategory>>> =
            request.categories.iter().map(echo).collect();
        let index_of = |c: &RequestCategory| {
            request
                .categories
                .iter()
                .position(|x| std::ptr::eq(x, c))
                .unwrap_or(0)
        };
        // Each category is interned once, however many individual requests share it.
        let interned: Vec<Vec<Entry>> = if combinations.len() > 1 {
            request
                .categories
                .iter()
                .map(|c| {
                    let mut entries = Vec::new();
                    interned_entries(c, &self.symbols, &mut entries);
                    entries
                })
                .collect()
        } else {
            Vec::new()
        };
        combinations
            .into_iter()
            .map(|cats| {
                let context = if interned.is_empty() {
                    Context::new(cats.iter().copied(), &self.symbols, time)
                } else {
                    let mut entries = Vec::with_capacity(16);
                    for c in &cats {
                        entries.extend(interned[index_of(c)].iter().cloned());
                    }
                    Context::from_entries(entries, &self.symbols, time)
                };
                let provider_inputs = self.provider.as_ref().and_then(|bound| {
                    bound.provider.prepare(&ProviderRequest {
                        context: &context,
                        input_keys: &bound.input_keys,
                        time,
                    })
                });
                PreparedRequest {
                    echo: Arc::new(
                        cats.iter()
                            .filter_map(|c| echoes.get(index_of(c)).cloned().flatten())
                            .collect(),
                    ),
                    return_policy_ids: request.return_policy_id_list,
                    time,
                    provider_inputs,
                    request_atoms: self.request_atoms.answer(&context),
                    context,
                }
            })
            .collect()
    }

    /// Decides one prepared individual request. This is the hot path: no parsing, no string
    /// lookups.
    pub fn decide(&self, request: &PreparedRequest) -> DecisionResult {
        let Some(bound) = &self.provider else {
            return self.finish(request, Lookup::request_only(&request.context));
        };
        let mut provided = ProvidedAttributes {
            output_keys: &bound.output_keys,
            entries: arrayvec::ArrayVec::new(),
            failures: Vec::new(),
            overflowed: 0,
        };
        let view = ProviderRequest {
            context: &request.context,
            input_keys: &bound.input_keys,
            time: request.time,
        };
        bound
            .provider
            .provide(&view, request.provider_inputs.as_ref(), &mut provided);
        self.finish(
            request,
            Lookup::new(&request.context, &provided.entries, &provided.failures),
        )
    }

    /// Evaluates the root over `lookup` and builds the result.
    fn finish(&self, request: &PreparedRequest, lookup: Lookup<'_>) -> DecisionResult {
        if let Some(tree) = self.tree.as_ref().filter(|_| !request.return_policy_ids) {
            if let Some(outcome) = tree.outcome(&lookup, request.request_atoms) {
                return result_of(request, outcome.clone(), None);
            }
        }
        let mut ev = Evaluator::new(lookup, request.request_atoms, request.return_policy_ids);
        let outcome = ev.eval_node(&self.root);
        result_of(request, outcome, ev.policy_ids)
    }
}

/// The result of an individual request from the root's outcome.
fn result_of(
    request: &PreparedRequest,
    outcome: Outcome,
    policy_ids: Option<Vec<PolicyIdentifier>>,
) -> DecisionResult {
    let (decision, status) = match outcome.verdict {
        Verdict::Permit => (Decision::Permit, Status::ok()),
        Verdict::Deny => (Decision::Deny, Status::ok()),
        Verdict::NotApplicable => (Decision::NotApplicable, Status::ok()),
        Verdict::Indeterminate(_, status) => (Decision::Indeterminate, *status),
    };
    let (obligations, advice) = if matches!(decision, Decision::Permit | Decision::Deny) {
        (outcome.obligations, outcome.advice)
    } else {
        Default::default()
    };
    // Built whole: `DecisionResult::new` would allocate an empty echo only to drop it.
    DecisionResult {
        decision,
        status,
        obligations,
        advice,
        attributes: request.echo.clone(),
        policy_identifiers: policy_ids,
    }
}

/// The individual requests of the Multiple Decision Profile's repeated-category scheme: one per
/// combination that takes one `<Attributes>` of each category, categories in first-seen order.
fn individual_requests(categories: &[RequestCategory]) -> Vec<Vec<&RequestCategory>> {
    let mut groups: Vec<Vec<&RequestCategory>> = Vec::new();
    for c in categories {
        match groups.iter_mut().find(|g| g[0].category == c.category) {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    let mut out: Vec<Vec<&RequestCategory>> = vec![Vec::new()];
    for g in &groups {
        let mut next = Vec::with_capacity(out.len() * g.len());
        for prefix in &out {
            for c in g {
                let mut combo = prefix.clone();
                combo.push(*c);
                next.push(combo);
            }
        }
        out = next;
    }
    out
}

/// The attributes of one category marked `IncludeInResult`, if any.
fn echo(c: &RequestCategory) -> Option<Arc<RequestCategory>> {
    let attributes: Vec<_> = c
        .attributes
        .iter()
        .filter(|a| a.include_in_result)
        .cloned()
        .collect();
    (!attributes.is_empty()).then(|| {
        Arc::new(RequestCategory {
            category: c.category.clone(),
            xml_id: c.xml_id.clone(),
            has_content: false,
            attributes,
        })
    })
}
