//! Freshness: from the commit of a consent change written through one node to the first
//! decision on *another* node that reflects it.
//!
//! Starts two real `akkoord serve` processes on one store, then, for each of N changes, registers
//! a consent through node A (`POST /consents`) and asks node B the closed question about that
//! citizen (`POST /pdp`) in a tight loop until B's decision flips. Each change flips the decision
//! (yes → Permit, no → Deny, alternating per citizen), so the first flipped answer is the first
//! decision that reflects the change. Two figures per change:
//!
//! - *from send*: from sending the registration to A (so it includes A's write and commit: an
//!   upper bound of commit → decision, used for the goal);
//! - *from ack*: from A's 201 answer (sent after the commit: a lower bound).
//!
//! ```text
//! cargo build --release -p pdp-server --example freshness
//! createdb -h 127.0.0.1 -U postgres akkoord_fresh
//! target/release/examples/freshness --store postgres://postgres@127.0.0.1:5432/akkoord_fresh --changes 1000
//! target/release/examples/freshness --store /tmp/fresh.db --changes 1000
//! ```

#[path = "../tests/support/node.rs"]
mod node;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use node::{closed_question, decisions, Node};
use pdp_core::consent::bsn::Ura;
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::write_consent_line;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::record::{
    Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordedBy,
};

struct Args {
    store: String,
    changes: usize,
    bin: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        store: String::new(),
        changes: 1000,
        bin: node::repo_root().join("target/release/akkoord"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--store" => a.store = value,
            "--changes" => a.changes = value.parse().unwrap_or_else(|_| usage("--changes N")),
            "--bin" => a.bin = value.into(),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    if a.store.is_empty() {
        usage("--store is required");
    }
    a
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "freshness: {problem}\nusage: freshness --store URL [--changes N] [--bin PATH/TO/akkoord]"
    );
    std::process::exit(2)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{label:<10} n={} p50={:.1} ms p90={:.1} ms p99={:.1} ms max={:.1} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.9),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN)
    );
}

fn main() {
    let args = args();
    let catalogue = Catalogue::from_json(
        &std::fs::read_to_string(node::repo_root().join("policies/mitz-catalogue.json"))
            .expect("catalogue"),
    )
    .expect("catalogue parses");
    let a = Node::start(&args.bin, &args.store, "fresh-a", &["--demo"]);
    a.wait_ready(Duration::from_secs(120));
    let b = Node::start(&args.bin, &args.store, "fresh-b", &[]);
    b.wait_ready(Duration::from_secs(120));
    println!("nodes: A {} B {} on {}", a.base, b.base, args.store);

    let all_consulting = catalogue
        .consulting_category_ids()
        .fold(0u16, |m, id| m | 1 << id.index());
    let ggc002 = catalogue.data_category("GGC002").expect("GGC002");
    let holder = Ura::parse("00000001").expect("URA");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let generator = Generator::new(&catalogue, seed, 1_000_000).expect("generator");
    let citizens = 50.min(args.changes.max(1));
    let pool: Vec<_> = (0..citizens as u64)
        .map(|i| generator.bsn(500_000 + i))
        .collect();
    let questions: Vec<String> = pool
        .iter()
        .map(|b| closed_question(&b.to_string()))
        .collect();
    let mut from_send = Vec::with_capacity(args.changes);
    let mut from_ack = Vec::with_capacity(args.changes);
    let mut polls = 0u64;
    for i in 0..args.changes {
        let c = i % citizens;
        let yes = (i / citizens) % 2 == 0;
        let record = ConsentRecord {
            bsn: pool[c],
            holder: HolderScope::Organisation(holder),
            data_category: ggc002,
            consulting: ConsultingSet::from_bits(all_consulting).expect("non-empty"),
            choice: if yes { Choice::Yes } else { Choice::No },
            valid_from: None,
            valid_until: None,
            minor: MinorState::NotMinor,
            recorded_by: RecordedBy::Citizen,
            catalogue_version: catalogue.version(),
            recorded_at: 1_795_000_000 + i as i64,
        };
        let mut line = String::new();
        write_consent_line(&record, &catalogue, &mut line).expect("writes");
        let want = if yes { "Permit" } else { "Deny" };
        let sent = Instant::now();
        let (status, body) = a.post(
            "/consents",
            "application/fhir+json",
            line.trim_end().as_bytes(),
        );
        let acked = Instant::now();
        assert!(
            status == 201 || status == 200,
            "registration: {status} {body}"
        );
        loop {
            polls += 1;
            let (status, answer) = b.post("/pdp", "application/soap+xml", questions[c].as_bytes());
            assert_eq!(status, 200, "{answer}");
            if decisions(&answer).first().map(String::as_str) == Some(want) {
                break;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(30),
                "change {i} not reflected on node B within 30 s"
            );
        }
        let seen = Instant::now();
        from_send.push((seen - sent).as_secs_f64() * 1e3);
        from_ack.push((seen - acked).as_secs_f64() * 1e3);
        if (i + 1) % 100 == 0 {
            eprintln!("{} changes", i + 1);
        }
    }
    println!(
        "changes: {} ({} citizens), polls of node B: {polls}",
        args.changes, citizens
    );
    report("from send", from_send);
    report("from ack", from_ack);
}
