//! The public face of the engine: compile policies once, evaluate requests many times.

use std::fmt;

use super::compile::{self, LoadedDoc};
use std::sync::Arc;

use super::context::{
    current_time_entries, current_time_keys, interned_entries, Context, Entry, Lookup,
};
use super::eval::{Evaluator, Verdict};
use super::model::{PolicyNode, Symbols};
use super::provider::{
    AttributeProvider, BoundProvider, PreparedInputs, ProvidedAttributes, ProviderRequest,
};
use super::request::{Request, RequestCategory, RequestTime};
use super::response::{
    ActionList, Actions, Decision, DecisionResult, DecisionView, Response, Status, StatusCode,
};
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
    /// The numbered tests of the rule tables; those on request attributes are answered in
    /// [`Pdp::prepare`].
    atoms: Atoms,
    /// The whole tree as one table, when its shape allows (see [`crate::xacml::tree`]).
    tree: Option<TreeTable>,
    /// The keys of the current-time attributes some policy mentions (see
    /// [`current_time_keys`]), looked up once here rather than for every request.
    time_keys: [Option<u64>; 3],
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

impl PreparedRequest {
    /// What the attribute provider prepared for this request (for tests that compare ways of
    /// preparing).
    #[cfg(test)]
    pub(crate) fn provider_inputs(&self) -> Option<&PreparedInputs> {
        self.provider_inputs.as_ref()
    }
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
        let mut atoms = Atoms::new(provider.as_ref().map_or(&[], |p| &p.output_keys[..]));
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
                options.rule_tables.then_some(&mut atoms),
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
        let tree = TreeTable::build(
            &root,
            &atoms,
            provider.as_ref().map_or(&[], |p| &p.known[..]),
        );
        let time_keys = current_time_keys(&symbols);
        Ok(Pdp {
            root,
            symbols,
            provider,
            atoms,
            tree,
            time_keys,
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
        let split = Split::new(&request.categories, &self.symbols);
        let echoes = request.categories.iter().map(echo).collect();
        self.combine(
            &split,
            echoes,
            request.return_policy_id_list,
            time,
            std::iter::empty(),
        )
    }

    /// [`Pdp::prepare`] taking the request by value: the attributes to echo are moved into the
    /// results instead of cloned (same individual requests, fewer allocations).
    pub fn prepare_owned(&self, request: Request, time: RequestTime) -> Vec<PreparedRequest> {
        self.prepare_owned_with_inputs(request, time, std::iter::empty())
    }

    /// [`Pdp::prepare_owned`] with the attribute provider's prepared inputs supplied by the
    /// caller: the first individual request gets the first item of `inputs`, and so on, in the
    /// order this returns them; requests beyond the items are prepared by the provider as
    /// usual. For a caller that has already validated the request and knows what the provider
    /// would compute for each individual request with less work (the closed question computes
    /// the parts its data categories share once, see
    /// [`crate::consent::pip::ConsentProvider::prepare_question`]). Each item must be what
    /// [`AttributeProvider::prepare`] returns for that individual request.
    pub fn prepare_owned_with_inputs(
        &self,
        request: Request,
        time: RequestTime,
        inputs: impl IntoIterator<Item = PreparedInputs>,
    ) -> Vec<PreparedRequest> {
        let split = Split::new(&request.categories, &self.symbols);
        let echoes = request.categories.into_iter().map(echo_owned).collect();
        self.combine(
            &split,
            echoes,
            request.return_policy_id_list,
            time,
            inputs.into_iter(),
        )
    }

    /// The individual requests of `split`, each with the echo of its categories; the
    /// provider's inputs come from `supplied` while it lasts.
    fn combine(
        &self,
        split: &Split,
        echoes: Vec<Option<Arc<RequestCategory>>>,
        return_policy_ids: bool,
        time: RequestTime,
        mut supplied: impl Iterator<Item = PreparedInputs>,
    ) -> Vec<PreparedRequest> {
        let now = current_time_entries(&self.time_keys, time);
        let mut out = Vec::with_capacity(split.combinations());
        split.for_each_combination(|cats| {
            let len = cats
                .iter()
                .map(|&c| split.entries_of(c).len())
                .sum::<usize>();
            let mut entries = Vec::with_capacity(len + now.len());
            for &c in cats {
                entries.extend_from_slice(split.entries_of(c));
            }
            let context = Context::with_time(entries, &now);
            let provider_inputs = self.provider.as_ref().and_then(|bound| {
                supplied.next().or_else(|| {
                    bound.provider.prepare(&ProviderRequest {
                        context: &context,
                        input_keys: &bound.input_keys,
                        time,
                    })
                })
            });
            let echo = cats
                .iter()
                .filter_map(|&c| echoes.get(c).cloned().flatten())
                .collect();
            out.push(PreparedRequest {
                echo: Arc::new(echo),
                return_policy_ids,
                time,
                provider_inputs,
                request_atoms: self.atoms.answer(&context),
                context,
            });
        });
        out
    }

    /// Decides one prepared individual request. This is the hot path: no parsing, no string
    /// lookups.
    pub fn decide(&self, request: &PreparedRequest) -> DecisionResult {
        self.decide_view(request).into_result()
    }

    /// [`Pdp::decide`] without taking ownership of anything: the result borrows the compiled
    /// policies' stored outcome and the prepared request's echo (see [`DecisionView`]), for a
    /// caller that reads or writes the decision right away.
    pub fn decide_view<'a>(&'a self, request: &'a PreparedRequest) -> DecisionView<'a> {
        let Some(bound) = &self.provider else {
            return self.finish(request, Lookup::request_only(&request.context));
        };
        let mut provided =
            ProvidedAttributes::new(&bound.output_keys, &bound.known, &bound.known_starts);
        let view = ProviderRequest {
            context: &request.context,
            input_keys: &bound.input_keys,
            time: request.time,
        };
        bound
            .provider
            .provide(&view, request.provider_inputs.as_ref(), &mut provided);
        self.finish(request, Lookup::new(&request.context, &provided))
    }

    /// Evaluates the root over `lookup`: the whole-tree table's stored outcome when it
    /// applies, the evaluator otherwise.
    fn finish<'a>(&'a self, request: &'a PreparedRequest, lookup: Lookup<'_>) -> DecisionView<'a> {
        if let Some(tree) = self.tree.as_ref().filter(|_| !request.return_policy_ids) {
            if let Some(outcome) = tree.outcome(&lookup, request.request_atoms) {
                let (decision, status) = decision_of(outcome.verdict.clone());
                let actions = |list: &'a ActionList| {
                    Actions::Borrowed(if carries_actions(decision) { list } else { &[] })
                };
                return DecisionView {
                    decision,
                    status,
                    obligations: actions(&outcome.obligations),
                    advice: actions(&outcome.advice),
                    attributes: &request.echo,
                    policy_identifiers: None,
                };
            }
        }
        let mut ev = Evaluator::new(lookup, request.request_atoms, request.return_policy_ids);
        let outcome = ev.eval_node(&self.root);
        let (decision, status) = decision_of(outcome.verdict);
        let (obligations, advice) = if carries_actions(decision) {
            (outcome.obligations, outcome.advice)
        } else {
            Default::default()
        };
        DecisionView {
            decision,
            status,
            obligations: Actions::Owned(obligations),
            advice: Actions::Owned(advice),
            attributes: &request.echo,
            policy_identifiers: ev.policy_ids,
        }
    }
}

/// The decision and status of a verdict.
fn decision_of(verdict: Verdict) -> (Decision, Status) {
    match verdict {
        Verdict::Permit => (Decision::Permit, Status::ok()),
        Verdict::Deny => (Decision::Deny, Status::ok()),
        Verdict::NotApplicable => (Decision::NotApplicable, Status::ok()),
        Verdict::Indeterminate(_, status) => (Decision::Indeterminate, *status),
    }
}

/// Only a Permit or a Deny carries obligations and advice (section 7.18).
fn carries_actions(decision: Decision) -> bool {
    matches!(decision, Decision::Permit | Decision::Deny)
}

/// A request's categories interned once and grouped for the Multiple Decision Profile's
/// repeated-category scheme: one individual request per combination that takes one
/// `<Attributes>` of each category, categories in first-seen order, the last category varying
/// fastest. Computed before the categories are consumed (see [`Pdp::prepare_owned`]).
struct Split {
    /// The interned entries of every category, category after category.
    entries: Vec<Entry>,
    /// Where the entries of category `i` end in `entries` (they start where `i - 1`'s end).
    ends: Vec<usize>,
    /// The category indices grouped by category (groups in first-seen order, document order
    /// within a group) and where each group ends in that list; `None` when no category
    /// repeats, the usual case: then the one combination is every category in document order.
    groups: Option<(Vec<usize>, Vec<usize>)>,
}

impl Split {
    fn new(categories: &[RequestCategory], symbols: &Symbols) -> Split {
        let total = categories
            .iter()
            .flat_map(|c| &c.attributes)
            .map(|a| a.values.len())
            .sum();
        let mut entries = Vec::with_capacity(total);
        let mut ends = Vec::with_capacity(categories.len());
        for c in categories {
            interned_entries(c, symbols, &mut entries);
            ends.push(entries.len());
        }
        let same = |a: &RequestCategory, b: &RequestCategory| {
            Arc::ptr_eq(&a.category, &b.category) || a.category == b.category
        };
        let repeats = categories
            .iter()
            .enumerate()
            .any(|(i, c)| categories[..i].iter().any(|d| same(c, d)));
        let groups = repeats.then(|| {
            // The first category of each group, then every category after its group's last.
            let mut members: Vec<usize> = Vec::with_capacity(categories.len());
            let mut ends: Vec<usize> = Vec::new();
            for (i, c) in categories.iter().enumerate() {
                if members.iter().any(|&m| same(&categories[m], c)) {
                    continue;
                }
                members
                    .extend((i..categories.len()).filter(|&j| j == i || same(&categories[j], c)));
                ends.push(members.len());
            }
            (members, ends)
        });
        Split {
            entries,
            ends,
            groups,
        }
    }

    /// The interned entries of category `i`.
    fn entries_of(&self, i: usize) -> &[Entry] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.entries[start..self.ends[i]]
    }

    /// How many individual requests there are.
    fn combinations(&self) -> usize {
        match &self.groups {
            None => 1,
            Some((_, ends)) => {
                let mut start = 0;
                ends.iter()
                    .map(|&end| std::mem::replace(&mut start, end).abs_diff(end))
                    .product()
            }
        }
    }

    /// Calls `f` with the category indices of each combination, in order.
    fn for_each_combination(&self, mut f: impl FnMut(&[usize])) {
        let Some((members, ends)) = &self.groups else {
            let all: Vec<usize> = (0..self.ends.len()).collect();
            return f(&all);
        };
        let start = |g: usize| if g == 0 { 0 } else { ends[g - 1] };
        // A mixed-radix counter over the groups, the last digit fastest: `at[g]` is the
        // position in `members` of group `g`'s current category.
        let mut at: Vec<usize> = (0..ends.len()).map(start).collect();
        let mut cats: Vec<usize> = at.iter().map(|&i| members[i]).collect();
        loop {
            f(&cats);
            let mut g = ends.len();
            loop {
                if g == 0 {
                    return;
                }
                g -= 1;
                at[g] += 1;
                if at[g] < ends[g] {
                    cats[g] = members[at[g]];
                    break;
                }
                at[g] = start(g);
                cats[g] = members[at[g]];
            }
        }
    }
}

/// The attributes of one category marked `IncludeInResult`, if any (cloned: see
/// [`echo_owned`] for the by-value form).
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

/// [`echo`] of a category the caller gives up: its attributes are filtered in place and moved.
fn echo_owned(mut c: RequestCategory) -> Option<Arc<RequestCategory>> {
    c.attributes.retain(|a| a.include_in_result);
    (!c.attributes.is_empty()).then(|| {
        c.has_content = false;
        Arc::new(c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xacml::value::Value;

    fn category(name: &str, value: &str, echo: bool) -> RequestCategory {
        RequestCategory {
            category: Arc::from(name),
            xml_id: Some(Arc::from(value)),
            has_content: true,
            attributes: vec![
                super::super::request::RequestAttribute {
                    id: Arc::from("id"),
                    issuer: None,
                    include_in_result: echo,
                    values: vec![Value::String(Arc::from(value))].into(),
                },
                super::super::request::RequestAttribute {
                    id: Arc::from("other"),
                    issuer: None,
                    include_in_result: false,
                    values: vec![Value::Integer(1)].into(),
                },
            ],
        }
    }

    /// The combinations as the profile defines them, built the obvious way.
    fn naive(categories: &[RequestCategory]) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, c) in categories.iter().enumerate() {
            match groups
                .iter_mut()
                .find(|g| categories[g[0]].category == c.category)
            {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        let mut out = vec![Vec::new()];
        for g in &groups {
            let mut next = Vec::new();
            for prefix in &out {
                for &c in g {
                    let mut combo: Vec<usize> = prefix.clone();
                    combo.push(c);
                    next.push(combo);
                }
            }
            out = next;
        }
        out
    }

    #[test]
    fn combinations_follow_the_multiple_decision_profile_order() {
        let layouts: [&[&str]; 5] = [
            &[],
            &["a"],
            &["a", "b", "c"],
            &["a", "b", "a", "c", "b", "b"],
            &["x", "x", "x", "y", "z", "z"],
        ];
        for layout in layouts {
            let categories: Vec<_> = layout
                .iter()
                .enumerate()
                .map(|(i, c)| category(c, &i.to_string(), true))
                .collect();
            let split = Split::new(&categories, &Symbols::default());
            let mut got = Vec::new();
            split.for_each_combination(|cats| got.push(cats.to_vec()));
            assert_eq!(got, naive(&categories), "layout {layout:?}");
            assert_eq!(split.combinations(), got.len());
        }
    }

    #[test]
    fn echo_by_value_equals_echo_by_reference() {
        for c in [
            category("a", "1", true),
            category("a", "2", false),
            RequestCategory {
                attributes: Vec::new(),
                ..category("a", "3", true)
            },
        ] {
            let by_ref = echo(&c);
            let by_value = echo_owned(c);
            assert_eq!(format!("{by_ref:?}"), format!("{by_value:?}"));
        }
    }
}
