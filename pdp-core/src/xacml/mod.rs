//! XACML 3.0 core: data types and values, the function library, the policy model and its
//! compile step, the evaluator with the combining algorithms, and the XML syntax.
//!
//! Layout follows the model/syntax/evaluation split of `cedar-policy-core`: `xml/` only
//! translates documents to and from the model; `compile` resolves and indexes; `eval` and
//! `combine` only evaluate.

pub mod datatype;
pub mod functions;
pub mod names;
pub mod pdp;
pub mod request;
pub mod response;
pub mod temporal;
pub mod value;
pub mod xml;
