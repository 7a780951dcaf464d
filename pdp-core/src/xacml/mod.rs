//! XACML 3.0 core: data types and values, the function library, the policy model and its
//! compile step, the evaluator with the combining algorithms, and the XML syntax.
//!
//! Layout follows the model/syntax/evaluation split of `cedar-policy-core`: `xml/` only
//! translates documents to and from the model; `compile` resolves references and builds the
//! target indexes; `eval` and `combine` only evaluate.

pub mod combine;
mod compile;
pub mod context;
pub mod datatype;
pub(crate) mod eval;
pub mod functions;
pub mod hl7;
pub mod index;
pub mod model;
pub mod names;
pub mod pdp;
pub mod provider;
pub mod request;
pub mod response;
pub mod table;
pub mod temporal;
pub(crate) mod tree;
pub mod value;
pub mod version;
pub mod xml;

pub use pdp::{CompileOptions, Pdp, PolicyError, PolicySource, PreparedRequest};
pub use provider::{AttributeProvider, AttributeRef, ProvidedAttributes, ProviderRequest};
