//! The public XACML 3.0 conformance suite (tests/conformance/authzforce), run through the
//! `akkoord eval` command line by the project's conformance runner.
//!
//! Every case must pass except the optional features listed, with reasons, in
//! tests/conformance/skip.txt. The runner needs python3 (standard library only); without it this
//! test fails rather than silently skipping the suite.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root, where tests/conformance lives.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("pdp-server lies inside the workspace")
        .to_path_buf()
}

/// Quotes `s` for a POSIX shell (the runner runs `--cmd` through `sh -c`).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn authzforce_conformance_suite() {
    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-report.json");
    let _ = std::fs::remove_file(&report);
    let cmd = format!(
        "{} eval --policy {{policies}} --request {{request}}",
        shell_quote(env!("CARGO_BIN_EXE_akkoord"))
    );
    let output = match Command::new("python3")
        .current_dir(root())
        .arg("tests/conformance/xacml-conformance.py")
        .args(["--suite", "tests/conformance/authzforce"])
        .args(["--skip-file", "tests/conformance/skip.txt"])
        .args(["--cmd", &cmd])
        .args(["-j", "2"])
        .arg("--json-report")
        .arg(&report)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!(
            "cannot run python3 ({e}); the XACML conformance runner \
             tests/conformance/xacml-conformance.py needs python3 (3.8 or later, standard \
             library only): install it (e.g. `apt-get install python3`) and run the tests again"
        ),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or("(no summary line)");
    println!("conformance: {summary} (report: {})", report.display());
    assert!(
        output.status.success() && summary.contains(" 0 failed"),
        "the conformance suite failed ({}): {summary}\n--- failures ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
}
