//! Akkoord's consent decision side by side with peer engines on one workload.
//!
//! - [`akkoord`]: Akkoord's closed-question service (shipped XACML policy + consent index);
//! - [`model`]: the engine-neutral records, questions and outcomes;
//! - [`workload`]: the data set (from `pdp-core`'s generator) and the questions;
//! - [`naive`]: `HashMap<String, Vec<Record>>` and the rules written plainly (the reference);
//! - [`cedar_model`]: the rules in Cedar;
//! - [`rego_model`]: the rules in Rego, evaluated by Regorus (interpreter and RVM);
//! - [`check`]: every engine against the naive reference on every question.
//!
//! See `README.md` for how to run the benches and the figures.

pub mod akkoord;
pub mod cedar_model;
pub mod check;
pub mod model;
pub mod naive;
pub mod rego_model;
pub mod workload;
