//! The PostgreSQL store (production): the [`Store`] trait over the sync `postgres` client.
//!
//! One [`PostgresStore`] is one connection (plus, once [`Store::wait_for_change`] is called, a
//! second one that `LISTEN`s). It keeps its connection settings, so after an outage — any call
//! that returned [`StoreError::Unavailable`] — the next call connects again; the loader keeps the
//! store object across an outage and simply retries.
//!
//! # Schema and migrations
//!
//! The tables are the ones listed in [`crate::store`]; the migrations are [`MIGRATIONS`].
//! [`PostgresStore::open`] applies the missing ones in one transaction that first takes
//! `pg_advisory_xact_lock`, so two nodes starting at once apply each migration once (the second
//! waits, then finds nothing to do). A database whose schema is newer than this binary is
//! refused with [`StoreError::Schema`]: run the newer Akkoord, or restore a matching backup.
//! Key text columns use `COLLATE "C"`: the codes are ASCII, and byte comparison makes the
//! primary-key index cheaper to maintain during imports.
//!
//! # Commit order: positions are transaction snapshots
//!
//! A change log read by increasing sequence number alone can miss a change: transaction A takes
//! sequence 10, transaction B takes 11 and commits, a loader reads "everything after 9", sees 11
//! and moves on to "after 11"; then A commits, and 10 is never read. Sequence numbers are handed
//! out in start order, not commit order.
//!
//! So each `change_log` row also records its writing transaction (`xid`, an `xid8` filled by
//! `pg_current_xact_id()`), and a [`Position`] token is the text of a `pg_snapshot`
//! (`xmin:xmax:xip,…`). [`Store::changes_since`] runs in one `REPEATABLE READ` transaction whose
//! first statement takes `S_now = pg_current_snapshot()`, and selects the entries whose writer is
//! visible in `S_now` but not in the previous snapshot `S_prev`:
//!
//! ```sql
//! xid >= pg_snapshot_xmin(S_prev)            -- index range; anything older is visible in S_prev
//!   AND pg_visible_in_snapshot(xid, S_now)
//!   AND NOT pg_visible_in_snapshot(xid, S_prev)
//! ```
//!
//! Visibility only grows from one snapshot to the next, so every committed transaction becomes
//! visible in exactly one interval `(S_prev, S_now]`: each entry is returned exactly once, and a
//! transaction that commits late is simply picked up by a later interval. A transaction with an
//! xid below `xmin(S_prev)` had finished when `S_prev` was taken, so it is visible there (if it
//! committed): the `xid >=` bound loses nothing and lets the `change_log_xid` index do the work.
//!
//! The loader then reads the **current state** (in the same snapshot) of the consent rows whose
//! `change_seq` is one of those entries, not a replay of events, so the order of the entries
//! within one batch does not matter. This is correct because two transactions that touch the
//! same row are serialised by its row lock: the later writer waits until the first has ended,
//! and PostgreSQL makes a transaction visible to new snapshots before it releases its locks. So
//! if the later writer is visible in a snapshot, the first one is too: a row's `change_seq` is
//! always the newest visible writer of that row, and the row read in `S_now` is the state after
//! every change up to `S_now`. A row first written by A and overwritten by B in the same interval
//! carries B's sequence number and is returned once, in B's state, which is the final one.
//!
//! ## Paging one interval
//!
//! One interval can hold many entries (after a bulk import, or a loader that was away), and
//! PostgreSQL cannot fabricate a snapshot between `S_prev` and `S_now` to split it. So a page
//! does not split the interval in time but in sequence numbers: when more than `limit` entries
//! fall in `(S_prev, S_now]`, the call returns the `limit` with the lowest `seq` and a token
//! `S_prev/S_now/seq` (the last `seq` returned). The next call keeps the same `S_prev` and
//! `S_now` and selects the interval's entries with a higher `seq`; only when a call finds the
//! rest of the interval within `limit` does its token become plain `S_now`, and the call after it
//! starts a fresh interval at its own snapshot. The set of entries in one interval is fixed once
//! `S_now` is taken (it only depends on the two snapshots), so paging it by `seq` returns each
//! of them exactly once. A plain snapshot token (as older versions wrote) is a finished interval.
//!
//! Later pages read the consent rows in their own, later transaction, not in `S_now`. That is
//! still exact. A row returned for entry `E` is selected by `change_seq = E`, so what is returned
//! is exactly the state `E` wrote. If a later transaction `F` (not visible in `S_now`) has
//! rewritten the row meanwhile, the row carries `F`'s number and is not returned for `E` at all;
//! `F` committed after `S_now` was taken, so it falls in a later interval, and the row comes with
//! it, in its newer state. Two entries of the same interval that touch one row are the case of
//! the previous section: the row carries the later writer's number, and it is returned once, with
//! that entry's page. Either way every row change reaches the loader once, as a state at least as
//! new as the change, and nothing after it is lost. The active policies are read the same way:
//! a policy change after `S_now` is itself an entry of a later interval.

//! # Writes
//!
//! Every write is one transaction that first inserts its `change_log` row (`RETURNING seq`), then
//! touches only rows that differ, and `NOTIFY akkoord_changes, '<seq>'` (delivered at commit).
//! A write that changed nothing rolls back: no entry, `change_seq: None`.
//!
//! Imports ([`Store::import_batch`]) sort the batch by key and first try the fast path: a plain
//! `COPY` straight into `consents`, inside a savepoint. A first import of a file (new keys only)
//! then costs the server no more than inserting the rows: no staging table, no join, no
//! `ON CONFLICT` probe. One stored key in the batch (a re-run, an update file, a tombstone) makes
//! the `COPY` fail with a unique violation; the batch rolls back to the savepoint and takes the
//! general path — `COPY` into a temporary staging table, then one upsert that writes only rows
//! that differ. After a miss the next batches skip the fast path for a while: 1, 2, 4, … up to
//! `FAST_PATH_PAUSE` batches as misses repeat, back to every batch after a success. A re-run
//! thus pays for one failed `COPY` (which fails on its first row, sorted) in sixteen batches, and
//! a file of new keys with a few stored ones loses the fast path for one batch per stray key.
//! Counts stay exact either way: on the fast path every row was inserted. They commit with `synchronous_commit = off`: the batch's
//! `import_progress` row commits in the same transaction, so if the server crashes and loses the
//! last few asynchronously committed batches, it loses their progress with them, and the import
//! resumes before them and writes them again (imports are idempotent upserts). Nothing
//! acknowledged to a person is lost; interactive writes keep the server's default.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, GenericClient, IsolationLevel, NoTls, Transaction};

use super::codec::{self, ConsentRow, KeyRow, RowRef};
use super::*;

/// Schema migrations: `(version, SQL)`, applied in order, each once.
pub const MIGRATIONS: &[(i32, &str)] = &[(1, SCHEMA_V1)];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i32 = 1;

const SCHEMA_V1: &str = r#"
CREATE TABLE change_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    committed_at bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('consents', 'import', 'policy')),
    author text NOT NULL,
    records bigint NOT NULL,
    summary text NOT NULL,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX change_log_xid ON change_log (xid);

CREATE TABLE consents (
    bsn integer NOT NULL,
    holder text COLLATE "C" NOT NULL,
    data_category text COLLATE "C" NOT NULL,
    consulting text COLLATE "C" NOT NULL,
    choice text NOT NULL,
    valid_from bigint,
    valid_until bigint,
    minor text NOT NULL,
    recorded_by text NOT NULL,
    catalogue_version bigint NOT NULL,
    recorded_at bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    change_seq bigint NOT NULL,
    PRIMARY KEY (bsn, holder, data_category, consulting)
);
CREATE INDEX consents_change_seq ON consents (change_seq);
-- Tombstones are rare; imports find the ones they bring back through this small index.
CREATE INDEX consents_tombstones ON consents (bsn, holder, data_category, consulting)
    WHERE deleted;

CREATE TABLE policies (
    policy_id text NOT NULL,
    revision bigint NOT NULL,
    xml text NOT NULL,
    author text NOT NULL,
    created_at bigint NOT NULL,
    active boolean NOT NULL DEFAULT false,
    change_seq bigint NOT NULL,
    PRIMARY KEY (policy_id, revision)
);
CREATE UNIQUE INDEX policies_one_active ON policies (policy_id) WHERE active;

CREATE TABLE loader_progress (
    node text PRIMARY KEY,
    position text NOT NULL,
    last_seq bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE import_progress (
    file_id text PRIMARY KEY,
    path text NOT NULL,
    lines_done bigint NOT NULL,
    updated_at bigint NOT NULL
);
"#;

/// Advisory lock key serialising migrations across nodes ("akkoord" + 1).
const MIGRATION_LOCK: i64 = 0x616b_6b6f_6f72_6401;
/// First half of the two-key advisory lock that serialises writes to one policy id.
const POLICY_LOCK_CLASS: i32 = 0x616b_6b70;
/// The most import batches that skip the fast path after it found stored keys in a row (see
/// the module docs); then it is tried again, in case the file moved on to new keys.
const FAST_PATH_PAUSE: u32 = 16;
/// The `NOTIFY` channel.
pub const CHANNEL: &str = "akkoord_changes";

const CONSENT_COLUMNS: &str = "bsn, holder, data_category, consulting, choice, valid_from, \
     valid_until, minor, recorded_by, catalogue_version, recorded_at";

const STAGING_DDL: &str = r#"CREATE TEMP TABLE IF NOT EXISTS akkoord_import_staging (
    bsn integer NOT NULL,
    holder text COLLATE "C" NOT NULL,
    data_category text COLLATE "C" NOT NULL,
    consulting text COLLATE "C" NOT NULL,
    choice text NOT NULL,
    valid_from bigint,
    valid_until bigint,
    minor text NOT NULL,
    recorded_by text NOT NULL,
    catalogue_version bigint NOT NULL,
    recorded_at bigint NOT NULL,
    change_seq bigint NOT NULL
) ON COMMIT DELETE ROWS"#;

/// Brings tombstones in the batch back to life; counted as inserts.
const IMPORT_REVIVE: &str = "UPDATE consents c SET choice = s.choice, valid_from = s.valid_from, \
     valid_until = s.valid_until, minor = s.minor, recorded_by = s.recorded_by, \
     catalogue_version = s.catalogue_version, recorded_at = s.recorded_at, deleted = false, \
     change_seq = $1 \
     FROM akkoord_import_staging s \
     WHERE c.deleted AND c.bsn = s.bsn AND c.holder = s.holder \
     AND c.data_category = s.data_category AND c.consulting = s.consulting";

/// Upserts the staged batch where something differs; `xmax = 0` marks a fresh insert.
const IMPORT_UPSERT: &str = "WITH up AS ( \
     INSERT INTO consents AS c (bsn, holder, data_category, consulting, choice, valid_from, \
     valid_until, minor, recorded_by, catalogue_version, recorded_at, deleted, change_seq) \
     SELECT bsn, holder, data_category, consulting, choice, valid_from, valid_until, minor, \
     recorded_by, catalogue_version, recorded_at, false, $1 FROM akkoord_import_staging \
     ON CONFLICT (bsn, holder, data_category, consulting) DO UPDATE SET \
     choice = EXCLUDED.choice, valid_from = EXCLUDED.valid_from, \
     valid_until = EXCLUDED.valid_until, minor = EXCLUDED.minor, \
     recorded_by = EXCLUDED.recorded_by, catalogue_version = EXCLUDED.catalogue_version, \
     recorded_at = EXCLUDED.recorded_at, deleted = false, change_seq = EXCLUDED.change_seq \
     WHERE (c.choice, c.valid_from, c.valid_until, c.minor, c.recorded_by, \
     c.catalogue_version, c.recorded_at) IS DISTINCT FROM (EXCLUDED.choice, \
     EXCLUDED.valid_from, EXCLUDED.valid_until, EXCLUDED.minor, EXCLUDED.recorded_by, \
     EXCLUDED.catalogue_version, EXCLUDED.recorded_at) OR c.deleted \
     RETURNING (c.xmax = 0) AS fresh) \
     SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM up";

/// A PostgreSQL connection implementing [`Store`]. Not shared between threads: open one per
/// thread. See the module docs for the commit-order guarantees.
pub struct PostgresStore {
    /// The connection string as given (the full load opens its own async connection with it).
    conn: String,
    config: Config,
    /// Where the server is, for messages (never the password).
    target: String,
    client: Option<Client>,
    listener: Option<Client>,
    /// Whether the current connection has created the import staging table.
    staging_ready: bool,
    /// Import batches left to send straight to the upsert path, after one whose fast path
    /// (plain `COPY` of new keys) hit a key that was already stored: re-runs and update files
    /// then do not pay for a failed `COPY` on every batch.
    fast_path_pause: u32,
    /// Fast-path misses since its last success; the pause doubles with each.
    fast_path_misses: u32,
}

impl PostgresStore {
    /// Connects (without TLS) and applies pending migrations. `conn` is a `postgres://` URL or a
    /// libpq `key=value` string. Connection failures are [`StoreError::Unavailable`] naming the
    /// server without its password; a schema newer than this binary is [`StoreError::Schema`].
    pub fn open(conn: &str) -> Result<PostgresStore, StoreError> {
        let mut config: Config = conn.parse().map_err(|e| {
            StoreError::Invalid(format!(
                "`{}` is not a PostgreSQL connection string: {e}",
                describe_conn(conn, None)
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("akkoord");
        }
        let target = describe_conn(conn, Some(&config));
        let mut store = PostgresStore {
            conn: conn.to_string(),
            config,
            target,
            client: None,
            listener: None,
            staging_ready: false,
            fast_path_pause: 0,
            fast_path_misses: 0,
        };
        store.with_client(|_, _| Ok(()))?;
        Ok(store)
    }

    /// The server process id of this store's connection (tests end it to simulate an outage).
    #[doc(hidden)]
    pub fn backend_pid(&mut self) -> Result<i32, StoreError> {
        self.with_client(|c, _| {
            c.query_one("SELECT pg_backend_pid()", &[])
                .map(|r| r.get(0))
                .map_err(|e| pg_err("reading the backend pid", e))
        })
    }

    fn connect(&self) -> Result<Client, StoreError> {
        self.config.connect(NoTls).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL at {}: {e}; check that the server runs and accepts \
                 connections from this host",
                self.target
            ))
        })
    }

    /// Runs `f` on the connection, connecting (and checking the schema) first when there is
    /// none. A failure that leaves the connection unusable drops it, so the next call reconnects.
    fn with_client<T>(
        &mut self,
        f: impl FnOnce(&mut Client, &mut bool) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.client.is_none() {
            let mut client = self.connect()?;
            migrate(&mut client)?;
            self.client = Some(client);
            self.staging_ready = false;
        }
        let Some(client) = self.client.as_mut() else {
            return Err(StoreError::Unavailable("no connection".into()));
        };
        let result = f(client, &mut self.staging_ready);
        if matches!(result, Err(StoreError::Unavailable(_))) || client.is_closed() {
            self.client = None;
        }
        result
    }
}

/// The server named for messages: a URL without its password, or `host=… port=… dbname=…`.
fn describe_conn(conn: &str, config: Option<&Config>) -> String {
    let t = conn.trim();
    if t.starts_with("postgres://") || t.starts_with("postgresql://") {
        return StoreUrl::Postgres(t.to_string()).redacted();
    }
    let Some(config) = config else {
        return "(a key=value connection string)".into();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            ::postgres::config::Host::Tcp(name) => name.clone(),
            ::postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "host={} port={} dbname={} user={}",
        if hosts.is_empty() {
            "localhost".into()
        } else {
            hosts.join(",")
        },
        if ports.is_empty() {
            "5432".into()
        } else {
            ports.join(",")
        },
        config.get_dbname().unwrap_or("(default)"),
        config.get_user().unwrap_or("(default)"),
    )
}

/// Whether a driver error means "try again later" rather than "a person must look".
fn is_transient(e: &::postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let c = code.code();
        // 08: connection exception; 57P0x: shutdown / cannot connect now; 53300: too many
        // connections; 40001/40P01: serialization failure / deadlock; 55P03: lock not
        // available; 57014: statement timeout or cancel.
        return c.starts_with("08")
            || c.starts_with("57P")
            || matches!(c, "53300" | "40001" | "40P01" | "55P03" | "57014");
    }
    // No server error: the socket or the protocol failed.
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        || e.to_string().starts_with("timeout")
        || e.to_string().contains("connection")
}

/// Maps a driver error: transient ones to [`StoreError::Unavailable`], the rest to
/// [`StoreError::Database`], with what was being done.
fn pg_err(doing: &str, e: ::postgres::Error) -> StoreError {
    if is_transient(&e) {
        StoreError::Unavailable(format!("{doing}: {e}"))
    } else {
        StoreError::Database(format!("{doing}: {e}"))
    }
}

fn io_err(doing: &str, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{doing}: {e}"))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Applies missing migrations under an advisory lock; refuses a newer schema.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let schema = |e| pg_err("applying schema migrations", e);
    let mut tx = client.transaction().map_err(schema)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(schema)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version integer PRIMARY KEY, applied_at bigint NOT NULL)",
    )
    .map_err(schema)?;
    let current: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(schema)?
        .get(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::Schema(format!(
            "the database schema is version {current}, newer than this Akkoord knows \
             ({SCHEMA_VERSION}); run the Akkoord release that migrated it (or a newer one)"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).map_err(|e| match pg_err("", e) {
            StoreError::Database(m) => StoreError::Schema(format!("migration {version} failed{m}")),
            other => other,
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &now_ms()],
        )
        .map_err(schema)?;
    }
    tx.commit().map_err(schema)
}

fn append_log(
    tx: &mut Transaction<'_>,
    kind: &str,
    records: usize,
    meta: &ChangeMeta,
) -> Result<i64, StoreError> {
    tx.query_one(
        "INSERT INTO change_log (committed_at, kind, author, records, summary) \
         VALUES ($1, $2, $3, $4, $5) RETURNING seq",
        &[
            &now_ms(),
            &kind,
            &meta.author,
            &i64::try_from(records).unwrap_or(i64::MAX),
            &meta.summary,
        ],
    )
    .map(|r| r.get(0))
    .map_err(|e| pg_err("writing the change log", e))
}

fn notify(tx: &mut Transaction<'_>, seq: i64) -> Result<(), StoreError> {
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &seq.to_string()])
        .map(|_| ())
        .map_err(|e| pg_err("notifying loaders", e))
}

fn bsn_param(bsn: i64) -> Result<i32, StoreError> {
    i32::try_from(bsn).map_err(|_| StoreError::Invalid("a BSN is out of range".into()))
}

enum Encoded {
    Upsert(ConsentRow),
    Remove(KeyRow),
}

fn active_policies_in(c: &mut impl GenericClient) -> Result<Vec<StoredPolicy>, StoreError> {
    let rows = c
        .query(
            "SELECT policy_id, revision, xml, author, created_at, active FROM policies \
             WHERE active ORDER BY policy_id",
            &[],
        )
        .map_err(|e| pg_err("reading the active policies", e))?;
    Ok(rows.iter().map(policy_from_row).collect())
}

fn policy_from_row(r: &::postgres::Row) -> StoredPolicy {
    StoredPolicy {
        policy_id: r.get(0),
        revision: r.get(1),
        xml: r.get(2),
        author: r.get(3),
        created_at: r.get(4),
        active: r.get(5),
    }
}

/// Whether `token` looks like a `pg_snapshot` (`xmin:xmax:xip,…`), so a wrong token gets a
/// clear error instead of a cast failure.
fn is_snapshot_text(token: &str) -> bool {
    let mut parts = token.split(':');
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(a) && digits(b) && (c.is_empty() || c.split(',').all(digits))
}

// ---- COPY text format ------------------------------------------------------------------------

fn push_int(buf: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_text(buf: &mut Vec<u8>, s: &str) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    for b in s.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

fn push_opt(buf: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => push_int(buf, v),
        None => buf.extend_from_slice(b"\\N"),
    }
}

/// One row in `COPY … FROM STDIN` text format, columns as [`STAGING_DDL`]: [`CONSENT_COLUMNS`]
/// and `change_seq`.
fn push_copy_row(buf: &mut Vec<u8>, r: &ConsentRow, seq: i64) {
    push_int(buf, r.bsn);
    for s in [&r.holder[..], &r.data_category, &r.consulting, r.choice] {
        buf.push(b'\t');
        push_text(buf, s);
    }
    buf.push(b'\t');
    push_opt(buf, r.valid_from);
    buf.push(b'\t');
    push_opt(buf, r.valid_until);
    for s in [r.minor, r.recorded_by] {
        buf.push(b'\t');
        push_text(buf, s);
    }
    buf.push(b'\t');
    push_int(buf, r.catalogue_version);
    buf.push(b'\t');
    push_int(buf, r.recorded_at);
    buf.push(b'\t');
    push_int(buf, seq);
    buf.push(b'\n');
}

fn parse_int(field: &[u8]) -> Result<i64, String> {
    let (neg, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    if digits.is_empty() || digits.len() > 18 {
        return Err("an integer column is malformed".into());
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err("an integer column is malformed".into());
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Ok(if neg { -v } else { v })
}

fn parse_opt_int(field: &[u8]) -> Result<Option<i64>, String> {
    if field == b"\\N" {
        Ok(None)
    } else {
        parse_int(field).map(Some)
    }
}

/// A text column: borrowed when it has no escapes, else unescaped into `scratch`.
fn parse_text<'a>(field: &'a [u8], scratch: &'a mut String) -> Result<&'a str, String> {
    if !field.contains(&b'\\') {
        return std::str::from_utf8(field).map_err(|_| "a text column is not UTF-8".to_string());
    }
    let mut bytes = Vec::with_capacity(field.len());
    let mut it = field.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        bytes.push(match it.next() {
            Some(b't') => b'\t',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b'b') => 8,
            Some(b'f') => 12,
            Some(b'v') => 11,
            Some(&other) => other,
            None => return Err("a text column ends in a lone backslash".into()),
        });
    }
    *scratch = String::from_utf8(bytes).map_err(|_| "a text column is not UTF-8".to_string())?;
    Ok(scratch)
}

/// One line of `COPY (SELECT CONSENT_COLUMNS …) TO STDOUT`, without its newline.
fn parse_copy_row<'a>(line: &'a [u8], scratch: &'a mut [String; 6]) -> Result<RowRef<'a>, String> {
    let mut f = line.split(|&b| b == b'\t');
    let mut next = || {
        f.next()
            .ok_or_else(|| "a row has too few columns".to_string())
    };
    let (bsn, holder, dc, cons, choice) = (next()?, next()?, next()?, next()?, next()?);
    let (from, until, minor, by, cv, at) = (next()?, next()?, next()?, next()?, next()?, next()?);
    if f.next().is_some() {
        return Err("a row has too many columns".into());
    }
    let [s0, s1, s2, s3, s4, s5] = scratch;
    Ok(RowRef {
        bsn: parse_int(bsn)?,
        holder: parse_text(holder, s0)?,
        data_category: parse_text(dc, s1)?,
        consulting: parse_text(cons, s2)?,
        choice: parse_text(choice, s3)?,
        valid_from: parse_opt_int(from)?,
        valid_until: parse_opt_int(until)?,
        minor: parse_text(minor, s4)?,
        recorded_by: parse_text(by, s5)?,
        catalogue_version: parse_int(cv)?,
        recorded_at: parse_int(at)?,
    })
}

// ---- the operations --------------------------------------------------------------------------

fn write_consents_in(
    client: &mut Client,
    changes: &[Encoded],
    meta: &ChangeMeta,
) -> Result<WriteOutcome, StoreError> {
    let e = |doing: &'static str| move |err| pg_err(doing, err);
    let mut tx = client.transaction().map_err(e("starting a write"))?;
    let seq = append_log(&mut tx, "consents", changes.len(), meta)?;
    let select = tx
        .prepare(
            "SELECT choice, valid_from, valid_until, minor, recorded_by, catalogue_version, \
             recorded_at, deleted FROM consents \
             WHERE bsn = $1 AND holder = $2 AND data_category = $3 AND consulting = $4 \
             FOR UPDATE",
        )
        .map_err(e("preparing a write"))?;
    let insert = tx
        .prepare(&format!(
            "INSERT INTO consents ({CONSENT_COLUMNS}, deleted, change_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, false, $12) \
             ON CONFLICT DO NOTHING"
        ))
        .map_err(e("preparing a write"))?;
    let update = tx
        .prepare(
            "UPDATE consents SET choice = $5, valid_from = $6, valid_until = $7, minor = $8, \
             recorded_by = $9, catalogue_version = $10, recorded_at = $11, deleted = false, \
             change_seq = $12 \
             WHERE bsn = $1 AND holder = $2 AND data_category = $3 AND consulting = $4",
        )
        .map_err(e("preparing a write"))?;
    let tombstone = tx
        .prepare(
            "UPDATE consents SET deleted = true, change_seq = $5 \
             WHERE bsn = $1 AND holder = $2 AND data_category = $3 AND consulting = $4",
        )
        .map_err(e("preparing a write"))?;
    let mut out = WriteOutcome::default();
    for change in changes {
        match change {
            Encoded::Upsert(r) => {
                let bsn = bsn_param(r.bsn)?;
                let params: [&(dyn ToSql + Sync); 12] = [
                    &bsn,
                    &r.holder,
                    &r.data_category,
                    &r.consulting,
                    &r.choice,
                    &r.valid_from,
                    &r.valid_until,
                    &r.minor,
                    &r.recorded_by,
                    &r.catalogue_version,
                    &r.recorded_at,
                    &seq,
                ];
                // Lock the row if it exists; if not, insert. A concurrent insert of the same key
                // makes ours a no-op: then go round and lock theirs.
                loop {
                    let existing = tx
                        .query_opt(&select, &params[..4])
                        .map_err(e("reading a consent"))?;
                    match existing {
                        None => {
                            if tx
                                .execute(&insert, &params)
                                .map_err(e("inserting a consent"))?
                                == 1
                            {
                                out.inserted += 1;
                                break;
                            }
                        }
                        Some(old) => {
                            let deleted: bool = old.get(7);
                            let same = old.get::<_, &str>(0) == r.choice
                                && old.get::<_, Option<i64>>(1) == r.valid_from
                                && old.get::<_, Option<i64>>(2) == r.valid_until
                                && old.get::<_, &str>(3) == r.minor
                                && old.get::<_, &str>(4) == r.recorded_by
                                && old.get::<_, i64>(5) == r.catalogue_version
                                && old.get::<_, i64>(6) == r.recorded_at;
                            if !deleted && same {
                                out.unchanged += 1;
                            } else {
                                tx.execute(&update, &params)
                                    .map_err(e("updating a consent"))?;
                                if deleted {
                                    out.inserted += 1;
                                } else {
                                    out.updated += 1;
                                }
                            }
                            break;
                        }
                    }
                }
            }
            Encoded::Remove(k) => {
                let bsn = bsn_param(k.bsn)?;
                let key: [&(dyn ToSql + Sync); 4] =
                    [&bsn, &k.holder, &k.data_category, &k.consulting];
                let existing = tx
                    .query_opt(&select, &key)
                    .map_err(e("reading a consent"))?;
                match existing {
                    Some(old) if !old.get::<_, bool>(7) => {
                        tx.execute(
                            &tombstone,
                            &[&bsn, &k.holder, &k.data_category, &k.consulting, &seq],
                        )
                        .map_err(e("removing a consent"))?;
                        out.removed += 1;
                    }
                    // Nothing to remove: no row counts (the store contract).
                    _ => {}
                }
            }
        }
    }
    if out.inserted + out.updated + out.removed == 0 {
        tx.rollback().map_err(e("rolling back an empty write"))?;
        return Ok(out);
    }
    notify(&mut tx, seq)?;
    tx.commit().map_err(e("committing a write"))?;
    out.change_seq = Some(seq);
    Ok(out)
}

/// Sends a `COPY … FROM STDIN` and returns the rows the server took.
fn copy_in(tx: &mut Transaction<'_>, sql: &str, data: &[u8]) -> Result<u64, ::postgres::Error> {
    let mut w = tx.copy_in(sql)?;
    // A failed write means the server ended the COPY; `finish` returns its reason.
    if w.write_all(data).is_err() {
        return w.finish();
    }
    w.finish()
}

/// How one batch went into the table.
struct ImportDone {
    inserted: u64,
    updated: u64,
    change_seq: Option<i64>,
    /// The fast path was tried and found a stored key.
    fast_path_missed: bool,
}

fn import_in(
    client: &mut Client,
    staging_ready: &mut bool,
    rows: &[ConsentRow],
    records: usize,
    try_fast: bool,
    progress: &ImportProgress,
    meta: &ChangeMeta,
) -> Result<ImportDone, StoreError> {
    let e = |doing: &'static str| move |err| pg_err(doing, err);
    let mut tx = client
        .transaction()
        .map_err(e("starting an import batch"))?;
    // Safe: the progress row commits with the batch (see the module docs).
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .map_err(e("starting an import batch"))?;
    let seq = append_log(&mut tx, "import", records, meta)?;
    let mut copy = Vec::with_capacity(rows.len() * 100);
    for row in rows {
        push_copy_row(&mut copy, row, seq);
    }
    // Fast path: the batch's keys are all new (a first import). Plain `COPY` into the table,
    // in a savepoint; a stored key (tombstone included) makes it fail with a unique violation,
    // and the batch takes the upsert path instead, from the savepoint.
    let mut fast_path_missed = false;
    if try_fast {
        let mut sp = tx
            .savepoint("akkoord_import_fast")
            .map_err(e("starting an import batch"))?;
        match copy_in(
            &mut sp,
            &format!("COPY consents ({CONSENT_COLUMNS}, change_seq) FROM STDIN"),
            &copy,
        ) {
            Ok(n) => {
                sp.commit().map_err(e("copying an import batch"))?;
                finish_import(&mut tx, progress, seq, n > 0)?;
                tx.commit().map_err(e("committing an import batch"))?;
                return Ok(ImportDone {
                    inserted: n,
                    updated: 0,
                    change_seq: (n > 0).then_some(seq),
                    fast_path_missed: false,
                });
            }
            Err(err) if err.code() == Some(&::postgres::error::SqlState::UNIQUE_VIOLATION) => {
                sp.rollback().map_err(e("copying an import batch"))?;
                fast_path_missed = true;
            }
            Err(err) => return Err(pg_err("copying an import batch", err)),
        }
    }
    if !*staging_ready {
        tx.batch_execute(STAGING_DDL)
            .map_err(e("creating the import staging table"))?;
    }
    copy_in(&mut tx, "COPY akkoord_import_staging FROM STDIN", &copy)
        .map_err(e("copying an import batch"))?;
    let revived = tx
        .execute(IMPORT_REVIVE, &[&seq])
        .map_err(e("importing a batch"))?;
    let counts = tx
        .query_one(IMPORT_UPSERT, &[&seq])
        .map_err(e("importing a batch"))?;
    let inserted = revived + counts.get::<_, i64>(0).unsigned_abs();
    let updated = counts.get::<_, i64>(1).unsigned_abs();
    let changed = inserted + updated > 0;
    finish_import(&mut tx, progress, seq, changed)?;
    tx.commit().map_err(e("committing an import batch"))?;
    // The staging table exists for this session once a transaction creating it committed.
    *staging_ready = true;
    Ok(ImportDone {
        inserted,
        updated,
        change_seq: changed.then_some(seq),
        fast_path_missed,
    })
}

/// Records the batch's progress and notifies loaders, or drops the change-log entry when the
/// batch changed nothing (progress still commits; nobody saw the entry: same transaction).
fn finish_import(
    tx: &mut Transaction<'_>,
    progress: &ImportProgress,
    seq: i64,
    changed: bool,
) -> Result<(), StoreError> {
    let e = |doing: &'static str| move |err| pg_err(doing, err);
    tx.execute(
        "INSERT INTO import_progress (file_id, path, lines_done, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (file_id) DO UPDATE SET path = EXCLUDED.path, \
         lines_done = EXCLUDED.lines_done, updated_at = EXCLUDED.updated_at",
        &[
            &progress.file_id,
            &progress.path,
            &i64::try_from(progress.lines_done).unwrap_or(i64::MAX),
            &now_ms(),
        ],
    )
    .map_err(e("recording import progress"))?;
    if changed {
        notify(tx, seq)
    } else {
        tx.execute("DELETE FROM change_log WHERE seq = $1", &[&seq])
            .map(|_| ())
            .map_err(e("importing a batch"))
    }
}

/// Starts the read-only `REPEATABLE READ` transaction of a load and takes its snapshot with the
/// first statement, so everything read after it is exactly what that snapshot shows.
fn snapshot_tx(client: &mut Client) -> Result<(Transaction<'_>, String), StoreError> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| pg_err("starting a snapshot", e))?;
    let snapshot: String = tx
        .query_one("SELECT pg_current_snapshot()::text", &[])
        .map_err(|e| pg_err("taking a snapshot", e))?
        .get(0);
    Ok((tx, snapshot))
}

/// Heap blocks per `COPY` of the full load: 8192 blocks of 8 KiB hold about 400 000 consent
/// rows, so at most that many are ever buffered.
const LOAD_SLICE_BLOCKS: i64 = 8192;

/// The full load on its own async connection, so that the `COPY` stream is read inside one
/// `block_on` rather than one per row (the synchronous client enters its runtime for every
/// `CopyData` message, and PostgreSQL sends one per row: that was a sixth of the client's
/// time). Same snapshot rules as the rest of the store: one REPEATABLE READ transaction whose
/// first statement takes the snapshot.
fn load_all_streaming(
    conn: &str,
    target: &str,
    catalogue: &Catalogue,
    sink: &mut RowSink<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<FullLoad, StoreError> {
    use futures_util::StreamExt as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| io_err("starting the load's runtime", e))?;
    runtime.block_on(async {
        let e = |doing: &'static str| move |err| pg_err(doing, err);
        let (mut client, connection) = tokio_postgres::connect(conn, tokio_postgres::NoTls)
            .await
            .map_err(|err| {
            StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL at {target} for the full load: {err}"
            ))
        })?;
        let driver = tokio::spawn(connection);
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(e("starting a snapshot"))?;
        let token: String = tx
            .query_one("SELECT pg_current_snapshot()::text", &[])
            .await
            .map_err(e("taking a snapshot"))?
            .get(0);
        let last_seq: i64 = tx
            .query_one("SELECT coalesce(max(seq), 0) FROM change_log", &[])
            .await
            .map_err(e("reading the change log head"))?
            .get(0);
        let policies: Vec<StoredPolicy> = tx
            .query(
                "SELECT policy_id, revision, xml, author, created_at, active FROM policies \
                 WHERE active ORDER BY policy_id",
                &[],
            )
            .await
            .map_err(e("reading the active policies"))?
            .iter()
            .map(policy_from_row)
            .collect();
        // The table is read in slices of physical blocks (TID range scans: sequential, no
        // index), one `COPY` each: tokio-postgres buffers a `COPY`'s rows as fast as the server
        // sends them, so one `COPY` of the whole table would hold most of it in memory when
        // decoding is the slower side. Rows visible in this snapshot were committed before it,
        // so they lie in blocks that exist now; the last slice is open-ended anyway.
        let blocks: i64 = tx
            .query_one(
                "SELECT pg_relation_size('consents') / current_setting('block_size')::bigint",
                &[],
            )
            .await
            .map_err(e("sizing the consents table"))?
            .get(0);
        let (mut records, mut undecodable) = (0u64, 0u64);
        let mut scratch: [String; 6] = Default::default();
        let mut start = 0i64;
        loop {
            let last = start + LOAD_SLICE_BLOCKS >= blocks;
            let range = if last {
                format!("ctid >= '({start},0)'::tid")
            } else {
                format!(
                    "ctid >= '({start},0)'::tid AND ctid < '({},0)'::tid",
                    start + LOAD_SLICE_BLOCKS
                )
            };
            let stream = tx
                .copy_out(&format!(
                    "COPY (SELECT {CONSENT_COLUMNS} FROM consents WHERE {range} AND NOT deleted) \
                     TO STDOUT"
                ))
                .await
                .map_err(e("reading the consents"))?;
            futures_util::pin_mut!(stream);
            // PostgreSQL sends one row per message; a row split over messages is still joined.
            let mut partial: Vec<u8> = Vec::new();
            let mut each_line = |data: &[u8]| -> usize {
                let mut consumed = 0;
                while let Some(end) = data[consumed..].iter().position(|&b| b == b'\n') {
                    let line = &data[consumed..consumed + end];
                    consumed += end + 1;
                    let decoded = parse_copy_row(line, &mut scratch)
                        .and_then(|row| codec::decode_row(&row, catalogue).map_err(|e| e.0));
                    if decoded.is_err() {
                        undecodable += 1;
                    }
                    sink(decoded);
                    records += 1;
                    if records % (1 << 20) == 0 {
                        progress(records);
                    }
                }
                consumed
            };
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(e("reading the consents"))?;
                if partial.is_empty() {
                    let used = each_line(&chunk);
                    partial.extend_from_slice(&chunk[used..]);
                } else {
                    partial.extend_from_slice(&chunk);
                    let used = each_line(&partial);
                    partial.drain(..used);
                }
            }
            if !partial.is_empty() {
                return Err(StoreError::Database(
                    "the consents COPY stream ended inside a row".into(),
                ));
            }
            if last {
                break;
            }
            start += LOAD_SLICE_BLOCKS;
        }
        tx.commit().await.map_err(e("ending the load snapshot"))?;
        drop(client);
        let _ = driver.await;
        Ok(FullLoad {
            records: records - undecodable,
            undecodable,
            policies,
            position: Position { last_seq, token },
        })
    })
}

/// Where [`changes_since_in`] resumes: the snapshot interval being read and how far into it.
struct Resume<'a> {
    /// `S_prev` (empty: from the beginning of the log).
    prev: &'a str,
    /// `S_now`, when an interval is being paged; `None` starts a fresh one.
    now: Option<&'a str>,
    /// Entries of the interval with `seq <= after` were returned by earlier pages.
    after: i64,
}

/// Parses a position token: a snapshot (`S_prev`, an interval was finished there), or
/// `S_prev/S_now/seq` while an interval is being paged (see the module docs).
fn parse_token(token: &str) -> Result<Resume<'_>, StoreError> {
    let bad = || {
        StoreError::Invalid(format!(
            "position `{token}` is not a PostgreSQL store position (did it come from another \
             store?); do a full load to get a new position"
        ))
    };
    let mut parts = token.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(prev), None, None, None) => {
            if !prev.is_empty() && !is_snapshot_text(prev) {
                return Err(bad());
            }
            Ok(Resume {
                prev,
                now: None,
                after: 0,
            })
        }
        (Some(prev), Some(now), Some(after), None) => {
            if (!prev.is_empty() && !is_snapshot_text(prev)) || !is_snapshot_text(now) {
                return Err(bad());
            }
            let after = after.parse::<i64>().map_err(|_| bad())?;
            Ok(Resume {
                prev,
                now: Some(now),
                after,
            })
        }
        _ => Err(bad()),
    }
}

fn changes_since_in(
    client: &mut Client,
    position: &Position,
    catalogue: &Catalogue,
    limit: usize,
) -> Result<ChangeBatch, StoreError> {
    let resume = parse_token(position.token.trim())?;
    let (mut tx, current) = snapshot_tx(client)?;
    // A fresh interval ends at this transaction's snapshot; a paged one keeps its `S_now`.
    let now = resume.now.unwrap_or(&current);
    let page = i64::try_from(limit.max(1)).unwrap_or(i64::MAX - 1);
    // One row more than the page tells whether the interval goes on.
    let mut entries = if resume.prev.is_empty() {
        tx.query(
            "SELECT seq, kind FROM change_log \
             WHERE seq > $2 AND pg_visible_in_snapshot(xid, $1::text::pg_snapshot) \
             ORDER BY seq LIMIT $3",
            &[&now, &resume.after, &(page + 1)],
        )
    } else {
        tx.query(
            "SELECT seq, kind FROM change_log \
             WHERE xid >= pg_snapshot_xmin($1::text::pg_snapshot) AND seq > $3 \
             AND pg_visible_in_snapshot(xid, $2::text::pg_snapshot) \
             AND NOT pg_visible_in_snapshot(xid, $1::text::pg_snapshot) \
             ORDER BY seq LIMIT $4",
            &[&resume.prev, &now, &resume.after, &(page + 1)],
        )
    }
    .map_err(|e| pg_err("reading the change log", e))?;
    let more = entries.len() as u64 > page.unsigned_abs();
    entries.truncate(limit.max(1));
    let mut consent_seqs = Vec::with_capacity(entries.len());
    let mut policy_changed = false;
    let mut last_seq = position.last_seq;
    for row in &entries {
        let seq: i64 = row.get(0);
        last_seq = last_seq.max(seq);
        if row.get::<_, &str>(1) == "policy" {
            policy_changed = true;
        } else {
            consent_seqs.push(seq);
        }
    }
    let mut changes = Vec::new();
    if !consent_seqs.is_empty() {
        let rows = tx
            .query(
                &format!(
                    "SELECT {CONSENT_COLUMNS}, deleted, change_seq FROM consents \
                     WHERE change_seq = ANY($1) ORDER BY change_seq"
                ),
                &[&consent_seqs],
            )
            .map_err(|e| pg_err("reading changed consents", e))?;
        changes.reserve(rows.len());
        for r in &rows {
            let bsn = i64::from(r.get::<_, i32>(0));
            let change_seq: i64 = r.get(12);
            let change = if r.get::<_, bool>(11) {
                codec::decode_key(bsn, r.get(1), r.get(2), r.get(3), catalogue)
                    .map(|(bsn, key)| LoadedChange::Remove { bsn, key })
            } else {
                let row = RowRef {
                    bsn,
                    holder: r.get(1),
                    data_category: r.get(2),
                    consulting: r.get(3),
                    choice: r.get(4),
                    valid_from: r.get(5),
                    valid_until: r.get(6),
                    minor: r.get(7),
                    recorded_by: r.get(8),
                    catalogue_version: r.get(9),
                    recorded_at: r.get(10),
                };
                codec::decode_row(&row, catalogue).map(LoadedChange::Upsert)
            };
            changes.push(change.unwrap_or_else(|e| LoadedChange::Undecodable {
                change_seq,
                reason: e.0,
            }));
        }
    }
    if policy_changed {
        changes.push(LoadedChange::Policies(active_policies_in(&mut tx)?));
    }
    tx.commit()
        .map_err(|e| pg_err("ending the change snapshot", e))?;
    let token = match entries.last() {
        // The interval goes on: the next call continues it after the last entry returned.
        Some(last) if more => format!("{}/{now}/{}", resume.prev, last.get::<_, i64>(0)),
        // The interval is exhausted: the next call starts a fresh one from `S_now`.
        _ => now.to_string(),
    };
    Ok(ChangeBatch {
        changes,
        entries: entries.len() as u64,
        position: Position { last_seq, token },
    })
}

/// Takes the per-policy-id lock that keeps revision numbers and the active flag consistent
/// between concurrent authors.
fn lock_policy(tx: &mut Transaction<'_>, policy_id: &str) -> Result<(), StoreError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&POLICY_LOCK_CLASS, &policy_id],
    )
    .map(|_| ())
    .map_err(|e| pg_err("locking the policy", e))
}

fn put_policy_in(
    client: &mut Client,
    policy_id: &str,
    xml: &str,
    activate: bool,
    meta: &ChangeMeta,
) -> Result<i64, StoreError> {
    let e = |doing: &'static str| move |err| pg_err(doing, err);
    let mut tx = client.transaction().map_err(e("starting a policy write"))?;
    lock_policy(&mut tx, policy_id)?;
    let seq = append_log(&mut tx, "policy", 1, meta)?;
    let revision: i64 = tx
        .query_one(
            "SELECT coalesce(max(revision), 0) + 1 FROM policies WHERE policy_id = $1",
            &[&policy_id],
        )
        .map_err(e("numbering the policy revision"))?
        .get(0);
    if activate {
        tx.execute(
            "UPDATE policies SET active = false WHERE policy_id = $1 AND active",
            &[&policy_id],
        )
        .map_err(e("deactivating the previous revision"))?;
    }
    tx.execute(
        "INSERT INTO policies (policy_id, revision, xml, author, created_at, active, change_seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &policy_id,
            &revision,
            &xml,
            &meta.author,
            &now_ms(),
            &activate,
            &seq,
        ],
    )
    .map_err(e("storing the policy"))?;
    notify(&mut tx, seq)?;
    tx.commit().map_err(e("committing the policy"))?;
    Ok(revision)
}

fn activate_policy_in(
    client: &mut Client,
    policy_id: &str,
    revision: i64,
    meta: &ChangeMeta,
) -> Result<(), StoreError> {
    let e = |doing: &'static str| move |err| pg_err(doing, err);
    let mut tx = client.transaction().map_err(e("starting a policy write"))?;
    lock_policy(&mut tx, policy_id)?;
    let revisions: Vec<(i64, bool)> = tx
        .query(
            "SELECT revision, active FROM policies WHERE policy_id = $1 ORDER BY revision",
            &[&policy_id],
        )
        .map_err(e("reading the policy revisions"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    if revisions.is_empty() {
        return Err(StoreError::Invalid(format!(
            "no policy `{policy_id}` is stored; store a revision first"
        )));
    }
    match revisions.iter().find(|(r, _)| *r == revision) {
        None => {
            let known: Vec<String> = revisions.iter().map(|(r, _)| r.to_string()).collect();
            Err(StoreError::Invalid(format!(
                "policy `{policy_id}` has no revision {revision}; stored revisions: {}",
                known.join(", ")
            )))
        }
        // Already active: nothing changes, no change-log entry.
        Some((_, true)) => tx.rollback().map_err(e("ending the policy write")),
        Some((_, false)) => {
            let seq = append_log(&mut tx, "policy", 1, meta)?;
            tx.execute(
                "UPDATE policies SET active = false WHERE policy_id = $1 AND active",
                &[&policy_id],
            )
            .map_err(e("deactivating the previous revision"))?;
            tx.execute(
                "UPDATE policies SET active = true, change_seq = $3 \
                 WHERE policy_id = $1 AND revision = $2",
                &[&policy_id, &revision, &seq],
            )
            .map_err(e("activating the revision"))?;
            notify(&mut tx, seq)?;
            tx.commit().map_err(e("committing the activation"))
        }
    }
}

impl Store for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn write_consents(
        &mut self,
        changes: &[ConsentChange],
        catalogue: &Catalogue,
        meta: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError> {
        let mut encoded = Vec::with_capacity(changes.len());
        for (i, change) in changes.iter().enumerate() {
            let enc = match change {
                ConsentChange::Upsert(r) => codec::encode(r, catalogue).map(Encoded::Upsert),
                ConsentChange::Remove { bsn, key } => {
                    codec::encode_key(*bsn, key, catalogue).map(Encoded::Remove)
                }
            };
            encoded.push(
                enc.map_err(|e| {
                    StoreError::Invalid(format!("change {} of the write: {e}", i + 1))
                })?,
            );
        }
        if encoded.is_empty() {
            return Ok(WriteOutcome::default());
        }
        self.with_client(|c, _| write_consents_in(c, &encoded, meta))
    }

    fn import_batch(
        &mut self,
        records: &[ConsentRecord],
        catalogue: &Catalogue,
        progress: &ImportProgress,
        meta: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError> {
        // One upsert statement cannot touch a row twice, so a key repeated in the batch keeps
        // its last record (the later line wins, as applying the lines in order would); an
        // earlier duplicate counts as updated, or unchanged when equal to the one kept.
        //
        // Sorting the batch by key (numerically: BSN first, the primary key's first column)
        // puts duplicates side by side and makes consecutive rows land on the same or
        // neighbouring primary-key leaf pages instead of random ones. It runs while the server
        // waits, so it is kept cheap: integer comparisons, no hashing, no string sorting.
        let mut order: Vec<u32> = (0..records.len() as u32).collect();
        order.sort_unstable_by_key(|&i| {
            let r = &records[i as usize];
            (r.bsn, r.holder, r.data_category, r.consulting, i)
        });
        let same_key = |a: &ConsentRecord, b: &ConsentRecord| a.bsn == b.bsn && a.key() == b.key();
        let mut out = WriteOutcome::default();
        let mut rows = Vec::with_capacity(records.len());
        for group in order.chunk_by(|&a, &b| same_key(&records[a as usize], &records[b as usize])) {
            let Some((&kept_at, earlier)) = group.split_last() else {
                continue;
            };
            let kept = &records[kept_at as usize];
            for &i in earlier {
                if records[i as usize] == *kept {
                    out.unchanged += 1;
                } else {
                    out.updated += 1;
                }
            }
            rows.push(codec::encode(kept, catalogue).map_err(|e| {
                StoreError::Invalid(format!("record {} of the import batch: {e}", kept_at + 1))
            })?);
        }
        let try_fast = self.fast_path_pause == 0;
        self.fast_path_pause = self.fast_path_pause.saturating_sub(1);
        let done = self.with_client(|c, ready| {
            import_in(c, ready, &rows, records.len(), try_fast, progress, meta)
        })?;
        if done.fast_path_missed {
            self.fast_path_misses = self.fast_path_misses.saturating_add(1);
            self.fast_path_pause = 1u32
                .checked_shl(self.fast_path_misses - 1)
                .map_or(FAST_PATH_PAUSE, |p| p.min(FAST_PATH_PAUSE));
        } else if try_fast {
            self.fast_path_misses = 0;
        }
        out.inserted += done.inserted;
        out.updated += done.updated;
        out.unchanged += (rows.len() as u64).saturating_sub(done.inserted + done.updated);
        out.change_seq = done.change_seq;
        Ok(out)
    }

    fn import_lines_done(&mut self, file_id: &str) -> Result<u64, StoreError> {
        self.with_client(|c, _| {
            c.query_opt(
                "SELECT lines_done FROM import_progress WHERE file_id = $1",
                &[&file_id],
            )
            .map(|r| r.map_or(0, |r| r.get::<_, i64>(0).unsigned_abs()))
            .map_err(|e| pg_err("reading import progress", e))
        })
    }

    fn put_policy(
        &mut self,
        policy_id: &str,
        xml: &str,
        activate: bool,
        meta: &ChangeMeta,
    ) -> Result<i64, StoreError> {
        self.with_client(|c, _| put_policy_in(c, policy_id, xml, activate, meta))
    }

    fn activate_policy(
        &mut self,
        policy_id: &str,
        revision: i64,
        meta: &ChangeMeta,
    ) -> Result<(), StoreError> {
        self.with_client(|c, _| activate_policy_in(c, policy_id, revision, meta))
    }

    fn policies(&mut self, with_xml: bool) -> Result<Vec<StoredPolicy>, StoreError> {
        self.with_client(|c, _| {
            c.query(
                "SELECT policy_id, revision, CASE WHEN $1 THEN xml ELSE '' END, author, \
                 created_at, active FROM policies ORDER BY policy_id, revision",
                &[&with_xml],
            )
            .map(|rows| rows.iter().map(policy_from_row).collect())
            .map_err(|e| pg_err("reading the policies", e))
        })
    }

    fn policy(
        &mut self,
        policy_id: &str,
        revision: i64,
    ) -> Result<Option<StoredPolicy>, StoreError> {
        self.with_client(|c, _| {
            c.query_opt(
                "SELECT policy_id, revision, xml, author, created_at, active FROM policies \
                 WHERE policy_id = $1 AND revision = $2",
                &[&policy_id, &revision],
            )
            .map(|r| r.as_ref().map(policy_from_row))
            .map_err(|e| pg_err("reading the policy", e))
        })
    }

    fn active_policies(&mut self) -> Result<Vec<StoredPolicy>, StoreError> {
        self.with_client(|c, _| active_policies_in(c))
    }

    fn load_all(
        &mut self,
        catalogue: &Catalogue,
        sink: &mut RowSink<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FullLoad, StoreError> {
        load_all_streaming(&self.conn, &self.target, catalogue, sink, progress)
    }

    fn changes_since(
        &mut self,
        position: &Position,
        catalogue: &Catalogue,
        limit: usize,
    ) -> Result<ChangeBatch, StoreError> {
        self.with_client(|c, _| changes_since_in(c, position, catalogue, limit))
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        let Some(listener) = self.listener.as_mut() else {
            // A new listener may have missed notifications: tell the caller to poll.
            let mut listener = self.connect()?;
            listener
                .batch_execute(&format!("LISTEN {CHANNEL}"))
                .map_err(|e| pg_err("listening for changes", e))?;
            self.listener = Some(listener);
            return Ok(true);
        };
        let (failed, signalled) = {
            let mut notifications = listener.notifications();
            let first = notifications.timeout_iter(timeout).next();
            let mut signalled = matches!(first, Ok(Some(_)));
            // Drain whatever else is pending: one wake-up covers them all.
            while let Ok(Some(_)) = notifications.iter().next() {
                signalled = true;
            }
            (first.is_err(), signalled)
        };
        if failed || listener.is_closed() {
            // Reconnect on the next call; meanwhile the caller polls.
            self.listener = None;
            return Ok(true);
        }
        Ok(signalled)
    }

    fn head_seq(&mut self) -> Result<i64, StoreError> {
        self.with_client(|c, _| {
            c.query_one("SELECT coalesce(max(seq), 0) FROM change_log", &[])
                .map(|r| r.get(0))
                .map_err(|e| pg_err("reading the change log head", e))
        })
    }

    fn record_progress(&mut self, node: &str, position: &Position) -> Result<(), StoreError> {
        self.with_client(|c, _| {
            c.execute(
                "INSERT INTO loader_progress (node, position, last_seq, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (node) DO UPDATE SET \
                 position = EXCLUDED.position, last_seq = EXCLUDED.last_seq, \
                 updated_at = EXCLUDED.updated_at",
                &[&node, &position.token, &position.last_seq, &now_ms()],
            )
            .map(|_| ())
            .map_err(|e| pg_err("recording loader progress", e))
        })
    }

    fn after_bulk_import(&mut self) -> Result<Option<&'static str>, StoreError> {
        self.with_client(|c, _| {
            c.batch_execute("VACUUM (ANALYZE) consents")
                .map_err(|e| pg_err("vacuuming the consents after the import", e))
        })?;
        Ok(Some("VACUUM (ANALYZE) consents"))
    }

    fn estimated_consent_count(&mut self) -> Result<u64, StoreError> {
        let estimate: f32 = self.with_client(|c, _| {
            c.query_one(
                "SELECT coalesce(max(reltuples), -1)::real FROM pg_class WHERE oid = 'consents'::regclass",
                &[],
            )
            .map(|r| r.get(0))
            .map_err(|e| pg_err("estimating the consents", e))
        })?;
        // -1: never analysed (a fresh table); count it instead.
        if estimate < 0.0 {
            self.consent_count()
        } else {
            Ok(estimate as u64)
        }
    }

    fn consent_count(&mut self) -> Result<u64, StoreError> {
        self.with_client(|c, _| {
            c.query_one("SELECT count(*) FROM consents WHERE NOT deleted", &[])
                .map(|r| r.get::<_, i64>(0).unsigned_abs())
                .map_err(|e| pg_err("counting consents", e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::postgres_or_skip;
    use pdp_core::consent::generate::Generator;
    use pdp_core::consent::record::Choice;
    use std::collections::HashMap;

    type State = HashMap<(Bsn, RecordKey), ConsentRecord>;

    fn cat() -> SharedCatalogue {
        static SHIPPED: std::sync::OnceLock<SharedCatalogue> = std::sync::OnceLock::new();
        SHIPPED
            .get_or_init(|| {
                std::sync::Arc::new(
                    Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json"))
                        .expect("shipped catalogue"),
                )
            })
            .clone()
    }

    fn meta(author: &str) -> ChangeMeta {
        ChangeMeta {
            author: author.into(),
            summary: "test".into(),
        }
    }

    fn records(seed: u64, citizens: u64) -> Vec<ConsentRecord> {
        Generator::new(&cat(), seed, citizens)
            .expect("generator")
            .records()
            .collect()
    }

    fn upserts(rs: &[ConsentRecord]) -> Vec<ConsentChange> {
        rs.iter().copied().map(ConsentChange::Upsert).collect()
    }

    fn state_of(rs: &[ConsentRecord]) -> State {
        rs.iter().map(|r| ((r.bsn, r.key()), *r)).collect()
    }

    fn load(store: &mut PostgresStore) -> (State, FullLoad) {
        let mut state = State::new();
        let full = store
            .load_all(
                &cat(),
                &mut |r| {
                    let r = r.expect("decodes");
                    assert!(state.insert((r.bsn, r.key()), r).is_none(), "duplicate row");
                },
                &mut |_| {},
            )
            .expect("load_all");
        (state, full)
    }

    fn apply(state: &mut State, batch: &ChangeBatch) {
        for c in &batch.changes {
            match c {
                LoadedChange::Upsert(r) => {
                    state.insert((r.bsn, r.key()), *r);
                }
                LoadedChange::Remove { bsn, key } => {
                    state.remove(&(*bsn, *key));
                }
                LoadedChange::Undecodable { reason, .. } => panic!("undecodable: {reason}"),
                LoadedChange::Policies(_) => {}
            }
        }
    }

    fn raw(url: &str) -> Client {
        Client::connect(url, NoTls).expect("raw connection")
    }

    fn count(c: &mut Client, sql: &str) -> i64 {
        c.query_one(sql, &[]).expect("count").get(0)
    }

    #[test]
    fn migrations_are_idempotent_and_concurrent_opens_agree() {
        let Some(db) = postgres_or_skip("migrations_are_idempotent_and_concurrent_opens_agree")
        else {
            return;
        };
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let url = db.url().to_string();
                std::thread::spawn(move || PostgresStore::open(&url).map(|_| ()))
            })
            .collect();
        for o in opens {
            o.join().expect("thread").expect("concurrent open");
        }
        PostgresStore::open(db.url()).expect("reopen");
        let mut c = raw(db.url());
        assert_eq!(count(&mut c, "SELECT count(*) FROM schema_migrations"), 1);
        c.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)",
            &[],
        )
        .expect("newer schema");
        match PostgresStore::open(db.url()) {
            Err(StoreError::Schema(m)) => assert!(m.contains("99"), "{m}"),
            other => panic!("expected a schema error, got {:?}", other.err()),
        }
    }

    #[test]
    fn connection_errors_are_unavailable_and_hide_the_password() {
        match PostgresStore::open("postgres://akkoord:s3cret@127.0.0.1:1/none") {
            Err(StoreError::Unavailable(m)) => {
                assert!(m.contains("127.0.0.1") && !m.contains("s3cret"), "{m}")
            }
            other => panic!("expected Unavailable, got {:?}", other.err()),
        }
    }

    #[test]
    fn writes_round_trip_with_exact_counts_and_tombstones() {
        let Some(db) = postgres_or_skip("writes_round_trip_with_exact_counts_and_tombstones")
        else {
            return;
        };
        let mut s = PostgresStore::open(db.url()).expect("open");
        let rs = records(1, 60);
        let n = rs.len() as u64;
        let out = s
            .write_consents(&upserts(&rs), &cat(), &meta("t"))
            .expect("write");
        assert_eq!((out.inserted, out.updated, out.unchanged), (n, 0, 0));
        let first = out.change_seq.expect("an entry");
        let (state, full) = load(&mut s);
        assert_eq!(state, state_of(&rs));
        assert_eq!(full.position.last_seq, first);
        assert_eq!(s.consent_count().expect("count"), n);

        // The same write again changes nothing and logs nothing.
        let again = s
            .write_consents(&upserts(&rs), &cat(), &meta("t"))
            .expect("rewrite");
        assert_eq!(again.change_seq, None);
        assert_eq!(again.unchanged, n);
        assert_eq!(s.head_seq().expect("head"), first);

        // Three changed, two removed, one removal of nothing.
        let mut changed = rs[..3].to_vec();
        for r in &mut changed {
            r.choice = if r.choice == Choice::Yes {
                Choice::No
            } else {
                Choice::Yes
            };
        }
        let mut batch = upserts(&changed);
        batch.extend(upserts(&rs[3..5]));
        for r in &rs[5..7] {
            batch.push(ConsentChange::Remove {
                bsn: r.bsn,
                key: r.key(),
            });
        }
        let out = s.write_consents(&batch, &cat(), &meta("t")).expect("write");
        assert_eq!(
            (out.inserted, out.updated, out.unchanged, out.removed),
            (0, 3, 2, 2)
        );
        let second = out.change_seq.expect("entry");
        assert!(second > first);
        // Removing again: nothing to do.
        let out = s
            .write_consents(&batch[5..], &cat(), &meta("t"))
            .expect("write");
        assert_eq!((out.change_seq, out.unchanged), (None, 0));
        // Bringing a tombstone back counts as an insert.
        let out = s
            .write_consents(&upserts(&rs[5..6]), &cat(), &meta("t"))
            .expect("w");
        assert_eq!((out.inserted, out.updated), (1, 0));
        let mut expected = state_of(&rs);
        expected.extend(state_of(&changed));
        expected.remove(&(rs[6].bsn, rs[6].key()));
        let (state, _) = load(&mut s);
        assert_eq!(state, expected);
        assert_eq!(s.consent_count().expect("count"), n - 1);
        let mut c = raw(db.url());
        assert_eq!(
            count(&mut c, "SELECT count(*) FROM consents WHERE deleted"),
            1
        );
        assert_eq!(count(&mut c, "SELECT count(*) FROM change_log"), 3);
    }

    #[test]
    fn changes_since_reports_upserts_removals_and_policies() {
        let Some(db) = postgres_or_skip("changes_since_reports_upserts_removals_and_policies")
        else {
            return;
        };
        let mut s = PostgresStore::open(db.url()).expect("open");
        let rs = records(2, 20);
        s.write_consents(&upserts(&rs), &cat(), &meta("t"))
            .expect("write");
        let (mut state, full) = load(&mut s);
        let mut pos = full.position;
        let none = s.changes_since(&pos, &cat(), 100).expect("changes");
        assert_eq!((none.entries, none.changes.len()), (0, 0));
        pos = none.position;
        s.write_consents(
            &[ConsentChange::Remove {
                bsn: rs[0].bsn,
                key: rs[0].key(),
            }],
            &cat(),
            &meta("t"),
        )
        .expect("remove");
        s.put_policy("urn:test:p", "<PolicySet/>", true, &meta("pap"))
            .expect("policy");
        let batch = s.changes_since(&pos, &cat(), 100).expect("changes");
        assert_eq!(batch.entries, 2);
        assert!(matches!(batch.changes[0], LoadedChange::Remove { bsn, .. } if bsn == rs[0].bsn));
        match batch.changes.last() {
            Some(LoadedChange::Policies(p)) => assert_eq!(p.len(), 1),
            other => panic!("expected the active policies, got {other:?}"),
        }
        apply(&mut state, &batch);
        assert_eq!(state, load(&mut s).0);
        assert_eq!(batch.position.last_seq, s.head_seq().expect("head"));
        // An empty token reads everything; a foreign token is refused clearly.
        let all = s
            .changes_since(
                &Position {
                    last_seq: 0,
                    token: String::new(),
                },
                &cat(),
                10,
            )
            .expect("from the start");
        assert_eq!(all.entries, 3);
        let bad = Position {
            last_seq: 3,
            token: "3".into(),
        };
        assert!(matches!(
            s.changes_since(&bad, &cat(), 10),
            Err(StoreError::Invalid(_))
        ));
        s.record_progress("node-1", &batch.position)
            .expect("progress");
    }

    #[test]
    fn policies_keep_every_revision_with_one_active() {
        let Some(db) = postgres_or_skip("policies_keep_every_revision_with_one_active") else {
            return;
        };
        let mut s = PostgresStore::open(db.url()).expect("open");
        let m = meta("pap:alice");
        assert_eq!(s.put_policy("urn:a", "<A1/>", true, &m).expect("put"), 1);
        assert_eq!(s.put_policy("urn:a", "<A2/>", false, &m).expect("put"), 2);
        assert_eq!(s.put_policy("urn:b", "<B1/>", false, &m).expect("put"), 1);
        let active = s.active_policies().expect("active");
        assert_eq!(active.len(), 1);
        assert_eq!((active[0].revision, &active[0].xml[..]), (1, "<A1/>"));
        s.activate_policy("urn:a", 2, &m).expect("activate");
        let head = s.head_seq().expect("head");
        s.activate_policy("urn:a", 2, &m).expect("again");
        assert_eq!(s.head_seq().expect("head"), head, "no entry for a no-op");
        let all = s.policies(false).expect("list");
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|p| p.xml.is_empty()));
        let actives: Vec<_> = all
            .iter()
            .filter(|p| p.active)
            .map(|p| p.revision)
            .collect();
        assert_eq!(actives, vec![2]);
        assert_eq!(
            s.policy("urn:a", 1).expect("get").map(|p| p.xml),
            Some("<A1/>".into())
        );
        assert_eq!(s.policy("urn:a", 9).expect("get"), None);
        match s.activate_policy("urn:a", 7, &m) {
            Err(StoreError::Invalid(msg)) => assert!(msg.contains("1, 2"), "{msg}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert!(matches!(
            s.activate_policy("urn:none", 1, &m),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn imports_are_idempotent_and_record_progress() {
        let Some(db) = postgres_or_skip("imports_are_idempotent_and_record_progress") else {
            return;
        };
        let mut s = PostgresStore::open(db.url()).expect("open");
        let rs = records(3, 500);
        let n = rs.len() as u64;
        let progress = ImportProgress {
            file_id: "sha256:abc".into(),
            path: "consents.ndjson".into(),
            lines_done: n,
        };
        assert_eq!(s.import_lines_done("sha256:abc").expect("done"), 0);
        let out = s
            .import_batch(&rs, &cat(), &progress, &meta("import"))
            .expect("import");
        assert_eq!((out.inserted, out.updated, out.unchanged), (n, 0, 0));
        assert!(out.change_seq.is_some());
        assert_eq!(s.import_lines_done("sha256:abc").expect("done"), n);
        let again = s
            .import_batch(&rs, &cat(), &progress, &meta("import"))
            .expect("again");
        assert_eq!((again.change_seq, again.unchanged), (None, n));
        // Changes, a tombstone brought back, and a key repeated in one batch.
        s.write_consents(
            &[ConsentChange::Remove {
                bsn: rs[0].bsn,
                key: rs[0].key(),
            }],
            &cat(),
            &meta("t"),
        )
        .expect("remove");
        let mut batch = rs[..10].to_vec();
        batch[1].recorded_at += 1;
        let mut dup = batch[2];
        dup.recorded_at += 5;
        batch.push(dup);
        let progress2 = ImportProgress {
            lines_done: n + 11,
            ..progress
        };
        let out = s
            .import_batch(&batch, &cat(), &progress2, &meta("import"))
            .expect("i");
        assert_eq!(
            (out.inserted, out.updated, out.unchanged),
            (1, 3, 7),
            "{out:?}"
        );
        assert_eq!(s.import_lines_done("sha256:abc").expect("done"), n + 11);
        let mut expected = state_of(&rs);
        expected.extend(state_of(&batch));
        assert_eq!(load(&mut s).0, expected);
    }

    /// A batch of new keys takes the plain `COPY`; one stored key anywhere in a batch (live or
    /// a tombstone) sends the whole batch to the upsert path with exact counts.
    #[test]
    fn the_import_fast_path_falls_back_on_stored_keys() {
        let Some(db) = postgres_or_skip("the_import_fast_path_falls_back_on_stored_keys") else {
            return;
        };
        let rs = records(9, 400);
        let (a, b) = rs.split_at(rs.len() / 2);
        let progress = |lines: usize| ImportProgress {
            file_id: "f".into(),
            path: "f".into(),
            lines_done: lines as u64,
        };
        let mut s = PostgresStore::open(db.url()).expect("open");
        let out = s
            .import_batch(a, &cat(), &progress(a.len()), &meta("import"))
            .expect("new keys");
        assert_eq!((out.inserted, out.updated), (a.len() as u64, 0));
        assert_eq!(s.fast_path_pause, 0, "took the fast path");
        // New keys, and last (in key order too: the highest BSN) a stored one that changed.
        let mut batch: Vec<_> = b.to_vec();
        let top = *a.iter().max_by_key(|r| r.bsn).expect("records");
        let mut stored = top;
        stored.recorded_at += 1;
        batch.push(stored);
        let out = s
            .import_batch(&batch, &cat(), &progress(rs.len()), &meta("import"))
            .expect("mixed");
        assert_eq!(
            (out.inserted, out.updated, out.unchanged),
            (b.len() as u64, 1, 0)
        );
        assert_eq!((s.fast_path_pause, s.fast_path_misses), (1, 1), "fell back");
        assert_eq!(s.import_lines_done("f").expect("done"), rs.len() as u64);
        // A tombstone is a stored key too: a fresh connection (fast path armed) revives it.
        s.write_consents(
            &[ConsentChange::Remove {
                bsn: a[0].bsn,
                key: a[0].key(),
            }],
            &cat(),
            &meta("rm"),
        )
        .expect("remove");
        let mut fresh = PostgresStore::open(db.url()).expect("open");
        let out = fresh
            .import_batch(&a[..1], &cat(), &progress(1), &meta("import"))
            .expect("revive");
        assert_eq!((out.inserted, out.updated), (1, 0));
        // A re-run: the COPY fails on its first row, long before the data is all sent.
        let mut rerun = PostgresStore::open(db.url()).expect("open");
        let out = rerun
            .import_batch(&b[1..], &cat(), &progress(rs.len()), &meta("import"))
            .expect("re-run");
        assert_eq!(
            (out.change_seq, out.inserted, out.unchanged),
            (None, 0, b.len() as u64 - 1)
        );
        // Repeated misses double the pause, up to FAST_PATH_PAUSE batches.
        let mut pauses = Vec::new();
        for _ in 0..40 {
            let out = rerun
                .import_batch(&b[..50], &cat(), &progress(rs.len()), &meta("import"))
                .expect("re-run");
            assert_eq!(out.unchanged, 50);
            if rerun.fast_path_misses > pauses.len() as u32 + 1 {
                pauses.push(rerun.fast_path_pause);
            }
        }
        assert_eq!(pauses, vec![2, 4, 8, 16, 16]);
        let mut expected = state_of(&rs);
        expected.insert((stored.bsn, stored.key()), stored);
        assert_eq!(load(&mut s).0, expected);
        let mut c = raw(db.url());
        assert_eq!(count(&mut c, "SELECT count(*) FROM change_log"), 4);
        assert_eq!(
            count(
                &mut c,
                "SELECT count(DISTINCT change_seq) FROM consents WHERE change_seq IS NOT NULL"
            ),
            3,
            "the first batch, the mixed one, and the revival (which re-tags the removal's row)"
        );
    }

    #[test]
    fn notify_wakes_the_listener() {
        let Some(db) = postgres_or_skip("notify_wakes_the_listener") else {
            return;
        };
        let mut loader = PostgresStore::open(db.url()).expect("open");
        // The first call connects the listener and asks the caller to poll.
        assert!(loader
            .wait_for_change(Duration::from_millis(10))
            .expect("wait"));
        assert!(!loader
            .wait_for_change(Duration::from_millis(50))
            .expect("wait"));
        let url = db.url().to_string();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let mut w = PostgresStore::open(&url).expect("open");
            w.write_consents(&upserts(&records(4, 3)), &cat(), &meta("t"))
                .expect("write");
        });
        let started = std::time::Instant::now();
        assert!(loader
            .wait_for_change(Duration::from_secs(10))
            .expect("wait"));
        assert!(started.elapsed() < Duration::from_secs(5));
        writer.join().expect("writer");
        // Drained: nothing left pending.
        assert!(!loader
            .wait_for_change(Duration::from_millis(50))
            .expect("wait"));
    }

    #[test]
    fn a_killed_connection_is_unavailable_then_recovers() {
        let Some(db) = postgres_or_skip("a_killed_connection_is_unavailable_then_recovers") else {
            return;
        };
        let mut s = PostgresStore::open(db.url()).expect("open");
        let pid = s.backend_pid().expect("pid");
        assert!(s.wait_for_change(Duration::from_millis(1)).expect("listen"));
        let mut admin = raw(db.url());
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .expect("terminate");
        std::thread::sleep(Duration::from_millis(200));
        match s.head_seq() {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("expected Unavailable after the kill, got {other:?}"),
        }
        // The listener noticed too: the caller is told to poll, then it listens again.
        assert!(s.wait_for_change(Duration::from_millis(100)).expect("wait"));
        assert_eq!(s.head_seq().expect("reconnected"), 0);
        assert_ne!(s.backend_pid().expect("pid"), pid);
        let out = s
            .write_consents(&upserts(&records(5, 3)), &cat(), &meta("t"))
            .expect("write after reconnect");
        assert!(out.change_seq.is_some());
    }

    /// Waits until some session of this database waits on a lock.
    fn wait_for_lock_waiter(admin: &mut Client) {
        for _ in 0..500 {
            let n = count(
                admin,
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            );
            if n > 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the writer never blocked");
    }

    #[test]
    fn a_change_that_commits_late_is_not_lost() {
        let Some(db) = postgres_or_skip("a_change_that_commits_late_is_not_lost") else {
            return;
        };
        let rs = records(6, 10);
        let (x, y) = (rs[0], rs[rs.len() - 1]);
        let mut loader = PostgresStore::open(db.url()).expect("open");
        loader
            .write_consents(&upserts(&[x]), &cat(), &meta("setup"))
            .expect("x v1");
        let (mut state, full) = load(&mut loader);
        let mut pos = full.position;
        let mut naive_last = pos.last_seq;

        // C locks X's row; A's write of X takes its sequence number, then waits for the lock.
        let mut c = raw(db.url());
        let mut lock = c.transaction().expect("tx");
        lock.execute("SELECT 1 FROM consents FOR UPDATE", &[])
            .expect("row lock");
        let mut x2 = x;
        x2.choice = if x.choice == Choice::No {
            Choice::Yes
        } else {
            Choice::No
        };
        let url = db.url().to_string();
        let a = std::thread::spawn(move || {
            let mut s = PostgresStore::open(&url).expect("open");
            s.write_consents(&upserts(&[x2]), &cat(), &meta("A"))
                .expect("A")
        });
        let mut admin = raw(db.url());
        wait_for_lock_waiter(&mut admin);

        // B writes Y with a higher sequence number and commits first.
        let mut b = PostgresStore::open(db.url()).expect("open");
        let yb = b
            .write_consents(&upserts(&[y]), &cat(), &meta("B"))
            .expect("B");
        let batch = loader.changes_since(&pos, &cat(), 100).expect("changes");
        assert_eq!(batch.entries, 1);
        assert_eq!(batch.changes, vec![LoadedChange::Upsert(y)]);
        apply(&mut state, &batch);
        pos = batch.position;
        // The naive reader advances past B's sequence number.
        let naive: Vec<i64> = admin
            .query(
                "SELECT seq FROM change_log WHERE seq > $1 ORDER BY seq",
                &[&naive_last],
            )
            .expect("naive")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(naive, vec![yb.change_seq.expect("seq")]);
        naive_last = *naive.last().expect("one");

        // A commits (with the lower sequence number).
        lock.commit().expect("release");
        let xa = a.join().expect("A thread");
        let x_seq = xa.change_seq.expect("A wrote");
        assert!(x_seq < naive_last, "A took its number before B");
        let batch = loader.changes_since(&pos, &cat(), 100).expect("changes");
        assert_eq!(batch.entries, 1);
        assert_eq!(batch.changes, vec![LoadedChange::Upsert(x2)]);
        apply(&mut state, &batch);
        assert_eq!(state, load(&mut loader).0);
        // ... which the naive reader misses.
        let naive_after = count(
            &mut admin,
            &format!("SELECT count(*) FROM change_log WHERE seq > {naive_last}"),
        );
        assert_eq!(naive_after, 0, "the naive reader never sees A's change");
        let again = loader
            .changes_since(&batch.position, &cat(), 100)
            .expect("changes");
        assert_eq!(again.entries, 0);
    }

    #[test]
    fn concurrent_writers_and_a_tailing_reader_agree_with_a_full_load() {
        let Some(db) =
            postgres_or_skip("concurrent_writers_and_a_tailing_reader_agree_with_a_full_load")
        else {
            return;
        };
        let pool = records(7, 40);
        let mut loader = PostgresStore::open(db.url()).expect("open");
        let (mut state, full) = load(&mut loader);
        let mut pos = full.position;
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let url = db.url().to_string();
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut s = PostgresStore::open(&url).expect("open");
                    let mut rng = w * 7919 + 1;
                    let mut next = move |n: usize| {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        (rng % n as u64) as usize
                    };
                    for round in 0..60 {
                        let mut batch = Vec::new();
                        for _ in 0..1 + next(4) {
                            let mut r = pool[next(pool.len())];
                            if next(5) == 0 {
                                batch.push(ConsentChange::Remove {
                                    bsn: r.bsn,
                                    key: r.key(),
                                });
                            } else {
                                r.recorded_at += (w * 1000 + round) as i64;
                                batch.push(ConsentChange::Upsert(r));
                            }
                        }
                        loop {
                            match s.write_consents(&batch, &cat(), &meta("w")) {
                                Ok(_) => break,
                                // Deadlocks between writers are transient: retry.
                                Err(StoreError::Unavailable(_)) => continue,
                                Err(e) => panic!("write: {e}"),
                            }
                        }
                    }
                })
            })
            .collect();
        let mut entries = 0;
        let mut calls = 0;
        let all_done = {
            let done = done.clone();
            std::thread::spawn(move || {
                for w in writers {
                    w.join().expect("writer");
                }
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            })
        };
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let batch = loader.changes_since(&pos, &cat(), 1000).expect("changes");
            entries += batch.entries;
            calls += 1;
            apply(&mut state, &batch);
            pos = batch.position;
            if finished {
                break;
            }
        }
        all_done.join().expect("joined");
        let (full_state, _) = load(&mut loader);
        assert_eq!(state, full_state);
        let mut c = raw(db.url());
        assert_eq!(
            entries as i64,
            count(&mut c, "SELECT count(*) FROM change_log"),
            "every entry seen exactly once ({calls} reads)"
        );
        assert!(calls > 2, "the reader interleaved with the writers");
    }

    /// Pages big snapshot intervals with small limits while writers keep committing (and keep
    /// re-tagging rows that earlier pages of the same interval covered): every entry is counted
    /// once, pages never exceed the limit, and the applied changes equal a full load.
    #[test]
    fn paging_an_interval_under_concurrent_writes_is_exact() {
        let Some(db) = postgres_or_skip("paging_an_interval_under_concurrent_writes_is_exact")
        else {
            return;
        };
        let pool = records(8, 25);
        let mut loader = PostgresStore::open(db.url()).expect("open");
        let (mut state, full) = load(&mut loader);
        let mut pos = full.position;
        // A backlog of single-record writes: the first interval holds all of them.
        let mut w = PostgresStore::open(db.url()).expect("open");
        for (i, r) in pool.iter().cycle().take(150).enumerate() {
            let mut r = *r;
            r.recorded_at += i as i64;
            w.write_consents(&[ConsentChange::Upsert(r)], &cat(), &meta("backlog"))
                .expect("backlog");
        }
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..3u64)
            .map(|w| {
                let url = db.url().to_string();
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut s = PostgresStore::open(&url).expect("open");
                    for round in 0..80u64 {
                        let r = pool[((round * 7 + w * 13) % pool.len() as u64) as usize];
                        let change = if round % 6 == 5 {
                            ConsentChange::Remove {
                                bsn: r.bsn,
                                key: r.key(),
                            }
                        } else {
                            let mut r = r;
                            r.recorded_at += (1000 + w * 100 + round) as i64;
                            ConsentChange::Upsert(r)
                        };
                        loop {
                            match s.write_consents(&[change], &cat(), &meta("w")) {
                                Ok(_) => break,
                                Err(StoreError::Unavailable(_)) => continue,
                                Err(e) => panic!("write: {e}"),
                            }
                        }
                    }
                })
            })
            .collect();
        let all_done = {
            let done = done.clone();
            std::thread::spawn(move || {
                for w in writers {
                    w.join().expect("writer");
                }
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            })
        };
        let (mut entries, mut continued, mut calls) = (0u64, 0u64, 0u64);
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let limit = 1 + (calls % 5) as usize;
            let batch = loader.changes_since(&pos, &cat(), limit).expect("page");
            assert!(batch.entries <= limit as u64, "{} > {limit}", batch.entries);
            if pos.token.contains('/') {
                continued += 1;
            }
            entries += batch.entries;
            calls += 1;
            apply(&mut state, &batch);
            pos = batch.position;
            // Writers done and the last interval read to its end.
            if finished && batch.entries == 0 && !pos.token.contains('/') {
                break;
            }
        }
        all_done.join().expect("joined");
        assert!(continued >= 30, "intervals were paged ({continued} pages)");
        let (full_state, _) = load(&mut loader);
        assert_eq!(state, full_state);
        let mut c = raw(db.url());
        assert_eq!(
            entries as i64,
            count(&mut c, "SELECT count(*) FROM change_log"),
            "every entry seen exactly once ({calls} pages)"
        );
        // An older, plain snapshot token still reads: it is a finished interval.
        let plain = pos.token.clone();
        assert!(is_snapshot_text(&plain));
        let bad = Position {
            last_seq: 0,
            token: format!("{plain}/x/1"),
        };
        assert!(matches!(
            loader.changes_since(&bad, &cat(), 10),
            Err(StoreError::Invalid(_))
        ));
    }

    /// The shared store contract (`store::contract`), each check in its own throw-away database.
    #[test]
    fn the_store_contract_holds() {
        if postgres_or_skip("the_store_contract_holds").is_none() {
            return;
        }
        crate::store::contract::run_all(&mut || {
            let db = postgres_or_skip("the_store_contract_holds").expect("server answered above");
            let url = db.url().to_string();
            Box::new(move || -> Box<dyn Store> {
                let _keep_database_alive = &db;
                match PostgresStore::open(&url) {
                    Ok(s) => Box::new(s),
                    Err(e) => panic!("open: {e}"),
                }
            })
        });
    }
}
