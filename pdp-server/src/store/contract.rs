//! The store contract: behaviour every [`Store`] implementation must show, as plain functions
//! that panic on a violation. Each implementation's tests call them (SQLite against temporary
//! files, PostgreSQL against throw-away databases), so the two stores are held to one
//! definition of the rules in the [module docs](super) rather than to two sets of tests that
//! drift apart.
//!
//! Every function takes a *factory*: each call must return a new connection to the **same**,
//! initially empty store. That is how the suite checks what one connection sees of another's
//! writes, and that reopening (which re-runs migrations) keeps the data. The functions use only
//! the [`Store`] trait; checks that need raw SQL (undecodable rows, locks, schema versions) live
//! with each implementation.
//!
//! The suite is compiled into the library (not `#[cfg(test)]`) so that the tests of every
//! implementation, in this crate or another, can share it; it is not used at run time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pdp_core::consent::bsn::Bsn;
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::record::{Choice, ConsentRecord, RecordKey};

use super::{
    ChangeMeta, ConsentChange, FullLoad, ImportProgress, LoadedChange, Position, Store, StoreError,
};

/// Makes a new connection to the store under test (the same store every time).
pub type Factory<'a> = dyn FnMut() -> Box<dyn Store> + 'a;

/// The shipped catalogue, which the suite's records are coded with.
pub fn catalogue() -> Catalogue {
    match Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json")) {
        Ok(c) => c,
        Err(e) => panic!("the shipped catalogue does not load: {e}"),
    }
}

/// One contract check.
pub type Check = fn(&mut Factory<'_>);

/// Every contract check with its name, for implementations that run them in a loop.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "reopening_keeps_schema_and_data",
        reopening_keeps_schema_and_data,
    ),
    (
        "load_all_returns_what_was_written",
        load_all_returns_what_was_written,
    ),
    (
        "idempotent_writes_leave_no_log_entry",
        idempotent_writes_leave_no_log_entry,
    ),
    ("write_counts_are_exact", write_counts_are_exact),
    ("removals_are_tombstones", removals_are_tombstones),
    (
        "changes_since_is_exact_ordered_and_paged",
        changes_since_is_exact_ordered_and_paged,
    ),
    ("policies_keep_every_revision", policies_keep_every_revision),
    (
        "imports_are_idempotent_and_resumable",
        imports_are_idempotent_and_resumable,
    ),
    (
        "writes_are_visible_to_other_connections",
        writes_are_visible_to_other_connections,
    ),
    (
        "wait_for_change_wakes_on_another_commit",
        wait_for_change_wakes_on_another_commit,
    ),
];

/// Every check of [`CHECKS`] in turn; each gets a fresh store from `fresh_store`, which returns
/// a factory of connections to a new, empty store.
pub fn run_all(fresh_store: &mut dyn FnMut() -> Box<Factory<'static>>) {
    for (name, check) in CHECKS {
        eprintln!("store contract: {name}");
        let mut factory = fresh_store();
        check(&mut *factory);
    }
}

type Key = (Bsn, RecordKey);

fn meta(summary: &str) -> ChangeMeta {
    ChangeMeta {
        author: "contract-test".into(),
        summary: summary.into(),
    }
}

fn ok<T>(what: &str, r: Result<T, StoreError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// Generated records, one per key (the generator's data set, last one wins per key).
fn generated(seed: u64, citizens: u64) -> Vec<ConsentRecord> {
    let c = catalogue();
    let g = ok(
        "generator",
        Generator::new(&c, seed, citizens).map_err(|e| StoreError::Invalid(e.to_string())),
    );
    let mut by_key: HashMap<Key, ConsentRecord> = HashMap::new();
    let mut order = Vec::new();
    for r in g.records() {
        if by_key.insert((r.bsn, r.key()), r).is_none() {
            order.push((r.bsn, r.key()));
        }
    }
    order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .collect()
}

fn upserts(records: &[ConsentRecord]) -> Vec<ConsentChange> {
    records.iter().copied().map(ConsentChange::Upsert).collect()
}

/// A record with different content (same key).
fn changed(r: &ConsentRecord) -> ConsentRecord {
    let mut r = *r;
    r.choice = if r.choice == Choice::No {
        Choice::Yes
    } else {
        Choice::No
    };
    r.recorded_at += 1;
    r
}

/// A full load into a map, asserting every row decodes.
fn load(store: &mut dyn Store) -> (HashMap<Key, ConsentRecord>, FullLoad) {
    let c = catalogue();
    let mut rows = HashMap::new();
    let mut errors = Vec::new();
    let mut sink = |r: Result<ConsentRecord, String>| match r {
        Ok(r) => {
            assert!(
                rows.insert((r.bsn, r.key()), r).is_none(),
                "load_all returned a key twice"
            );
        }
        Err(e) => errors.push(e),
    };
    let full = ok("load_all", store.load_all(&c, &mut sink, &mut |_| {}));
    assert!(errors.is_empty(), "undecodable rows: {errors:?}");
    assert_eq!(full.records, rows.len() as u64, "FullLoad::records");
    assert_eq!(full.undecodable, 0);
    (rows, full)
}

fn as_map(records: &[ConsentRecord]) -> HashMap<Key, ConsentRecord> {
    records.iter().map(|r| ((r.bsn, r.key()), *r)).collect()
}

/// Every change after `from`, paging with `limit`; returns the changes, the entries counted and
/// the final position. Asserts that paging ends (the position stops moving when nothing is new).
fn drain(
    store: &mut dyn Store,
    from: &Position,
    limit: usize,
) -> (Vec<LoadedChange>, u64, Position) {
    let c = catalogue();
    let mut position = from.clone();
    let mut changes = Vec::new();
    let mut entries = 0;
    for _ in 0..10_000 {
        let batch = ok("changes_since", store.changes_since(&position, &c, limit));
        assert!(
            batch.entries <= limit.max(1) as u64 * 2,
            "changes_since covered {} entries with limit {limit}",
            batch.entries
        );
        if batch.entries == 0 {
            assert!(batch.changes.is_empty(), "changes without entries");
            assert_eq!(batch.position.last_seq, position.last_seq);
            return (changes, entries, batch.position);
        }
        assert!(batch.position.last_seq > position.last_seq);
        entries += batch.entries;
        changes.extend(batch.changes);
        position = batch.position;
    }
    panic!("changes_since never ran dry");
}

/// Applies loaded changes to a map as the loader would.
fn apply(map: &mut HashMap<Key, ConsentRecord>, changes: &[LoadedChange]) {
    for c in changes {
        match c {
            LoadedChange::Upsert(r) => {
                map.insert((r.bsn, r.key()), *r);
            }
            LoadedChange::Remove { bsn, key } => {
                map.remove(&(*bsn, *key));
            }
            LoadedChange::Undecodable { reason, .. } => panic!("undecodable change: {reason}"),
            LoadedChange::Policies(_) => {}
        }
    }
}

/// Reopening the store (which applies migrations again) changes nothing and loses nothing.
pub fn reopening_keeps_schema_and_data(factory: &mut Factory<'_>) {
    let c = catalogue();
    let records = generated(11, 40);
    let head = {
        let mut s = factory();
        let out = ok(
            "write",
            s.write_consents(&upserts(&records), &c, &meta("first")),
        );
        assert!(out.change_seq.is_some());
        ok("head_seq", s.head_seq())
    };
    for _ in 0..2 {
        let mut s = factory();
        assert_eq!(ok("head_seq", s.head_seq()), head, "head after reopening");
        assert_eq!(ok("consent_count", s.consent_count()), records.len() as u64);
        let (rows, _) = load(&mut *s);
        assert_eq!(rows, as_map(&records));
    }
}

/// What was written comes back from a full load, exactly; the position is the log's head.
pub fn load_all_returns_what_was_written(factory: &mut Factory<'_>) {
    let c = catalogue();
    let mut s = factory();
    let (empty, full) = load(&mut *s);
    assert!(empty.is_empty());
    assert_eq!(full.position.last_seq, 0, "an empty store's position");
    let records = generated(7, 500);
    for chunk in records.chunks(300) {
        ok(
            "write",
            s.write_consents(&upserts(chunk), &c, &meta("chunk")),
        );
    }
    let (rows, full) = load(&mut *s);
    assert_eq!(rows.len(), records.len());
    assert_eq!(
        rows,
        as_map(&records),
        "load_all differs from what was written"
    );
    assert_eq!(full.position.last_seq, ok("head_seq", s.head_seq()));
    assert_eq!(ok("consent_count", s.consent_count()), records.len() as u64);
}

/// Writing the same rows again changes nothing: no log entry, `change_seq: None`.
pub fn idempotent_writes_leave_no_log_entry(factory: &mut Factory<'_>) {
    let c = catalogue();
    let mut s = factory();
    let records = generated(3, 50);
    let first = ok(
        "write",
        s.write_consents(&upserts(&records), &c, &meta("w")),
    );
    assert_eq!(first.inserted, records.len() as u64);
    let head = ok("head_seq", s.head_seq());
    assert_eq!(first.change_seq, Some(head));
    let again = ok(
        "rewrite",
        s.write_consents(&upserts(&records), &c, &meta("w")),
    );
    assert_eq!(
        again.change_seq, None,
        "an idempotent write wrote a log entry"
    );
    assert_eq!(again.unchanged, records.len() as u64);
    assert_eq!((again.inserted, again.updated, again.removed), (0, 0, 0));
    assert_eq!(ok("head_seq", s.head_seq()), head);
    let here = position_of(&mut *s, head);
    let (changes, entries, _) = drain(&mut *s, &here, 10);
    assert!(changes.is_empty() && entries == 0);
    // Removing what is not there is a no-op too.
    let gone = ConsentChange::Remove {
        bsn: records[0].bsn,
        key: changed_key(&records[0], &c),
    };
    let out = ok("remove absent", s.write_consents(&[gone], &c, &meta("rm")));
    assert_eq!(out.change_seq, None);
    assert_eq!(out.removed, 0);
    // An empty write is no change either.
    assert_eq!(
        ok("empty write", s.write_consents(&[], &c, &meta("nothing"))).change_seq,
        None
    );
    assert_eq!(ok("head_seq", s.head_seq()), head);
}

/// The position a full load would return when the head is `head` (taken from a full load).
fn position_of(store: &mut dyn Store, head: i64) -> Position {
    let (_, full) = load(store);
    assert_eq!(full.position.last_seq, head);
    full.position
}

/// A key no generated record has: the record's key with another data category.
fn changed_key(r: &ConsentRecord, c: &Catalogue) -> RecordKey {
    let mut key = r.key();
    if let Some(other) = c.data_category_ids().find(|d| *d != key.data_category) {
        key.data_category = other;
    }
    key
}

/// Inserted, updated, unchanged and removed are counted exactly, in one call.
pub fn write_counts_are_exact(factory: &mut Factory<'_>) {
    let c = catalogue();
    let mut s = factory();
    let r = generated(5, 40);
    assert!(r.len() >= 8, "generator made too few records");
    let out = ok("write", s.write_consents(&upserts(&r[..4]), &c, &meta("4")));
    assert_eq!(
        (out.inserted, out.updated, out.unchanged, out.removed),
        (4, 0, 0, 0)
    );
    let mixed = vec![
        ConsentChange::Upsert(r[0]),           // unchanged
        ConsentChange::Upsert(changed(&r[1])), // updated
        ConsentChange::Upsert(r[4]),           // inserted
        ConsentChange::Upsert(r[5]),           // inserted
        ConsentChange::Remove {
            bsn: r[2].bsn,
            key: r[2].key(),
        }, // removed
        ConsentChange::Remove {
            bsn: r[6].bsn,
            key: r[6].key(),
        }, // absent: nothing
    ];
    let out = ok("mixed write", s.write_consents(&mixed, &c, &meta("mixed")));
    assert_eq!(
        (out.inserted, out.updated, out.unchanged, out.removed),
        (2, 1, 1, 1),
        "{out:?}"
    );
    assert!(out.change_seq.is_some());
    // The same key twice in one call: the last one wins, each counted.
    let twice = vec![
        ConsentChange::Upsert(r[7]),
        ConsentChange::Upsert(changed(&r[7])),
    ];
    let out = ok("twice", s.write_consents(&twice, &c, &meta("twice")));
    assert_eq!((out.inserted, out.updated), (1, 1), "{out:?}");
    let (rows, _) = load(&mut *s);
    assert_eq!(rows.get(&(r[7].bsn, r[7].key())), Some(&changed(&r[7])));
    assert_eq!(rows.get(&(r[1].bsn, r[1].key())), Some(&changed(&r[1])));
    assert!(!rows.contains_key(&(r[2].bsn, r[2].key())));
    assert_eq!(rows.len(), 6);
}

/// A removal leaves a tombstone: the log shows it as `Remove`, full loads skip it, and upserting
/// the key again counts as an insert.
pub fn removals_are_tombstones(factory: &mut Factory<'_>) {
    let c = catalogue();
    let mut s = factory();
    let r = generated(9, 20);
    ok("write", s.write_consents(&upserts(&r), &c, &meta("all")));
    let (_, full) = load(&mut *s);
    let gone = ConsentChange::Remove {
        bsn: r[0].bsn,
        key: r[0].key(),
    };
    let out = ok("remove", s.write_consents(&[gone], &c, &meta("rm")));
    assert_eq!(out.removed, 1);
    let seq = out.change_seq;
    assert!(seq.is_some());
    let batch = ok("changes_since", s.changes_since(&full.position, &c, 100));
    assert_eq!(batch.entries, 1);
    assert_eq!(
        batch.changes,
        vec![LoadedChange::Remove {
            bsn: r[0].bsn,
            key: r[0].key()
        }]
    );
    assert_eq!(Some(batch.position.last_seq), seq);
    let (rows, _) = load(&mut *s);
    assert!(
        !rows.contains_key(&(r[0].bsn, r[0].key())),
        "tombstone loaded"
    );
    assert_eq!(rows.len(), r.len() - 1);
    assert_eq!(ok("consent_count", s.consent_count()), r.len() as u64 - 1);
    // Removing again: nothing.
    let out = ok("remove again", s.write_consents(&[gone], &c, &meta("rm")));
    assert_eq!((out.change_seq, out.removed), (None, 0));
    // Back again: an insert, seen by the log as an upsert.
    let out = ok(
        "re-upsert",
        s.write_consents(&[ConsentChange::Upsert(r[0])], &c, &meta("back")),
    );
    assert_eq!((out.inserted, out.updated), (1, 0), "{out:?}");
    let batch = ok("changes_since", s.changes_since(&batch.position, &c, 100));
    assert_eq!(batch.changes, vec![LoadedChange::Upsert(r[0])]);
    let (rows, _) = load(&mut *s);
    assert_eq!(rows, as_map(&r));
}

/// From a full load's position, `changes_since` returns exactly the later changes, each once,
/// in commit order, `limit` entries at a time, and picks up where it left off.
pub fn changes_since_is_exact_ordered_and_paged(factory: &mut Factory<'_>) {
    let c = catalogue();
    let mut s = factory();
    let r = generated(21, 60);
    let (before, later) = r.split_at(r.len() / 2);
    assert!(later.len() >= 12);
    ok(
        "initial",
        s.write_consents(&upserts(before), &c, &meta("initial")),
    );
    let (mut mirror, full) = load(&mut *s);
    // Ten writes of distinct keys, one record each, then two more touching earlier keys.
    let mut expected = Vec::new();
    for rec in &later[..10] {
        let out = ok(
            "single",
            s.write_consents(&[ConsentChange::Upsert(*rec)], &c, &meta("one")),
        );
        assert!(out.change_seq.is_some());
        expected.push(LoadedChange::Upsert(*rec));
    }
    let removed = before[0];
    ok(
        "remove",
        s.write_consents(
            &[ConsentChange::Remove {
                bsn: removed.bsn,
                key: removed.key(),
            }],
            &c,
            &meta("rm"),
        ),
    );
    expected.push(LoadedChange::Remove {
        bsn: removed.bsn,
        key: removed.key(),
    });
    let updated = changed(&before[1]);
    ok(
        "update",
        s.write_consents(&[ConsentChange::Upsert(updated)], &c, &meta("upd")),
    );
    expected.push(LoadedChange::Upsert(updated));
    let head = ok("head_seq", s.head_seq());

    for limit in [1, 3, 5, 1000] {
        let (changes, entries, end) = drain(&mut *s, &full.position, limit);
        assert_eq!(entries, 12, "entries covered with limit {limit}");
        assert_eq!(changes, expected, "changes with limit {limit}");
        assert_eq!(end.last_seq, head);
    }
    let (changes, _, end) = drain(&mut *s, &full.position, 4);
    apply(&mut mirror, &changes);
    let (rows, _) = load(&mut *s);
    assert_eq!(mirror, rows, "applying the changes gives the store's state");

    // Continuing from the end: only what comes next.
    let next = changed(&later[11]);
    ok(
        "next",
        s.write_consents(&[ConsentChange::Upsert(next)], &c, &meta("next")),
    );
    let (changes, entries, _) = drain(&mut *s, &end, 10);
    assert_eq!((changes, entries), (vec![LoadedChange::Upsert(next)], 1));

    // A key changed twice after the position shows its current state, once.
    let (_, full) = load(&mut *s);
    let k = later[2];
    ok(
        "first change",
        s.write_consents(&[ConsentChange::Upsert(changed(&k))], &c, &meta("a")),
    );
    ok(
        "second change",
        s.write_consents(&[ConsentChange::Upsert(k)], &c, &meta("b")),
    );
    for limit in [1, 10] {
        let (changes, entries, _) = drain(&mut *s, &full.position, limit);
        assert_eq!(entries, 2);
        assert_eq!(
            changes.last(),
            Some(&LoadedChange::Upsert(k)),
            "limit {limit}"
        );
        let mut m = HashMap::new();
        apply(&mut m, &changes);
        assert_eq!(m, as_map(&[k]));
    }
}

/// Every revision is kept, exactly one is active per policy, activation switches it, unknown
/// revisions are refused, and tailing loaders see a `Policies` change with the active set.
pub fn policies_keep_every_revision(factory: &mut Factory<'_>) {
    let mut s = factory();
    let (_, full) = load(&mut *s);
    let a = "urn:akkoord:test:a";
    let b = "urn:akkoord:test:b";
    assert_eq!(ok("put", s.put_policy(a, "<a1/>", true, &meta("a1"))), 1);
    assert_eq!(ok("put", s.put_policy(a, "<a2/>", false, &meta("a2"))), 2);
    assert_eq!(ok("put", s.put_policy(b, "<b1/>", true, &meta("b1"))), 1);
    assert_eq!(ok("put", s.put_policy(a, "<a3/>", true, &meta("a3"))), 3);

    let all = ok("policies", s.policies(true));
    let listed: Vec<_> = all
        .iter()
        .map(|p| (p.policy_id.as_str(), p.revision, p.xml.as_str(), p.active))
        .collect();
    assert_eq!(
        listed,
        vec![
            (a, 1, "<a1/>", false),
            (a, 2, "<a2/>", false),
            (a, 3, "<a3/>", true),
            (b, 1, "<b1/>", true),
        ]
    );
    assert!(all.iter().all(|p| p.author == "contract-test"));
    assert!(ok("policies", s.policies(false))
        .iter()
        .all(|p| p.xml.is_empty()));
    let two = ok("policy", s.policy(a, 2));
    assert_eq!(
        two.map(|p| (p.xml, p.active)),
        Some(("<a2/>".into(), false))
    );
    assert_eq!(ok("policy", s.policy(a, 9)), None);

    let active = |s: &mut dyn Store| -> Vec<(String, i64)> {
        ok("active", s.active_policies())
            .into_iter()
            .map(|p| (p.policy_id, p.revision))
            .collect()
    };
    assert_eq!(active(&mut *s), vec![(a.into(), 3), (b.into(), 1)]);
    ok("activate", s.activate_policy(a, 2, &meta("back to 2")));
    assert_eq!(active(&mut *s), vec![(a.into(), 2), (b.into(), 1)]);
    ok("activate again", s.activate_policy(a, 2, &meta("again")));
    assert_eq!(active(&mut *s), vec![(a.into(), 2), (b.into(), 1)]);
    match s.activate_policy(a, 7, &meta("bad")) {
        Err(StoreError::Invalid(m)) => {
            assert!(
                m.contains('7') && m.contains('3'),
                "message names revisions: {m}"
            )
        }
        other => panic!("activating an unknown revision: {other:?}"),
    }
    match s.activate_policy("urn:none", 1, &meta("bad")) {
        Err(StoreError::Invalid(_)) => {}
        other => panic!("activating an unknown policy: {other:?}"),
    }
    assert_eq!(active(&mut *s), vec![(a.into(), 2), (b.into(), 1)]);
    assert_eq!(ok("policies", s.policies(false)).len(), 4, "revisions kept");

    let (changes, entries, _) = drain(&mut *s, &full.position, 100);
    assert!(entries >= 5, "each policy write is a log entry ({entries})");
    match changes.last() {
        Some(LoadedChange::Policies(set)) => {
            let got: Vec<_> = set
                .iter()
                .map(|p| (p.policy_id.as_str(), p.revision))
                .collect();
            assert_eq!(got, vec![(a, 2), (b, 1)]);
            assert!(set.iter().all(|p| p.active && !p.xml.is_empty()));
        }
        other => panic!("expected a Policies change last, got {other:?}"),
    }
    let (_, full) = load(&mut *s);
    let got: Vec<_> = full
        .policies
        .iter()
        .map(|p| (p.policy_id.as_str(), p.revision))
        .collect();
    assert_eq!(got, vec![(a, 2), (b, 1)], "load_all's policies");
}

/// Import batches upsert like writes, record progress in the same transaction, and importing a
/// batch again changes nothing but the progress.
pub fn imports_are_idempotent_and_resumable(factory: &mut Factory<'_>) {
    let c = catalogue();
    let mut s = factory();
    let r = generated(13, 300);
    let (first, second) = r.split_at(r.len() / 2);
    let progress = |lines: u64| ImportProgress {
        file_id: "sha256:test".into(),
        path: "consents.ndjson".into(),
        lines_done: lines,
    };
    assert_eq!(ok("lines", s.import_lines_done("sha256:test")), 0);
    let out = ok(
        "import",
        s.import_batch(first, &c, &progress(first.len() as u64), &meta("import 1")),
    );
    assert_eq!(out.inserted, first.len() as u64);
    assert!(out.change_seq.is_some());
    assert_eq!(
        ok("lines", s.import_lines_done("sha256:test")),
        first.len() as u64
    );
    let head = ok("head", s.head_seq());
    let again = ok(
        "reimport",
        s.import_batch(first, &c, &progress(first.len() as u64 + 1), &meta("again")),
    );
    assert_eq!(again.change_seq, None);
    assert_eq!(again.unchanged, first.len() as u64);
    assert_eq!(
        ok("head", s.head_seq()),
        head,
        "an idempotent import logged"
    );
    assert_eq!(
        ok("lines", s.import_lines_done("sha256:test")),
        first.len() as u64 + 1,
        "progress is recorded even when no row changed"
    );
    // A batch mixing new, changed and unchanged rows.
    let mut mixed: Vec<ConsentRecord> = second.to_vec();
    mixed.push(changed(&first[0]));
    mixed.push(first[1]);
    let out = ok(
        "import 2",
        s.import_batch(&mixed, &c, &progress(r.len() as u64), &meta("import 2")),
    );
    assert_eq!(
        (out.inserted, out.updated, out.unchanged, out.removed),
        (second.len() as u64, 1, 1, 0)
    );
    assert_eq!(
        ok("lines", s.import_lines_done("sha256:test")),
        r.len() as u64
    );
    assert_eq!(ok("other file", s.import_lines_done("sha256:other")), 0);
    let (rows, _) = load(&mut *s);
    let mut expected = as_map(&r);
    expected.insert((first[0].bsn, first[0].key()), changed(&first[0]));
    assert_eq!(rows, expected);
    // Progress survives reopening.
    let mut other = factory();
    assert_eq!(
        ok("lines", other.import_lines_done("sha256:test")),
        r.len() as u64
    );
    let here = full_position(&mut *other);
    ok("record_progress", other.record_progress("node-a", &here));
}

fn full_position(s: &mut dyn Store) -> Position {
    load(s).1.position
}

/// What one connection commits, another connection's `changes_since` and full load see.
pub fn writes_are_visible_to_other_connections(factory: &mut Factory<'_>) {
    let c = catalogue();
    let mut writer = factory();
    let mut reader = factory();
    let (_, full) = load(&mut *reader);
    let r = generated(17, 10);
    let out = ok("write", writer.write_consents(&upserts(&r), &c, &meta("w")));
    let (changes, entries, end) = drain(&mut *reader, &full.position, 100);
    assert_eq!(entries, 1);
    assert_eq!(Some(end.last_seq), out.change_seq);
    let mut m = HashMap::new();
    apply(&mut m, &changes);
    assert_eq!(m, as_map(&r));
    assert_eq!(ok("head", reader.head_seq()), end.last_seq);
    let (rows, _) = load(&mut *reader);
    assert_eq!(rows, as_map(&r));
    ok(
        "policy",
        writer.put_policy("urn:p", "<p/>", true, &meta("p")),
    );
    assert_eq!(ok("active", reader.active_policies()).len(), 1);
}

/// `wait_for_change` stays quiet while nothing happens and wakes, well before its timeout, when
/// another connection commits.
pub fn wait_for_change_wakes_on_another_commit(factory: &mut Factory<'_>) {
    let mut waiter = factory();
    let mut writer = factory();
    let _ = ok("settle", waiter.wait_for_change(Duration::from_millis(10)));
    let quiet = Instant::now();
    assert!(
        !ok(
            "quiet wait",
            waiter.wait_for_change(Duration::from_millis(100))
        ),
        "woke without a change"
    );
    assert!(
        quiet.elapsed() >= Duration::from_millis(90),
        "returned early"
    );
    let r = generated(19, 3);
    let handle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let c = catalogue();
        ok("write", writer.write_consents(&upserts(&r), &c, &meta("w")));
    });
    let start = Instant::now();
    let woke = ok("wait", waiter.wait_for_change(Duration::from_secs(10)));
    let waited = start.elapsed();
    if handle.join().is_err() {
        panic!("the writer thread failed");
    }
    assert!(woke, "did not wake on another connection's commit");
    assert!(
        waited < Duration::from_secs(5),
        "woke only after {waited:?}"
    );
}
