//! `akkoord load`: one full load from the store into a fresh consent index, as a node does at
//! start, then a report (records, rate, index size, resident memory) and exit. Operators use it
//! to check a store and to size a node; it is also how the full-load rate goal is measured:
//!
//! ```text
//! cargo build --release -p pdp-server
//! target/release/akkoord load --store postgres://postgres@127.0.0.1:5432/akkoord
//! target/release/akkoord load --store akkoord.db
//! ```

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Arc;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::xacml::xml::doc::XmlLimits;

use crate::live::Live;
use crate::loader::full_load;
use crate::store::{self, StoreUrl};

/// Runs the command; `Err` holds the message for stderr (exit status 1).
pub fn run(url: &StoreUrl, catalogue: &Path, root_policy: &str) -> Result<(), String> {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .try_init();
    let text = std::fs::read_to_string(catalogue).map_err(|e| {
        format!(
            "akkoord: cannot read catalogue file {}: {e} (pass --catalogue FILE)",
            catalogue.display()
        )
    })?;
    let catalogue =
        Arc::new(Catalogue::from_json(&text).map_err(|e| format!("{}: {e}", catalogue.display()))?);
    let mut store = store::open(url).map_err(|e| format!("akkoord: {}: {e}", url.redacted()))?;
    let live = Live::new(catalogue, "load".into(), XmlLimits::default());
    let report = full_load(
        store.as_mut(),
        &live,
        root_policy,
        std::io::stderr().is_terminal(),
    )
    .map_err(|e| format!("akkoord: full load from {} failed: {e}", url.redacted()))?;
    let status = live.status();
    println!("store:        {}", url.redacted());
    println!("records:      {}", report.records);
    println!("citizens:     {}", live.index.len());
    println!("undecodable:  {}", report.undecodable);
    println!("seconds:      {:.3}", report.seconds);
    println!("records/s:    {:.0}", report.rate());
    println!(
        "index heap:   {:.1} MiB",
        live.index.heap_bytes() as f64 / (1 << 20) as f64
    );
    if let Some((rss, peak)) = resident_memory() {
        println!("RSS:          {:.1} MiB (peak {:.1} MiB)", rss, peak);
    }
    println!("change log:   at {}", report.position.last_seq);
    match (live.policies(), status.policy_error) {
        (Some(p), _) => println!(
            "policies:     {}",
            p.revisions
                .iter()
                .map(|(id, rev)| format!("{id}@{rev}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (None, Some(e)) => println!("policies:     not installed: {e}"),
        (None, None) => println!("policies:     none active"),
    }
    Ok(())
}

/// Current and peak resident set size in MiB (Linux `/proc/self/status`).
pub fn resident_memory() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
