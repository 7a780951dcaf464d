//! No change is lost or applied twice: writers keep changing consents while a real `akkoord
//! serve` process is killed (SIGKILL) at random points — during its full load, while tailing,
//! between polls — and restarted. Once the writers stop and the node has caught up, its index
//! must equal the store record for record, on SQLite and on PostgreSQL.
//!
//! The random schedule is seeded from the clock and printed, so a failure can be replayed with
//! `AKKOORD_CRASH_SEED=<seed>`.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pdp_core::consent::bsn::{Bsn, Ura};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::{Generator, SplitMix64};
use pdp_core::consent::index::{IndexedRecord, HOLDER_CATEGORY_FLAG};
use pdp_core::consent::record::{
    Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordedBy,
};
use pdp_server::store::testing::postgres_or_skip;
use pdp_server::store::{self, ChangeMeta, ConsentChange, StoreUrl};
use support::node::{repo_root, Node};
use support::state::store_state;

fn catalogue() -> Arc<Catalogue> {
    let text = std::fs::read_to_string(repo_root().join("policies/mitz-catalogue.json"))
        .expect("catalogue");
    Arc::new(Catalogue::from_json(&text).expect("parses"))
}

fn seed() -> u64 {
    std::env::var("AKKOORD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// A random change over a small pool of citizens and keys, so keys collide and replacements,
/// removals and re-insertions all happen.
fn random_change(rng: &mut SplitMix64, c: &Catalogue, pool: &[Bsn]) -> ConsentChange {
    let bsn = pool[rng.below(pool.len() as u64) as usize];
    let data: Vec<_> = c.data_category_ids().collect();
    let consulting: Vec<_> = c.consulting_category_ids().collect();
    let holders: Vec<_> = c.holder_category_ids().collect();
    let holder = if rng.below(2) == 0 {
        HolderScope::Organisation(Ura::from_u32(1 + rng.below(3) as u32).expect("URA"))
    } else {
        HolderScope::Category(holders[rng.below(holders.len() as u64) as usize])
    };
    let record = ConsentRecord {
        bsn,
        holder,
        data_category: data[rng.below(data.len().min(3) as u64) as usize],
        consulting: ConsultingSet::single(consulting[rng.below(2) as usize]),
        choice: [Choice::Yes, Choice::No, Choice::NoUnlessEmergency][rng.below(3) as usize],
        valid_from: None,
        valid_until: (rng.below(4) == 0).then(|| 1_795_000_000 + rng.below(1000) as i64),
        minor: [MinorState::NotMinor, MinorState::PendingConfirmation][rng.below(2) as usize],
        recorded_by: RecordedBy::Citizen,
        catalogue_version: c.version(),
        recorded_at: 1_795_000_000,
    };
    if rng.below(4) == 0 {
        ConsentChange::Remove {
            bsn,
            key: record.key(),
        }
    } else {
        ConsentChange::Upsert(record)
    }
}

/// Reads `GET /admin/consents/{bsn}` back into the index's own record form.
fn node_records(node: &Node, bsn: Bsn) -> Vec<IndexedRecord> {
    let (status, body) = node.get(&format!("/admin/consents/{bsn}"));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let mut out: Vec<IndexedRecord> = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let holder = match r["holder"]["ura"].as_str() {
                Some(ura) => ura.parse::<u32>().expect("URA digits"),
                None => {
                    HOLDER_CATEGORY_FLAG
                        | r["holder"]["category_index"].as_u64().expect("category") as u32
                }
            };
            let code = |field: &str, names: &[&str]| {
                let s = r[field].as_str().expect("code");
                names.iter().position(|n| *n == s).expect("known code") as u8
            };
            IndexedRecord {
                holder,
                data_category: r["data_category_index"].as_u64().expect("index") as u8,
                consulting: r["consulting_bits"].as_u64().expect("bits") as u16,
                choice: code("choice", &["yes", "no", "no-unless-emergency"]),
                minor: code(
                    "minor",
                    &["not-minor", "pending-confirmation", "confirmed", "rejected"],
                ),
                valid_from: r["valid_from"].as_i64(),
                valid_until: r["valid_until"].as_i64(),
            }
        })
        .collect();
    out.sort();
    out
}

fn crash_and_compare(url: &str) {
    let seed = seed();
    eprintln!("crash schedule seed: {seed} (replay with AKKOORD_CRASH_SEED={seed})");
    let c = catalogue();
    let bin = Path::new(env!("CARGO_BIN_EXE_akkoord"));
    let store_url = StoreUrl::parse(url);
    let pool: Vec<Bsn> = {
        let g = Generator::new(&c, seed, 1_000).expect("generator");
        (0..120).map(|i| g.bsn(i)).collect()
    };

    // The first start bootstraps the policies; from then on writers run all the time.
    let mut first = Node::start(bin, url, "crash-0", &["--poll-ms", "20"]);
    first.wait_ready(Duration::from_secs(60));
    first.kill();

    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (stop, writes, c, pool, store_url) = (
                stop.clone(),
                writes.clone(),
                c.clone(),
                pool.clone(),
                store_url.clone(),
            );
            std::thread::spawn(move || {
                let mut store = store::open(&store_url).expect("writer connects");
                let mut rng = SplitMix64::new(seed ^ (w + 1));
                let meta = ChangeMeta {
                    author: format!("writer-{w}"),
                    summary: "crash test".into(),
                };
                while !stop.load(Ordering::Relaxed) {
                    let n = 1 + rng.below(4);
                    let changes: Vec<_> =
                        (0..n).map(|_| random_change(&mut rng, &c, &pool)).collect();
                    match store.write_consents(&changes, &c, &meta) {
                        Ok(_) => {
                            writes.fetch_add(1, Ordering::Relaxed);
                        }
                        // SQLite may report the other writer's lock as busy: try again.
                        Err(store::StoreError::Unavailable(_)) => {}
                        Err(e) => panic!("writer {w}: {e}"),
                    }
                    std::thread::sleep(Duration::from_millis(rng.below(3)));
                }
            })
        })
        .collect();

    let mut rng = SplitMix64::new(seed);
    for round in 1..=6 {
        let mut node = Node::start(bin, url, &format!("crash-{round}"), &["--poll-ms", "20"]);
        // Sometimes during the full load, sometimes well into tailing.
        if rng.below(3) != 0 {
            node.wait_ready(Duration::from_secs(60));
        }
        std::thread::sleep(Duration::from_millis(rng.below(700)));
        node.kill();
    }
    let node = Node::start(bin, url, "crash-final", &["--poll-ms", "20"]);
    node.wait_ready(Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    assert!(
        writes.load(Ordering::Relaxed) > 50,
        "the writers wrote too little to test anything"
    );

    let mut store = store::open(&store_url).expect("connects");
    let head = store.head_seq().expect("head");
    let start = Instant::now();
    loop {
        let h = node.health();
        if h["applied_seq"].as_i64().is_some_and(|s| s >= head) && h["lag_entries"] == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "did not catch up: {h}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let state = store_state(store.as_mut(), &c);
    let mut compared = 0;
    for bsn in &pool {
        let want = state.get(&bsn.get()).cloned().unwrap_or_default();
        let got = node_records(&node, *bsn);
        assert_eq!(
            got, want,
            "a citizen's records differ between node and store (seed {seed})"
        );
        compared += want.len();
    }
    let h = node.health();
    assert_eq!(
        h["index"]["records"].as_u64(),
        Some(state.values().map(Vec::len).sum::<usize>() as u64),
        "{h}"
    );
    assert!(compared > 0);
    eprintln!(
        "{} writes, {compared} records compared, change log at {head}",
        writes.load(Ordering::Relaxed)
    );
}

#[test]
fn killed_nodes_recover_every_change_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.db");
    crash_and_compare(&path.display().to_string());
}

#[test]
fn killed_nodes_recover_every_change_on_postgres() {
    let Some(db) = postgres_or_skip("killed_nodes_recover_every_change_on_postgres") else {
        return;
    };
    crash_and_compare(db.url());
}
