//! The public face of the engine: compile policies once, evaluate requests many times.
//!
//! SKELETON: bodies are being written; the signatures are the contract for the CLI and server.

use std::fmt;

use super::request::{Request, RequestTime};
use super::response::Response;
use super::xml::doc::{Position, XmlLimits};

/// One policy document to load: a name for error messages (usually the file path) and its text.
#[derive(Clone, Copy, Debug)]
pub struct PolicySource<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Options of the compile step.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileOptions {
    pub xml_limits: XmlLimits,
}

/// A policy that cannot be loaded: where, and what is wrong in a sentence saying what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub position: Position,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.position, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// A compiled policy decision point: the root policy (or policy set) with everything it
/// references, ready to evaluate.
pub struct Pdp {
    _private: (),
}

impl Pdp {
    /// Parses and compiles `sources`; the first is the root, the others are reachable through
    /// `PolicyIdReference`/`PolicySetIdReference`. Returns every error found.
    pub fn compile(
        sources: &[PolicySource<'_>],
        options: &CompileOptions,
    ) -> Result<Pdp, Vec<PolicyError>> {
        let _ = (sources, options);
        todo!("compile")
    }

    /// Evaluates a parsed request (all its individual decisions) at `time`.
    pub fn evaluate(&self, request: &Request, time: RequestTime) -> Response {
        let _ = (request, time);
        todo!("evaluate")
    }
}
