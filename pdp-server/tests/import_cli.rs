//! `akkoord import` end to end: the real binary against real SQLite files and (when a server
//! answers, see `postgres_or_skip`) real throw-away PostgreSQL databases. Every check compares
//! the store, record for record, with `parse_consent_line` of the imported file.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pdp_core::consent::bsn::Bsn;
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::parse_consent_line;
use pdp_core::consent::record::{ConsentRecord, RecordKey};
use pdp_server::store::testing::{postgres_or_skip, ThrowawayDb};
use pdp_server::store::{open, StoreUrl};

fn akkoord() -> Command {
    Command::new(env!("CARGO_BIN_EXE_akkoord"))
}

fn catalogue_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/mitz-catalogue.json")
}

fn catalogue() -> Catalogue {
    Catalogue::from_json(&std::fs::read_to_string(catalogue_path()).expect("catalogue"))
        .expect("catalogue loads")
}

/// `akkoord gen` into `path`.
fn generate(path: &Path, citizens: u64, seed: u64) {
    let out = akkoord()
        .args(["gen", "--citizens", &citizens.to_string(), "--seed"])
        .arg(seed.to_string())
        .arg("--out")
        .arg(path)
        .arg("--catalogue")
        .arg(catalogue_path())
        .output()
        .expect("runs gen");
    assert!(out.status.success(), "gen: {}", text(&out.stderr));
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `akkoord import FILE --store URL EXTRA...`.
fn import(file: &Path, store: &str, extra: &[&str]) -> Output {
    akkoord()
        .arg("import")
        .arg(file)
        .args(["--store", store, "--no-progress", "--catalogue"])
        .arg(catalogue_path())
        .args(extra)
        .output()
        .expect("runs import")
}

/// The value of `name:` in the report (`inserted:  12` -> 12).
fn figure(report: &str, name: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(&format!("{name}:")))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{name}:` in the report:\n{report}"))
}

/// What the store should hold after importing `file`: every parsable line, the later line
/// winning for a repeated record key.
fn expected(file: &Path, catalogue: &Catalogue) -> HashMap<(Bsn, RecordKey), ConsentRecord> {
    let bytes = std::fs::read(file).expect("read file");
    let text = String::from_utf8_lossy(&bytes);
    let mut map = HashMap::new();
    for line in text.lines() {
        if let Ok(r) = parse_consent_line(line, catalogue) {
            map.insert((r.bsn, r.key()), r);
        }
    }
    map
}

fn stored(url: &StoreUrl, catalogue: &Catalogue) -> HashMap<(Bsn, RecordKey), ConsentRecord> {
    let mut store = open(url).expect("store opens");
    let mut map = HashMap::new();
    let mut bad = Vec::new();
    let load = store
        .load_all(
            catalogue,
            &mut |row| match row {
                Ok(r) => {
                    map.insert((r.bsn, r.key()), r);
                }
                Err(e) => bad.push(e),
            },
            &mut |_| {},
        )
        .expect("load_all");
    assert!(bad.is_empty(), "undecodable rows: {bad:?}");
    assert_eq!(load.records, map.len() as u64);
    assert_eq!(
        store.consent_count().expect("consent_count"),
        map.len() as u64
    );
    map
}

fn assert_store_holds(url: &StoreUrl, file: &Path) {
    let c = catalogue();
    let want = expected(file, &c);
    let got = stored(url, &c);
    assert_eq!(got.len(), want.len(), "record count");
    for (key, record) in &want {
        assert_eq!(got.get(key), Some(record), "record differs");
    }
}

/// The stores every test runs against: a SQLite file in `dir`, and a PostgreSQL database
/// unless no server answers (then `postgres_or_skip` prints SKIPPED).
fn stores(dir: &Path, test: &str) -> Vec<(String, Option<ThrowawayDb>)> {
    let mut v = Vec::new();
    if let Some(db) = postgres_or_skip(test) {
        v.push((db.url().to_string(), Some(db)));
    }
    v.push((format!("sqlite:{}", dir.join("akkoord.db").display()), None));
    v
}

#[test]
fn imported_store_equals_the_file_and_a_rerun_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("consents.ndjson");
    generate(&file, 1_500, 3);
    let lines = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .count() as u64;
    for (store, _db) in stores(dir.path(), "imported_store_equals_the_file") {
        let url = StoreUrl::parse(&store);
        // Small batches, so the import spans many transactions.
        let out = import(&file, &store, &["--batch-size", "700"]);
        let report = text(&out.stdout);
        assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
        assert_eq!(figure(&report, "read"), lines, "{report}");
        assert_eq!(figure(&report, "rejected"), 0, "{report}");
        assert_eq!(figure(&report, "inserted"), lines, "{report}");
        // PostgreSQL: the import ends with VACUUM (ANALYZE), so the planner knows the rows.
        if let StoreUrl::Postgres(conn) = &url {
            assert!(
                report.contains("then:      VACUUM (ANALYZE) consents in"),
                "{report}"
            );
            let mut c = postgres::Client::connect(conn, postgres::NoTls).expect("connects");
            let tuples: f32 = c
                .query_one(
                    "SELECT reltuples FROM pg_class WHERE relname = 'consents'",
                    &[],
                )
                .expect("pg_class")
                .get(0);
            assert_eq!(tuples as u64, lines, "analysed after the import");
        } else {
            assert!(!report.contains("then:"), "{report}");
        }
        assert_store_holds(&url, &file);

        let head = open(&url).expect("opens").head_seq().expect("head_seq");
        let out = import(&file, &store, &[]);
        let report = text(&out.stdout);
        assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
        assert_eq!(figure(&report, "inserted"), 0, "{report}");
        assert_eq!(figure(&report, "updated"), 0, "{report}");
        assert_eq!(figure(&report, "unchanged"), lines, "{report}");
        assert!(report.contains("compared again"), "{report}");
        assert!(
            !report.contains("then:"),
            "nothing changed, nothing to vacuum: {report}"
        );
        assert_eq!(
            open(&url).expect("opens").head_seq().expect("head_seq"),
            head,
            "a rerun wrote change-log entries"
        );
        assert_store_holds(&url, &file);
    }
}

#[test]
fn bad_lines_are_reported_with_line_numbers_and_the_rest_is_imported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.ndjson");
    generate(&good, 50, 5);
    let text_in = std::fs::read_to_string(&good).expect("read");
    let mut lines: Vec<String> = text_in.lines().map(str::to_string).collect();
    let n = lines.len();
    assert!(n > 20);
    // Line 3: broken JSON; line 5: a BSN failing the 11-check; line 8: an unknown data
    // category; line 10: blank; line 12: not UTF-8 (written below); the last line: a
    // consulting code the catalogue lacks.
    let bsn = lines[4]
        .split("\"http://fhir.nl/fhir/NamingSystem/bsn\",\"value\":\"")
        .nth(1)
        .and_then(|s| s.get(..9))
        .expect("a BSN")
        .to_string();
    lines[2] = lines[2][..lines[2].len() / 2].to_string();
    let broken_bsn = format!("{}{}", &bsn[..8], (bsn.as_bytes()[8] - b'0' + 1) % 10);
    lines[4] = lines[4].replace(&bsn, &broken_bsn);
    lines[7] = lines[7].replacen("\"code\":\"GGC", "\"code\":\"GGC9", 1);
    lines[9] = "   ".to_string();
    let last = n - 1;
    lines[last] = lines[last].replacen("\"code\":\"RPZAC", "\"code\":\"RPZAC9", 1);
    let mut bytes = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i == 11 {
            bytes.extend_from_slice(b"{\"resourceType\":\"Consent\xff\"}");
        } else {
            bytes.extend_from_slice(l.as_bytes());
        }
        bytes.push(b'\n');
    }
    let file = dir.path().join("mixed.ndjson");
    std::fs::write(&file, &bytes).expect("write");

    for (store, _db) in stores(dir.path(), "bad_lines_are_reported") {
        let _ = std::fs::remove_file(dir.path().join("mixed.ndjson.rejected.txt"));
        let out = import(&file, &store, &["--batch-size", "7"]);
        let report = text(&out.stdout);
        let all = format!("{report}\n{}", text(&out.stderr));
        assert!(
            out.status.success(),
            "rejected lines are not a failure: {all}"
        );
        assert_eq!(figure(&report, "rejected"), 5, "{report}");
        assert_eq!(figure(&report, "blank"), 1, "{report}");
        assert_eq!(figure(&report, "read"), n as u64, "{report}");
        for (line, hint) in [
            (3, "not valid JSON"),
            (5, "patient.identifier.value"),
            (8, "unknown data category"),
            (12, "not UTF-8"),
            (n, "RPZAC9"),
        ] {
            assert!(
                report
                    .lines()
                    .any(|l| l.contains(&format!("line {line}:")) && l.contains(hint)),
                "line {line} ({hint}) not reported:\n{report}"
            );
        }
        assert!(!all.contains(&broken_bsn), "the report leaks a BSN");
        let rejected = std::fs::read_to_string(dir.path().join("mixed.ndjson.rejected.txt"))
            .expect("rejected file written");
        assert_eq!(
            rejected.lines().filter(|l| l.starts_with("line ")).count(),
            5
        );
        assert_store_holds(&StoreUrl::parse(&store), &file);
    }
}

#[test]
fn a_killed_import_resumes_and_ends_as_a_clean_import() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("big.ndjson");
    // About 80 000 lines in batches of 100, at most 10 000 lines a second (`--max-rate`): the
    // import takes at least 8 s, so it cannot finish between the first committed batch and
    // the kill, however fast the build and however loaded the machine that polls it.
    generate(&file, 40_000, 11);
    let lines = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .count() as u64;
    let file_id = pdp_server::import::file_id(&File::open(&file).expect("open")).expect("id");
    for (store, _db) in stores(dir.path(), "a_killed_import_resumes") {
        let url = StoreUrl::parse(&store);
        // Create the schema first, so polling never races the migrations.
        drop(open(&url).expect("store opens"));
        let mut child = akkoord()
            .arg("import")
            .arg(&file)
            .args(["--store", &store, "--no-progress", "--batch-size", "100"])
            .args(["--max-rate", "10000"])
            .arg("--catalogue")
            .arg(catalogue_path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawns import");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut done = 0;
        while done == 0 {
            assert!(Instant::now() < deadline, "no batch committed in 120 s");
            assert!(
                child.try_wait().expect("try_wait").is_none(),
                "the import finished before it could be killed; make the file bigger"
            );
            std::thread::sleep(Duration::from_millis(20));
            done = open(&url)
                .and_then(|mut s| s.import_lines_done(&file_id))
                .unwrap_or(0);
        }
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the import finished before it could be killed; make the file bigger"
        );
        child.kill().expect("kill -9");
        let _ = child.wait();
        let committed = open(&url)
            .and_then(|mut s| s.import_lines_done(&file_id))
            .expect("progress");
        assert!(committed > 0 && committed < lines, "{committed} of {lines}");

        let out = import(&file, &store, &["--batch-size", "1000"]);
        let report = text(&out.stdout);
        assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
        let skipped = figure(&report, "skipped");
        assert!(skipped >= committed, "{report}");
        assert_eq!(skipped + figure(&report, "read"), lines, "{report}");
        assert_eq!(figure(&report, "rejected"), 0, "{report}");
        assert_eq!(
            open(&url)
                .and_then(|mut s| s.import_lines_done(&file_id))
                .expect("progress"),
            lines
        );
        assert_store_holds(&url, &file);
    }
}

#[test]
fn a_missing_file_fails_with_exit_1_and_creates_no_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("akkoord.db");
    let out = import(
        &dir.path().join("nope.ndjson"),
        &format!("sqlite:{}", db.display()),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot read") && err.contains("nope.ndjson"),
        "{err}"
    );
    assert!(!db.exists(), "a failed import created the store file");
}

#[test]
fn an_unreachable_store_fails_with_exit_1_and_says_what_to_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("c.ndjson");
    generate(&file, 5, 1);
    let out = import(&file, "postgres://akkoord:s3cret@127.0.0.1:1/akkoord", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("cannot open the store"), "{err}");
    assert!(err.contains("DATABASE_URL"), "{err}");
    assert!(!err.contains("s3cret"), "password in the message: {err}");

    let out = import(
        &file,
        &format!("sqlite:{}", dir.path().join("no/such/dir/a.db").display()),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot open the store"));
}
