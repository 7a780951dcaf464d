//! The policy administration point over HTTP: list, read, add and activate policy revisions.
//! Every write goes through [`crate::pap`]'s compile-before-write checks, so the store never
//! holds an active set that does not compile. Nodes pick up activations through the change log
//! (the loader), not from this handler: `/health` shows when a node runs the new set.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::{json, Value};

use super::reply::{self, Reply};
use super::{body_or_refusal, change_meta, media_type, percent_decode, AppState};
use crate::live::Live;
use crate::pap::{activate_checked, document_policy_id, put_policy_checked, PapError};
use crate::store::{StoreError, StoredPolicy};

/// Media types a policy document may arrive with.
const ACCEPTED: [&str; 3] = ["application/xacml+xml", "application/xml", "text/xml"];

/// Default change-log author of PAP writes.
const DEFAULT_AUTHOR: &str = "pap";

pub async fn list(state: &Arc<AppState>) -> Reply {
    match state.store.run(|s| s.policies(false)).await.and_then(|r| r) {
        Ok(all) => {
            let list: Vec<Value> = all.iter().map(summary).collect();
            reply::json(StatusCode::OK, &json!({ "policies": list }))
        }
        Err(e) => store_refusal(&state.live, &e),
    }
}

fn summary(p: &StoredPolicy) -> Value {
    json!({
        "policy_id": p.policy_id,
        "revision": p.revision,
        "author": p.author,
        "created_at": p.created_at,
        "active": p.active,
    })
}

/// Decodes `{policy_id}/{revision}` path segments, or answers 400.
fn id_and_revision(live: &Live, id: &str, revision: &str) -> Result<(String, i64), Reply> {
    let Some(id) = percent_decode(id) else {
        live.metrics.count_rejected("invalid_path");
        return Err(reply::error(
            StatusCode::BAD_REQUEST,
            "the policy id in the path is not valid percent-encoded UTF-8",
            None,
        ));
    };
    match revision.parse::<i64>() {
        Ok(r) if r > 0 => Ok((id, r)),
        _ => {
            live.metrics.count_rejected("invalid_path");
            Err(reply::error(
                StatusCode::BAD_REQUEST,
                "the revision in the path must be a positive whole number (see GET /policies)",
                None,
            ))
        }
    }
}

pub async fn get(state: &Arc<AppState>, id: &str, revision: &str) -> Reply {
    let (id, revision) = match id_and_revision(&state.live, id, revision) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let looked_up = id.clone();
    match state
        .store
        .run(move |s| s.policy(&looked_up, revision))
        .await
        .and_then(|r| r)
    {
        Ok(Some(p)) => reply::with_body(StatusCode::OK, reply::XACML_XML, p.xml),
        Ok(None) => {
            state.live.metrics.count_rejected("policy_not_found");
            reply::error(
                StatusCode::NOT_FOUND,
                format!(
                    "policy `{id}` has no revision {revision}; list revisions with GET /policies"
                ),
                None,
            )
        }
        Err(e) => store_refusal(&state.live, &e),
    }
}

/// `POST /policies?activate=true|false` (default false): stores a new revision.
pub async fn put(state: &Arc<AppState>, req: Request<Incoming>) -> Reply {
    let live = &state.live;
    let activate = match query_flag(req.uri().query(), "activate") {
        Ok(a) => a,
        Err(message) => {
            live.metrics.count_rejected("invalid_query");
            return reply::error(StatusCode::BAD_REQUEST, message, None);
        }
    };
    let media = media_type(req.headers());
    if !ACCEPTED.contains(&media.as_str()) {
        live.metrics.count_rejected("wrong_content_type");
        return reply::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the XACML 3.0 policy document as application/xacml+xml (or application/xml)",
            Some(json!({ "accepted": ACCEPTED })),
        );
    }
    let headers = req.headers().clone();
    let body = match body_or_refusal(state, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(xml) = String::from_utf8(body.to_vec()) else {
        live.metrics.count_rejected("not_utf8");
        return reply::error(
            StatusCode::BAD_REQUEST,
            "the policy is not UTF-8; store policies as UTF-8",
            None,
        );
    };
    let id_for_log = document_policy_id(&xml).unwrap_or_else(|_| "(unnamed)".into());
    let meta = match change_meta(&headers, DEFAULT_AUTHOR, format!("policy {id_for_log}")) {
        Ok(m) => m,
        Err(message) => {
            live.metrics.count_rejected("invalid_author");
            return reply::error(StatusCode::BAD_REQUEST, message, None);
        }
    };
    let root = state.root_policy.clone();
    let catalogue = live.catalogue.clone();
    let written = state
        .store
        .run(move |s| put_policy_checked(s, &xml, activate, &root, &catalogue, &meta))
        .await;
    match written {
        Ok(Ok((policy_id, revision))) => {
            log::info!("PAP: stored {policy_id} revision {revision} (active: {activate})");
            reply::json(
                StatusCode::CREATED,
                &json!({ "policy_id": policy_id, "revision": revision, "active": activate }),
            )
        }
        Ok(Err(e)) => pap_refusal(live, e),
        Err(e) => store_refusal(live, &e),
    }
}

/// `POST /policies/{policy_id}/{revision}/activate`.
pub async fn activate(
    state: &Arc<AppState>,
    req: &Request<Incoming>,
    id: &str,
    revision: &str,
) -> Reply {
    let live = &state.live;
    let (id, revision) = match id_and_revision(live, id, revision) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let meta = match change_meta(
        req.headers(),
        DEFAULT_AUTHOR,
        format!("activate policy {id} revision {revision}"),
    ) {
        Ok(m) => m,
        Err(message) => {
            live.metrics.count_rejected("invalid_author");
            return reply::error(StatusCode::BAD_REQUEST, message, None);
        }
    };
    let root = state.root_policy.clone();
    let catalogue = live.catalogue.clone();
    let target = id.clone();
    let done = state
        .store
        .run(move |s| activate_checked(s, &target, revision, &root, &catalogue, &meta))
        .await;
    match done {
        Ok(Ok(())) => {
            log::info!("PAP: activated {id} revision {revision}");
            reply::json(
                StatusCode::OK,
                &json!({ "policy_id": id, "revision": revision, "active": true }),
            )
        }
        Ok(Err(e)) => pap_refusal(live, e),
        Err(e) => store_refusal(live, &e),
    }
}

fn pap_refusal(live: &Live, e: PapError) -> Reply {
    match e {
        PapError::Invalid(errors) => {
            live.metrics.count_rejected("policy_invalid");
            reply::error(
                StatusCode::BAD_REQUEST,
                "the policy was not stored: the active set it would produce does not compile; \
                 fix every error listed (policy-id@revision:line:column) and send it again",
                Some(json!({ "errors": errors })),
            )
        }
        PapError::Store(StoreError::Invalid(message)) => {
            live.metrics.count_rejected("policy_not_found");
            reply::error(StatusCode::NOT_FOUND, message, None)
        }
        PapError::Store(e) => store_refusal(live, &e),
    }
}

/// 503 for a store that failed: nothing was written, retry.
fn store_refusal(live: &Live, e: &StoreError) -> Reply {
    live.metrics.count_rejected("store_unavailable");
    log::warn!("PAP: store call failed: {e}");
    reply::error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the store failed ({e}); nothing was changed: retry shortly"),
        None,
    )
}

/// A boolean query parameter: absent = false; `true`/`1` or `false`/`0`.
fn query_flag(query: Option<&str>, name: &str) -> Result<bool, String> {
    let Some(query) = query else {
        return Ok(false);
    };
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, "true"));
        if k == name {
            return match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(format!("query parameter {name} must be true or false")),
            };
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::query_flag;

    #[test]
    fn activate_flag_is_read_from_the_query() {
        assert_eq!(query_flag(None, "activate"), Ok(false));
        assert_eq!(query_flag(Some("activate=true"), "activate"), Ok(true));
        assert_eq!(query_flag(Some("x=1&activate=0"), "activate"), Ok(false));
        assert_eq!(query_flag(Some("activate"), "activate"), Ok(true));
        assert!(query_flag(Some("activate=yes"), "activate").is_err());
    }
}
