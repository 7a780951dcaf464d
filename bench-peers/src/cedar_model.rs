//! The consent semantics in Cedar (`cedar-policy` 4.x), modelled for speed.
//!
//! # Why this shape
//!
//! Cedar has no quantifiers: a policy cannot say "some record of this citizen applies". What it
//! can do fast is look up an entity by UID (a hash map) and look up an entity *tag* by a string
//! computed outside the policy (`hasTag`/`getTag`, Cedar 4). So the host does the indexing and
//! Cedar does the deciding:
//!
//! - One `Mitz::Citizen` entity per BSN. Its tags are keyed by
//!   `"<holder>|<data category>|<choice>#<n>"`, where `<holder>` is `U<URA>` (individual level)
//!   or `C<holder category>` (categorical level). The tag value is
//!   `{consulting: Set<String>, from: Long, until: Long}`.
//! - The data-category hierarchy (GGC002 covers GGC012 and GGC013, from the catalogue) is
//!   handled in one of two [`CedarLayout`]s: `Expanded` stores a record about GGC002 under all
//!   three categories it covers, so a question probes one key per (level, choice) — fastest,
//!   about three times the memory; `Compact` stores each record once, under its own category,
//!   and the request probes one key per category covering the asked one (up to two here) —
//!   less memory, more probes. Both are checked and timed.
//! - Records with the same key *and the same validity window* are merged (their consulting sets
//!   united): "some record with window W contains the consulting category" is unchanged by
//!   that. Only records with different windows need separate slots `#0, #1, ...`; the policies
//!   are generated for the largest slot count found in the data (normally 1).
//! - Records of minors that are pending or rejected are left out: they can never count, and
//!   leaving them out only makes Cedar's store smaller and faster (the comparison is
//!   conservative for Akkoord).
//! - The request carries the tag keys to probe in its context (Cedar cannot concatenate
//!   strings), the consulting category, `now`, and the purpose as the action
//!   (`Mitz::Action::"TREAT" | "COC" | "ETREAT"`).
//!
//! # Precedence
//!
//! Cedar's combining is fixed: any satisfied `forbid` → Deny, else any satisfied `permit` →
//! Allow, else Deny. "Individual overrides categorical" is encoded in the conditions: every
//! categorical rule is guarded by `!IND_ANY` (no applicable individual record). Four policies:
//!
//! - `deny` (forbid): `IND_NO || IND_NUE && !ETREAT || !IND_ANY && (CAT_NO || CAT_NUE && !ETREAT)`
//! - `emergency` (permit): `ETREAT && (IND_NUE || !IND_ANY && CAT_NUE)` — obligation "inform
//!   citizen" when it is among the reasons of an Allow;
//! - `consent` (permit): `IND_YES || !IND_ANY && CAT_YES`;
//! - `presumed` (permit): `COC`.
//!
//! A Deny with no determining policy at all means nothing applicable was recorded (and the
//! purpose is not COC): that is the "no consent recorded" advice.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy,
    PolicyId, PolicySet, Request, RestrictedExpression,
};

use crate::model::{Choice, Hierarchy, Holder, Outcome, Purpose, Question, Record};

const CHOICES: [Choice; 3] = [Choice::No, Choice::NoUnlessEmergency, Choice::Yes];

/// Where the data-category hierarchy is resolved (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CedarLayout {
    /// Records stored under every category they cover; one probe per (level, choice, slot).
    Expanded,
    /// Records stored once; one probe per (level, choice, covering category, slot).
    Compact,
}

impl CedarLayout {
    pub const ALL: [CedarLayout; 2] = [CedarLayout::Expanded, CedarLayout::Compact];

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            CedarLayout::Expanded => "cedar-expanded",
            CedarLayout::Compact => "cedar-compact",
        }
    }
}

/// Cedar's Authorizer, the generated policy set and the entity store, built once.
pub struct CedarEngine {
    layout: CedarLayout,
    hierarchy: Hierarchy,
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
    citizen_type: EntityTypeName,
    principal: EntityUid,
    actions: [EntityUid; 3],
    emergency: PolicyId,
    /// Slots per key (the largest number of distinct validity windows under one key).
    slots: usize,
    /// Covering categories probed per (level, choice): 1 when expanded, else the most
    /// categories that cover one asked category.
    covering: usize,
}

/// A question already turned into a Cedar request (what a host would hand to the authorizer).
pub struct CedarRequest(Request);

/// Why the Cedar model could not be built.
#[derive(Debug)]
pub struct CedarBuildError(pub String);

impl std::fmt::Display for CedarBuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "building the Cedar model: {}", self.0)
    }
}

impl std::error::Error for CedarBuildError {}

fn err(e: impl std::fmt::Display) -> CedarBuildError {
    CedarBuildError(e.to_string())
}

/// The part of a tag key before the choice: `U<URA>` or `C<category>`.
fn holder_key(holder: &Holder) -> String {
    match holder {
        Holder::Organisation(ura) => format!("U{ura}"),
        Holder::Category(cat) => format!("C{cat}"),
    }
}

/// The name of the context attribute carrying the tag key for (level, choice, slot).
fn context_attr(individual: bool, choice: Choice, slot: usize) -> String {
    format!(
        "{}{}{slot}",
        if individual { "i" } else { "c" },
        choice.code()
    )
}

/// One Cedar tag per key and validity window: the consulting categories with that window.
type Windows = BTreeMap<(i64, i64), BTreeSet<String>>;

/// The tags of one citizen, grouped by key before the slot numbers are assigned.
fn group_records(
    records: &[Record],
    hierarchy: &Hierarchy,
    layout: CedarLayout,
) -> BTreeMap<String, Windows> {
    let mut keys: BTreeMap<String, Windows> = BTreeMap::new();
    for r in records.iter().filter(|r| r.minor.counts()) {
        let window = (
            r.valid_from.unwrap_or(i64::MIN),
            r.valid_until.unwrap_or(i64::MAX),
        );
        let categories = match layout {
            CedarLayout::Expanded => hierarchy.covered(&r.data_category),
            CedarLayout::Compact => vec![r.data_category.clone()],
        };
        for asked in categories {
            let key = format!("{}|{asked}|{}", holder_key(&r.holder), r.choice.code());
            keys.entry(key)
                .or_default()
                .entry(window)
                .or_default()
                .extend(r.consulting.iter().cloned());
        }
    }
    keys
}

/// `slot(k)`: the tag named by context attribute `k` exists, lists the consulting category,
/// and its window contains `now`.
fn slot_condition(attr: &str) -> String {
    let tag = format!("resource.getTag(context.{attr})");
    format!(
        "(resource.hasTag(context.{attr}) && {tag}.consulting.contains(context.consulting) \
         && {tag}.from <= context.now && context.now < {tag}.until)"
    )
}

/// `IND_<choice>` or `CAT_<choice>`: any probe applies.
fn level_condition(individual: bool, choice: Choice, probes: usize) -> String {
    let parts: Vec<String> = (0..probes)
        .map(|s| slot_condition(&context_attr(individual, choice, s)))
        .collect();
    format!("({})", parts.join(" || "))
}

/// The four policies of the module doc, as `(id, text)`, for `probes` probes per (level,
/// choice). The ids
/// are given to Cedar explicitly (an `@id` annotation would not set them), because the
/// obligation is read from the ids among the reasons of a decision.
fn policy_texts(probes: usize) -> Vec<(&'static str, String)> {
    let ind = |c| level_condition(true, c, probes);
    let cat = |c| level_condition(false, c, probes);
    let etreat = r#"action == Mitz::Action::"ETREAT""#;
    let ind_any = format!(
        "({} || {} || {})",
        ind(Choice::No),
        ind(Choice::NoUnlessEmergency),
        ind(Choice::Yes)
    );
    vec![
        (
            "deny",
            format!(
                "forbid (principal, action, resource) when {{\n  {} || ({} && !({etreat})) ||\n  \
                 (({} || ({} && !({etreat}))) && !{ind_any})\n}};",
                ind(Choice::No),
                ind(Choice::NoUnlessEmergency),
                cat(Choice::No),
                cat(Choice::NoUnlessEmergency),
            ),
        ),
        (
            EMERGENCY,
            format!(
                "permit (principal, action == Mitz::Action::\"ETREAT\", resource) when {{\n  \
                 {} || ({} && !{ind_any})\n}};",
                ind(Choice::NoUnlessEmergency),
                cat(Choice::NoUnlessEmergency),
            ),
        ),
        (
            "consent",
            format!(
                "permit (principal, action, resource) when {{\n  {} || ({} && !{ind_any})\n}};",
                ind(Choice::Yes),
                cat(Choice::Yes),
            ),
        ),
        (
            "presumed",
            "permit (principal, action == Mitz::Action::\"COC\", resource);".to_string(),
        ),
    ]
}

/// Id of the policy whose Allow carries the "inform the citizen" obligation.
const EMERGENCY: &str = "emergency";

/// The generated policies as one text (for the README and for debugging).
pub fn policy_text(probes: usize) -> String {
    policy_texts(probes)
        .into_iter()
        .map(|(id, text)| format!("// {id}\n{text}\n"))
        .collect()
}

fn policy_set(probes: usize) -> Result<PolicySet, CedarBuildError> {
    let mut set = PolicySet::new();
    for (id, text) in policy_texts(probes) {
        let policy = Policy::parse(Some(PolicyId::new(id)), text).map_err(err)?;
        set.add(policy).map_err(err)?;
    }
    Ok(set)
}

/// Builds the entity store only (used alone by the memory measurement); also returns the slot
/// count per key.
pub fn build_entities<'a>(
    citizens: impl IntoIterator<Item = (&'a String, &'a Vec<Record>)>,
    hierarchy: &Hierarchy,
    layout: CedarLayout,
) -> Result<(Entities, usize), CedarBuildError> {
    let citizen_type = EntityTypeName::from_str("Mitz::Citizen").map_err(err)?;
    let mut slots = 1;
    let mut entities = Vec::new();
    for (bsn, records) in citizens {
        let mut tags = Vec::new();
        for (key, windows) in group_records(records, hierarchy, layout) {
            slots = slots.max(windows.len());
            for (n, ((from, until), consulting)) in windows.into_iter().enumerate() {
                let value = RestrictedExpression::new_record([
                    (
                        "consulting".to_string(),
                        RestrictedExpression::new_set(
                            consulting.into_iter().map(RestrictedExpression::new_string),
                        ),
                    ),
                    ("from".to_string(), RestrictedExpression::new_long(from)),
                    ("until".to_string(), RestrictedExpression::new_long(until)),
                ])
                .map_err(err)?;
                tags.push((format!("{key}#{n}"), value));
            }
        }
        let uid =
            EntityUid::from_type_name_and_id(citizen_type.clone(), EntityId::new(bsn.as_str()));
        entities.push(Entity::new_with_tags(uid, [], [], tags).map_err(err)?);
    }
    Ok((Entities::from_entities(entities, None).map_err(err)?, slots))
}

impl CedarEngine {
    /// Builds the store and the policies for the given citizens.
    pub fn new<'a>(
        citizens: impl IntoIterator<Item = (&'a String, &'a Vec<Record>)>,
        hierarchy: &Hierarchy,
        data_categories: &[String],
        layout: CedarLayout,
    ) -> Result<CedarEngine, CedarBuildError> {
        let (entities, slots) = build_entities(citizens, hierarchy, layout)?;
        let covering = match layout {
            CedarLayout::Expanded => 1,
            CedarLayout::Compact => data_categories
                .iter()
                .map(|c| hierarchy.covering(c).len())
                .max()
                .unwrap_or(1),
        };
        let policies = policy_set(covering * slots)?;
        let action = |p: Purpose| {
            EntityUid::from_str(&format!(r#"Mitz::Action::"{}""#, p.code())).map_err(err)
        };
        Ok(CedarEngine {
            layout,
            hierarchy: hierarchy.clone(),
            covering,
            authorizer: Authorizer::new(),
            policies,
            entities,
            citizen_type: EntityTypeName::from_str("Mitz::Citizen").map_err(err)?,
            principal: EntityUid::from_str(r#"Mitz::Requester::"any""#).map_err(err)?,
            actions: [
                action(Purpose::Treat)?,
                action(Purpose::Coc)?,
                action(Purpose::Etreat)?,
            ],
            emergency: PolicyId::new(EMERGENCY),
            slots,
        })
    }

    pub fn layout(&self) -> CedarLayout {
        self.layout
    }

    /// Slots per key the policies were generated for.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Tag probes per (level, choice) in a request.
    pub fn probes(&self) -> usize {
        self.covering * self.slots
    }

    /// The generated policy text (for the README and for debugging).
    pub fn policy_text(&self) -> String {
        policy_text(self.probes())
    }

    /// Turns a question into a Cedar request: the tag keys to probe, the consulting category,
    /// `now`, and the purpose as the action.
    pub fn request(&self, q: &Question) -> Result<CedarRequest, CedarBuildError> {
        // The categories whose tags can apply: the asked one (expanded layout) or every one
        // covering it (compact layout); missing positions probe a key that never exists.
        let categories = match self.layout {
            CedarLayout::Expanded => vec![q.data_category.clone()],
            CedarLayout::Compact => self.hierarchy.covering(&q.data_category),
        };
        let probes = self.probes();
        let mut pairs: Vec<(String, RestrictedExpression)> = Vec::with_capacity(6 * probes + 2);
        for (individual, holder) in [
            (true, format!("U{}", q.holder_ura)),
            (false, format!("C{}", q.holder_category)),
        ] {
            for choice in CHOICES {
                for k in 0..self.covering {
                    for s in 0..self.slots {
                        let key = match categories.get(k) {
                            Some(category) => format!("{holder}|{category}|{}#{s}", choice.code()),
                            None => "-".to_string(),
                        };
                        pairs.push((
                            context_attr(individual, choice, k * self.slots + s),
                            RestrictedExpression::new_string(key),
                        ));
                    }
                }
            }
        }
        pairs.push((
            "consulting".to_string(),
            RestrictedExpression::new_string(q.consulting.clone()),
        ));
        pairs.push(("now".to_string(), RestrictedExpression::new_long(q.now)));
        let context = Context::from_pairs(pairs).map_err(err)?;
        let action = match q.purpose {
            Purpose::Treat => &self.actions[0],
            Purpose::Coc => &self.actions[1],
            Purpose::Etreat => &self.actions[2],
        };
        let resource =
            EntityUid::from_type_name_and_id(self.citizen_type.clone(), EntityId::new(&q.bsn));
        Request::new(
            self.principal.clone(),
            action.clone(),
            resource,
            context,
            None,
        )
        .map(CedarRequest)
        .map_err(err)
    }

    /// Decides a prepared request.
    pub fn decide(&self, request: &CedarRequest) -> Outcome {
        let response = self
            .authorizer
            .is_authorized(&request.0, &self.policies, &self.entities);
        let diagnostics = response.diagnostics();
        match response.decision() {
            Decision::Allow => Outcome {
                permit: true,
                obligation: diagnostics.reason().any(|id| *id == self.emergency),
                advice: false,
            },
            Decision::Deny => Outcome {
                permit: false,
                obligation: false,
                advice: diagnostics.reason().next().is_none(),
            },
        }
    }

    /// Number of evaluation errors for a request (must be 0: an erroring policy would be
    /// silently skipped by Cedar and could hide a modelling mistake).
    pub fn errors(&self, request: &CedarRequest) -> usize {
        self.authorizer
            .is_authorized(&request.0, &self.policies, &self.entities)
            .diagnostics()
            .errors()
            .count()
    }
}
