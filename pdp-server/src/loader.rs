//! The loader: the only writer of a node's consent index and active policies.
//!
//! At start it streams every consent row of one store snapshot into the index and compiles the
//! active policies of the same snapshot ([`full_load`]); then it tails the change log from that
//! snapshot's position ([`spawn`]), woken by the store ([`Store::wait_for_change`]: PostgreSQL
//! `LISTEN/NOTIFY`, SQLite a cheap version poll) and polling anyway every `poll_interval`.
//!
//! A store outage never stops decisions: the request path reads only the in-memory index and
//! policies. The loader marks the store unreachable in [`LoaderStatus`](crate::live::LoaderStatus)
//! (so `/health` and `/metrics` show the growing staleness), retries with backoff, and catches up
//! from its last position when the store returns — the position is a store snapshot, so nothing
//! committed during the outage is missed and nothing is applied twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::live::{now_ms, ActivePolicies, Live};
use crate::pap::compile_active_set;
use crate::store::{
    self, ChangeBatch, FullLoad, LoadedChange, Position, Store, StoreError, StoreUrl, StoredPolicy,
};

/// How the loader runs.
#[derive(Clone, Debug)]
pub struct LoaderConfig {
    pub store: StoreUrl,
    /// Id of the root policy document of the active set (see [`crate::pap`]).
    pub root_policy: String,
    /// Poll the change log at least this often, whether or not the store signalled a change.
    pub poll_interval: Duration,
    /// Change-log entries per [`Store::changes_since`] call.
    pub batch_limit: usize,
    /// Show a progress bar for the full load (CLI on a terminal); logs report progress anyway.
    pub progress_bar: bool,
}

impl LoaderConfig {
    /// Defaults for a store: PostgreSQL is woken by `NOTIFY`, so its fallback poll can be slow;
    /// SQLite relies on polling its cheap `data_version`.
    pub fn new(store: StoreUrl, root_policy: String) -> LoaderConfig {
        let poll_interval = match store {
            StoreUrl::Postgres(_) => Duration::from_millis(1000),
            StoreUrl::Sqlite(_) => Duration::from_millis(100),
        };
        LoaderConfig {
            store,
            root_policy,
            poll_interval,
            batch_limit: 10_000,
            progress_bar: false,
        }
    }
}

/// Records per batch handed from the decoding thread to the index thread in a full load.
const LOAD_BATCH: usize = 16 * 1024;

/// What a full load did.
#[derive(Clone, Debug)]
pub struct FullLoadReport {
    pub records: u64,
    pub undecodable: u64,
    pub seconds: f64,
    pub position: Position,
}

impl FullLoadReport {
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.records as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Streams every consent of one store snapshot into `live.index` and installs that snapshot's
/// active policies. The index should be empty (a fresh node). Progress goes to the log every
/// million rows, and to a progress bar when `progress_bar`.
pub fn full_load(
    store: &mut dyn Store,
    live: &Live,
    root_policy: &str,
    progress_bar: bool,
) -> Result<FullLoadReport, StoreError> {
    let started = Instant::now();
    // Size the index once for what is coming (about two records per citizen, domain §1): a
    // table regrown step by step through a national load peaks at several times its final size.
    let expected = store.estimated_consent_count().unwrap_or(0);
    if expected > 0 && live.index.is_empty() {
        let records = usize::try_from(expected).unwrap_or(usize::MAX);
        live.index.reserve(records / 2, records);
    }
    let bar = progress_bar.then(|| {
        let bar = indicatif::ProgressBar::new(expected);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "loading consents {bar:40} {human_pos}/{human_len} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    // Two stages, so that reading and decoding rows overlaps the index's random memory
    // writes: this thread decodes into batches, an applier thread upserts them. The bounded
    // channel keeps at most a few batches in flight (no table in memory).
    let index = live.index.clone();
    let (batches, applier_rx) =
        std::sync::mpsc::sync_channel::<Vec<pdp_core::consent::record::ConsentRecord>>(4);
    let applier = std::thread::Builder::new()
        .name("akkoord-index-load".into())
        .spawn(move || {
            for batch in applier_rx {
                for record in &batch {
                    index.upsert(record);
                }
            }
        })
        .map_err(|e| StoreError::Database(format!("cannot start the index loader thread: {e}")))?;
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    let mut applier_alive = true;
    let mut undecodable_logged = 0u32;
    let mut sink = |row: Result<pdp_core::consent::record::ConsentRecord, String>| match row {
        Ok(record) => {
            batch.push(record);
            if batch.len() == LOAD_BATCH {
                // A fresh batch each time (no recycling: a pool that grows whenever the applier
                // is behind held gigabytes at national size).
                let full = std::mem::replace(&mut batch, Vec::with_capacity(LOAD_BATCH));
                if applier_alive && batches.send(full).is_err() {
                    applier_alive = false;
                }
            }
        }
        Err(reason) => {
            live.metrics
                .undecodable_rows
                .fetch_add(1, Ordering::Relaxed);
            if undecodable_logged < 20 {
                undecodable_logged += 1;
                log::warn!("full load: skipped a consent row: {reason}");
            }
        }
    };
    let mut last_log = Instant::now();
    let mut progress = |n: u64| {
        if let Some(bar) = &bar {
            bar.set_position(n);
        }
        if last_log.elapsed() >= Duration::from_secs(2) {
            last_log = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            log::info!(
                "full load: {n} consents so far ({:.0}/s)",
                n as f64 / secs.max(1e-9)
            );
        }
    };
    let loaded = store.load_all(&live.catalogue, &mut sink, &mut progress);
    if !batch.is_empty() && applier_alive && batches.send(std::mem::take(&mut batch)).is_err() {
        applier_alive = false;
    }
    drop(batches);
    if applier.join().is_err() || !applier_alive {
        return Err(StoreError::Database(
            "the index loader thread failed during the full load".into(),
        ));
    }
    let FullLoad {
        records,
        undecodable,
        policies,
        position,
    } = loaded?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    live.index.shrink_to_fit();
    install(live, &policies, root_policy);
    let seconds = started.elapsed().as_secs_f64();
    let report = FullLoadReport {
        records,
        undecodable,
        seconds,
        position,
    };
    log::info!(
        "full load: {} consents ({} citizens) in {:.2} s ({:.0} records/s); {} undecodable; at change {}",
        report.records,
        live.index.len(),
        seconds,
        report.rate(),
        undecodable,
        report.position.last_seq
    );
    live.update_status(|s| {
        s.loaded = true;
        s.store_reachable = true;
        s.applied_seq = report.position.last_seq;
        s.head_seq = s.head_seq.max(report.position.last_seq);
        s.synced_at_ms = Some(now_ms());
        s.full_load = Some((report.records, seconds));
        s.last_error = None;
    });
    Ok(report)
}

/// Compiles and installs an active set; a set that does not compile is reported and the node
/// keeps the previous one (the PAP refuses such sets, so this only happens when someone wrote
/// to the store around it).
fn install(live: &Live, policies: &[StoredPolicy], root_policy: &str) {
    if policies.is_empty() {
        let message = "no policy is active in the store; activate one (POST /policies?activate=true or akkoord serve's bootstrap) before this node can decide".to_string();
        log::warn!("{message}");
        live.update_status(|s| s.policy_error = Some(message));
        return;
    }
    match compile_active_set(
        policies,
        root_policy,
        live.catalogue.clone(),
        live.index.clone(),
        live.xml_limits,
    ) {
        Ok(active) => {
            let active = ActivePolicies {
                service: active.service.with_shape_capacity(live.shape_capacity),
                ..active
            };
            log::info!(
                "active policies: {}",
                active
                    .revisions
                    .iter()
                    .map(|(id, rev)| format!("{id}@{rev}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            live.install_policies(active);
            live.update_status(|s| s.policy_error = None);
        }
        Err(errors) => {
            let message = errors.join("; ");
            log::error!("the active policies in the store do not compile; keeping the previous set: {message}");
            live.metrics
                .policy_rejections
                .fetch_add(1, Ordering::Relaxed);
            live.update_status(|s| s.policy_error = Some(message));
        }
    }
}

/// Applies one batch of changes to the live state; returns the number of consent changes.
pub fn apply(live: &Live, batch: &ChangeBatch, root_policy: &str) -> u64 {
    let mut applied = 0;
    for change in &batch.changes {
        match change {
            LoadedChange::Upsert(record) => {
                live.index.upsert(record);
                applied += 1;
            }
            LoadedChange::Remove { bsn, key } => {
                live.index.remove(*bsn, key);
                applied += 1;
            }
            LoadedChange::Undecodable { change_seq, reason } => {
                live.metrics
                    .undecodable_rows
                    .fetch_add(1, Ordering::Relaxed);
                log::warn!("change {change_seq}: skipped a consent row: {reason}");
            }
            LoadedChange::Policies(active) => install(live, active, root_policy),
        }
    }
    live.metrics
        .changes_applied
        .fetch_add(applied, Ordering::Relaxed);
    live.metrics
        .log_entries_applied
        .fetch_add(batch.entries, Ordering::Relaxed);
    applied
}

/// A running loader thread.
pub struct LoaderHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LoaderHandle {
    /// Asks the loader to stop and waits for it (at most one poll interval).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LoaderHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the loader thread: connect (retrying until the store answers), full load, then tail
/// the change log until stopped. All progress and trouble shows in `live`'s status and metrics.
pub fn spawn(live: Arc<Live>, config: LoaderConfig) -> std::io::Result<LoaderHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("akkoord-loader".into())
        .spawn(move || run(&live, &config, &flag))?;
    Ok(LoaderHandle {
        stop,
        thread: Some(thread),
    })
}

/// Backoff after store failures: 100 ms doubling to 5 s.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(Duration::from_millis(100))
    }
    fn next(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
        d
    }
    fn reset(&mut self) {
        self.0 = Duration::from_millis(100);
    }
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            break;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

fn failed(live: &Live, what: &str, e: &StoreError) {
    live.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
    let message = format!("{what}: {e}");
    let was_reachable = live.status().store_reachable;
    if was_reachable {
        log::warn!("{message}; answering from the last index and retrying");
    } else {
        log::debug!("{message}");
    }
    live.update_status(|s| {
        s.store_reachable = false;
        s.last_error = Some(message);
    });
}

fn run(live: &Live, config: &LoaderConfig, stop: &AtomicBool) {
    let mut backoff = Backoff::new();
    // Connect and load: nothing can be answered before this succeeds (readiness stays false).
    let (mut store, mut position) = loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let attempt = store::open(&config.store).and_then(|mut s| {
            let report = full_load(s.as_mut(), live, &config.root_policy, config.progress_bar)?;
            Ok((s, report.position))
        });
        match attempt {
            Ok(ok) => break ok,
            Err(e) => {
                failed(live, "full load", &e);
                sleep_unless_stopped(backoff.next(), stop);
            }
        }
    };
    backoff.reset();
    let _ = store.record_progress(&live.node, &position);
    let mut last_progress_write = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match poll_once(store.as_mut(), live, config, &position) {
            Ok(next) => {
                let moved = next != position;
                position = next;
                backoff.reset();
                if moved && last_progress_write.elapsed() >= Duration::from_secs(1) {
                    last_progress_write = Instant::now();
                    if let Err(e) = store.record_progress(&live.node, &position) {
                        failed(live, "recording loader progress", &e);
                    }
                }
                // Wait for a signal or the poll interval, whichever comes first.
                if let Err(e) = store.wait_for_change(config.poll_interval) {
                    failed(live, "waiting for changes", &e);
                    sleep_unless_stopped(backoff.next(), stop);
                }
            }
            Err(e) => {
                failed(live, "reading the change log", &e);
                sleep_unless_stopped(backoff.next(), stop);
            }
        }
    }
    let _ = store.record_progress(&live.node, &position);
}

/// Reads and applies everything committed since `position` (several batches if there is a
/// backlog); returns the new position.
fn poll_once(
    store: &mut dyn Store,
    live: &Live,
    config: &LoaderConfig,
    position: &Position,
) -> Result<Position, StoreError> {
    let mut position = position.clone();
    loop {
        let polled_at = now_ms();
        let batch = store.changes_since(&position, &live.catalogue, config.batch_limit)?;
        apply(live, &batch, &config.root_policy);
        position = batch.position.clone();
        let head = store.head_seq().unwrap_or(position.last_seq);
        live.update_status(|s| {
            s.store_reachable = true;
            s.last_error = None;
            s.applied_seq = position.last_seq;
            s.head_seq = head.max(position.last_seq);
            s.synced_at_ms = Some(polled_at);
        });
        if (batch.entries as usize) < config.batch_limit {
            return Ok(position);
        }
    }
}
