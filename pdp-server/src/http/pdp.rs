//! `POST /pdp`: the decision endpoint. A SOAP 1.2 closed question (Mitz
//! `XACMLAuthzDecisionQuery`) gets the SOAP answer or a SOAP fault; a plain XACML 3.0 XML
//! request gets an XACML response. Only the in-memory index and compiled policies are read.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use pdp_core::protocol::soap::{
    content_type_ok, write_fault, FaultCode, SoapFault, ANSWER_CONTENT_TYPE,
};
use pdp_core::xacml::response::{Decision, DecisionResult, Response, Status, StatusCode as Xs};
use pdp_core::xacml::xml::doc::XmlErrorKind;
use pdp_core::xacml::xml::request::{parse_request_with, RequestError, RequestErrorKind};
use pdp_core::xacml::xml::response::write_response;
use serde_json::json;

use super::reply::{self, Reply, XACML_XML};
use super::{body_or_refusal, content_type, media_type, AppState};
use crate::closed_question::is_soap_envelope;
use crate::live::{ActivePolicies, Live};

/// The media types `POST /pdp` accepts.
pub const ACCEPTED: [&str; 4] = [
    "application/soap+xml",
    "text/xml",
    "application/xacml+xml",
    "application/xml",
];

/// Which protocol a request speaks, by content type and (for the generic XML types) by its
/// root element.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Protocol {
    Soap,
    Xacml,
}

pub async fn post(state: &Arc<AppState>, req: Request<Incoming>) -> Reply {
    let live = &state.live;
    let media = media_type(req.headers());
    if !ACCEPTED.contains(&media.as_str()) {
        live.metrics.count_rejected("wrong_content_type");
        return reply::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /pdp takes a SOAP 1.2 closed question as application/soap+xml (or text/xml), \
             or an XACML 3.0 XML request as application/xacml+xml (or application/xml)",
            Some(json!({ "accepted": ACCEPTED })),
        );
    }
    let soap_declared = media == "application/soap+xml";
    if soap_declared && !content_type_ok(content_type(req.headers())) {
        live.metrics.count_rejected("wrong_content_type");
        return soap_fault_reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &SoapFault::sender("the Content-Type declares a charset other than UTF-8; send UTF-8"),
        );
    }
    let body = match body_or_refusal(state, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let protocol = if soap_declared || is_soap_envelope(&body) {
        Protocol::Soap
    } else {
        Protocol::Xacml
    };
    let policies = match live.policies() {
        Some(p) if live.is_ready() => p,
        _ => {
            live.metrics.count_rejected("not_ready");
            return reply::not_ready(match protocol {
                Protocol::Soap => soap_fault_reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &SoapFault::receiver(
                        "the node is still loading its consent index; retry in a second",
                    ),
                ),
                Protocol::Xacml => reply::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the node is still loading its consent index; retry in a second",
                    None,
                ),
            });
        }
    };
    let time = crate::cli::now();
    match protocol {
        Protocol::Soap => soap(live, &policies, &body, time),
        Protocol::Xacml => xacml(live, &policies, &body, time),
    }
}

fn soap(
    live: &Live,
    policies: &ActivePolicies,
    body: &[u8],
    time: pdp_core::xacml::request::RequestTime,
) -> Reply {
    // The answer is written as the decisions are made (read in place, nothing owned): the
    // path `benches/consent_decision.rs` measures bytes to bytes. Decisions are counted as
    // they are written; a fault comes before any decision, so a refused question counts only
    // under `akkoord_rejected_requests_total`.
    let mut out = String::with_capacity(4096);
    let answered =
        policies
            .service
            .answer_observed(body, &live.xml_limits, time, &mut out, |decision| {
                live.metrics.count_decision(decision)
            });
    match answered {
        Ok(()) => reply::with_body(StatusCode::OK, ANSWER_CONTENT_TYPE, out),
        Err(fault) => {
            live.metrics.count_rejected(fault_reason(&fault));
            let status = StatusCode::from_u16(fault.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            soap_fault_reply(status, &fault)
        }
    }
}

fn soap_fault_reply(status: StatusCode, fault: &SoapFault) -> Reply {
    let mut out = String::with_capacity(1024);
    write_fault(fault, &mut out);
    reply::with_body(status, ANSWER_CONTENT_TYPE, out)
}

/// The metric label of a SOAP fault. Faults carry their cause only as text (they are made to
/// be sent), so XML-level causes are recognised by the wording of `pdp_core::protocol::soap`.
fn fault_reason(fault: &SoapFault) -> &'static str {
    match fault.code {
        FaultCode::VersionMismatch => "soap_version_mismatch",
        FaultCode::MustUnderstand => "soap_must_understand",
        FaultCode::Receiver => "soap_receiver_fault",
        FaultCode::Sender => {
            let r = &fault.reason;
            if r.contains("DOCTYPE") {
                "doctype"
            } else if r.contains("not well-formed") || r.contains("is not XML") {
                "malformed_xml"
            } else if r.contains("UTF-8") {
                "not_utf8"
            } else if r.contains("limit of") || r.contains("more than") {
                "xml_limits"
            } else {
                "invalid_question"
            }
        }
    }
}

fn xacml(
    live: &Live,
    policies: &ActivePolicies,
    body: &[u8],
    time: pdp_core::xacml::request::RequestTime,
) -> Reply {
    let pdp = policies.service.pdp();
    match parse_request_with(body, &live.xml_limits, Some(pdp.symbols())) {
        Ok(request) => {
            let response = pdp.evaluate(&request, time);
            count_decisions(live, &response);
            let mut out = String::with_capacity(2048);
            write_response(&response, &mut out);
            reply::with_body(StatusCode::OK, XACML_XML, out)
        }
        Err(e) => {
            live.metrics.count_rejected(request_error_reason(&e));
            // XACML 3.0 §5.57: a request that cannot be read gets Indeterminate with a
            // syntax-error status; HTTP 400 tells the transport the same.
            let response = Response {
                results: vec![DecisionResult::new(
                    Decision::Indeterminate,
                    Status::new(Xs::SyntaxError, e.to_string()),
                )],
            };
            let mut out = String::with_capacity(1024);
            write_response(&response, &mut out);
            reply::with_body(StatusCode::BAD_REQUEST, XACML_XML, out)
        }
    }
}

fn request_error_reason(e: &RequestError) -> &'static str {
    match &e.kind {
        RequestErrorKind::Xml(XmlErrorKind::Doctype) => "doctype",
        RequestErrorKind::Xml(XmlErrorKind::Malformed(_)) => "malformed_xml",
        RequestErrorKind::Xml(XmlErrorKind::NotUtf8) => "not_utf8",
        RequestErrorKind::Xml(_) => "xml_limits",
        _ => "invalid_request",
    }
}

fn count_decisions(live: &Live, response: &Response) {
    for r in &response.results {
        live.metrics.count_decision(r.decision);
    }
}
