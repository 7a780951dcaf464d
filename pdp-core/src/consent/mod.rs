//! The Mitz consent engine: citizens' consent records, the versioned catalogue of codes, the
//! compiled consent index (BSN → compact profile) and the policy information point that feeds
//! the consent facts of a closed question to the shipped XACML policy.
//!
//! See `../shared/domain/mitz-consent-model.md` (sections 1, 2, 6 and 8) for the domain.

pub mod bsn;
pub mod catalogue;
pub mod fhir;
pub mod generate;
pub mod index;
pub mod pip;
pub mod question;
pub mod record;
pub mod reference;
