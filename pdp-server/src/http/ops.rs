//! Operations endpoints: `/health` (what a person reads), `/ready` (what a load balancer
//! reads), `/metrics` (what Prometheus reads). All read only the live state, so they answer
//! while the store is down — and say how stale the node is.

use hyper::StatusCode;
use serde_json::json;

use super::reply::{self, Reply, PROMETHEUS_TEXT};
use crate::live::{now_ms, Live};

/// 200 once ready (even with the store down: the node still answers, the body says how stale
/// it is), 503 before the first full load.
pub fn health(live: &Live) -> Reply {
    let s = live.status();
    let ready = live.is_ready();
    let active: Vec<_> = live
        .policies()
        .map(|p| {
            p.revisions
                .iter()
                .map(|(id, rev)| json!({ "policy_id": id, "revision": rev }))
                .collect()
        })
        .unwrap_or_default();
    let body = json!({
        "node": live.node,
        "ready": ready,
        "store_reachable": s.store_reachable,
        "applied_seq": s.applied_seq,
        "head_seq": s.head_seq,
        "lag_entries": s.lag_entries(),
        "staleness_ms": s.staleness_ms(now_ms()),
        "last_error": s.last_error,
        "policy_error": s.policy_error,
        "active_policies": active,
        "index": {
            "citizens": live.index.len(),
            "records": live.index.record_count(),
        },
        "full_load": s.full_load.map(|(records, seconds)| json!({
            "records": records,
            "seconds": seconds,
        })),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let r = reply::json(status, &body);
    if ready {
        r
    } else {
        reply::not_ready(r)
    }
}

pub fn ready(live: &Live) -> Reply {
    if live.is_ready() {
        reply::with_body(StatusCode::OK, "text/plain", "ready\n")
    } else {
        reply::not_ready(reply::with_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "not ready: loading the consent index\n",
        ))
    }
}

pub fn metrics(live: &Live) -> Reply {
    reply::with_body(StatusCode::OK, PROMETHEUS_TEXT, live.render_metrics())
}
