//! Two real `akkoord serve` processes on one PostgreSQL database converge: a consent change or
//! a policy change written through one node is decided on by the other.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use pdp_core::consent::bsn::{Bsn, Ura};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::write_consent_line;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::record::{
    Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordedBy,
};
use pdp_server::store::testing::postgres_or_skip;
use support::node::{closed_question, decisions, repo_root, Node};

fn catalogue() -> Catalogue {
    let text = std::fs::read_to_string(repo_root().join("policies/mitz-catalogue.json"))
        .expect("catalogue");
    Catalogue::from_json(&text).expect("parses")
}

fn consent_json(c: &Catalogue, bsn: Bsn, choice: Choice) -> String {
    let all = c
        .consulting_category_ids()
        .fold(0u16, |m, id| m | 1 << id.index());
    let record = ConsentRecord {
        bsn,
        holder: HolderScope::Organisation(Ura::parse("00000001").expect("URA")),
        data_category: c.data_category("GGC002").expect("GGC002"),
        consulting: ConsultingSet::from_bits(all).expect("non-empty"),
        choice,
        valid_from: None,
        valid_until: None,
        minor: MinorState::NotMinor,
        recorded_by: RecordedBy::Citizen,
        catalogue_version: c.version(),
        recorded_at: 1_795_000_000,
    };
    let mut line = String::new();
    write_consent_line(&record, c, &mut line).expect("writes");
    line.trim_end().to_string()
}

fn decision_on(node: &Node, bsn: Bsn) -> String {
    let (status, body) = node.post(
        "/pdp",
        "application/soap+xml",
        closed_question(&bsn.to_string()).as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    decisions(&body).into_iter().next().expect("a decision")
}

fn wait_for_decision(node: &Node, bsn: Bsn, want: &str) -> Duration {
    let start = Instant::now();
    while decision_on(node, bsn) != want {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "node {} did not decide {want} within 10 s",
            node.name
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    start.elapsed()
}

#[test]
fn two_nodes_on_one_postgres_database_converge() {
    let Some(db) = postgres_or_skip("two_nodes_on_one_postgres_database_converge") else {
        return;
    };
    let bin = Path::new(env!("CARGO_BIN_EXE_akkoord"));
    let a = Node::start(bin, db.url(), "node-a", &["--demo"]);
    a.wait_ready(Duration::from_secs(60));
    let b = Node::start(bin, db.url(), "node-b", &[]);
    b.wait_ready(Duration::from_secs(60));

    let c = catalogue();
    let bsn = Generator::new(&c, 21, 100).expect("generator").bsn(42);
    assert_eq!(decision_on(&a, bsn), "Deny");
    assert_eq!(decision_on(&b, bsn), "Deny");

    // Written through A, decided on by B; then the other way round.
    let (status, body) = a.post(
        "/consents",
        "application/fhir+json",
        consent_json(&c, bsn, Choice::Yes).as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    wait_for_decision(&b, bsn, "Permit");
    let (status, body) = b.post(
        "/consents",
        "application/fhir+json",
        consent_json(&c, bsn, Choice::No).as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    wait_for_decision(&a, bsn, "Deny");
    wait_for_decision(&b, bsn, "Deny");

    // A withdrawal through A reaches B: back to "no choice recorded".
    let (status, body) = a
        .try_send(
            "DELETE",
            "/consents",
            "application/fhir+json",
            consent_json(&c, bsn, Choice::No).as_bytes(),
        )
        .expect("DELETE");
    assert!(status == 200 || status == 201, "{status} {body}");
    let start = Instant::now();
    loop {
        let (_, body) = b.get(&format!("/admin/consents/{bsn}"));
        if !body.contains("00000001") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "withdrawal not seen on B: {body}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // A policy revision activated through A becomes B's active set.
    let policy = std::fs::read_to_string(repo_root().join("policies/mitz-consent.xml"))
        .expect("policy")
        .replacen("<Target", "<!-- revised through node A --><Target", 1);
    let (status, body) = a.post(
        "/policies?activate=true",
        "application/xml",
        policy.as_bytes(),
    );
    assert!(status == 200 || status == 201, "{status} {body}");
    let start = Instant::now();
    loop {
        let health = b.health();
        let active = &health["active_policies"];
        if active.as_array().is_some_and(|a| {
            a.len() == 1
                && a[0]["policy_id"] == "urn:akkoord:policy-set:mitz-closed-question"
                && a[0]["revision"] == 2
        }) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "policy revision not on B: {health}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Both nodes agree on the change log position once idle.
    let start = Instant::now();
    loop {
        let (ha, hb) = (a.health(), b.health());
        if ha["applied_seq"] == hb["applied_seq"]
            && ha["lag_entries"] == 0
            && hb["lag_entries"] == 0
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{ha} vs {hb}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A node started while the store is unreachable listens at once, is not ready (503) and
/// becomes ready, with the store's data, once the store answers.
#[test]
fn a_node_started_during_a_store_outage_becomes_ready_when_the_store_returns() {
    let Some(db) = postgres_or_skip(
        "a_node_started_during_a_store_outage_becomes_ready_when_the_store_returns",
    ) else {
        return;
    };
    let bin = Path::new(env!("CARGO_BIN_EXE_akkoord"));
    let mut first = Node::start(bin, db.url(), "bootstrap", &["--demo"]);
    first.wait_ready(Duration::from_secs(60));
    first.kill();

    let proxy = support::proxy::Proxy::start("127.0.0.1:5432".parse().expect("addr"));
    proxy.cut();
    let through_proxy = db.url().replace("127.0.0.1:5432", &proxy.addr.to_string());
    let node = Node::start(bin, &through_proxy, "late", &[]);
    let (status, _) = node.get("/ready");
    assert_eq!(status, 503, "not ready without the store");
    let (status, body) = node.post(
        "/pdp",
        "application/soap+xml",
        closed_question("999990019").as_bytes(),
    );
    assert_eq!(status, 503, "{body}");
    let health = node.health();
    assert_eq!(health["store_reachable"], false, "{health}");

    proxy.restore();
    node.wait_ready(Duration::from_secs(30));
    let demo_citizen = Bsn::parse("999990019").expect("demo BSN");
    assert_eq!(decision_on(&node, demo_citizen), "Permit");
}
