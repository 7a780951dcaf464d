//! The HTTP front of a node: a hyper 1 server over tokio that translates HTTP to calls of the
//! engine, the store and the live state, and back. No decision logic and no SQL live here.
//!
//! | endpoint | module |
//! | --- | --- |
//! | `POST /pdp` (SOAP closed question, plain XACML XML) | [`pdp`] |
//! | `POST`/`DELETE /consents`, `GET /admin/consents/{bsn}` | [`consents`] |
//! | `GET`/`POST /policies…` (the PAP) | [`policies`] |
//! | `GET /health`, `/ready`, `/metrics` | [`ops`] |
//!
//! Every refusal is counted with [`Metrics::count_rejected`](crate::live::Metrics::count_rejected)
//! under a short reason, so `/metrics` shows what clients get wrong. Bodies are read up to a
//! limit while they arrive (a larger body is refused with 413 without being buffered).
//!
//! Decisions read only [`Live`]: the index and the compiled policies in memory. The store is
//! touched only by registration and the PAP, through a small pool of blocking connections
//! ([`pool`]).

// Handlers return `Result<_, Reply>` so a refusal is a ready answer; refusals are the cold path,
// and boxing the 144-byte `Response` would only add an allocation to it.
#![allow(clippy::result_large_err)]

pub mod consents;
pub mod ops;
pub mod pdp;
pub mod policies;
pub mod pool;
pub mod reply;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::live::Live;
use crate::store::ChangeMeta;
use pool::StorePool;
use reply::Reply;

/// Default request body limit: 1 MiB (a closed question is about 5 KB; a registration batch of
/// a few thousand consents fits).
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// How long a client may take to send its headers, and then its body, before the connection
/// is dropped (slow clients must not hold connections forever).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a graceful shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers share: the live state, the store pool and the settings.
pub struct AppState {
    pub live: Arc<Live>,
    pub store: Arc<StorePool>,
    /// Root policy id of the active set (PAP checks compile against it).
    pub root_policy: String,
    /// Request body limit in bytes.
    pub max_body: usize,
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish (up to 10 s) and returns.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: log, breathe, go on.
                        log::warn!("accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, req).await) }
                    });
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        r = conn.as_mut() => log_connection_end(peer, r),
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            log_connection_end(peer, conn.await);
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
        // Reap finished connection tasks so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        log::warn!(
            "{} connections still open after {} s; closing them",
            connections.len(),
            DRAIN_TIMEOUT.as_secs()
        );
        connections.shutdown().await;
    }
    Ok(())
}

fn log_connection_end(peer: SocketAddr, r: Result<(), hyper::Error>) {
    if let Err(e) = r {
        log::debug!("connection from {peer}: {e}");
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what container runtimes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            log::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                log::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => log::info!("SIGINT: shutting down"),
        () = term => log::info!("SIGTERM: shutting down"),
    }
}

/// The router: path and method to handler.
async fn handle(state: &Arc<AppState>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .collect();
    let method = req.method().clone();
    let live = &state.live;
    match segments.as_slice() {
        ["pdp"] => match method {
            Method::POST => pdp::post(state, req).await,
            _ => refuse_method(live, "/pdp", "POST"),
        },
        ["consents"] => match method {
            Method::POST => consents::write(state, req, consents::Kind::Register).await,
            Method::DELETE => consents::write(state, req, consents::Kind::Withdraw).await,
            _ => refuse_method(live, "/consents", "POST, DELETE"),
        },
        ["admin", "consents", bsn] => match method {
            Method::GET => consents::admin_citizen(live, bsn),
            _ => refuse_method(live, "/admin/consents/{bsn}", "GET"),
        },
        ["policies"] => match method {
            Method::GET => policies::list(state).await,
            Method::POST => policies::put(state, req).await,
            _ => refuse_method(live, "/policies", "GET, POST"),
        },
        ["policies", id, revision] => match method {
            Method::GET => policies::get(state, id, revision).await,
            _ => refuse_method(live, "/policies/{policy_id}/{revision}", "GET"),
        },
        ["policies", id, revision, "activate"] => match method {
            Method::POST => policies::activate(state, &req, id, revision).await,
            _ => refuse_method(live, "/policies/{policy_id}/{revision}/activate", "POST"),
        },
        ["health"] => match method {
            Method::GET | Method::HEAD => ops::health(live),
            _ => refuse_method(live, "/health", "GET"),
        },
        ["ready"] => match method {
            Method::GET | Method::HEAD => ops::ready(live),
            _ => refuse_method(live, "/ready", "GET"),
        },
        ["metrics"] => match method {
            Method::GET | Method::HEAD => ops::metrics(live),
            _ => refuse_method(live, "/metrics", "GET"),
        },
        _ => {
            live.metrics.count_rejected("not_found");
            reply::not_found()
        }
    }
}

fn refuse_method(live: &Live, path: &str, allowed: &'static str) -> Reply {
    live.metrics.count_rejected("method_not_allowed");
    reply::method_not_allowed(path, allowed)
}

/// Why a body could not be read.
pub enum BodyError {
    /// Larger than the limit (from `Content-Length` or while streaming).
    TooLarge,
    /// The client stopped sending, or the connection broke.
    Broken(String),
    /// The client took longer than the body timeout.
    TimedOut,
}

/// After a body turned out too large, read (and discard) at most this much more of it before
/// answering: a client that is still sending when the server closes gets a connection reset
/// instead of the 413, so a moderately oversized body is drained to let the answer through.
const DRAIN_CAP: u64 = 16 << 20;

/// Reads the whole body, refusing it once it exceeds `limit` bytes: nothing beyond the limit
/// is kept. A declared `Content-Length` above the limit is refused without reading when the
/// client waits for `100 Continue` or the body is beyond what is worth draining.
pub async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let expects_continue = req
        .headers()
        .get(hyper::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if let Some(n) = declared {
        if n > limit as u64 && (expects_continue || n > limit as u64 + DRAIN_CAP) {
            return Err(BodyError::TooLarge);
        }
    }
    let capacity = declared.map_or(8 * 1024, |n| n.min(limit as u64) as usize);
    let mut body = req.into_body();
    let collect = async {
        let mut buf = BytesMut::with_capacity(capacity);
        let mut seen: u64 = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Broken(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                seen += data.len() as u64;
                if seen > limit as u64 + DRAIN_CAP {
                    break;
                }
                if seen <= limit as u64 {
                    buf.extend_from_slice(&data);
                }
            }
        }
        if seen > limit as u64 {
            Err(BodyError::TooLarge)
        } else {
            Ok(buf.freeze())
        }
    };
    match tokio::time::timeout(BODY_TIMEOUT, collect).await {
        Ok(r) => r,
        Err(_) => Err(BodyError::TimedOut),
    }
}

/// Reads the body or answers the refusal (413 / 400 / 408), counting it.
pub async fn body_or_refusal(state: &AppState, req: Request<Incoming>) -> Result<Bytes, Reply> {
    let limit = state.max_body;
    read_body(req, limit).await.map_err(|e| {
        let m = &state.live.metrics;
        match e {
            BodyError::TooLarge => {
                m.count_rejected("body_too_large");
                reply::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than the limit of {limit} bytes; split it \
                         (NDJSON registrations: fewer lines per request) or start the server \
                         with a larger --max-body"
                    ),
                    None,
                )
            }
            BodyError::Broken(why) => {
                m.count_rejected("body_unreadable");
                reply::error(
                    StatusCode::BAD_REQUEST,
                    format!("the request body could not be read: {why}"),
                    None,
                )
            }
            BodyError::TimedOut => {
                m.count_rejected("body_timeout");
                reply::error(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                    None,
                )
            }
        }
    })
}

/// The media type of a `Content-Type` header, lower-cased, without parameters; empty when
/// absent or unreadable.
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The whole `Content-Type` header as text; empty when absent or not visible ASCII.
pub fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Header naming who made a change, for the change log.
pub const AUTHOR_HEADER: &str = "x-akkoord-author";

/// The change-log author: the `X-Akkoord-Author` header (visible ASCII, at most 100 characters),
/// else `default`. `Err` carries the message for a 400.
pub fn change_meta(
    headers: &HeaderMap,
    default: &str,
    summary: String,
) -> Result<ChangeMeta, String> {
    let author = match headers.get(AUTHOR_HEADER) {
        None => default.to_string(),
        Some(v) => {
            let text = v.to_str().map_err(|_| {
                "the X-Akkoord-Author header must be visible ASCII text".to_string()
            })?;
            let text = text.trim();
            if text.is_empty() || text.len() > 100 {
                return Err("the X-Akkoord-Author header must hold 1 to 100 characters".to_string());
            }
            text.to_string()
        }
    };
    Ok(ChangeMeta { author, summary })
}

/// Decodes `%XX` escapes of a path segment (policy ids are URNs and may arrive encoded).
/// `None` for a malformed escape or a result that is not UTF-8.
pub fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_decoded() {
        assert_eq!(
            percent_decode("urn%3Aakkoord%3Ap").as_deref(),
            Some("urn:akkoord:p")
        );
        assert_eq!(percent_decode("urn:a:b").as_deref(), Some("urn:a:b"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn authors_come_from_the_header_or_the_default() {
        let mut h = HeaderMap::new();
        let m = change_meta(&h, "registration-api", "1 consent".into()).expect("default");
        assert_eq!(m.author, "registration-api");
        h.insert(AUTHOR_HEADER, "portal".parse().expect("header"));
        assert_eq!(
            change_meta(&h, "x", String::new()).expect("header").author,
            "portal"
        );
        h.insert(AUTHOR_HEADER, "a".repeat(101).parse().expect("header"));
        assert!(change_meta(&h, "x", String::new()).is_err());
    }
}
