//! Akkoord itself: the lead's closed-question service (`pdp_core::consent::question`), i.e. the
//! shipped XACML policy set `policies/mitz-consent.xml` compiled once, with the compact
//! [`ConsentIndex`] as its policy information point.
//!
//! What is timed per decision is [`ClosedQuestionService::decide_prepared_view`] (the decision
//! read in place, as an embedding host reads it; `decide_prepared` makes the owned result of
//! the same decision) on a question that was validated and prepared (interned, split per data
//! category) beforehand — the "embedded
//! decision on a parsed question" of issue 3. That includes the index lookup, the policy
//! evaluation with its obligations and advice, and building the result with the echoed
//! attributes. The type-to-category mapping through the catalogue happens inside, too (the
//! peers get it done for them in the workload).

use std::sync::Arc;

use pdp_core::consent::bsn::{Bsn, Ura};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::{ClosedQuestion, ClosedQuestionService, Identifier};
use pdp_core::consent::record::ConsentRecord;
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::response::{Decision, PolicyAction, Status};
use pdp_core::xacml::{CompileOptions, PolicySource, PreparedRequest};

use crate::model::{Outcome, Question};

/// The consent decision policy Akkoord ships.
pub const POLICY_XML: &str = include_str!("../../policies/mitz-consent.xml");

const OBLIGATION_INFORM: &str = "urn:akkoord:obligation:inform-citizen-of-emergency-access";
const ADVICE_NOTHING_RECORDED: &str = "urn:akkoord:advice:no-consent-recorded";

/// The closed-question service over an index of the workload's records.
pub struct AkkoordEngine {
    service: ClosedQuestionService,
}

/// Why a question could not be prepared or decided.
#[derive(Debug)]
pub struct AkkoordError(pub String);

impl std::fmt::Display for AkkoordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "akkoord: {}", self.0)
    }
}

impl std::error::Error for AkkoordError {}

/// Builds the index from the records (one thread, in order; later records replace earlier ones
/// with the same key, which the generator never produces).
pub fn build_index(catalogue: &Catalogue, records: &[ConsentRecord]) -> ConsentIndex {
    let index = ConsentIndex::from_records(catalogue, records.iter().copied());
    index.shrink_to_fit();
    index
}

impl AkkoordEngine {
    /// Compiles the shipped policy with an index of `records`.
    pub fn new(catalogue: &Catalogue, records: &[ConsentRecord]) -> Result<Self, AkkoordError> {
        let index = Arc::new(build_index(catalogue, records));
        let service = ClosedQuestionService::new(
            &[PolicySource {
                name: "policies/mitz-consent.xml",
                text: POLICY_XML,
            }],
            &CompileOptions::default(),
            Arc::new(catalogue.clone()),
            index,
        )
        .map_err(|errors| {
            AkkoordError(format!("the shipped policy does not compile: {errors:?}"))
        })?;
        Ok(AkkoordEngine { service })
    }

    /// Validates and prepares a question for one data category, as the SOAP front end does
    /// after parsing. The requester and professional are fixed synthetic identities (the rules
    /// do not read them).
    pub fn prepare(&self, q: &Question) -> Result<PreparedRequest, AkkoordError> {
        let closed = ClosedQuestion {
            bsn: Bsn::parse(&q.bsn).map_err(|e| AkkoordError(e.to_string()))?,
            holder: Ura::parse(&q.holder_ura).map_err(|e| AkkoordError(e.to_string()))?,
            holder_type: q.holder_type.clone(),
            data_categories: vec![q.data_category.clone()],
            requester: Ura::from_u32(99_999_999).map_err(|e| AkkoordError(e.to_string()))?,
            requester_type: q.requester_type.clone(),
            role: "17.000".into(),
            professional: Identifier {
                root: "2.16.528.1.1007.3.1".into(),
                extension: "000000123".into(),
            },
            mandated: None,
            purpose: q.purpose,
        };
        let time = RequestTime {
            unix_secs: q.now,
            nanos: 0,
        };
        let mut prepared = self
            .service
            .prepare(closed.to_request(), time)
            .map_err(|fault| AkkoordError(format!("question refused: {fault:?}")))?;
        match prepared.len() {
            1 => Ok(prepared.remove(0)),
            n => Err(AkkoordError(format!(
                "expected one individual decision, got {n}"
            ))),
        }
    }

    /// Decides a prepared question. Only Permit and Deny are outcomes the peers can give; any
    /// other decision is reported as an error (with its status) so the check fails loudly.
    pub fn decide(&self, prepared: &PreparedRequest) -> Result<Outcome, AkkoordError> {
        // Read in place: the decision borrows the stored outcome and the question's echo.
        let view = self.service.decide_prepared_view(prepared);
        outcome(view.decision, &view.status, &view.obligations, &view.advice)
    }

    /// [`AkkoordEngine::decide`] through the owned `DecisionResult` (reference counts taken
    /// and dropped): the same decision, as a caller that keeps the result gets it.
    pub fn decide_owned(&self, prepared: &PreparedRequest) -> Result<Outcome, AkkoordError> {
        let r = self.service.decide_prepared(prepared);
        outcome(r.decision, &r.status, &r.obligations, &r.advice)
    }
}

/// The workload's outcome of a decision; only Permit and Deny are outcomes the peers can give,
/// so any other decision is an error (with its status) and the agreement check fails loudly.
fn outcome(
    decision: Decision,
    status: &Status,
    obligations: &[Arc<PolicyAction>],
    advice: &[Arc<PolicyAction>],
) -> Result<Outcome, AkkoordError> {
    let permit = match decision {
        Decision::Permit => true,
        Decision::Deny => false,
        other => {
            return Err(AkkoordError(format!(
                "decision {other:?}, status {status:?}"
            )))
        }
    };
    Ok(Outcome {
        permit,
        obligation: obligations.iter().any(|o| &*o.id == OBLIGATION_INFORM),
        advice: advice.iter().any(|a| &*a.id == ADVICE_NOTHING_RECORDED),
    })
}
