//! Building responses: one place that maps each kind of answer (JSON, XML, text, FHIR
//! `OperationOutcome`, refusals) to status, headers and body, so handlers only say *what* to
//! answer.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// The response type of every handler: a complete body in memory (answers are small).
pub type Reply = Response<Full<Bytes>>;

pub const JSON: &str = "application/json";
pub const FHIR_JSON: &str = "application/fhir+json";
pub const XACML_XML: &str = "application/xacml+xml; charset=utf-8";
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4";

/// A reply with a body of the given media type.
pub fn with_body(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A JSON reply (pretty enough for `curl`, one trailing newline).
pub fn json(status: StatusCode, value: &Value) -> Reply {
    let mut text = value.to_string();
    text.push('\n');
    with_body(status, JSON, text)
}

/// A JSON error `{ "error": message, ...extra }`.
pub fn error(status: StatusCode, message: impl Into<String>, extra: Option<Value>) -> Reply {
    let mut body = json!({ "error": message.into() });
    if let (Some(Value::Object(extra)), Some(obj)) = (extra, body.as_object_mut()) {
        obj.extend(extra);
    }
    json(status, &body)
}

/// One issue of a FHIR `OperationOutcome`: where (a FHIRPath-like expression, optional) and
/// what is wrong.
pub struct Issue {
    pub code: &'static str,
    pub diagnostics: String,
    pub expression: Option<String>,
}

/// A FHIR R4 `OperationOutcome` with `error` issues, the answer FHIR clients expect on failure.
pub fn operation_outcome(status: StatusCode, issues: &[Issue]) -> Reply {
    let issues: Vec<Value> = issues
        .iter()
        .map(|i| {
            let mut v = json!({
                "severity": "error",
                "code": i.code,
                "diagnostics": i.diagnostics,
            });
            if let (Some(e), Some(obj)) = (&i.expression, v.as_object_mut()) {
                obj.insert("expression".into(), json!([e]));
            }
            v
        })
        .collect();
    let body = json!({ "resourceType": "OperationOutcome", "issue": issues });
    let mut text = body.to_string();
    text.push('\n');
    with_body(status, FHIR_JSON, text)
}

/// 503 before the first full load, with `Retry-After` so clients and load balancers back off
/// briefly instead of failing over for good.
pub fn not_ready(mut reply: Reply) -> Reply {
    *reply.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    reply
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    reply
}

/// 405 naming the methods the path has.
pub fn method_not_allowed(path: &str, allowed: &'static str) -> Reply {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{path} does not take this method; it takes {allowed}"),
        Some(json!({ "allowed": allowed.split(", ").collect::<Vec<_>>() })),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    r
}

/// The endpoints, for 404 answers.
pub const ENDPOINTS: &[&str] = &[
    "POST /pdp",
    "POST /consents",
    "DELETE /consents",
    "GET /policies",
    "POST /policies?activate=true|false",
    "GET /policies/{policy_id}/{revision}",
    "POST /policies/{policy_id}/{revision}/activate",
    "GET /health",
    "GET /ready",
    "GET /metrics",
    "GET /admin/consents/{bsn}",
];

/// 404 listing what exists. The path is not echoed: it may hold a BSN.
pub fn not_found() -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "no endpoint at this path; see `endpoints`",
        Some(json!({ "endpoints": ENDPOINTS })),
    )
}
