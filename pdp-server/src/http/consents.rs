//! Consent registration (`POST /consents`), withdrawal (`DELETE /consents`) and the operators'
//! view of one citizen's records in this node's index (`GET /admin/consents/{bsn}`).
//!
//! Bodies are FHIR R4 `Consent` resources: one as `application/fhir+json`, or many as
//! `application/x-ndjson` (one per line, the bulk format of `pdp_core::consent::fhir`). A body
//! is all-or-nothing: every line is parsed before anything is written, and the write is one
//! store transaction. Errors name the line and the JSON path, never the BSN.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use pdp_core::consent::bsn::Bsn;
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::{parse_consent_line, FhirError};
use pdp_core::consent::index::{IndexedRecord, HOLDER_CATEGORY_FLAG};
use serde_json::{json, Value};

use super::reply::{self, Issue, Reply};
use super::{body_or_refusal, change_meta, media_type, AppState};
use crate::live::Live;
use crate::store::{ConsentChange, StoreError, WriteOutcome};

/// Register (upsert) or withdraw (remove by key).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Register,
    Withdraw,
}

/// Media types of one resource and of NDJSON.
const SINGLE: [&str; 2] = ["application/fhir+json", "application/json"];
const NDJSON: [&str; 2] = ["application/x-ndjson", "application/ndjson"];

/// Report at most this many bad lines (the rest of a broken file is usually broken the same way).
const MAX_ISSUES: usize = 20;

pub async fn write(state: &Arc<AppState>, req: Request<Incoming>, kind: Kind) -> Reply {
    let live = &state.live;
    let media = media_type(req.headers());
    let ndjson = if NDJSON.contains(&media.as_str()) {
        true
    } else if SINGLE.contains(&media.as_str()) {
        false
    } else {
        live.metrics.count_rejected("wrong_content_type");
        return reply::operation_outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &[Issue {
                code: "not-supported",
                diagnostics: "send one FHIR Consent as application/fhir+json, or one per line as \
                              application/x-ndjson"
                    .into(),
                expression: None,
            }],
        );
    };
    let default_author = "registration-api";
    let headers = req.headers().clone();
    let body = match body_or_refusal(state, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let changes = match parse_changes(&body, ndjson, kind, &live.catalogue) {
        Ok(c) => c,
        Err((reason, issues)) => {
            live.metrics.count_rejected(reason);
            return reply::operation_outcome(StatusCode::BAD_REQUEST, &issues);
        }
    };
    let what = match kind {
        Kind::Register => "consents",
        Kind::Withdraw => "withdrawals",
    };
    let meta = match change_meta(
        &headers,
        default_author,
        format!("{} {what}", changes.len()),
    ) {
        Ok(m) => m,
        Err(message) => {
            live.metrics.count_rejected("invalid_author");
            return reply::operation_outcome(
                StatusCode::BAD_REQUEST,
                &[Issue {
                    code: "invalid",
                    diagnostics: message,
                    expression: None,
                }],
            );
        }
    };
    let catalogue = live.catalogue.clone();
    let written = state
        .store
        .run(move |store| store.write_consents(&changes, &catalogue, &meta))
        .await
        .and_then(|r| r);
    match written {
        Ok(outcome) => outcome_reply(&outcome),
        Err(e) => {
            live.metrics.count_rejected("store_unavailable");
            log::warn!("a consent write was refused by the store: {e}");
            let (status, code) = match e {
                StoreError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
                _ => (StatusCode::SERVICE_UNAVAILABLE, "transient"),
            };
            reply::operation_outcome(
                status,
                &[Issue {
                    code,
                    diagnostics: format!(
                        "the change was NOT recorded ({e}); nothing of this request was \
                         written: send the same request again (it is idempotent)"
                    ),
                    expression: None,
                }],
            )
        }
    }
}

fn outcome_reply(o: &WriteOutcome) -> Reply {
    let status = if o.change_seq.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    reply::json(
        status,
        &json!({
            "change_seq": o.change_seq,
            "inserted": o.inserted,
            "updated": o.updated,
            "unchanged": o.unchanged,
            "removed": o.removed,
        }),
    )
}

type Refusal = (&'static str, Vec<Issue>);

/// Parses every resource of the body into changes, or every problem (up to [`MAX_ISSUES`])
/// with the metric label of the first.
fn parse_changes(
    body: &[u8],
    ndjson: bool,
    kind: Kind,
    catalogue: &Catalogue,
) -> Result<Vec<ConsentChange>, Refusal> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err((
            "not_utf8",
            vec![Issue {
                code: "structure",
                diagnostics: "the body is not UTF-8 text; FHIR JSON is UTF-8".into(),
                expression: None,
            }],
        ));
    };
    let lines: Vec<(usize, &str)> = if ndjson {
        text.lines()
            .enumerate()
            .map(|(n, l)| (n + 1, l))
            .filter(|(_, l)| !l.trim().is_empty())
            .collect()
    } else {
        // One resource, possibly pretty-printed: the whole body is its "line".
        vec![(1, text)]
            .into_iter()
            .filter(|(_, t)| !t.trim().is_empty())
            .collect()
    };
    if lines.is_empty() {
        return Err((
            "empty_body",
            vec![Issue {
                code: "required",
                diagnostics: "the body holds no Consent resource".into(),
                expression: None,
            }],
        ));
    }
    let mut changes = Vec::with_capacity(lines.len());
    let mut issues = Vec::new();
    let mut first_reason = None;
    for (n, line) in lines {
        match parse_consent_line(line, catalogue) {
            Ok(record) => changes.push(match kind {
                Kind::Register => ConsentChange::Upsert(record),
                Kind::Withdraw => ConsentChange::Remove {
                    bsn: record.bsn,
                    key: record.key(),
                },
            }),
            Err(e) => {
                first_reason.get_or_insert(fhir_reason(&e));
                issues.push(Issue {
                    code: "invalid",
                    diagnostics: if ndjson {
                        format!("line {n}: {e}")
                    } else {
                        e.to_string()
                    },
                    expression: Some(e.path.clone()),
                });
                if issues.len() >= MAX_ISSUES {
                    issues.push(Issue {
                        code: "too-costly",
                        diagnostics: format!("stopped after {MAX_ISSUES} bad lines"),
                        expression: None,
                    });
                    break;
                }
            }
        }
    }
    match first_reason {
        None => Ok(changes),
        Some(reason) => Err((reason, issues)),
    }
}

/// The metric label of a FHIR parse error, by where it is.
fn fhir_reason(e: &FhirError) -> &'static str {
    let p = e.path.as_str();
    if p == "$" {
        "fhir_invalid_json"
    } else if p.starts_with("patient") {
        "fhir_invalid_bsn"
    } else if p.starts_with("category") {
        "fhir_invalid_data_category"
    } else if p.starts_with("extension") {
        "fhir_invalid_extension"
    } else if p.starts_with("provision") {
        "fhir_invalid_provision"
    } else {
        "fhir_invalid_consent"
    }
}

/// `GET /admin/consents/{bsn}`: the citizen's records as this node's index holds them, codes
/// resolved through the catalogue. For operators and for tests comparing nodes with the store.
pub fn admin_citizen(live: &Live, bsn_text: &str) -> Reply {
    let bsn = match Bsn::parse(bsn_text) {
        Ok(b) => b,
        Err(e) => {
            live.metrics.count_rejected("invalid_bsn");
            // BsnError's wording names the rule, not the digits.
            return reply::error(StatusCode::BAD_REQUEST, format!("invalid BSN: {e}"), None);
        }
    };
    let c = &live.catalogue;
    let records: Vec<Value> = live
        .index
        .citizen_records(bsn)
        .iter()
        .map(|r| record_json(c, r))
        .collect();
    reply::json(
        StatusCode::OK,
        &json!({ "records": records, "applied_seq": live.status().applied_seq }),
    )
}

fn record_json(c: &Catalogue, r: &IndexedRecord) -> Value {
    let holder = if r.holder & HOLDER_CATEGORY_FLAG != 0 {
        let idx = (r.holder & !HOLDER_CATEGORY_FLAG) as usize;
        let name = c
            .holder_category_ids()
            .find(|id| id.index() == idx)
            .and_then(|id| c.holder_category_name(id));
        json!({ "category": name, "category_index": idx })
    } else {
        json!({ "ura": format!("{:08}", r.holder) })
    };
    let data_category = c
        .data_category_ids()
        .find(|id| id.index() == usize::from(r.data_category))
        .and_then(|id| c.data_category_code(id));
    let consulting: Vec<Value> = c
        .consulting_category_ids()
        .filter(|id| r.consulting & (1u16 << id.index()) != 0)
        .map(|id| json!(c.consulting_category_code(id)))
        .collect();
    let choice = match r.choice {
        0 => "yes",
        1 => "no",
        2 => "no-unless-emergency",
        _ => "unknown",
    };
    let minor = match r.minor {
        0 => "not-minor",
        1 => "pending-confirmation",
        2 => "confirmed",
        3 => "rejected",
        _ => "unknown",
    };
    json!({
        "holder": holder,
        "data_category": data_category,
        "data_category_index": r.data_category,
        "consulting": consulting,
        "consulting_bits": r.consulting,
        "choice": choice,
        "minor": minor,
        "valid_from": r.valid_from,
        "valid_until": r.valid_until,
    })
}
