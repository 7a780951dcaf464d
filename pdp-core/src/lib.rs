//! Akkoord's policy decision engine: a pure library (no I/O, no async, no global mutable
//! state). Everything it needs arrives as bytes or values; `pdp-server` feeds it.
//!
//! - [`xacml`]: the XACML 3.0 model, XML codec, compile step, evaluator and function library.
//! - [`consent`]: the Mitz consent model, catalogue, consent index and its attribute provider.
//! - [`protocol`]: the SOAP/SAML envelope of the closed question and the HL7v3 data types.

pub mod consent;
pub mod protocol;
pub mod xacml;
