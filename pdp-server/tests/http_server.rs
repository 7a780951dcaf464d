//! `akkoord serve` end to end: the real binary on a loopback port over a fresh SQLite file with
//! the demo consents, talked to over HTTP. Covers decisions (SOAP and plain XACML, compared with
//! `akkoord eval`), registration and withdrawal reaching decisions through the loader, the PAP's
//! compile-before-write check, and a specific status and metric for every kind of bad input.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const AKKOORD: &str = env!("CARGO_BIN_EXE_akkoord");
const ROOT_POLICY: &str = "urn:akkoord:policy-set:mitz-closed-question";
/// A valid BSN (11-check) with no demo consents.
const FRESH_BSN: &str = "999993653";
/// The citizen of `fixtures/soap/composed-2.8.xml`; the first demo line is theirs.
const DEMO_BSN: &str = "999990019";
/// How long anything asynchronous (start, full load, a change reaching the index) may take.
const DEADLINE: Duration = Duration::from_secs(30);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("pdp-server lies inside the workspace")
        .to_path_buf()
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A running `akkoord serve`; killed when dropped, so a failing test leaves no server behind.
struct Server {
    child: Child,
    base: String,
    agent: ureq::Agent,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What came back: status, content type, body.
struct Answer {
    status: u16,
    content_type: String,
    body: String,
    allow: Option<String>,
}

impl Server {
    /// Starts a node on a fresh store with the demo data and waits until it is ready.
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("akkoord.db");
        let mut child = Command::new(AKKOORD)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--demo",
                "--poll-ms",
                "20",
            ])
            .arg("--store")
            .arg(&db)
            .args(extra)
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the akkoord binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("akkoord listening on ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let mut server = Server {
            child,
            base: String::new(),
            agent,
            _dir: dir,
        };
        server.base = rx
            .recv_timeout(DEADLINE)
            .expect("the server prints `akkoord listening on http://ADDR`");
        server.wait_until(|s| s.get("/ready").status == 200, "ready");
        server
    }

    fn wait_until(&self, mut done: impl FnMut(&Server) -> bool, what: &str) {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < DEADLINE, "not {what} within {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let allow = header("allow");
        Answer {
            status: r.status().as_u16(),
            content_type,
            allow,
            body: r
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .expect("a UTF-8 body"),
        }
    }

    fn get(&self, path: &str) -> Answer {
        Self::answer(
            self.agent
                .get(format!("{}{path}", self.base))
                .call()
                .expect("GET"),
        )
    }

    fn send(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Answer {
        let url = format!("{}{path}", self.base);
        let r = match method {
            "POST" => self
                .agent
                .post(url)
                .header("Content-Type", content_type)
                .send(body),
            "DELETE" => self
                .agent
                .delete(url)
                .force_send_body()
                .header("Content-Type", content_type)
                .send(body),
            other => panic!("method {other}"),
        };
        Self::answer(r.expect("the request goes through"))
    }

    fn post(&self, path: &str, content_type: &str, body: &str) -> Answer {
        self.send("POST", path, content_type, body.as_bytes())
    }

    fn soap(&self, question: &str) -> Vec<String> {
        let a = self.post("/pdp", "application/soap+xml", question);
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.content_type.starts_with("application/soap+xml"));
        decisions(&a.body)
    }

    fn health(&self) -> serde_json::Value {
        serde_json::from_str(&self.get("/health").body).expect("health is JSON")
    }

    fn metrics(&self) -> String {
        let a = self.get("/metrics");
        assert_eq!(a.status, 200);
        assert!(a.content_type.starts_with("text/plain; version=0.0.4"));
        a.body
    }

    fn rejected(&self, reason: &str) -> u64 {
        counter(
            &self.metrics(),
            &format!("akkoord_rejected_requests_total{{reason=\"{reason}\"}}"),
        )
    }
}

/// The value of the counter `series` on a metrics page (0 when it is absent).
fn counter(page: &str, series: &str) -> u64 {
    let prefix = format!("{series} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&prefix).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The closed-question shape metrics of a metrics page: (shapes held, full parses, learned).
fn shape_metrics(page: &str) -> (u64, u64, u64) {
    (
        counter(page, "akkoord_closed_question_shapes"),
        counter(page, "akkoord_closed_question_full_parses_total"),
        counter(page, "akkoord_closed_question_shapes_learned_total"),
    )
}

/// The decisions of a SOAP answer or XACML response, in order.
fn decisions(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("the answer is XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("Decision"))
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect()
}

/// The first demo consent (999990019: hospitals, GGC002, RPZAC005, yes) for another citizen.
fn consent_for(bsn: &str) -> String {
    let demo = fixture("fixtures/consents/demo.ndjson");
    let line = demo
        .lines()
        .find(|l| l.contains(DEMO_BSN))
        .expect("the demo data has the fixture's citizen");
    line.replace(DEMO_BSN, bsn)
}

/// The composed example of domain 2.8 about another citizen.
fn question_for(bsn: &str) -> String {
    fixture("fixtures/soap/composed-2.8.xml").replace(DEMO_BSN, bsn)
}

/// What `akkoord eval` answers for a SOAP fixture with the demo consents.
fn eval_decisions(fixture_path: &str) -> Vec<String> {
    let out = Command::new(AKKOORD)
        .args([
            "eval",
            "--policy",
            "policies/mitz-consent.xml",
            "--consents",
            "fixtures/consents/demo.ndjson",
            "--request",
            fixture_path,
        ])
        .current_dir(root())
        .output()
        .expect("akkoord eval runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    decisions(&String::from_utf8_lossy(&out.stdout))
}

/// The XACML `<Request>` inside a SOAP fixture whose request declares its own namespaces.
fn embedded_request(soap: &str) -> String {
    let start = soap
        .find("<Request")
        .expect("a default-namespace <Request>");
    let end = soap.find("</Request>").expect("its end") + "</Request>".len();
    soap[start..end].to_string()
}

#[test]
fn decisions_match_akkoord_eval_for_soap_and_plain_xacml() {
    let s = Server::start(&[]);
    let health = s.health();
    assert_eq!(health["ready"], true, "{health}");
    assert_eq!(health["index"]["records"], 16, "{health}");
    assert_eq!(health["active_policies"][0]["policy_id"], ROOT_POLICY);
    assert_eq!(health["active_policies"][0]["revision"], 1);

    let mut answered: Vec<String> = Vec::new();
    for f in [
        "composed-2.8.xml",
        "nuts-knooppunt.xml",
        "bastion365.xml",
        "etreat.xml",
    ] {
        let path = format!("fixtures/soap/{f}");
        let expected = eval_decisions(&path);
        let got = s.soap(&fixture(&path));
        assert_eq!(got, expected, "{f}");
        answered.extend(got);
    }
    let got = s.soap(&fixture("fixtures/soap/composed-2.8.xml"));
    assert_eq!(got, ["Permit", "Permit"]);
    answered.extend(got);
    // Every decision of a SOAP answer is counted once, by outcome.
    let m = s.metrics();
    for (decision, label) in [
        ("Permit", "permit"),
        ("Deny", "deny"),
        ("NotApplicable", "not_applicable"),
        ("Indeterminate", "indeterminate"),
    ] {
        let want = answered.iter().filter(|d| *d == decision).count() as u64;
        assert_eq!(
            counter(
                &m,
                &format!("akkoord_decisions_total{{decision=\"{label}\"}}")
            ),
            want,
            "{decision}: {m}"
        );
    }
    // Four client forms, each parsed in full once and learned; the fifth question (a form
    // seen before) read through its shape.
    assert_eq!(shape_metrics(&m), (4, 4, 4), "{m}");
    // text/xml (the Nuts client) is sniffed as SOAP.
    let a = s.post(
        "/pdp",
        "text/xml",
        &fixture("fixtures/soap/nuts-knooppunt.xml"),
    );
    assert_eq!(a.status, 200);
    assert!(a.body.contains("XACMLAuthzDecisionQueryResponse"));

    // The same question as a plain XACML request gets the same decision.
    let soap = fixture("fixtures/soap/default-namespaces.xml");
    let plain = s.post("/pdp", "application/xacml+xml", &embedded_request(&soap));
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert!(plain.content_type.starts_with("application/xacml+xml"));
    assert_eq!(
        decisions(&plain.body),
        eval_decisions("fixtures/soap/default-namespaces.xml")
    );

    let m = s.metrics();
    assert!(
        m.contains("akkoord_decisions_total{decision=\"permit\"}"),
        "{m}"
    );
    assert!(m.contains("akkoord_ready 1\n"));
}

/// `--shape-capacity 0` turns message shapes off: every question is parsed in full, with the
/// same answers.
#[test]
fn shapes_can_be_turned_off() {
    let s = Server::start(&["--shape-capacity", "0"]);
    assert_eq!(s.health()["ready"], true);
    let question = fixture("fixtures/soap/composed-2.8.xml");
    for _ in 0..3 {
        assert_eq!(s.soap(&question), ["Permit", "Permit"]);
    }
    let m = s.metrics();
    assert_eq!(shape_metrics(&m), (0, 3, 0), "{m}");
}

#[test]
fn registration_and_withdrawal_change_decisions() {
    let s = Server::start(&[]);
    let question = question_for(FRESH_BSN);
    assert_eq!(s.soap(&question), ["Deny", "Deny"]);

    let a = s.post(
        "/consents",
        "application/fhir+json",
        &consent_for(FRESH_BSN),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let outcome: serde_json::Value = serde_json::from_str(&a.body).expect("JSON");
    assert_eq!(outcome["inserted"], 1, "{outcome}");
    assert!(outcome["change_seq"].is_i64(), "{outcome}");
    s.wait_until(
        |s| s.soap(&question) == ["Permit", "Permit"],
        "permitted after registration",
    );
    let admin: serde_json::Value =
        serde_json::from_str(&s.get(&format!("/admin/consents/{FRESH_BSN}")).body).expect("JSON");
    assert_eq!(admin["records"][0]["data_category"], "GGC002", "{admin}");
    assert_eq!(admin["records"][0]["holder"]["category"], "ziekenhuizen");
    assert_eq!(admin["records"][0]["choice"], "yes");

    // The same registration again changes nothing: 200, no change-log entry.
    let again = s.post(
        "/consents",
        "application/fhir+json",
        &consent_for(FRESH_BSN),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.body.contains("\"change_seq\":null"), "{}", again.body);

    let w = s.send(
        "DELETE",
        "/consents",
        "application/x-ndjson",
        format!("{}\n", consent_for(FRESH_BSN)).as_bytes(),
    );
    assert_eq!(w.status, 201, "{}", w.body);
    assert!(w.body.contains("\"removed\":1"), "{}", w.body);
    s.wait_until(
        |s| s.soap(&question) == ["Deny", "Deny"],
        "denied after withdrawal",
    );
    let admin = s.get(&format!("/admin/consents/{FRESH_BSN}"));
    assert!(admin.body.contains("\"records\":[]"), "{}", admin.body);
}

#[test]
fn the_pap_refuses_policies_that_do_not_compile_and_activates_good_ones() {
    let s = Server::start(&[]);
    let shipped = fixture("policies/mitz-consent.xml");
    let broken = shipped.replace(
        "urn:oasis:names:tc:xacml:1.0:function:string-is-in",
        "urn:example:no-such-function",
    );
    assert_ne!(broken, shipped);
    let before = s.rejected("policy_invalid");
    let a = s.post("/policies?activate=true", "application/xacml+xml", &broken);
    assert_eq!(a.status, 400, "{}", a.body);
    let refusal: serde_json::Value = serde_json::from_str(&a.body).expect("JSON");
    let errors = refusal["errors"].as_array().expect("errors");
    assert!(!errors.is_empty());
    for e in errors {
        let e = e.as_str().expect("text");
        assert!(e.contains("no-such-function"), "{e}");
        // policy-id@revision:line:column: the author can find the spot.
        let after_rev = e.split_once("@0:").expect("names the document").1;
        assert!(after_rev.starts_with(|c: char| c.is_ascii_digit()), "{e}");
    }
    assert_eq!(s.rejected("policy_invalid"), before + 1);
    let list: serde_json::Value = serde_json::from_str(&s.get("/policies").body).expect("JSON");
    assert_eq!(list["policies"].as_array().map(Vec::len), Some(1), "{list}");

    // A good revision, stored inactive, then activated.
    let a = s.post(
        "/policies?activate=false",
        "application/xacml+xml",
        &shipped,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a.body.contains("\"revision\":2"), "{}", a.body);
    let encoded = ROOT_POLICY.replace(':', "%3A");
    let xml = s.get(&format!("/policies/{encoded}/2"));
    assert_eq!(xml.status, 200);
    assert_eq!(xml.body, shipped);
    assert_eq!(s.get(&format!("/policies/{encoded}/9")).status, 404);
    let act = s.post(&format!("/policies/{encoded}/2/activate"), "", "");
    assert_eq!(act.status, 200, "{}", act.body);
    s.wait_until(
        |s| s.health()["active_policies"][0]["revision"] == 2,
        "running revision 2",
    );
    let list: serde_json::Value = serde_json::from_str(&s.get("/policies").body).expect("JSON");
    let active: Vec<i64> = list["policies"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|p| p["active"] == true)
        .filter_map(|p| p["revision"].as_i64())
        .collect();
    assert_eq!(active, [2]);
    // Decisions still work with the new revision.
    assert_eq!(
        s.soap(&fixture("fixtures/soap/composed-2.8.xml")),
        ["Permit", "Permit"]
    );
}

#[test]
fn bad_input_gets_a_specific_status_and_metric() {
    let s = Server::start(&["--max-body", "65536"]);
    let request = embedded_request(&fixture("fixtures/soap/default-namespaces.xml"));

    // Malformed XML (plain XACML): 400 with an XACML syntax-error status.
    let a = s.post(
        "/pdp",
        "application/xacml+xml",
        "<Request xmlns=\"urn:oasis:names:tc:xacml:3.0:core:schema:wd-17\"><Attributes>",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a
        .body
        .contains("urn:oasis:names:tc:xacml:1.0:status:syntax-error"));
    assert_eq!(decisions(&a.body), ["Indeterminate"]);
    // DOCTYPE, plain and in SOAP.
    let a = s.post(
        "/pdp",
        "application/xml",
        &format!("<!DOCTYPE r [<!ENTITY x \"y\">]>{request}"),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("syntax-error"));
    let soap = fixture("fixtures/soap/composed-2.8.xml");
    let a = s.post(
        "/pdp",
        "application/soap+xml",
        &format!("<!DOCTYPE e>{soap}"),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("Fault"), "{}", a.body);
    // A SOAP envelope that is not well-formed.
    let a = s.post("/pdp", "application/soap+xml", &soap[..soap.len() / 2]);
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("Sender"), "{}", a.body);
    // Wrong content type.
    let a = s.post("/pdp", "text/plain", &soap);
    assert_eq!(a.status, 415);
    assert!(a.body.contains("application/soap+xml"), "{}", a.body);
    // Oversize body.
    let big = format!("{}{}", soap, " ".repeat(100_000));
    let a = s.post("/pdp", "application/soap+xml", &big);
    assert_eq!(a.status, 413, "{}", a.body);

    // FHIR: invalid BSN, unknown data category, invalid JSON; none echoes the BSN.
    let bad_bsn = consent_for("123456789");
    let a = s.post("/consents", "application/fhir+json", &bad_bsn);
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("OperationOutcome"));
    assert!(a.body.contains("patient.identifier.value"), "{}", a.body);
    assert!(!a.body.contains("123456789"), "{}", a.body);
    let bad_code = consent_for(FRESH_BSN).replace("GGC002", "GGC999");
    let a = s.post(
        "/consents",
        "application/x-ndjson",
        &format!("{}\n{bad_code}\n", consent_for(FRESH_BSN)),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("line 2"), "{}", a.body);
    assert!(a.body.contains("GGC999"), "{}", a.body);
    assert!(!a.body.contains(FRESH_BSN), "{}", a.body);
    let a = s.post(
        "/consents",
        "application/fhir+json",
        "{\"resourceType\": \"Consent\",",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("not valid JSON"), "{}", a.body);
    let a = s.post("/consents", "text/csv", "x");
    assert_eq!(a.status, 415);
    // Nothing of the refused NDJSON body was written (all or nothing).
    assert!(s
        .get(&format!("/admin/consents/{FRESH_BSN}"))
        .body
        .contains("\"records\":[]"));

    // Invalid BSN in the admin view: 400, without the digits.
    let a = s.get("/admin/consents/123456789");
    assert_eq!(a.status, 400);
    assert!(!a.body.contains("123456789"), "{}", a.body);

    // 404 and 405.
    let a = s.get("/no-such-endpoint");
    assert_eq!(a.status, 404);
    assert!(a.body.contains("POST /pdp"), "{}", a.body);
    let a = s.get("/pdp");
    assert_eq!(a.status, 405);
    assert_eq!(a.allow.as_deref(), Some("POST"));
    assert!(a.body.contains("POST"));

    for reason in [
        "malformed_xml",
        "doctype",
        "wrong_content_type",
        "body_too_large",
        "fhir_invalid_bsn",
        "fhir_invalid_data_category",
        "fhir_invalid_json",
        "invalid_bsn",
        "not_found",
        "method_not_allowed",
    ] {
        assert!(s.rejected(reason) >= 1, "no {reason} in {}", s.metrics());
    }
    assert_eq!(s.rejected("doctype"), 2);
    assert_eq!(s.rejected("malformed_xml"), 2);

    // The node still answers after all of it.
    assert_eq!(s.get("/ready").status, 200);
    assert_eq!(s.soap(&soap), ["Permit", "Permit"]);
}

/// The server in-process over a store that cannot be opened and with no loader: what a node
/// says before its first full load, and when a write cannot reach the store.
#[test]
fn before_the_full_load_and_without_a_store_the_node_says_so() {
    use pdp_server::http::{pool::StorePool, AppState};
    use pdp_server::live::Live;
    use pdp_server::store::StoreUrl;
    use std::sync::Arc;

    let catalogue = pdp_core::consent::catalogue::Catalogue::from_json(&fixture(
        "policies/mitz-catalogue.json",
    ))
    .expect("catalogue");
    let live = Arc::new(Live::new(
        Arc::new(catalogue),
        "test".into(),
        pdp_core::xacml::xml::doc::XmlLimits::default(),
    ));
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory that does not exist: SQLite cannot create the file.
    let unreachable = StoreUrl::Sqlite(dir.path().join("missing").join("a.db"));
    let state = Arc::new(AppState {
        live: live.clone(),
        store: Arc::new(StorePool::new(unreachable, 2)),
        root_policy: ROOT_POLICY.into(),
        max_body: 1 << 20,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(pdp_server::http::serve(listener, state, async {
        let _ = stop_rx.await;
    }));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let base = format!("http://{addr}");

    let r = agent.get(format!("{base}/ready")).call().expect("GET");
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let mut r = agent.get(format!("{base}/health")).call().expect("GET");
    assert_eq!(r.status().as_u16(), 503);
    assert!(r
        .body_mut()
        .read_to_string()
        .expect("body")
        .contains("\"ready\":false"));
    let mut r = agent
        .post(format!("{base}/pdp"))
        .header("Content-Type", "application/soap+xml")
        .send(fixture("fixtures/soap/composed-2.8.xml"))
        .expect("POST");
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("retry-after").is_some());
    assert!(r
        .body_mut()
        .read_to_string()
        .expect("body")
        .contains("Receiver"));

    let mut r = agent
        .post(format!("{base}/consents"))
        .header("Content-Type", "application/fhir+json")
        .send(consent_for(FRESH_BSN))
        .expect("POST");
    assert_eq!(r.status().as_u16(), 503);
    let body = r.body_mut().read_to_string().expect("body");
    assert!(body.contains("OperationOutcome"), "{body}");
    assert!(body.contains("NOT recorded"), "{body}");
    let r = agent.get(format!("{base}/policies")).call().expect("GET");
    assert_eq!(r.status().as_u16(), 503);
    let page = live.render_metrics();
    assert!(
        page.contains("akkoord_rejected_requests_total{reason=\"not_ready\"} 1"),
        "{page}"
    );
    assert!(
        page.contains("akkoord_rejected_requests_total{reason=\"store_unavailable\"} 2"),
        "{page}"
    );

    let _ = stop_tx.send(());
    runtime
        .block_on(server)
        .expect("the server task ends")
        .expect("the server ends cleanly");
}
