//! End-to-end tests of the `akkoord` command line: exit statuses, stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AKKOORD: &str = env!("CARGO_BIN_EXE_akkoord");

/// The workspace root (where `policies/` and `fixtures/` live).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("pdp-server lies inside the workspace")
        .to_path_buf()
}

fn akkoord(args: &[&str]) -> Output {
    Command::new(AKKOORD)
        .args(args)
        .current_dir(root())
        .output()
        .expect("the akkoord binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory for one test's scratch files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scratch file");
    path.to_string_lossy().into_owned()
}

const POLICY: &str = "policies/examples/hospital-records.xml";
const PERMIT_REQUEST: &str = "fixtures/requests/hospital-physician-reads-record.xml";
const EMERGENCY_REQUEST: &str = "fixtures/requests/hospital-emergency-access.xml";
const DENIED_REQUEST: &str = "fixtures/requests/hospital-nurse-denied.xml";

fn decision_of(response: &str) -> String {
    let doc = roxmltree::Document::parse(response).expect("the response is XML");
    doc.descendants()
        .find(|n| n.has_tag_name("Decision"))
        .and_then(|n| n.text())
        .unwrap_or("")
        .to_string()
}

#[test]
fn help_and_version() {
    for args in [&["--help"][..], &["help"][..]] {
        let out = akkoord(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("eval") && text.contains("check"),
            "help lists the subcommands: {text}"
        );
    }
    let out = akkoord(&["--version"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"][..],
        &["eval", "--request", PERMIT_REQUEST][..],
        &["eval", "--policy", POLICY][..],
        &["check"][..],
        &["check", "--max-depth", "lots", POLICY][..],
    ] {
        let out = akkoord(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
}

#[test]
fn eval_shipped_example_permits() {
    let out = akkoord(&["eval", "--policy", POLICY, "--request", PERMIT_REQUEST]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("<?xml"), "{text}");
    assert_eq!(decision_of(&text), "Permit", "{text}");
}

#[test]
fn eval_shipped_example_emergency_carries_obligation() {
    let out = akkoord(&["eval", "--policy", POLICY, "--request", EMERGENCY_REQUEST]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(decision_of(&text), "Permit", "{text}");
    assert!(
        text.contains("urn:akkoord:example:obligation:notify-patient")
            && text.contains("patient-4711"),
        "{text}"
    );
}

#[test]
fn eval_shipped_example_denies_with_advice() {
    let out = akkoord(&["eval", "--policy", POLICY, "--request", DENIED_REQUEST]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(decision_of(&text), "Deny", "{text}");
    assert!(
        text.contains("urn:akkoord:example:advice:why-denied"),
        "{text}"
    );
}

#[test]
fn check_shipped_example() {
    let out = akkoord(&["check", POLICY]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().next(), Some("1 policy OK"));
}

#[test]
fn check_reports_a_policy_tree_that_compiles_to_one_table() {
    let consent = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/mitz-consent.xml");
    let out = akkoord(&["check", consent]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Three choices at two levels and two purposes: eight tests, 2^8 outcomes.
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        [
            "1 policy OK",
            "the policy tree compiles to one decision table of 256 outcomes"
        ]
    );
}

#[test]
fn check_broken_policy_prints_file_line_column() {
    let dir = scratch("broken-policy");
    let policy = write(
        &dir,
        "broken.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Policy xmlns="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"
    PolicyId="urn:test:broken" Version="1.0"
    RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides">
  <Target/>
  <Rule RuleId="r1" Effect="Permit">
    <Condition>
      <Apply FunctionId="urn:test:no-such-function">
        <AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">x</AttributeValue>
      </Apply>
    </Condition>
  </Rule>
</Policy>
"#,
    );
    let out = akkoord(&["check", &policy]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l.starts_with(&format!("{policy}:8:"))),
        "an error names {policy}:8:column: {err}"
    );
    assert!(err.contains("urn:test:no-such-function"), "{err}");
}

#[test]
fn missing_files_are_named() {
    let out = akkoord(&[
        "eval",
        "--policy",
        "no/such/policy.xml",
        "--request",
        PERMIT_REQUEST,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no/such/policy.xml"),
        "{}",
        stderr(&out)
    );

    let out = akkoord(&[
        "eval",
        "--policy",
        POLICY,
        "--request",
        "no/such/request.xml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no/such/request.xml"),
        "{}",
        stderr(&out)
    );

    let out = akkoord(&["check", POLICY, "no/such/other.xml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no/such/other.xml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn malformed_request_is_rejected_with_position() {
    let dir = scratch("malformed-request");
    let request = write(
        &dir,
        "request.xml",
        "<Request xmlns=\"urn:oasis:names:tc:xacml:3.0:core:schema:wd-17\">\n  <Attributes>\n</Request>\n",
    );
    let out = akkoord(&["eval", "--policy", POLICY, "--request", &request]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.starts_with(&format!("{request}:")), "{err}");
    assert!(err.contains("malformed XML"), "{err}");
}

#[test]
fn invalid_request_value_names_the_attribute() {
    let dir = scratch("invalid-value");
    let text = std::fs::read_to_string(root().join(PERMIT_REQUEST)).expect("fixture");
    let text = text.replacen(">false</AttributeValue>", ">maybe</AttributeValue>", 1);
    let request = write(&dir, "request.xml", &text);
    let out = akkoord(&["eval", "--policy", POLICY, "--request", &request]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("urn:akkoord:example:emergency"), "{err}");
    assert!(err.contains("maybe"), "{err}");
}

#[test]
fn doctype_in_request_is_rejected() {
    let dir = scratch("doctype-request");
    let request = write(
        &dir,
        "request.xml",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE Request [<!ENTITY boom \"boom\">]>\n\
         <Request xmlns=\"urn:oasis:names:tc:xacml:3.0:core:schema:wd-17\">&boom;</Request>\n",
    );
    let out = akkoord(&["eval", "--policy", POLICY, "--request", &request]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("{request}:2:1:")), "{err}");
    assert!(err.contains("DOCTYPE"), "{err}");
}

#[test]
fn doctype_in_policy_is_rejected() {
    let dir = scratch("doctype-policy");
    let text = std::fs::read_to_string(root().join(POLICY)).expect("example policy");
    let text = text.replacen(
        "<Policy ",
        "<!DOCTYPE Policy [<!ENTITY x \"y\">]>\n<Policy ",
        1,
    );
    let policy = write(&dir, "policy.xml", &text);
    for args in [
        &["check", &policy][..],
        &["eval", "--policy", &policy, "--request", PERMIT_REQUEST][..],
    ] {
        let out = akkoord(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(&format!("{policy}:")), "{err}");
        assert!(err.contains("DOCTYPE"), "{err}");
    }
}

#[test]
fn max_depth_applies_to_requests() {
    let out = akkoord(&[
        "eval",
        "--max-depth",
        "3",
        "--policy",
        POLICY,
        "--request",
        PERMIT_REQUEST,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(PERMIT_REQUEST) && err.contains("deeper"),
        "{err}"
    );
}
