//! Builds the consent index at national size from the synthetic generator and reports build
//! time, size and resident memory.
//!
//! ```text
//! cargo run --release --example index_national -- [CITIZENS] [SEED]
//! cargo run --release --example index_national -- 18000000      # the issue's national figure
//! ```
//!
//! Records are generated on the fly, one citizen range per core, and upserted straight into
//! the index (the generator's time is included in the build time). Memory comes from
//! `/proc/self/status` (Linux): `VmRSS` after the build is the index's resident size plus the
//! process baseline measured before; `VmHWM` is the peak during the build.

use std::time::Instant;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::index::{ConsentIndex, FactsQuery};

fn main() {
    if let Err(message) = run() {
        eprintln!("index_national: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let citizens: u64 = match args.next() {
        Some(n) => n
            .replace('_', "")
            .parse()
            .map_err(|_| format!("CITIZENS must be a number, got {n:?}"))?,
        None => 18_000_000,
    };
    let seed: u64 = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("SEED must be a number, got {s:?}"))?,
        None => 1,
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/mitz-catalogue.json");
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let catalogue = Catalogue::from_json(&text).map_err(|e| format!("{path}: {e}"))?;
    let generator = Generator::new(&catalogue, seed, citizens).map_err(|e| e.to_string())?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    let baseline = proc_status_kib("VmRSS:");
    let started = Instant::now();
    let partitions: Vec<_> = generator
        .partitions(threads)
        .into_iter()
        .map(|range| generator.records_in(range))
        .collect();
    let index = ConsentIndex::from_partitions(
        &catalogue,
        citizens as usize,
        citizens as usize * 2,
        partitions,
    );
    let build = started.elapsed();
    let rss = proc_status_kib("VmRSS:");
    let peak = proc_status_kib("VmHWM:");

    let mib = |kib: u64| kib as f64 / 1024.0;
    let per_citizen = |bytes: f64| bytes / index.len().max(1) as f64;
    println!("citizens asked:        {citizens}");
    println!("citizens in index:     {}", index.len());
    println!("records in index:      {}", index.record_count());
    println!("threads:               {threads}");
    println!(
        "build time:            {:.2} s (generation included)",
        build.as_secs_f64()
    );
    println!(
        "index heap (exact):    {:.1} MiB ({:.1} bytes per citizen)",
        index.heap_bytes() as f64 / 1048576.0,
        per_citizen(index.heap_bytes() as f64)
    );
    println!(
        "VmRSS after build:     {:.1} MiB (baseline before build {:.1} MiB; {:.1} bytes per citizen above baseline)",
        mib(rss),
        mib(baseline),
        per_citizen((rss.saturating_sub(baseline) * 1024) as f64)
    );
    println!("VmHWM (peak RSS):      {:.1} MiB", mib(peak));

    // A quick sanity figure, not the benchmark (see benches/consent_index.rs): facts() for
    // every 97th citizen with a categorical question.
    let holder_category = catalogue.holder_category("huisartsen");
    let (data, consulting) = match (
        catalogue.data_category("GGC002"),
        catalogue.consulting_category("RPZAC001"),
    ) {
        (Some(d), Some(c)) => (d, c),
        _ => return Err("the catalogue lacks GGC002 or RPZAC001".into()),
    };
    let (holder, _) = generator.provider(0);
    let started = Instant::now();
    let mut found = 0u64;
    let mut asked = 0u64;
    let mut i = 0;
    while i < citizens {
        let q = FactsQuery {
            bsn: generator.bsn(i),
            holder,
            holder_category,
            data_category: data,
            consulting,
            now: generator.now(),
        };
        let facts = index.facts(&q);
        found += u64::from(!facts.categorical.is_empty());
        asked += 1;
        i += 97;
    }
    let took = started.elapsed();
    println!(
        "facts() sweep:         {asked} lookups, {:.0} ns each (BSN derivation included), {found} with a categorical GP choice",
        took.as_nanos() as f64 / asked.max(1) as f64
    );
    Ok(())
}

/// A `kB` field of /proc/self/status, in KiB (0 where unavailable).
fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
