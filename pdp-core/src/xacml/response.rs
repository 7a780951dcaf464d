//! The response context: what the evaluator produces and the syntaxes write out.

use std::sync::Arc;

use smallvec::SmallVec;

use super::datatype::DataType;
use super::request::RequestCategory;
use super::value::Value;

/// The four decisions of an XACML result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    Permit,
    Deny,
    NotApplicable,
    Indeterminate,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Permit => "Permit",
            Decision::Deny => "Deny",
            Decision::NotApplicable => "NotApplicable",
            Decision::Indeterminate => "Indeterminate",
        }
    }
}

/// A whole `<Response>`: one result per individual decision request.
#[derive(Clone, Debug, Default)]
pub struct Response {
    pub results: Vec<DecisionResult>,
}

/// One `<Result>`.
#[derive(Clone, Debug)]
pub struct DecisionResult {
    pub decision: Decision,
    pub status: Status,
    pub obligations: ActionList,
    pub advice: ActionList,
    /// The request attributes marked `IncludeInResult`, grouped by category. Shared with the
    /// prepared request, and each category with every individual request that contains it, so
    /// producing a result costs a reference-count increment, not a deep copy.
    pub attributes: Arc<Vec<Arc<RequestCategory>>>,
    /// `Some` when the request asked for `ReturnPolicyIdList`.
    pub policy_identifiers: Option<Vec<PolicyIdentifier>>,
}

impl DecisionResult {
    /// A result with no obligations, advice or echoed attributes.
    pub fn new(decision: Decision, status: Status) -> Self {
        DecisionResult {
            decision,
            status,
            obligations: ActionList::new(),
            advice: ActionList::new(),
            attributes: Arc::default(),
            policy_identifiers: None,
        }
    }
}

/// A decision borrowed from the compiled policies and the prepared request
/// ([`crate::xacml::Pdp::decide_view`]): everything a [`DecisionResult`] says, without copying
/// it. When the policy tree decided by table, the obligations and advice are the stored
/// outcome's and the echo is the prepared request's, so producing a view allocates nothing and
/// touches no reference count. [`DecisionView::into_result`] makes the owned result.
#[derive(Debug)]
pub struct DecisionView<'a> {
    pub decision: Decision,
    pub status: Status,
    pub obligations: Actions<'a>,
    pub advice: Actions<'a>,
    /// The request attributes marked `IncludeInResult`, grouped by category.
    pub attributes: &'a Arc<Vec<Arc<RequestCategory>>>,
    /// `Some` when the request asked for `ReturnPolicyIdList`.
    pub policy_identifiers: Option<Vec<PolicyIdentifier>>,
}

impl DecisionView<'_> {
    /// The owned result (reference-count increments, no deep copy).
    pub fn into_result(self) -> DecisionResult {
        DecisionResult {
            decision: self.decision,
            status: self.status,
            obligations: self.obligations.into_list(),
            advice: self.advice.into_list(),
            attributes: self.attributes.clone(),
            policy_identifiers: self.policy_identifiers,
        }
    }
}

/// The obligations or advice of a [`DecisionView`]: borrowed from an outcome stored at compile
/// time, or computed for this decision. Reads as a slice.
#[derive(Debug)]
pub enum Actions<'a> {
    Borrowed(&'a [Arc<PolicyAction>]),
    Owned(ActionList),
}

impl Actions<'_> {
    /// The list, owned.
    pub fn into_list(self) -> ActionList {
        match self {
            Actions::Borrowed(actions) => actions.iter().cloned().collect(),
            Actions::Owned(list) => list,
        }
    }
}

impl std::ops::Deref for Actions<'_> {
    type Target = [Arc<PolicyAction>];

    fn deref(&self) -> &[Arc<PolicyAction>] {
        match self {
            Actions::Borrowed(actions) => actions,
            Actions::Owned(list) => list,
        }
    }
}

/// The status codes of XACML 3.0 section B.8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusCode {
    Ok,
    MissingAttribute,
    SyntaxError,
    ProcessingError,
}

impl StatusCode {
    pub fn uri(self) -> &'static str {
        match self {
            StatusCode::Ok => "urn:oasis:names:tc:xacml:1.0:status:ok",
            StatusCode::MissingAttribute => "urn:oasis:names:tc:xacml:1.0:status:missing-attribute",
            StatusCode::SyntaxError => "urn:oasis:names:tc:xacml:1.0:status:syntax-error",
            StatusCode::ProcessingError => "urn:oasis:names:tc:xacml:1.0:status:processing-error",
        }
    }
}

/// `<Status>`: a code, an optional message and, for missing attributes, what was missing.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub code: StatusCode,
    pub message: Option<String>,
    pub missing_attributes: Vec<MissingAttributeDetail>,
}

impl Status {
    pub fn ok() -> Self {
        Status {
            code: StatusCode::Ok,
            message: None,
            missing_attributes: Vec::new(),
        }
    }

    pub fn new(code: StatusCode, message: impl Into<String>) -> Self {
        Status {
            code,
            message: Some(message.into()),
            missing_attributes: Vec::new(),
        }
    }
}

/// `<MissingAttributeDetail>`: names an attribute the policy required (`MustBePresent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingAttributeDetail {
    pub category: Arc<str>,
    pub attribute_id: Arc<str>,
    pub datatype: DataType,
    pub issuer: Option<Arc<str>>,
}

/// The obligations or the advice of a result. A result nearly always carries none or one, so
/// one is kept inline: deciding allocates nothing for them. Actions are shared: an action
/// whose assignments are constant is built once at compile time, and putting it in a result
/// is one reference-count increment.
pub type ActionList = SmallVec<[Arc<PolicyAction>; 1]>;

/// An obligation or an advice in a result, with its evaluated attribute assignments.
///
/// The assignments are shared: an action whose assignments are all constant is built once at
/// compile time, and putting it in a result is two reference-count increments, not an
/// allocation and a deep copy.
#[derive(Clone, Debug)]
pub struct PolicyAction {
    pub id: Arc<str>,
    pub assignments: Arc<[AttributeAssignment]>,
}

/// `<AttributeAssignment>`.
#[derive(Clone, Debug)]
pub struct AttributeAssignment {
    pub attribute_id: Arc<str>,
    pub category: Option<Arc<str>>,
    pub issuer: Option<Arc<str>>,
    pub value: Value,
}

/// Whether an identifier names a `Policy` or a `PolicySet`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    Policy,
    PolicySet,
}

/// An entry of `<PolicyIdentifierList>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyIdentifier {
    pub kind: PolicyKind,
    pub id: Arc<str>,
    pub version: Arc<str>,
}
