//! Akkoord's policy decision engine: a pure library (no I/O, no async, no global mutable
//! state). Everything it needs arrives as bytes or values; `pdp-server` feeds it.
//!
//! - [`xacml`]: the XACML 3.0 model, XML codec, compile step, evaluator and function library.

pub mod xacml;
