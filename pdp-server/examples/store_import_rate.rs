//! How fast a store takes a bulk import and gives it back: times the `import_batch` calls alone
//! (record generation is excluded), then a full `load_all` into a counting sink.
//!
//! ```text
//! cargo run --release -p pdp-server --example store_import_rate -- /tmp/rate.db 2500000 [BATCH]
//! ```
//!
//! Arguments: a store URL or SQLite path (the file should not exist yet: a second run measures
//! idempotent re-import instead), the number of citizens (≈ 2.0 records each, so 2 500 000
//! citizens ≈ 5 million records) and optionally the records per batch (default 20 000).

use std::time::{Duration, Instant};

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_server::store::{self, ChangeMeta, ImportProgress, StoreUrl};

/// This thread's time on a CPU so far (Linux; `None` elsewhere). Reported next to wall time
/// because on a shared machine the wall time includes waiting for a core.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn cpu_since(start: Option<Duration>) -> Duration {
    match (start, cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => Duration::ZERO,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(citizens)) = (args.first(), args.get(1)) else {
        return Err("usage: store_import_rate STORE CITIZENS [BATCH]".into());
    };
    let citizens: u64 = citizens.parse()?;
    let batch: usize = args.get(2).map_or(Ok(20_000), |b| b.parse())?;
    let catalogue = Catalogue::from_json(include_str!("../../policies/mitz-catalogue.json"))?;
    let generator = Generator::new(&catalogue, 1, citizens)?;
    let mut store = store::open(&StoreUrl::parse(url))?;

    let meta = ChangeMeta {
        author: "example:store_import_rate".into(),
        summary: "import batch".into(),
    };
    let mut in_store = Duration::ZERO;
    let mut in_store_cpu = Duration::ZERO;
    let (mut rows, mut inserted, mut unchanged, mut batches) = (0u64, 0u64, 0u64, 0u64);
    let mut buf = Vec::with_capacity(batch + 8);
    let mut flush = |buf: &mut Vec<_>, lines: u64| -> Result<(), store::StoreError> {
        let progress = ImportProgress {
            file_id: "example".into(),
            path: "generated".into(),
            lines_done: lines,
        };
        let (t, cpu) = (Instant::now(), cpu_time());
        let out = store.import_batch(buf, &catalogue, &progress, &meta)?;
        in_store += t.elapsed();
        in_store_cpu += cpu_since(cpu);
        rows += buf.len() as u64;
        inserted += out.inserted;
        unchanged += out.unchanged;
        batches += 1;
        buf.clear();
        Ok(())
    };
    let mut lines = 0u64;
    for record in generator.records() {
        buf.push(record);
        lines += 1;
        if buf.len() >= batch {
            flush(&mut buf, lines)?;
        }
    }
    if !buf.is_empty() {
        flush(&mut buf, lines)?;
    }
    println!(
        "import_batch: {rows} rows in {batches} batches of {batch} in {:.2} s: {:.0} rows/s \
         (CPU {:.2} s: {:.0} rows per CPU-second; {inserted} inserted, {unchanged} unchanged)",
        in_store.as_secs_f64(),
        rows as f64 / in_store.as_secs_f64(),
        in_store_cpu.as_secs_f64(),
        rows as f64 / in_store_cpu.as_secs_f64(),
    );

    let mut store = store::open(&StoreUrl::parse(url))?;
    let mut count = 0u64;
    let mut bad = 0u64;
    let mut sink = |r: Result<_, String>| match r {
        Ok(_) => count += 1,
        Err(_) => bad += 1,
    };
    let (t, cpu) = (Instant::now(), cpu_time());
    let full = store.load_all(&catalogue, &mut sink, &mut |n| {
        eprintln!("  loaded {n} rows")
    })?;
    let (took, took_cpu) = (t.elapsed(), cpu_since(cpu));
    println!(
        "load_all: {} rows ({bad} undecodable) in {:.2} s: {:.0} rows/s (CPU {:.2} s: {:.0} \
         rows per CPU-second); position {}",
        full.records,
        took.as_secs_f64(),
        full.records as f64 / took.as_secs_f64(),
        took_cpu.as_secs_f64(),
        full.records as f64 / took_cpu.as_secs_f64(),
        full.position.token
    );
    Ok(())
}
