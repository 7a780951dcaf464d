//! A node's live state: the consent index and the compiled active policies that the request
//! path reads, the loader's status, and the counters behind `/metrics` and `/health`.
//!
//! The loader ([`crate::loader`]) is the only writer of the index and of the active policies;
//! request handlers only read them. Swapping the policies is one pointer swap under a short
//! lock, so a decision in flight keeps the policies it started with.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::ClosedQuestionService;
use pdp_core::xacml::response::Decision;
use pdp_core::xacml::xml::doc::XmlLimits;

/// The compiled active policies and which stored revisions they came from.
pub struct ActivePolicies {
    pub service: ClosedQuestionService,
    /// `(policy_id, revision)` of every active document, root first.
    pub revisions: Vec<(String, i64)>,
}

/// What the loader last knew about the store. Cloned out for `/health` and `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct LoaderStatus {
    /// The full load finished: the node may answer (readiness).
    pub loaded: bool,
    /// The last call to the store succeeded.
    pub store_reachable: bool,
    /// Highest change-log sequence number applied to the index.
    pub applied_seq: i64,
    /// Highest change-log sequence number seen in the store (at the last successful poll).
    pub head_seq: i64,
    /// Unix ms of the last successful poll: everything committed before it is applied.
    pub synced_at_ms: Option<i64>,
    /// The last store error, for `/health`.
    pub last_error: Option<String>,
    /// Why the newest active policy set was not installed (it did not compile); the node keeps
    /// deciding with the previous set.
    pub policy_error: Option<String>,
    /// Full load figures: records, seconds.
    pub full_load: Option<(u64, f64)>,
}

impl LoaderStatus {
    /// Change-log entries committed but not yet applied (as of the last poll).
    pub fn lag_entries(&self) -> i64 {
        (self.head_seq - self.applied_seq).max(0)
    }

    /// Milliseconds since the node was last known to be in sync with the store; `None` before
    /// the first sync.
    pub fn staleness_ms(&self, now_ms: i64) -> Option<i64> {
        self.synced_at_ms.map(|t| (now_ms - t).max(0))
    }
}

/// Counters for `/metrics`. Cheap to bump from any thread.
#[derive(Default)]
pub struct Metrics {
    pub decisions_permit: AtomicU64,
    pub decisions_deny: AtomicU64,
    pub decisions_not_applicable: AtomicU64,
    pub decisions_indeterminate: AtomicU64,
    /// Consent changes applied to the index (upserts and removals).
    pub changes_applied: AtomicU64,
    /// Change-log entries applied.
    pub log_entries_applied: AtomicU64,
    /// Store rows that could not be decoded with this node's catalogue.
    pub undecodable_rows: AtomicU64,
    /// Store calls that failed.
    pub store_errors: AtomicU64,
    /// Active policy sets installed since start.
    pub policy_reloads: AtomicU64,
    /// Active policy sets from the store that did not compile (kept the previous set).
    pub policy_rejections: AtomicU64,
    /// Requests refused, by reason (`malformed_xml`, `wrong_content_type`, `body_too_large`, …).
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn count_decision(&self, d: Decision) {
        let c = match d {
            Decision::Permit => &self.decisions_permit,
            Decision::Deny => &self.decisions_deny,
            Decision::NotApplicable => &self.decisions_not_applicable,
            Decision::Indeterminate => &self.decisions_indeterminate,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refused request. `reason` is a short snake_case label.
    pub fn count_rejected(&self, reason: &'static str) {
        *self.rejected.lock().entry(reason).or_insert(0) += 1;
    }

    /// Refused requests so far, by reason.
    pub fn rejected(&self) -> BTreeMap<&'static str, u64> {
        self.rejected.lock().clone()
    }
}

/// Everything the request path and the loader share. Build one per process and hand it out
/// as `Arc<Live>`.
pub struct Live {
    pub catalogue: Arc<Catalogue>,
    pub index: Arc<ConsentIndex>,
    pub xml_limits: XmlLimits,
    /// Closed-question message shapes the active policy set's service keeps
    /// (`pdp_core::protocol::shape`; 0: every question parsed in full).
    pub shape_capacity: usize,
    pub metrics: Metrics,
    /// This node's name (in loader progress and logs).
    pub node: String,
    policies: RwLock<Option<Arc<ActivePolicies>>>,
    status: Mutex<LoaderStatus>,
    started_ms: i64,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Live {
    pub fn new(catalogue: Arc<Catalogue>, node: String, xml_limits: XmlLimits) -> Live {
        let index = Arc::new(ConsentIndex::new(&catalogue));
        Live {
            catalogue,
            index,
            xml_limits,
            shape_capacity: pdp_core::protocol::shape::DEFAULT_CAPACITY,
            metrics: Metrics::default(),
            node,
            policies: RwLock::new(None),
            status: Mutex::new(LoaderStatus::default()),
            started_ms: now_ms(),
        }
    }

    /// The active policies, or `None` before the first set was installed.
    pub fn policies(&self) -> Option<Arc<ActivePolicies>> {
        self.policies.read().clone()
    }

    /// Installs a new active set (loader only).
    pub fn install_policies(&self, active: ActivePolicies) {
        *self.policies.write() = Some(Arc::new(active));
        self.metrics.policy_reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of the loader's status.
    pub fn status(&self) -> LoaderStatus {
        self.status.lock().clone()
    }

    /// Updates the loader's status (loader only).
    pub fn update_status(&self, f: impl FnOnce(&mut LoaderStatus)) {
        f(&mut self.status.lock());
    }

    /// Ready to answer: the full load is done and a policy set is installed.
    pub fn is_ready(&self) -> bool {
        self.status.lock().loaded && self.policies.read().is_some()
    }

    /// The `/metrics` page in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let s = self.status();
        let now = now_ms();
        let m = &self.metrics;
        let mut out = String::with_capacity(2048);
        let mut gauge = |name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            "akkoord_ready",
            "1 once the full load is done and policies are installed.",
            "gauge",
            u8::from(self.is_ready()).to_string(),
        );
        gauge(
            "akkoord_store_reachable",
            "1 when the last store call succeeded.",
            "gauge",
            u8::from(s.store_reachable).to_string(),
        );
        gauge(
            "akkoord_change_log_applied_seq",
            "Highest change-log sequence number applied to the index.",
            "gauge",
            s.applied_seq.to_string(),
        );
        gauge(
            "akkoord_change_log_head_seq",
            "Highest change-log sequence number seen in the store.",
            "gauge",
            s.head_seq.to_string(),
        );
        gauge(
            "akkoord_change_log_lag_entries",
            "Change-log entries committed but not applied yet.",
            "gauge",
            s.lag_entries().to_string(),
        );
        gauge(
            "akkoord_index_staleness_seconds",
            "Seconds since the index was last known to be in sync with the store.",
            "gauge",
            s.staleness_ms(now)
                .map_or_else(|| "NaN".to_string(), |ms| format!("{:.3}", ms as f64 / 1e3)),
        );
        gauge(
            "akkoord_index_citizens",
            "Citizens in the consent index.",
            "gauge",
            self.index.len().to_string(),
        );
        gauge(
            "akkoord_index_records",
            "Consent records in the consent index.",
            "gauge",
            self.index.record_count().to_string(),
        );
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        gauge(
            "akkoord_changes_applied_total",
            "Consent changes applied to the index since start.",
            "counter",
            c(&m.changes_applied),
        );
        gauge(
            "akkoord_change_log_entries_applied_total",
            "Change-log entries applied since start.",
            "counter",
            c(&m.log_entries_applied),
        );
        gauge(
            "akkoord_undecodable_rows_total",
            "Store rows this node's catalogue cannot decode (skipped).",
            "counter",
            c(&m.undecodable_rows),
        );
        gauge(
            "akkoord_store_errors_total",
            "Failed store calls.",
            "counter",
            c(&m.store_errors),
        );
        gauge(
            "akkoord_policy_reloads_total",
            "Active policy sets installed.",
            "counter",
            c(&m.policy_reloads),
        );
        gauge(
            "akkoord_policy_rejections_total",
            "Active policy sets from the store that did not compile.",
            "counter",
            c(&m.policy_rejections),
        );
        // The closed-question message shapes of the active policy set's service (they start
        // afresh with each policy set installed).
        let shapes = self
            .policies()
            .map(|p| p.service.shape_stats())
            .unwrap_or_default();
        gauge(
            "akkoord_closed_question_shapes",
            "Client message shapes held: closed questions read by comparing bytes, not parsed.",
            "gauge",
            shapes.shapes.to_string(),
        );
        gauge(
            "akkoord_closed_question_full_parses_total",
            "Closed questions that matched no learned shape and were parsed in full (since the active policy set was installed).",
            "counter",
            shapes.misses.to_string(),
        );
        gauge(
            "akkoord_closed_question_shapes_learned_total",
            "Message shapes learned (since the active policy set was installed); above the shapes held once old ones made room.",
            "counter",
            shapes.learned.to_string(),
        );
        gauge(
            "akkoord_uptime_seconds",
            "Seconds since the process started.",
            "gauge",
            format!("{:.3}", (now - self.started_ms) as f64 / 1e3),
        );
        let _ = writeln!(
            out,
            "# HELP akkoord_decisions_total Decisions by outcome.\n# TYPE akkoord_decisions_total counter"
        );
        for (label, a) in [
            ("permit", &m.decisions_permit),
            ("deny", &m.decisions_deny),
            ("not_applicable", &m.decisions_not_applicable),
            ("indeterminate", &m.decisions_indeterminate),
        ] {
            let _ = writeln!(
                out,
                "akkoord_decisions_total{{decision=\"{label}\"}} {}",
                a.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP akkoord_rejected_requests_total Requests refused, by reason.\n# TYPE akkoord_rejected_requests_total counter"
        );
        for (reason, n) in m.rejected() {
            let _ = writeln!(
                out,
                "akkoord_rejected_requests_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> Live {
        let c = Catalogue::from_json(include_str!("../../policies/mitz-catalogue.json"))
            .expect("catalogue");
        Live::new(Arc::new(c), "test".into(), XmlLimits::default())
    }

    #[test]
    fn metrics_page_reports_lag_and_rejections() {
        let l = live();
        l.update_status(|s| {
            s.applied_seq = 7;
            s.head_seq = 10;
            s.synced_at_ms = Some(now_ms());
        });
        l.metrics.count_rejected("malformed_xml");
        l.metrics.count_rejected("malformed_xml");
        l.metrics.count_decision(Decision::Permit);
        let page = l.render_metrics();
        assert!(
            page.contains("akkoord_change_log_lag_entries 3\n"),
            "{page}"
        );
        assert!(page.contains("akkoord_rejected_requests_total{reason=\"malformed_xml\"} 2\n"));
        assert!(page.contains("akkoord_decisions_total{decision=\"permit\"} 1\n"));
        assert!(page.contains("akkoord_ready 0\n"));
    }
}
