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
use super::index::{ConsentIndex, FactsQuery};
use super::record::{Choice, ChoiceSet};
use crate::xacml::provider::{
    AttributeProvider, AttributeRef, PreparedInputs, ProvidedAttributes, ProviderRequest,
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
    /// The choice strings, allocated once: supplying one is a reference-count increment.
    choice_values: [Value; 3],
}

impl ConsentProvider {
    pub fn new(catalogue: Arc<Catalogue>, index: Arc<ConsentIndex>) -> Self {
        ConsentProvider {
            catalogue,
            index,
            choice_values: Choice::ALL.map(|c| Value::String(Arc::from(choice_name(c)))),
        }
    }

    pub fn catalogue(&self) -> &Arc<Catalogue> {
        &self.catalogue
    }

    pub fn index(&self) -> &Arc<ConsentIndex> {
        &self.index
    }

    fn push(&self, out: &mut ProvidedAttributes<'_>, output: usize, set: ChoiceSet) {
        for (i, choice) in Choice::ALL.iter().enumerate() {
            if set.contains(*choice) {
                out.push(output, self.choice_values[i].clone());
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
        let holder_row = self
            .catalogue
            .organisation_type(holder_type)
            .ok_or_else(|| {
                format!(
                "organisation type {holder_type} of the data holder is not in consent catalogue {}",
                self.catalogue.version()
            )
            })?;
        let data_category = single_cv(request, IN_DATA_CATEGORY, oids::DATA_CATEGORY)
            .ok_or("the question names no data category (event-code)")?;
        let data_category = self.catalogue.data_category(data_category).ok_or_else(|| {
            format!(
                "data category {data_category} is not in consent catalogue {}",
                self.catalogue.version()
            )
        })?;
        let requester_type = single_cv(request, IN_REQUESTER_TYPE, oids::ORGANISATION_TYPE)
            .ok_or("the question names no requester organisation type")?;
        let consulting = self
            .catalogue
            .consulting_category_of_type(requester_type)
            .ok_or_else(|| {
                format!(
                    "organisation type {requester_type} of the requester has no consulting category in consent catalogue {}",
                    self.catalogue.version()
                )
            })?;
        Ok(FactsQuery {
            bsn,
            holder,
            holder_category: Some(holder_row.holder_category),
            data_category,
            consulting,
            now: request.time().unix_secs,
        })
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

    /// Resolves the question's codes through the catalogue once, when the question is
    /// prepared: the decision then only consults the index.
    fn prepare(&self, request: &ProviderRequest<'_>) -> Option<PreparedInputs> {
        Some(Arc::new(self.query(request)))
    }

    fn provide(
        &self,
        request: &ProviderRequest<'_>,
        prepared: Option<&PreparedInputs>,
        out: &mut ProvidedAttributes<'_>,
    ) {
        let computed;
        let query = match prepared.and_then(|p| p.downcast_ref::<Result<FactsQuery, String>>()) {
            Some(q) => q,
            None => {
                computed = self.query(request);
                &computed
            }
        };
        match query {
            Ok(q) => {
                // The time of this decision, not of preparation.
                let q = FactsQuery {
                    now: request.time().unix_secs,
                    ..*q
                };
                let facts = self.index.facts(&q);
                self.push(out, OUT_INDIVIDUAL, facts.individual);
                self.push(out, OUT_CATEGORICAL, facts.categorical);
            }
            Err(reason) => out.fail_all(Status::new(StatusCode::ProcessingError, reason.clone())),
        }
    }
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
