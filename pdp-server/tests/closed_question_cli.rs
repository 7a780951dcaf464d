//! `akkoord eval` on SOAP closed questions, end to end through the binary: the shipped policy,
//! catalogue and demo consents (fixtures/consents/demo.ndjson), the client-shaped fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AKKOORD: &str = env!("CARGO_BIN_EXE_akkoord");
const AT: &str = "1795000000";
const DEMO: &str = "fixtures/consents/demo.ndjson";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("pdp-server lies inside the workspace")
        .to_path_buf()
}

fn eval(request: &str, consents: &str) -> Output {
    let args = [
        "eval",
        "--policy",
        "policies/mitz-consent.xml",
        "--consents",
        consents,
        "--at",
        AT,
        "--request",
        request,
    ];
    Command::new(AKKOORD)
        .args(args)
        .current_dir(root())
        .output()
        .expect("the akkoord binary runs")
}

/// The decisions of a SOAP answer, in order.
fn decisions(soap: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(soap).expect("the answer is XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("Decision"))
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn composed_example_is_permitted_for_both_categories() {
    // Domain §2.9: the patient consented "hospitals -> treatment data -> pharmacies"; GGC013 is
    // permitted through the hierarchy.
    let out = eval("fixtures/soap/composed-2.8.xml", DEMO);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let soap = String::from_utf8_lossy(&out.stdout);
    assert_eq!(decisions(&soap), ["Permit", "Permit"]);
    assert!(
        soap.contains("<a:RelatesTo>urn:uuid:6f1c2a0e-8b7d-4c1e-9a53-0d2f6b1e7a44</a:RelatesTo>")
    );
    assert!(soap.contains("XACMLAuthzDecisionQueryResponse"));
}

#[test]
fn every_client_shape_is_answered() {
    for f in [
        "bastion365.xml",
        "nuts-knooppunt.xml",
        "rust-crate.xml",
        "default-namespaces.xml",
        "etreat.xml",
        "coc.xml",
        "bench-5k.xml",
    ] {
        let out = eval(&format!("fixtures/soap/{f}"), DEMO);
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let d = decisions(&String::from_utf8_lossy(&out.stdout));
        assert!(!d.is_empty(), "{f}: no decision");
        // Unknown codes (bastion365.xml asks GGC003) are Indeterminate, never NotApplicable.
        assert!(d.iter().all(|d| d != "NotApplicable"), "{f}: {d:?}");
    }
}

#[test]
fn without_consent_data_the_answer_is_deny() {
    let out = Command::new(AKKOORD)
        .args([
            "eval",
            "--policy",
            "policies/mitz-consent.xml",
            "--at",
            AT,
            "--request",
            "fixtures/soap/composed-2.8.xml",
        ])
        .current_dir(root())
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert_eq!(
        decisions(&String::from_utf8_lossy(&out.stdout)),
        ["Deny", "Deny"]
    );
}

#[test]
fn an_invalid_question_prints_the_sender_fault_and_fails() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cq-invalid-bsn");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let text =
        std::fs::read_to_string(root().join("fixtures/soap/composed-2.8.xml")).expect("fixture");
    let bad = text.replace("extension=\"999990019\"", "extension=\"999990018\"");
    assert_ne!(bad, text);
    let path = dir.join("bad-bsn.xml");
    std::fs::write(&path, bad).expect("write");
    let out = eval(path.to_str().expect("utf-8 path"), DEMO);
    assert_eq!(out.status.code(), Some(1));
    let soap = String::from_utf8_lossy(&out.stdout);
    assert!(soap.contains("Fault"), "{soap}");
    assert!(soap.contains("Sender"), "{soap}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("11-check"), "{err}");
    assert!(
        !err.contains("99999001") && !soap.contains("99999001"),
        "never the BSN"
    );
}

#[test]
fn a_broken_consent_file_names_the_line() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cq-bad-consents");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let good = std::fs::read_to_string(root().join("fixtures/consents/demo.ndjson")).expect("demo");
    let first = good.lines().next().expect("a line");
    let path = dir.join("consents.ndjson");
    std::fs::write(
        &path,
        format!("{first}\n{{\"resourceType\":\"Patient\"}}\n"),
    )
    .expect("write");
    let out = eval(
        "fixtures/soap/composed-2.8.xml",
        path.to_str().expect("utf-8"),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("consents.ndjson:2:"), "{err}");
}
