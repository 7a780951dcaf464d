//! The consent index as a policy information point: it turns the patient, data holder, data
//! category and requester of a closed question into the consent facts that
//! `policies/mitz-consent.xml` decides on.
//!
//! Inputs (request attributes, domain §2.3): the patient's BSN (`resource-id`, HL7 `II` with the
//! BSN root), the holder's URA (`author-institution:id`) and organisation type
//! (`healthcare-facility-type-code`), the data category asked (`event-code`, one per individual
//! decision) and the requester's organisation type (`consulting-healthcare-facility-type-code`).
//!
//! Outputs (category [`CONSENT_CATEGORY`]): [`INDIVIDUAL_CHOICE`] and [`CATEGORICAL_CHOICE`],
//! bags of the strings `yes`, `no` and `no-unless-emergency`: the choices of the citizen's
//! effective records that apply at each level of specificity. Which one wins is the policy's
//! business, so that a policy author can change the rules in XACML.
//!
//! A code the catalogue does not know (organisation type, data category) makes both outputs
//! Indeterminate with a processing-error status naming the code: "unknown codes are reported,
//! never guessed", and the closed question answers Indeterminate for that category. The status
//! text never contains the BSN.

use std::sync::Arc;

use super::bsn::{Bsn, Ura};
use super::catalogue::Catalogue;
use super::catalogue::{ConsultingCategoryId, DataCategoryId, HolderCategoryId};
use super::index::{ConsentIndex, FactsQuery};
use super::question::QuestionView;
use super::record::{Choice, ChoiceSet};
use crate::xacml::provider::{
    AttributeProvider, AttributeRef, PreparedInputs, ProvidedAttributes, ProviderRequest,
    PREPARED_WORDS,
};
use crate::xacml::response::{Status, StatusCode};
use crate::xacml::value::Value;

/// The attribute category of the consent facts.
pub const CONSENT_CATEGORY: &str = "urn:akkoord:attribute-category:consent";
/// The choices recorded for the holder organisation itself (its URA).
pub const INDIVIDUAL_CHOICE: &str = "urn:akkoord:consent:individual-choice";
/// The choices recorded for the holder's category.
pub const CATEGORICAL_CHOICE: &str = "urn:akkoord:consent:categorical-choice";

/// XACML categories and attribute ids of the closed question (domain §2.3).
pub mod ids {
    pub const RESOURCE: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource";
    pub const ACTION: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:action";
    pub const SUBJECT: &str = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject";
    pub const ENVIRONMENT: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:environment";
    pub const RESOURCE_ID: &str = "urn:oasis:names:tc:xacml:2.0:resource:resource-id";
    pub const HOLDER_TYPE: &str =
        "urn:ihe:iti:appc:2016:document-entry:healthcare-facility-type-code";
    pub const HOLDER_ID: &str = "urn:ihe:iti:appc:2016:author-institution:id";
    pub const DATA_CATEGORY: &str = "urn:ihe:iti:appc:2016:document-entry:event-code";
    pub const ROLE: &str = "urn:oasis:names:tc:xacml:2.0:subject:role";
    pub const PROVIDER_ID: &str = "urn:ihe:iti:xua:2017:subject:provider-identifier";
    pub const MANDATED: &str = "urn:nl:otv:names:tc:1.0:subject:mandated";
    pub const REQUESTER_ID: &str = "urn:nl:otv:names:tc:1.0:subject:provider-institution";
    pub const REQUESTER_TYPE: &str =
        "urn:nl:otv:names:tc:1.0:subject:consulting-healthcare-facility-type-code";
    pub const PURPOSE: &str = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse";
}

/// OIDs of the identifier and code systems (domain "Quick reference").
pub mod oids {
    pub const BSN: &str = "2.16.840.1.113883.2.4.6.3";
    pub const URA: &str = "2.16.528.1.1007.3.3";
    pub const UZI: &str = "2.16.528.1.1007.3.1";
    pub const ORGANISATION_TYPE: &str = "2.16.840.1.113883.2.4.15.1060";
    pub const ROLE: &str = "2.16.840.1.113883.2.4.15.111";
    pub const DATA_CATEGORY: &str = "2.16.840.1.113883.2.4.3.111.5.10.1";
    pub const PURPOSE: &str = "2.16.840.1.113883.1.11.20448";
}

const IN_BSN: usize = 0;
const IN_HOLDER: usize = 1;
const IN_HOLDER_TYPE: usize = 2;
const IN_DATA_CATEGORY: usize = 3;
const IN_REQUESTER_TYPE: usize = 4;

const OUT_INDIVIDUAL: usize = 0;
const OUT_CATEGORICAL: usize = 1;

/// The consent index and catalogue as an [`AttributeProvider`].
pub struct ConsentProvider {
    catalogue: Arc<Catalogue>,
    index: Arc<ConsentIndex>,
}

impl ConsentProvider {
    pub fn new(catalogue: Arc<Catalogue>, index: Arc<ConsentIndex>) -> Self {
        ConsentProvider { catalogue, index }
    }

    pub fn catalogue(&self) -> &Arc<Catalogue> {
        &self.catalogue
    }

    pub fn index(&self) -> &Arc<ConsentIndex> {
        &self.index
    }

    /// Supplies the choices of `set` as known values (see `known_values`): by index, so a
    /// decision builds no string and touches no reference count.
    fn push(out: &mut ProvidedAttributes<'_>, output: usize, set: ChoiceSet) {
        for (i, choice) in Choice::ALL.iter().enumerate() {
            if set.contains(*choice) {
                out.push_known(output, i);
            }
        }
    }

    /// The facts query of one individual decision, or the reason it cannot be asked.
    fn query(&self, request: &ProviderRequest<'_>) -> Result<FactsQuery, String> {
        let bsn = single_ii(request, IN_BSN, oids::BSN)
            .ok_or("the question names no patient (resource-id with the BSN root)")?;
        let bsn = Bsn::parse(bsn).map_err(|e| e.to_string())?;
        let holder = single_ii(request, IN_HOLDER, oids::URA)
            .ok_or("the question names no data holder (author-institution:id with the URA root)")?;
        let holder = Ura::parse(holder).map_err(|e| format!("data holder: {e}"))?;
        let holder_type = single_cv(request, IN_HOLDER_TYPE, oids::ORGANISATION_TYPE)
            .ok_or("the question names no data holder organisation type")?;
        let holder_category = self.holder_category(holder_type)?;
        let data_category = single_cv(request, IN_DATA_CATEGORY, oids::DATA_CATEGORY)
            .ok_or("the question names no data category (event-code)")?;
        let data_category = self.data_category(data_category)?;
        let requester_type = single_cv(request, IN_REQUESTER_TYPE, oids::ORGANISATION_TYPE)
            .ok_or("the question names no requester organisation type")?;
        let consulting = self.consulting(requester_type)?;
        Ok(FactsQuery {
            bsn,
            holder,
            holder_category: Some(holder_category),
            data_category,
            consulting,
            now: request.time().unix_secs,
        })
    }

    /// The holder category of the data holder's organisation type.
    fn holder_category(&self, holder_type: &str) -> Result<HolderCategoryId, String> {
        match self.catalogue.organisation_type(holder_type) {
            Some(row) => Ok(row.holder_category),
            None => Err(format!(
                "organisation type {holder_type} of the data holder is not in consent catalogue {}",
                self.catalogue.version()
            )),
        }
    }

    fn data_category(&self, code: &str) -> Result<DataCategoryId, String> {
        self.catalogue.data_category(code).ok_or_else(|| {
            format!(
                "data category {code} is not in consent catalogue {}",
                self.catalogue.version()
            )
        })
    }

    /// The consulting category of the requester's organisation type.
    fn consulting(&self, requester_type: &str) -> Result<ConsultingCategoryId, String> {
        self.catalogue
            .consulting_category_of_type(requester_type)
            .ok_or_else(|| {
                format!(
                    "organisation type {requester_type} of the requester has no consulting category in consent catalogue {}",
                    self.catalogue.version()
                )
            })
    }

    /// What [`AttributeProvider::prepare`] returns for each individual decision of a validated
    /// closed question, one per data category in the question's order, with the parts the
    /// categories share (patient, holder, requester) looked up once instead of once per
    /// category. The same checks in the same order give the same inputs and the same
    /// reasons (a test compares both ways on every client shape).
    pub fn prepare_question<'q>(
        &'q self,
        question: &'q QuestionView<'_>,
    ) -> impl Iterator<Item = PreparedInputs> + 'q {
        let holder_category = self.holder_category(question.holder_type);
        let consulting = self.consulting(question.requester_type);
        question.data_categories.iter().map(move |code| {
            let query = holder_category.clone().and_then(|holder_category| {
                let data_category = self.data_category(code)?;
                Ok(FactsQuery {
                    bsn: question.bsn,
                    holder: question.holder,
                    holder_category: Some(holder_category),
                    data_category,
                    consulting: consulting.clone()?,
                    // Not packed: the decision supplies its own time.
                    now: 0,
                })
            });
            prepared(query)
        })
    }
}

/// A facts query, or the reason it cannot be asked, as prepared inputs.
fn prepared(query: Result<FactsQuery, String>) -> PreparedInputs {
    match query {
        Ok(q) => PreparedInputs::Words(pack(&q)),
        Err(reason) => PreparedInputs::Shared(Arc::new(reason)),
    }
}

impl AttributeProvider for ConsentProvider {
    fn inputs(&self) -> Vec<AttributeRef> {
        vec![
            AttributeRef::new(ids::RESOURCE, ids::RESOURCE_ID),
            AttributeRef::new(ids::RESOURCE, ids::HOLDER_ID),
            AttributeRef::new(ids::RESOURCE, ids::HOLDER_TYPE),
            AttributeRef::new(ids::ACTION, ids::DATA_CATEGORY),
            AttributeRef::new(ids::SUBJECT, ids::REQUESTER_TYPE),
        ]
    }

    fn outputs(&self) -> Vec<AttributeRef> {
        vec![
            AttributeRef::new(CONSENT_CATEGORY, INDIVIDUAL_CHOICE),
            AttributeRef::new(CONSENT_CATEGORY, CATEGORICAL_CHOICE),
        ]
    }

    /// Both outputs are bags of choice names, in [`Choice::ALL`] order.
    fn known_values(&self) -> Vec<Vec<Value>> {
        let names = || {
            Choice::ALL
                .iter()
                .map(|&c| Value::String(Arc::from(choice_name(c))))
                .collect()
        };
        vec![names(), names()]
    }

    /// Resolves the question's codes through the catalogue once, when the question is
    /// prepared: the decision then only consults the index. A valid question packs into two
    /// words kept in the prepared request; a question with an unknown code keeps its message.
    fn prepare(&self, request: &ProviderRequest<'_>) -> Option<PreparedInputs> {
        Some(prepared(self.query(request)))
    }

    fn provide(
        &self,
        request: &ProviderRequest<'_>,
        prepared: Option<&PreparedInputs>,
        out: &mut ProvidedAttributes<'_>,
    ) {
        // The time of this decision, not of preparation.
        let now = request.time().unix_secs;
        let query = match prepared {
            Some(PreparedInputs::Words(w)) => unpack(w, now).ok_or_else(|| {
                "the prepared consent question does not unpack; prepare it again".to_string()
            }),
            Some(PreparedInputs::Shared(reason)) => Err(reason
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "the consent question could not be prepared".to_string())),
            None => self.query(request),
        };
        match query {
            Ok(q) => {
                let q = FactsQuery { now, ..q };
                let facts = self.index.facts(&q);
                Self::push(out, OUT_INDIVIDUAL, facts.individual);
                Self::push(out, OUT_CATEGORICAL, facts.categorical);
            }
            Err(reason) => out.fail_all(Status::new(StatusCode::ProcessingError, reason)),
        }
    }
}

/// A facts query in two words (the time is the decision's, not packed): BSN and holder URA;
/// holder category (or `u16::MAX` for none), data category and consulting category.
fn pack(q: &FactsQuery) -> [u64; PREPARED_WORDS] {
    let holder_category = q.holder_category.map_or(0xFFFF, |c| c.index() as u64);
    [
        u64::from(q.bsn.get()) | u64::from(q.holder.get()) << 32,
        holder_category
            | (q.data_category.index() as u64) << 16
            | (q.consulting.index() as u64) << 32,
    ]
}

/// The query [`pack`] packed, at time `now`; `None` if the words are not a packed query.
fn unpack(w: &[u64; PREPARED_WORDS], now: i64) -> Option<FactsQuery> {
    let byte = |word: u64, shift: u32| u8::try_from((word >> shift) & 0xFFFF).ok();
    let holder_category = match (w[1] & 0xFFFF) as u16 {
        0xFFFF => None,
        c => Some(HolderCategoryId::from_index(u8::try_from(c).ok()?)),
    };
    Some(FactsQuery {
        // Packed by `pack` from a checked BSN: the 11-check (a tenth of a decision's work) is
        // not repeated.
        bsn: Bsn::from_checked(w[0] as u32),
        holder: Ura::from_u32((w[0] >> 32) as u32).ok()?,
        holder_category,
        data_category: DataCategoryId::from_index(byte(w[1], 16)?),
        consulting: ConsultingCategoryId::from_index(byte(w[1], 32)?),
        now,
    })
}

/// The policy's name for a choice.
pub fn choice_name(c: Choice) -> &'static str {
    match c {
        Choice::Yes => "yes",
        Choice::No => "no",
        Choice::NoUnlessEmergency => "no-unless-emergency",
    }
}

/// The extension of the one II value of `input` with `root`, if there is exactly one.
fn single_ii<'a>(request: &ProviderRequest<'a>, input: usize, root: &str) -> Option<&'a str> {
    let mut found = None;
    for v in request.values(input) {
        if let Some(ii) = v.as_ii() {
            if ii.root() == root {
                if found.is_some() {
                    return None;
                }
                found = Some(ii.extension());
            }
        }
    }
    found
}

/// The code of the one CV value of `input` in `system`, if there is exactly one.
fn single_cv<'a>(request: &ProviderRequest<'a>, input: usize, system: &str) -> Option<&'a str> {
    let mut found = None;
    for v in request.values(input) {
        if let Some(cv) = v.as_cv() {
            if cv.code_system() == system {
                if found.is_some() {
                    return None;
                }
                found = Some(cv.code());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packed question unpacks to itself (with the decision's time), with and without a
    /// holder category; words that are not a packed question (a category number beyond a
    /// byte) do not unpack.
    #[test]
    fn facts_queries_pack_into_two_words_and_back() {
        let catalogue = Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json"))
            .expect("the shipped catalogue loads");
        let q = FactsQuery {
            bsn: Bsn::parse("999990019").expect("valid BSN"),
            holder: Ura::parse("00000001").expect("valid URA"),
            holder_category: catalogue.organisation_type("V6").map(|t| t.holder_category),
            data_category: catalogue.data_category("GGC013").expect("known"),
            consulting: catalogue.consulting_category_of_type("J8").expect("known"),
            now: 1,
        };
        assert!(q.holder_category.is_some());
        for q in [
            q,
            FactsQuery {
                holder_category: None,
                ..q
            },
        ] {
            assert_eq!(unpack(&pack(&q), 42), Some(FactsQuery { now: 42, ..q }));
        }
        let mut broken = pack(&q);
        broken[1] |= 0x1FF << 16;
        assert_eq!(unpack(&broken, 42), None);
    }
}
