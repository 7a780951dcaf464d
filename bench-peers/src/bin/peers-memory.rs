//! Memory per citizen of each engine's data store, plus the agreement check.
//!
//! `cargo run --release --bin peers-memory [citizens]` (default 100 000) starts itself once per
//! store in a fresh process, so each reading starts from a clean heap, and prints a table.
//! `peers-memory measure <store> <citizens>` is one such reading.
//!
//! Two methods, both taken around the build of the store alone (the generated records are
//! made before the first reading and kept alive after the second):
//! - **RSS delta**: `VmRSS` from `/proc/self/status` after minus before. What the operating
//!   system charges; includes allocator slack and freed-but-kept build temporaries.
//! - **Live heap delta**: a counting global allocator (this binary only) adds every allocation
//!   and subtracts every free: the bytes the finished store keeps, without allocator overhead.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use bench_peers::akkoord::{self, AkkoordEngine};
use bench_peers::cedar_model::{self, CedarEngine, CedarLayout};
use bench_peers::check;
use bench_peers::naive::Naive;
use bench_peers::rego_model::{self, RegoEngine, RegoMode};
use bench_peers::workload::Workload;

/// The system allocator with a running count of live bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counter
// does not affect allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Resident set size in bytes, from `/proc/self/status` (0 where unavailable).
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<usize>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

const STORES: [&str; 5] = [
    "akkoord-index",
    "cedar-expanded",
    "cedar-compact",
    "regorus-data",
    "naive-hashmap",
];

/// Builds one store in this process and prints `store rss_delta live_delta`.
fn measure(store: &str, citizens: u64) {
    let w = Workload::new(citizens, 0).expect("workload");
    let (rss0, live0) = (rss_bytes(), LIVE.load(Ordering::Relaxed));
    let kept: Box<dyn std::any::Any> = match store {
        "akkoord-index" => Box::new(Arc::new(akkoord::build_index(&w.catalogue, &w.records))),
        "cedar-expanded" | "cedar-compact" => {
            let layout = if store == "cedar-expanded" {
                CedarLayout::Expanded
            } else {
                CedarLayout::Compact
            };
            Box::new(
                cedar_model::build_entities(w.citizen_refs(), &w.hierarchy, layout)
                    .expect("Cedar entities")
                    .0,
            )
        }
        "regorus-data" => {
            let data = rego_model::build_data(w.citizen_refs(), &w.hierarchy, &w.data_categories);
            Box::new(RegoEngine::new(RegoMode::Rvm, data).expect("Regorus RVM"))
        }
        "naive-hashmap" => Box::new(Naive::new(w.citizen_refs(), w.hierarchy.clone())),
        other => panic!("unknown store {other}; one of {STORES:?}"),
    };
    let (rss1, live1) = (rss_bytes(), LIVE.load(Ordering::Relaxed));
    println!("{store} {} {}", rss1.saturating_sub(rss0), live1 - live0);
    drop(kept);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("measure") {
        let store = args
            .get(2)
            .expect("usage: peers-memory measure <store> <citizens>");
        let citizens = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100_000);
        measure(store, citizens);
        return;
    }
    let citizens: u64 = args
        .get(1)
        .and_then(|n| n.replace('_', "").parse().ok())
        .unwrap_or(100_000);
    let me = std::env::current_exe().expect("own path");
    println!("memory per citizen, {citizens} citizens (fresh process per store)");
    println!(
        "{:<16} {:>14} {:>18}",
        "store", "RSS B/citizen", "live heap B/citizen"
    );
    for store in STORES {
        let out = Command::new(&me)
            .args(["measure", store, &citizens.to_string()])
            .output()
            .expect("running a measurement");
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<&str> = text.split_whitespace().collect();
        match fields.as_slice() {
            [_, rss, live] => {
                let per = |v: &str| v.parse::<f64>().unwrap_or(f64::NAN) / citizens as f64;
                println!("{store:<16} {:>14.1} {:>18.1}", per(rss), per(live));
            }
            _ => println!(
                "{store:<16} failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ),
        }
    }

    // The agreement check on the same data set.
    let w = Workload::new(citizens, 10_000).expect("workload");
    let naive = Naive::new(w.citizen_refs(), w.hierarchy.clone());
    let cedars: Vec<CedarEngine> = CedarLayout::ALL
        .iter()
        .map(|&layout| {
            CedarEngine::new(w.citizen_refs(), &w.hierarchy, &w.data_categories, layout)
                .expect("Cedar")
        })
        .collect();
    let data = rego_model::build_data(w.citizen_refs(), &w.hierarchy, &w.data_categories);
    let rvm = RegoEngine::new(RegoMode::Rvm, data).expect("Regorus RVM");
    let akkoord = AkkoordEngine::new(&w.catalogue, &w.records).expect("Akkoord");
    let mut engines = vec![
        check::naive_outcomes(&naive, &w.questions),
        check::akkoord_outcomes(&akkoord, &w.questions).expect("Akkoord outcomes"),
    ];
    for cedar in &cedars {
        engines.push(check::cedar_outcomes(cedar, &w.questions).expect("Cedar outcomes"));
    }
    engines.push(check::rego_outcomes(&rvm, &w.questions).expect("Regorus outcomes"));
    println!("agreement on {} questions:", w.questions.len());
    if !check::report(&check::all_pairs(&engines)) {
        std::process::exit(1);
    }
}
