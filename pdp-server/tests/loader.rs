//! The loader against real stores (a SQLite file, a throw-away PostgreSQL database): full load,
//! tailing, policy changes (a policy that does not compile never reaches the node), and a store
//! outage on a real network path during which decisions go on.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::record::{Choice, ConsentRecord, ConsultingSet, HolderScope};
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_server::live::Live;
use pdp_server::loader::{self, LoaderConfig};
use pdp_server::pap::{self, DEFAULT_ROOT_POLICY_ID};
use pdp_server::store::testing::postgres_or_skip;
use pdp_server::store::{self, ChangeMeta, ConsentChange, Store, StoreUrl};
use support::node::{closed_question, decisions, repo_root};
use support::proxy::Proxy;
use support::state::store_state;

fn catalogue() -> Arc<Catalogue> {
    let text = std::fs::read_to_string(repo_root().join("policies/mitz-catalogue.json"))
        .expect("catalogue");
    Arc::new(Catalogue::from_json(&text).expect("parses"))
}

fn shipped_policy() -> String {
    std::fs::read_to_string(repo_root().join("policies/mitz-consent.xml")).expect("policy")
}

fn meta(author: &str) -> ChangeMeta {
    ChangeMeta {
        author: author.into(),
        summary: "loader test".into(),
    }
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Asserts that the node's index holds exactly the store's records, record for record.
fn assert_index_matches_store(live: &Live, store: &mut dyn Store, c: &Catalogue) {
    let state = store_state(store, c);
    assert_eq!(live.index.len(), state.len(), "citizens");
    assert_eq!(
        live.index.record_count(),
        state.values().map(Vec::len).sum::<usize>(),
        "records"
    );
    for (bsn, want) in state {
        let bsn = pdp_core::consent::bsn::Bsn::from_u32(bsn).expect("valid");
        let mut got = live.index.citizen_records(bsn);
        got.sort();
        assert_eq!(got, want, "records of one citizen");
    }
}

/// An individual "yes"/"no" for holder URA 00000001 (the fixture's holder), GGC002, every
/// consulting category: it decides the fixture's first data category.
fn flip_record(c: &Catalogue, bsn: pdp_core::consent::bsn::Bsn, yes: bool) -> ConsentRecord {
    let all = c
        .consulting_category_ids()
        .fold(0u16, |m, id| m | 1 << id.index());
    ConsentRecord {
        bsn,
        holder: HolderScope::Organisation(
            pdp_core::consent::bsn::Ura::parse("00000001").expect("URA"),
        ),
        data_category: c.data_category("GGC002").expect("GGC002"),
        consulting: ConsultingSet::from_bits(all).expect("non-empty"),
        choice: if yes { Choice::Yes } else { Choice::No },
        valid_from: None,
        valid_until: None,
        minor: pdp_core::consent::record::MinorState::NotMinor,
        recorded_by: pdp_core::consent::record::RecordedBy::Citizen,
        catalogue_version: c.version(),
        recorded_at: 1_795_000_000,
    }
}

fn first_decision(live: &Live, bsn: pdp_core::consent::bsn::Bsn) -> String {
    let policies = live.policies().expect("policies installed");
    let mut out = String::new();
    policies
        .service
        .answer(
            closed_question(&bsn.to_string()).as_bytes(),
            &XmlLimits::default(),
            RequestTime::from(std::time::SystemTime::now()),
            &mut out,
        )
        .expect("answers");
    decisions(&out).into_iter().next().expect("a decision")
}

fn loader_follows_the_store(url: StoreUrl) {
    let c = catalogue();
    let mut writer = store::open(&url).expect("store opens");
    pap::put_policy_checked(
        writer.as_mut(),
        &shipped_policy(),
        true,
        DEFAULT_ROOT_POLICY_ID,
        &c,
        &meta("bootstrap"),
    )
    .expect("shipped policy accepted");
    let g = Generator::new(&c, 11, 400).expect("generator");
    let initial: Vec<ConsentChange> = g.records().map(ConsentChange::Upsert).collect();
    writer
        .write_consents(&initial, &c, &meta("seed"))
        .expect("seeded");

    let live = Arc::new(Live::new(
        c.clone(),
        "loader-test".into(),
        XmlLimits::default(),
    ));
    let mut config = LoaderConfig::new(url.clone(), DEFAULT_ROOT_POLICY_ID.into());
    config.poll_interval = Duration::from_millis(50);
    let handle = loader::spawn(live.clone(), config).expect("loader starts");
    wait_until("ready", Duration::from_secs(30), || live.is_ready());
    assert_index_matches_store(&live, writer.as_mut(), &c);

    // Changes after the full load: new citizen, replacement, removal.
    let newcomer = Generator::new(&c, 12, 1_000).expect("generator").bsn(999);
    assert_eq!(first_decision(&live, newcomer), "Deny");
    writer
        .write_consents(
            &[ConsentChange::Upsert(flip_record(&c, newcomer, true))],
            &c,
            &meta("test"),
        )
        .expect("write");
    wait_until("yes applied", Duration::from_secs(10), || {
        first_decision(&live, newcomer) == "Permit"
    });
    let no = flip_record(&c, newcomer, false);
    writer
        .write_consents(&[ConsentChange::Upsert(no)], &c, &meta("test"))
        .expect("write");
    wait_until("no applied", Duration::from_secs(10), || {
        first_decision(&live, newcomer) == "Deny"
    });
    let some = g.records().nth(3).expect("a record");
    writer
        .write_consents(
            &[
                ConsentChange::Remove {
                    bsn: some.bsn,
                    key: some.key(),
                },
                ConsentChange::Remove {
                    bsn: newcomer,
                    key: no.key(),
                },
            ],
            &c,
            &meta("test"),
        )
        .expect("remove");
    wait_until("removals applied", Duration::from_secs(10), || {
        live.index.citizen_records(newcomer).is_empty()
    });
    let head = writer.head_seq().expect("head");
    wait_until("caught up", Duration::from_secs(10), || {
        live.status().applied_seq >= head
    });
    assert_index_matches_store(&live, writer.as_mut(), &c);

    // A new policy revision reaches the node; one that does not compile is refused at write
    // time, and one forced into the store around the PAP is never installed.
    let revised = shipped_policy().replacen("<Target", "<!-- revision 2 --><Target", 1);
    let (_, revision) = pap::put_policy_checked(
        writer.as_mut(),
        &revised,
        true,
        DEFAULT_ROOT_POLICY_ID,
        &c,
        &meta("author"),
    )
    .expect("revision accepted");
    wait_until("revision installed", Duration::from_secs(10), || {
        live.policies()
            .is_some_and(|p| p.revisions == vec![(DEFAULT_ROOT_POLICY_ID.to_string(), revision)])
    });
    let broken = shipped_policy().replace(
        "urn:oasis:names:tc:xacml:1.0:function:string-is-in",
        "urn:example:no-such-function",
    );
    match pap::put_policy_checked(
        writer.as_mut(),
        &broken,
        true,
        DEFAULT_ROOT_POLICY_ID,
        &c,
        &meta("author"),
    ) {
        Err(pap::PapError::Invalid(errors)) => {
            assert!(
                errors.iter().any(|e| e.contains("no-such-function")),
                "{errors:?}"
            )
        }
        other => panic!("a broken policy must be refused, got {other:?}"),
    }
    let revisions = writer.policies(false).expect("list").len();
    assert_eq!(revisions, 2, "the refused policy was not stored");
    writer
        .put_policy(
            DEFAULT_ROOT_POLICY_ID,
            &broken,
            true,
            &meta("around-the-pap"),
        )
        .expect("raw write");
    wait_until("broken set reported", Duration::from_secs(10), || {
        live.status().policy_error.is_some()
    });
    assert_eq!(
        live.policies().expect("still installed").revisions,
        vec![(DEFAULT_ROOT_POLICY_ID.to_string(), revision)],
        "the node keeps the last set that compiled"
    );
    assert!(live
        .render_metrics()
        .contains("akkoord_policy_rejections_total 1"));
    assert_eq!(first_decision(&live, newcomer), "Deny");
    handle.stop();
}

#[test]
fn loader_follows_a_sqlite_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    loader_follows_the_store(StoreUrl::Sqlite(dir.path().join("akkoord.db")));
}

#[test]
fn loader_follows_a_postgres_store() {
    let Some(db) = postgres_or_skip("loader_follows_a_postgres_store") else {
        return;
    };
    loader_follows_the_store(StoreUrl::Postgres(db.url().to_string()));
}

/// The store goes away on the network: decisions go on from the last index, health shows the
/// store unreachable and the staleness growing, and the change written meanwhile is applied once
/// the store is back.
#[test]
fn a_postgres_outage_degrades_freshness_not_decisions() {
    let Some(db) = postgres_or_skip("a_postgres_outage_degrades_freshness_not_decisions") else {
        return;
    };
    let c = catalogue();
    let mut writer = store::open(&StoreUrl::Postgres(db.url().to_string())).expect("opens");
    pap::put_policy_checked(
        writer.as_mut(),
        &shipped_policy(),
        true,
        DEFAULT_ROOT_POLICY_ID,
        &c,
        &meta("bootstrap"),
    )
    .expect("policy");
    let citizen = Generator::new(&c, 13, 10).expect("generator").bsn(1);
    writer
        .write_consents(
            &[ConsentChange::Upsert(flip_record(&c, citizen, true))],
            &c,
            &meta("seed"),
        )
        .expect("seed");

    let proxy = Proxy::start("127.0.0.1:5432".parse().expect("addr"));
    let proxied = db.url().replace("127.0.0.1:5432", &proxy.addr.to_string());
    assert_ne!(proxied, db.url(), "the test store URL names 127.0.0.1:5432");
    let live = Arc::new(Live::new(
        c.clone(),
        "outage-test".into(),
        XmlLimits::default(),
    ));
    let mut config = LoaderConfig::new(StoreUrl::Postgres(proxied), DEFAULT_ROOT_POLICY_ID.into());
    config.poll_interval = Duration::from_millis(50);
    let handle = loader::spawn(live.clone(), config).expect("loader");
    wait_until("ready", Duration::from_secs(30), || live.is_ready());
    assert_eq!(first_decision(&live, citizen), "Permit");

    proxy.cut();
    writer
        .write_consents(
            &[ConsentChange::Upsert(flip_record(&c, citizen, false))],
            &c,
            &meta("during-outage"),
        )
        .expect("the store itself is up; only this node's path to it is cut");
    wait_until("outage noticed", Duration::from_secs(15), || {
        !live.status().store_reachable
    });
    // Decisions go on, from the last index.
    for _ in 0..50 {
        assert_eq!(first_decision(&live, citizen), "Permit");
    }
    let stale_at_cut = live.status().synced_at_ms.expect("synced once");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        live.status().synced_at_ms,
        Some(stale_at_cut),
        "no sync while cut"
    );
    let page = live.render_metrics();
    assert!(page.contains("akkoord_store_reachable 0"), "{page}");
    assert!(!page.contains("akkoord_store_errors_total 0\n"), "{page}");

    proxy.restore();
    // The loader applies the changes it reads, then records the store as reachable: wait for
    // both rather than assume the order in which a reader sees them.
    wait_until(
        "caught up after the outage",
        Duration::from_secs(30),
        || first_decision(&live, citizen) == "Deny" && live.status().store_reachable,
    );
    assert_index_matches_store(&live, writer.as_mut(), &c);
    handle.stop();
}
