//! A real `akkoord serve` process for end-to-end tests and the freshness tool: started on a
//! free loopback port, talked to over real HTTP, killed (SIGKILL) on drop or on purpose.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The repository root (where `policies/` and `fixtures/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub struct Node {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub name: String,
    agent: ureq::Agent,
}

/// An HTTP agent that returns 4xx/5xx as responses, with a timeout.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

impl Node {
    /// Starts `akkoord serve` against `store` with extra flags; waits for the listening line.
    pub fn start(bin: &Path, store: &str, name: &str, extra: &[&str]) -> Node {
        let mut cmd = Command::new(bin);
        cmd.current_dir(repo_root())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--store",
                store,
                "--node",
                name,
            ])
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("akkoord serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let _ = tx.send(rest.trim().to_string());
                        sent = true;
                    }
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("node {name} did not print its listening address within 60 s");
            }
        };
        Node {
            child,
            base,
            name: name.to_string(),
            agent: agent(),
        }
    }

    /// Waits until `/ready` answers 200.
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok((200, _)) = self.try_get("/ready") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {} not ready within {timeout:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn try_get(&self, path: &str) -> Result<(u16, String), ureq::Error> {
        let mut r = self.agent.get(&format!("{}{path}", self.base)).call()?;
        let status = r.status().as_u16();
        Ok((status, r.body_mut().read_to_string()?))
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path)
            .unwrap_or_else(|e| panic!("GET {path} on {}: {e}", self.name))
    }

    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(u16, String), ureq::Error> {
        let url = format!("{}{path}", self.base);
        let mut r = match method {
            "POST" => self
                .agent
                .post(&url)
                .header("Content-Type", content_type)
                .send(body)?,
            "DELETE" => self
                .agent
                .delete(&url)
                .header("Content-Type", content_type)
                .force_send_body()
                .send(body)?,
            other => panic!("unsupported method {other}"),
        };
        let status = r.status().as_u16();
        Ok((status, r.body_mut().read_to_string()?))
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        self.try_send("POST", path, content_type, body)
            .unwrap_or_else(|e| panic!("POST {path} on {}: {e}", self.name))
    }

    /// `/health` as JSON.
    pub fn health(&self) -> serde_json::Value {
        let (_, body) = self.get("/health");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/health is JSON ({e}): {body}"))
    }

    /// Kills the process at once (SIGKILL): no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A closed question about `bsn` (composed from `fixtures/soap/composed-2.8.xml`: holder URA
/// 00000001 of type V6, data categories GGC002 and GGC013, requester of type J8, TREAT).
pub fn closed_question(bsn: &str) -> String {
    let template = std::fs::read_to_string(repo_root().join("fixtures/soap/composed-2.8.xml"))
        .expect("fixture");
    template.replace("extension=\"999990019\"", &format!("extension=\"{bsn}\""))
}

/// The decisions of a SOAP answer (or XACML response), in document order.
pub fn decisions(xml: &str) -> Vec<String> {
    let doc =
        roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("answer is XML ({e}): {xml}"));
    doc.descendants()
        .filter(|n| n.has_tag_name("Decision") || n.tag_name().name() == "Decision")
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect()
}
