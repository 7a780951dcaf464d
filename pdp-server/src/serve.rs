//! `akkoord serve`: one node. Opens the store (migrations), seeds an empty store (the shipped
//! consent policy; with `--demo` the demo consents), then starts the loader and the HTTP server
//! together: the server answers `/health` at once and decisions once the full load is done.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::parse_consent_line;
use pdp_core::xacml::xml::doc::XmlLimits;

use crate::http::pool::StorePool;
use crate::http::AppState;
use crate::live::Live;
use crate::loader::{self, LoaderConfig};
use crate::pap::put_policy_checked;
use crate::store::{self, ChangeMeta, ConsentChange, Store, StoreUrl};

/// The shipped consent policy, embedded so a fresh store can be seeded from any directory.
const SHIPPED_POLICY: &str = include_str!("../../policies/mitz-consent.xml");
/// The demo consents (`fixtures/consents/demo.ndjson`), embedded for `--demo`.
const DEMO_CONSENTS: &str = include_str!("../../fixtures/consents/demo.ndjson");

/// Everything `akkoord serve` needs, from its flags.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub listen: String,
    pub store: StoreUrl,
    pub catalogue: PathBuf,
    pub root_policy: String,
    pub node: String,
    pub poll_interval: Option<Duration>,
    pub max_body: usize,
    pub demo: bool,
    /// Closed-question message shapes each active policy set's service keeps (0: none).
    pub shape_capacity: usize,
}

/// A default node name: `hostname-pid`, unique enough for the loader-progress table.
pub fn default_node_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "akkoord".to_string());
    format!("{host}-{}", std::process::id())
}

/// Runs the node until SIGINT/SIGTERM. `Err` is a message for stderr (exit status 1).
pub fn run(config: ServeConfig) -> Result<(), String> {
    let catalogue = load_catalogue(&config.catalogue)?;
    log::info!("store: {}", config.store.redacted());
    // A store that is down at start (a PostgreSQL failover, a restart) does not stop the node:
    // it listens at once, answers 503 until the loader's full load succeeds, and the loader
    // keeps retrying. Anything else (a bad URL, a schema from a newer Akkoord) needs a person.
    let first = match store::open(&config.store) {
        Ok(mut first) => {
            seed(first.as_mut(), &config, &catalogue)?;
            Some(first)
        }
        Err(e @ store::StoreError::Unavailable(_)) => {
            log::warn!(
                "{e}; starting anyway: not ready until the store answers (bootstrap and --demo \
                 are skipped this time)"
            );
            None
        }
        Err(e) => {
            return Err(format!(
                "akkoord: cannot open the store {}: {e} (pass --store URL or set DATABASE_URL)",
                config.store.redacted()
            ))
        }
    };

    let mut live = Live::new(catalogue, config.node.clone(), XmlLimits::default());
    live.shape_capacity = config.shape_capacity;
    let live = Arc::new(live);
    let mut loader_config = LoaderConfig::new(config.store.clone(), config.root_policy.clone());
    if let Some(p) = config.poll_interval {
        loader_config.poll_interval = p;
    }
    let loader = loader::spawn(live.clone(), loader_config)
        .map_err(|e| format!("akkoord: cannot start the loader thread: {e}"))?;

    let pool = Arc::new(StorePool::new(config.store.clone(), 8));
    if let Some(first) = first {
        pool.give(first);
    }
    let state = Arc::new(AppState {
        live,
        store: pool,
        root_policy: config.root_policy.clone(),
        max_body: config.max_body,
    });

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("akkoord-http")
        .enable_all()
        .build()
        .map_err(|e| format!("akkoord: cannot start the async runtime: {e}"))?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| format!("akkoord: cannot listen on {}: {e}", config.listen))?;
        let addr: SocketAddr = listener
            .local_addr()
            .map_err(|e| format!("akkoord: cannot read the bound address: {e}"))?;
        announce(addr);
        crate::http::serve(listener, state, crate::http::shutdown_signal())
            .await
            .map_err(|e| format!("akkoord: the server failed: {e}"))
    });
    loader.stop();
    log::info!("stopped");
    served
}

/// The one stdout line tests and scripts wait for.
fn announce(addr: SocketAddr) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "akkoord listening on http://{addr}");
    let _ = out.flush();
    log::info!("listening on http://{addr}");
}

fn load_catalogue(path: &std::path::Path) -> Result<Arc<Catalogue>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "akkoord: cannot read catalogue file {}: {e} (run from the repository root or pass \
             --catalogue FILE)",
            path.display()
        )
    })?;
    Catalogue::from_json(&text)
        .map(Arc::new)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Seeds an empty store: the shipped policy as the first active revision; with `--demo` and no
/// consents, the demo consents. Both go through the same checked writes as the API.
fn seed(
    store: &mut dyn Store,
    config: &ServeConfig,
    catalogue: &Arc<Catalogue>,
) -> Result<(), String> {
    let policies = store
        .policies(false)
        .map_err(|e| format!("akkoord: cannot list the stored policies: {e}"))?;
    if policies.is_empty() {
        let meta = ChangeMeta {
            author: "bootstrap".into(),
            summary: "the shipped consent policy".into(),
        };
        let (id, revision) = put_policy_checked(
            store,
            SHIPPED_POLICY,
            true,
            &config.root_policy,
            catalogue,
            &meta,
        )
        .map_err(|e| format!("akkoord: cannot store the shipped policy: {e}"))?;
        log::info!("empty store: activated the shipped policy {id} revision {revision}");
    }
    if config.demo {
        let count = store
            .consent_count()
            .map_err(|e| format!("akkoord: cannot count the stored consents: {e}"))?;
        if count == 0 {
            let mut changes = Vec::new();
            for (n, line) in DEMO_CONSENTS.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let record = parse_consent_line(line, catalogue).map_err(|e| {
                    format!(
                        "akkoord: the embedded demo consents do not match the catalogue {} \
                         (line {}: {e}); use the shipped catalogue with --demo",
                        config.catalogue.display(),
                        n + 1
                    )
                })?;
                changes.push(ConsentChange::Upsert(record));
            }
            let meta = ChangeMeta {
                author: "demo".into(),
                summary: format!("{} demo consents", changes.len()),
            };
            let outcome = store
                .write_consents(&changes, catalogue, &meta)
                .map_err(|e| format!("akkoord: cannot store the demo consents: {e}"))?;
            log::info!("--demo: registered {} demo consents", outcome.inserted);
        }
    }
    Ok(())
}
