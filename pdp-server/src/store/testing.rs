//! Test support: throw-away PostgreSQL databases and temporary SQLite files.
//!
//! PostgreSQL tests call [`postgres_or_skip`]. It connects to the server named by
//! `AKKOORD_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`), creates a
//! fresh database for the test and drops it when the [`ThrowawayDb`] is dropped. When no server
//! answers it prints a clear `SKIPPED` line and returns `None` — unless
//! `AKKOORD_REQUIRE_POSTGRES=1` is set (as `.ci/run` does), where it panics instead, so CI can
//! never pass by skipping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The server tests use unless `AKKOORD_TEST_POSTGRES` says otherwise.
pub const DEFAULT_TEST_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test; dropped (with `FORCE`, ending leftover sessions) on drop.
pub struct ThrowawayDb {
    admin_url: String,
    name: String,
    url: String,
}

impl ThrowawayDb {
    /// Connection string of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ThrowawayDb {
    fn drop(&mut self) {
        if std::env::var_os("AKKOORD_KEEP_TEST_DB").is_some() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        if let Ok(mut client) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn server_url() -> String {
    std::env::var("AKKOORD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_TEST_SERVER.to_string())
}

fn required() -> bool {
    matches!(
        std::env::var("AKKOORD_REQUIRE_POSTGRES").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// A fresh PostgreSQL database for `test`, or `None` (with a `SKIPPED` line on stderr) when no
/// server is reachable and PostgreSQL is not required.
pub fn postgres_or_skip(test: &str) -> Option<ThrowawayDb> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let admin_url = server_url();
    let mut client = match postgres::Client::connect(&admin_url, postgres::NoTls) {
        Ok(c) => c,
        Err(e) => {
            if required() {
                panic!(
                    "{test}: PostgreSQL is required (AKKOORD_REQUIRE_POSTGRES=1) but {admin_url} \
                     is not reachable: {e}. Start it with `pg_ctlcluster --skip-systemctl-redirect \
                     $(ls /etc/postgresql) main start`."
                );
            }
            eprintln!(
                "SKIPPED {test}: no PostgreSQL at {admin_url} ({e}); set AKKOORD_TEST_POSTGRES \
                 to run it"
            );
            return None;
        }
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let name = format!(
        "akkoord_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    if let Err(e) = client.batch_execute(&format!("CREATE DATABASE \"{name}\"")) {
        panic!("{test}: cannot create database {name}: {e}");
    }
    let url = replace_database(&admin_url, &name);
    Some(ThrowawayDb {
        admin_url,
        name,
        url,
    })
}

/// `postgres://u@h:p/old?x` with the database replaced.
fn replace_database(url: &str, db: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    match base[after_scheme..].find('/') {
        Some(slash) => format!("{}/{db}{query}", &base[..after_scheme + slash]),
        None => format!("{base}/{db}{query}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://h:5432?sslmode=disable", "t1"),
            "postgres://h:5432/t1?sslmode=disable"
        );
    }

    #[test]
    fn throwaway_databases_are_created_and_dropped() {
        let Some(db) = postgres_or_skip("throwaway_databases_are_created_and_dropped") else {
            return;
        };
        let name = db.name().to_string();
        let mut c = postgres::Client::connect(db.url(), postgres::NoTls).expect("connects");
        let one: i32 = c.query_one("SELECT 1", &[]).expect("query").get(0);
        assert_eq!(one, 1);
        drop(c);
        drop(db);
        let mut admin = postgres::Client::connect(&server_url(), postgres::NoTls).expect("admin");
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .expect("query")
            .get(0);
        assert_eq!(n, 0, "dropped");
    }
}
