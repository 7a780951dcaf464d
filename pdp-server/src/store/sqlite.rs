//! SQLite store: the embedded default. One file, the bundled SQLite library, no server.
//!
//! # Sharing one file
//!
//! Several processes may open the same file (two Akkoord nodes, an importer): the connection
//! runs in WAL mode, so readers never block the writer and the writer never blocks readers, with
//! `synchronous=NORMAL` (durable up to the last checkpointed commit on power loss, never
//! corrupt — the usual WAL trade-off) and a busy timeout ([`DEFAULT_BUSY_TIMEOUT`]) so a writer
//! waits for another process's write transaction instead of failing at once. A lock still held
//! after the timeout is reported as [`StoreError::Unavailable`]: transient, retry.
//!
//! With `synchronous=NORMAL` a commit is not `fsync`ed; the WAL is synced before each checkpoint.
//! A connection that imports checkpoints every [`IMPORT_WAL_AUTOCHECKPOINT`] pages (256 MiB of
//! WAL, a few batches of a large import) instead of every 4 MiB, so a power failure during an
//! import can lose that many committed batches — and any other connection's commits in the same
//! window. The file stays consistent (the WAL is replayed up to its last intact frame), and for
//! the import the loss is harmless: each batch's `import_progress` row commits in the same
//! transaction as its rows, so the lost tail is exactly the lines a resumed import reads again,
//! and re-importing them is idempotent.
//!
//! Every writing method starts with `BEGIN IMMEDIATE`, taking the write lock before it reads
//! anything. A deferred transaction that reads first and then writes can fail with `SQLITE_BUSY`
//! without waiting (its snapshot may be stale), so writes never upgrade.
//!
//! # Why reading the log by sequence number is safe here
//!
//! SQLite has one writer at a time: the database's write lock is taken by `BEGIN IMMEDIATE` and
//! held until commit. A write takes its sequence number (one more than the highest ever handed
//! out) *inside* that transaction, so no other write can take a number, let alone commit one,
//! until it has committed or rolled back. Sequence order is therefore commit order, and once a
//! reader's snapshot contains entry `n` it contains every entry below `n` that will ever exist.
//! [`Store::changes_since`] can thus read "entries with `seq > last`" and the consent rows whose
//! `change_seq` lies in the range it covers, in one read transaction (one snapshot), and never
//! miss or repeat a change. (PostgreSQL lets transactions commit out of order; see
//! [`super::postgres`].)
//!
//! A write that changes nothing writes no log entry: the number it reserved is simply not
//! written and is handed out again by the next write, so the log has no gaps from idempotent
//! writes.
//!
//! # Speed
//!
//! Measured with `examples/store_import_rate.rs` (batches of 20 000 generated records, on a
//! shared 2-core machine, so figures are per CPU-second of the calling thread as well as wall
//! time): `import_batch` ≈ 350 000 rows per CPU-second at 5 million rows (≈ 500 000 at 1
//! million), `load_all` ≈ 1 800 000 rows per CPU-second. Larger batches (100 000) measured no
//! faster. What makes it fast:
//!
//! - The consents table is `WITHOUT ROWID`, clustered on its key: a row is one entry in the
//!   table's B-tree plus one in the `change_seq` index.
//! - An import batch is sorted by key first (one sweep over the B-tree instead of random
//!   inserts) and inserts new keys with one statement each (`INSERT … ON CONFLICT DO NOTHING`;
//!   a plain `INSERT` in a savepoint with the upsert as fallback measured slower).
//! - Its key texts are encoded into one buffer per batch and bound from there, with no
//!   allocation per record (≈ +10–20% rows per CPU-second).
//! - The importing connection gets a larger page cache and checkpoints less often
//!   ([`IMPORT_CACHE_KIB`], [`IMPORT_WAL_AUTOCHECKPOINT`]; ≈ +5–10% per CPU-second, more in
//!   wall time: fewer checkpoints, `fsync`s and page reads through the OS).
//!
//! What remains is SQLite's own B-tree and WAL work: citizens' BSNs are spread over the whole
//! key range, so every batch dirties a large share of the table's leaf pages.
//!
//! # Schema
//!
//! The tables of the module docs of [`super`], created by [`MIGRATIONS`]; `schema_migrations`
//! records which were applied. A file whose schema is newer than this binary is refused rather
//! than half-understood.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior};

use super::codec::{self, ConsentRow, KeyRow, RowRef};
use super::*;
use std::ops::Range;

/// How long a writer waits for another connection's write lock before reporting
/// [`StoreError::Unavailable`]. Imports commit batches of tens of thousands of rows, which take
/// well under a second, so several seconds leave a wide margin.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`Store::wait_for_change`] looks at `PRAGMA data_version`.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// [`Store::load_all`] reports progress after this many rows.
const PROGRESS_EVERY: u64 = 1_000_000;

/// Page cache of a connection once it has imported (KiB, as `PRAGMA cache_size` takes it
/// negated): 1 GiB holds every page of a 5-million-row table (≈ 1.1 GB), so a batch's random
/// inserts find their leaf pages in the cache instead of reading them back through the OS.
/// Allocated only as pages are used, and only on the importing connection; serving connections
/// keep the smaller default of [`SqliteStore::open`].
pub const IMPORT_CACHE_KIB: i64 = 1 << 20;

/// WAL size (pages) at which an importing connection checkpoints, instead of SQLite's 1 000.
/// Citizens' BSNs are spread over the key range, so every batch dirties a large share of the
/// table's leaf pages and consecutive batches dirty mostly the same ones. A checkpoint copies
/// each page once, however many batches rewrote it since the last one, so checkpointing every
/// 256 MiB of WAL instead of every 4 MiB writes far fewer pages (and `fsync`s far less often)
/// into the database file. Readers are not affected beyond a larger WAL index. The WAL is
/// checkpointed when the importing connection closes ([`Drop`]), and the file shrinks back to
/// `journal_size_limit` when a writer next starts it over. The price is a longer window of
/// commits that a power failure can undo (see the module docs).
pub const IMPORT_WAL_AUTOCHECKPOINT: i64 = 65_536;

/// The schema migrations, in order: `(version, SQL)`. Each is applied once, in its own
/// transaction, and recorded in `schema_migrations`. Never edit a released migration; add one.
pub const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "CREATE TABLE consents (
        bsn INTEGER NOT NULL,
        holder TEXT NOT NULL,
        data_category TEXT NOT NULL,
        consulting TEXT NOT NULL,
        choice TEXT NOT NULL,
        valid_from INTEGER,
        valid_until INTEGER,
        minor TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        catalogue_version INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        change_seq INTEGER NOT NULL,
        PRIMARY KEY (bsn, holder, data_category, consulting)
    ) WITHOUT ROWID;
    CREATE INDEX consents_change_seq ON consents (change_seq);
    CREATE TABLE change_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        committed_at INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('consents', 'import', 'policy')),
        author TEXT NOT NULL,
        records INTEGER NOT NULL,
        summary TEXT NOT NULL
    );
    CREATE TABLE policies (
        policy_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        xml TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        active INTEGER NOT NULL DEFAULT 0,
        change_seq INTEGER NOT NULL,
        PRIMARY KEY (policy_id, revision)
    );
    CREATE UNIQUE INDEX policies_one_active ON policies (policy_id) WHERE active = 1;
    CREATE TABLE loader_progress (
        node TEXT PRIMARY KEY,
        position TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE import_progress (
        file_id TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        lines_done INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );",
)];

/// The newest schema version this binary knows.
pub fn latest_schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// One connection to a SQLite store file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// `PRAGMA data_version` when last looked at: it changes when another connection commits.
    data_version: i64,
    /// Whether this connection was set up for bulk import ([`IMPORT_CACHE_KIB`],
    /// [`IMPORT_WAL_AUTOCHECKPOINT`]) by its first [`Store::import_batch`].
    importing: bool,
}

impl Drop for SqliteStore {
    /// An importing connection leaves up to [`IMPORT_WAL_AUTOCHECKPOINT`] pages in the WAL.
    /// Checkpointing them here makes the importer pay for its own writes, rather than the next
    /// write of a serving connection (whose autocheckpoint would otherwise copy them). Best
    /// effort: `PASSIVE` never waits for readers, and whatever it cannot copy is copied by a
    /// later checkpoint; an error here cannot be reported and loses nothing.
    fn drop(&mut self) {
        if self.importing {
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(format!(
                    "the SQLite database is locked by another connection for longer than the busy \
                     timeout ({e}); retry later, or look for a process holding a long transaction"
                ))
            }
            Some(ErrorCode::SystemIoFailure) => StoreError::Unavailable(format!(
                "I/O error on the SQLite database ({e}); check the disk and retry"
            )),
            _ => StoreError::Database(e.to_string()),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A text column, borrowed from the row (no allocation).
fn text<'r>(row: &'r Row<'_>, i: usize, name: &str) -> Result<&'r str, String> {
    match row.get_ref(i) {
        Ok(ValueRef::Text(bytes)) => {
            std::str::from_utf8(bytes).map_err(|_| format!("column {name} is not valid UTF-8"))
        }
        Ok(_) => Err(format!("column {name} is not text")),
        Err(e) => Err(format!("column {name}: {e}")),
    }
}

fn integer(row: &Row<'_>, i: usize, name: &str) -> Result<i64, String> {
    match row.get_ref(i) {
        Ok(ValueRef::Integer(v)) => Ok(v),
        Ok(_) => Err(format!("column {name} is not an integer")),
        Err(e) => Err(format!("column {name}: {e}")),
    }
}

fn opt_integer(row: &Row<'_>, i: usize, name: &str) -> Result<Option<i64>, String> {
    match row.get_ref(i) {
        Ok(ValueRef::Integer(v)) => Ok(Some(v)),
        Ok(ValueRef::Null) => Ok(None),
        Ok(_) => Err(format!("column {name} is not an integer or NULL")),
        Err(e) => Err(format!("column {name}: {e}")),
    }
}

/// The consent columns in the order [`row_ref`] reads them, starting at `at`.
const CONSENT_COLUMNS: &str = "bsn, holder, data_category, consulting, choice, valid_from, \
     valid_until, minor, recorded_by, catalogue_version, recorded_at";

/// The consent columns of a row (selected as [`CONSENT_COLUMNS`] from column `at` on), borrowed.
fn row_ref<'r>(row: &'r Row<'_>, at: usize) -> Result<RowRef<'r>, String> {
    Ok(RowRef {
        bsn: integer(row, at, "bsn")?,
        holder: text(row, at + 1, "holder")?,
        data_category: text(row, at + 2, "data_category")?,
        consulting: text(row, at + 3, "consulting")?,
        choice: text(row, at + 4, "choice")?,
        valid_from: opt_integer(row, at + 5, "valid_from")?,
        valid_until: opt_integer(row, at + 6, "valid_until")?,
        minor: text(row, at + 7, "minor")?,
        recorded_by: text(row, at + 8, "recorded_by")?,
        catalogue_version: integer(row, at + 9, "catalogue_version")?,
        recorded_at: integer(row, at + 10, "recorded_at")?,
    })
}

/// Inserts a new key; does nothing (0 rows) when the key exists, live or tombstone.
const INSERT_NEW: &str = "INSERT INTO consents (bsn, holder, data_category, consulting, choice, \
     valid_from, valid_until, minor, recorded_by, catalogue_version, recorded_at, deleted, \
     change_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12) \
     ON CONFLICT (bsn, holder, data_category, consulting) DO NOTHING";

/// For an existing key: whether it is a tombstone, and whether its content equals the row's
/// (`IS` compares NULLs as equal).
const SELECT_EXISTING: &str = "SELECT deleted, (choice IS ?5 AND valid_from IS ?6 AND \
     valid_until IS ?7 AND minor IS ?8 AND recorded_by IS ?9 AND catalogue_version IS ?10 AND \
     recorded_at IS ?11) FROM consents \
     WHERE bsn = ?1 AND holder = ?2 AND data_category = ?3 AND consulting = ?4";

const UPDATE_ROW: &str = "UPDATE consents SET choice = ?5, valid_from = ?6, valid_until = ?7, \
     minor = ?8, recorded_by = ?9, catalogue_version = ?10, recorded_at = ?11, deleted = 0, \
     change_seq = ?12 WHERE bsn = ?1 AND holder = ?2 AND data_category = ?3 AND consulting = ?4";

const REMOVE_ROW: &str = "UPDATE consents SET deleted = 1, change_seq = ?5 \
     WHERE bsn = ?1 AND holder = ?2 AND data_category = ?3 AND consulting = ?4 AND deleted = 0";

/// What one row write did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RowWrite {
    Inserted,
    Updated,
    Unchanged,
}

/// Counts of one write, and the entry that will carry them.
#[derive(Default)]
struct Tally {
    inserted: u64,
    updated: u64,
    unchanged: u64,
    removed: u64,
}

impl Tally {
    fn add(&mut self, w: RowWrite) {
        match w {
            RowWrite::Inserted => self.inserted += 1,
            RowWrite::Updated => self.updated += 1,
            RowWrite::Unchanged => self.unchanged += 1,
        }
    }

    fn changed(&self) -> u64 {
        self.inserted + self.updated + self.removed
    }

    fn outcome(&self, change_seq: Option<i64>) -> WriteOutcome {
        WriteOutcome {
            change_seq,
            inserted: self.inserted,
            updated: self.updated,
            unchanged: self.unchanged,
            removed: self.removed,
        }
    }
}

/// The row statements of one write, prepared once per call.
struct RowStatements<'c> {
    insert_new: rusqlite::CachedStatement<'c>,
    select_existing: rusqlite::CachedStatement<'c>,
    update_row: rusqlite::CachedStatement<'c>,
    remove_row: rusqlite::CachedStatement<'c>,
}

impl<'c> RowStatements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<RowStatements<'c>> {
        Ok(RowStatements {
            insert_new: conn.prepare_cached(INSERT_NEW)?,
            select_existing: conn.prepare_cached(SELECT_EXISTING)?,
            update_row: conn.prepare_cached(UPDATE_ROW)?,
            remove_row: conn.prepare_cached(REMOVE_ROW)?,
        })
    }

    /// Upserts one row under change `seq`, touching it only when it differs (or is a
    /// tombstone). The common case of an import — a new key — costs one statement.
    fn upsert(&mut self, row: &RowRef<'_>, seq: i64) -> rusqlite::Result<RowWrite> {
        let values = params![
            row.bsn,
            row.holder,
            row.data_category,
            row.consulting,
            row.choice,
            row.valid_from,
            row.valid_until,
            row.minor,
            row.recorded_by,
            row.catalogue_version,
            row.recorded_at,
            seq,
        ];
        if self.insert_new.execute(values)? == 1 {
            return Ok(RowWrite::Inserted);
        }
        let (deleted, same): (bool, bool) = self
            .select_existing
            .query_row(&values[..11], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if !deleted && same {
            return Ok(RowWrite::Unchanged);
        }
        self.update_row.execute(values)?;
        Ok(if deleted {
            RowWrite::Inserted
        } else {
            RowWrite::Updated
        })
    }

    /// Turns a live row into a tombstone under change `seq`; `false` when there was no live
    /// row.
    fn remove(&mut self, key: &KeyRow, seq: i64) -> rusqlite::Result<bool> {
        let n = self.remove_row.execute(params![
            key.bsn,
            key.holder,
            key.data_category,
            key.consulting,
            seq
        ])?;
        Ok(n == 1)
    }
}

/// The sequence number the next change-log entry gets. Only meaningful inside a write
/// transaction (which holds the write lock, so nobody else can take it): AUTOINCREMENT never
/// reuses a number that was committed, and `sqlite_sequence` holds the highest one.
fn next_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'change_log'), 0) + 1",
        [],
        |r| r.get(0),
    )
}

fn append_log(
    conn: &Connection,
    seq: i64,
    kind: &str,
    records: u64,
    meta: &ChangeMeta,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO change_log (seq, committed_at, kind, author, records, summary) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        seq,
        now_ms(),
        kind,
        meta.author,
        to_i64(records),
        meta.summary
    ])?;
    Ok(())
}

const POLICY_COLUMNS: &str = "policy_id, revision, xml, author, created_at, active";

fn policy_from(r: &Row<'_>) -> rusqlite::Result<StoredPolicy> {
    Ok(StoredPolicy {
        policy_id: r.get(0)?,
        revision: r.get(1)?,
        xml: r.get(2)?,
        author: r.get(3)?,
        created_at: r.get(4)?,
        active: r.get(5)?,
    })
}

fn active_policies_in(conn: &Connection) -> rusqlite::Result<Vec<StoredPolicy>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE active = 1 ORDER BY policy_id"
    ))?;
    let rows = stmt.query_map([], policy_from)?;
    rows.collect()
}

fn head_seq_in(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM change_log", [], |r| {
        r.get(0)
    })
}

fn position_at(seq: i64) -> Position {
    Position {
        last_seq: seq,
        token: seq.to_string(),
    }
}

/// One change, encoded as row text (borrowed, so that imports bind from one shared buffer).
enum Encoded<'a> {
    Upsert(RowRef<'a>),
    Remove(&'a KeyRow),
}

/// One change, encoded as owned row text ([`Store::write_consents`]).
enum OwnedChange {
    Upsert(ConsentRow),
    Remove(KeyRow),
}

/// One record of an import batch with its key columns encoded: the holder and consulting texts
/// are ranges of the batch's shared text buffer ([`encode_batch`]), the data category code is
/// borrowed from the catalogue.
struct BatchRow<'r, 'c> {
    bsn: i64,
    holder: Range<usize>,
    data_category: &'c str,
    consulting: Range<usize>,
    record: &'r ConsentRecord,
}

/// Encodes an import batch's key columns into one text buffer, with no allocation per record
/// (three strings and a vector per record before; the allocator's work showed up in import
/// profiles), and
/// sorts the rows by key. Key order turns a batch's random B-tree inserts into one sweep over
/// the table's pages. The sort is stable, so of two rows with one key the later still wins.
fn encode_batch<'r, 'c>(
    records: &'r [ConsentRecord],
    catalogue: &'c Catalogue,
    text: &mut String,
) -> Result<Vec<BatchRow<'r, 'c>>, StoreError> {
    text.clear();
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let key = record.key();
        let encoded = (|| {
            let start = text.len();
            codec::write_holder(text, key.holder, catalogue)?;
            let holder = start..text.len();
            codec::write_consulting(text, key.consulting, catalogue)?;
            let consulting = holder.end..text.len();
            let data_category = codec::data_category_text(&key, catalogue)?;
            Ok(BatchRow {
                bsn: i64::from(record.bsn.get()),
                holder,
                data_category,
                consulting,
                record,
            })
        })();
        rows.push(encoded.map_err(|e| unencodable(e, catalogue))?);
    }
    let text: &str = text;
    rows.sort_by(|a, b| {
        (
            a.bsn,
            &text[a.holder.clone()],
            a.data_category,
            &text[a.consulting.clone()],
        )
            .cmp(&(
                b.bsn,
                &text[b.holder.clone()],
                b.data_category,
                &text[b.consulting.clone()],
            ))
    });
    Ok(rows)
}

fn unencodable(e: codec::CodecError, catalogue: &Catalogue) -> StoreError {
    StoreError::Invalid(format!(
        "a change cannot be stored with catalogue {}: {e}; nothing was written",
        catalogue.version()
    ))
}

fn encode_row(record: &ConsentRecord, catalogue: &Catalogue) -> Result<ConsentRow, StoreError> {
    codec::encode(record, catalogue).map_err(|e| unencodable(e, catalogue))
}

fn newer_schema(path: &Path, current: i64, latest: i64) -> StoreError {
    StoreError::Schema(format!(
        "SQLite database {} has schema version {current}, but this akkoord knows only up to \
         version {latest}: a newer akkoord wrote it. Run the newer akkoord, or restore a backup \
         made for this version",
        path.display()
    ))
}

impl SqliteStore {
    /// Opens (creating if missing) the store file at `path`, sets it up for sharing between
    /// processes (see the module docs) and applies pending schema migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(|e| match StoreError::from(e) {
            StoreError::Database(m) => StoreError::Unavailable(format!(
                "cannot open SQLite database {}: {m}; check that the directory exists and is \
                 writable",
                path.display()
            )),
            other => other,
        })?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)?;
        // WAL is persistent in the file; setting it again is cheap. It returns the mode.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "SQLite database {} refused WAL mode (got `{mode}`); it must be on a local file \
                 system, not in memory or on a network share",
                path.display()
            )));
        }
        // A 128 MiB page cache (allocated only as used) keeps the upper B-tree levels of a
        // national table in memory during imports; journal_size_limit shrinks the WAL back to
        // 64 MiB after a checkpoint, since an import's batches grow it well beyond that.
        // (Measured without effect on import speed, so left at their defaults: mmap_size and
        // wal_autocheckpoint.)
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = -131072;
             PRAGMA journal_size_limit = 67108864;
             PRAGMA temp_store = MEMORY;",
        )?;
        conn.set_prepared_statement_cache_capacity(32);
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            data_version: 0,
            importing: false,
        };
        store.migrate()?;
        store.data_version = store.read_data_version()?;
        Ok(store)
    }

    /// The file this connection is on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes how long a writer waits for another connection's lock (default
    /// [`DEFAULT_BUSY_TIMEOUT`]).
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), StoreError> {
        Ok(self.conn.busy_timeout(timeout)?)
    }

    /// The schema version of the file (the highest applied migration).
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let latest = latest_schema_version();
        for (version, sql) in MIGRATIONS {
            // One transaction per migration, taken with the write lock so that two processes
            // opening a new file at once apply each migration exactly once.
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    applied_at INTEGER NOT NULL
                )",
            )?;
            let current: i64 = tx.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )?;
            if current > latest {
                return Err(newer_schema(&self.path, current, latest));
            }
            if current >= *version {
                tx.commit()?;
                continue;
            }
            tx.execute_batch(sql).map_err(|e| {
                StoreError::Schema(format!(
                    "migration {version} of SQLite database {} failed: {e}; the file was left \
                     at version {current}",
                    self.path.display()
                ))
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, now_ms()],
            )?;
            tx.commit()?;
        }
        // Also refuse a newer file when every known migration was already applied.
        let current = self.schema_version()?;
        if current > latest {
            return Err(newer_schema(&self.path, current, latest));
        }
        Ok(())
    }

    /// Sets this connection up for bulk import, once (see [`IMPORT_CACHE_KIB`] and
    /// [`IMPORT_WAL_AUTOCHECKPOINT`]).
    fn prepare_for_import(&mut self) -> Result<(), StoreError> {
        if !self.importing {
            self.conn
                .execute_batch(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))?;
            // This pragma returns the new value as a row, so it cannot go through execute_batch.
            self.conn.query_row(
                &format!("PRAGMA wal_autocheckpoint = {IMPORT_WAL_AUTOCHECKPOINT}"),
                [],
                |_| Ok(()),
            )?;
            self.importing = true;
        }
        Ok(())
    }

    fn read_data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Writes encoded changes, in the caller's order, under one new change-log entry; shared by
    /// both write methods.
    fn write_rows(
        &mut self,
        ops: &[Encoded<'_>],
        kind: &str,
        progress: Option<&ImportProgress>,
        meta: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq = next_seq(&tx)?;
        let mut tally = Tally::default();
        {
            let mut statements = RowStatements::prepare(&tx)?;
            for op in ops {
                match op {
                    Encoded::Upsert(row) => tally.add(statements.upsert(row, seq)?),
                    Encoded::Remove(key) => {
                        if statements.remove(key, seq)? {
                            tally.removed += 1;
                        }
                    }
                }
            }
        }
        if let Some(p) = progress {
            tx.prepare_cached(
                "INSERT INTO import_progress (file_id, path, lines_done, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (file_id) DO UPDATE SET \
                 path = excluded.path, lines_done = excluded.lines_done, \
                 updated_at = excluded.updated_at",
            )?
            .execute(params![p.file_id, p.path, to_i64(p.lines_done), now_ms()])?;
        }
        let change_seq = if tally.changed() > 0 {
            append_log(&tx, seq, kind, tally.changed(), meta)?;
            Some(seq)
        } else {
            None
        };
        if change_seq.is_none() && progress.is_none() {
            // Nothing written at all: end the transaction without a commit record.
            tx.rollback()?;
        } else {
            tx.commit()?;
        }
        Ok(tally.outcome(change_seq))
    }

    /// A policy write: one change-log entry of kind `policy` in the same transaction.
    fn policy_tx<T>(
        &mut self,
        meta: &ChangeMeta,
        body: impl FnOnce(&Connection, i64) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq = next_seq(&tx)?;
        match body(&tx, seq)? {
            Some(v) => {
                append_log(&tx, seq, "policy", 1, meta)?;
                tx.commit()?;
                Ok(Some(v))
            }
            None => {
                tx.rollback()?;
                Ok(None)
            }
        }
    }
}

impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn write_consents(
        &mut self,
        changes: &[ConsentChange],
        catalogue: &Catalogue,
        meta: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError> {
        // Encode everything before taking the write lock: a record this catalogue cannot
        // encode fails the call without touching the file, and the lock is held only for SQL.
        let owned = changes
            .iter()
            .map(|change| match change {
                ConsentChange::Upsert(r) => encode_row(r, catalogue).map(OwnedChange::Upsert),
                ConsentChange::Remove { bsn, key } => codec::encode_key(*bsn, key, catalogue)
                    .map(OwnedChange::Remove)
                    .map_err(|e| unencodable(e, catalogue)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ops: Vec<Encoded<'_>> = owned
            .iter()
            .map(|change| match change {
                OwnedChange::Upsert(row) => Encoded::Upsert(row.borrowed()),
                OwnedChange::Remove(key) => Encoded::Remove(key),
            })
            .collect();
        self.write_rows(&ops, "consents", None, meta)
    }

    fn import_batch(
        &mut self,
        records: &[ConsentRecord],
        catalogue: &Catalogue,
        progress: &ImportProgress,
        meta: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError> {
        self.prepare_for_import()?;
        let mut text = String::new();
        let rows = encode_batch(records, catalogue, &mut text)?;
        let ops: Vec<Encoded<'_>> = rows
            .iter()
            .map(|row| {
                let r = row.record;
                Encoded::Upsert(RowRef {
                    bsn: row.bsn,
                    holder: &text[row.holder.clone()],
                    data_category: row.data_category,
                    consulting: &text[row.consulting.clone()],
                    choice: codec::choice_code(r.choice),
                    valid_from: r.valid_from,
                    valid_until: r.valid_until,
                    minor: codec::minor_code(r.minor),
                    recorded_by: r.recorded_by.code(),
                    catalogue_version: i64::from(r.catalogue_version),
                    recorded_at: r.recorded_at,
                })
            })
            .collect();
        self.write_rows(&ops, "import", Some(progress), meta)
    }

    fn import_lines_done(&mut self, file_id: &str) -> Result<u64, StoreError> {
        let n: Option<i64> = self
            .conn
            .query_row(
                "SELECT lines_done FROM import_progress WHERE file_id = ?1",
                [file_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    fn put_policy(
        &mut self,
        policy_id: &str,
        xml: &str,
        activate: bool,
        meta: &ChangeMeta,
    ) -> Result<i64, StoreError> {
        let revision = self.policy_tx(meta, |tx, seq| {
            let revision: i64 = tx.query_row(
                "SELECT COALESCE(MAX(revision), 0) + 1 FROM policies WHERE policy_id = ?1",
                [policy_id],
                |r| r.get(0),
            )?;
            if activate {
                tx.execute(
                    "UPDATE policies SET active = 0 WHERE policy_id = ?1 AND active = 1",
                    [policy_id],
                )?;
            }
            tx.execute(
                "INSERT INTO policies (policy_id, revision, xml, author, created_at, active, \
                 change_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    policy_id,
                    revision,
                    xml,
                    meta.author,
                    now_ms(),
                    activate,
                    seq
                ],
            )?;
            Ok(Some(revision))
        })?;
        revision.ok_or_else(|| StoreError::Database("policy insert wrote nothing".into()))
    }

    fn activate_policy(
        &mut self,
        policy_id: &str,
        revision: i64,
        meta: &ChangeMeta,
    ) -> Result<(), StoreError> {
        self.policy_tx(meta, |tx, seq| {
            let mut stmt = tx.prepare_cached(
                "SELECT revision, active FROM policies WHERE policy_id = ?1 ORDER BY revision",
            )?;
            let revisions = stmt
                .query_map([policy_id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            match revisions.iter().find(|(r, _)| *r == revision) {
                None if revisions.is_empty() => Err(StoreError::Invalid(format!(
                    "no policy `{policy_id}` is stored; store it first (put_policy)"
                ))),
                None => Err(StoreError::Invalid(format!(
                    "policy `{policy_id}` has no revision {revision}; stored revisions: {}",
                    revisions
                        .iter()
                        .map(|(r, _)| r.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
                // Already the active one: nothing to write, no log entry.
                Some((_, true)) => Ok(None),
                Some(_) => {
                    tx.execute(
                        "UPDATE policies SET active = 0 WHERE policy_id = ?1 AND active = 1",
                        [policy_id],
                    )?;
                    tx.execute(
                        "UPDATE policies SET active = 1, change_seq = ?3 \
                         WHERE policy_id = ?1 AND revision = ?2",
                        params![policy_id, revision, seq],
                    )?;
                    Ok(Some(()))
                }
            }
        })?;
        Ok(())
    }

    fn policies(&mut self, with_xml: bool) -> Result<Vec<StoredPolicy>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT policy_id, revision, CASE WHEN ?1 THEN xml ELSE '' END, author, created_at, \
             active FROM policies ORDER BY policy_id, revision",
        )?;
        let rows = stmt.query_map([with_xml], policy_from)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn policy(
        &mut self,
        policy_id: &str,
        revision: i64,
    ) -> Result<Option<StoredPolicy>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {POLICY_COLUMNS} FROM policies WHERE policy_id = ?1 AND revision = ?2"
            ))?
            .query_row(params![policy_id, revision], policy_from)
            .optional()?)
    }

    fn active_policies(&mut self) -> Result<Vec<StoredPolicy>, StoreError> {
        Ok(active_policies_in(&self.conn)?)
    }

    fn load_all(
        &mut self,
        catalogue: &Catalogue,
        sink: &mut RowSink<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FullLoad, StoreError> {
        self.data_version = self.read_data_version()?;
        // A deferred transaction's snapshot starts at its first read and lasts until it ends,
        // so the head, the rows and the policies below are one consistent state.
        let tx = self.conn.transaction()?;
        let last_seq = head_seq_in(&tx)?;
        let mut records = 0u64;
        let mut undecodable = 0u64;
        {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {CONSENT_COLUMNS} FROM consents WHERE deleted = 0"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                match row_ref(row, 0)
                    .and_then(|r| codec::decode_row(&r, catalogue).map_err(|e| e.0))
                {
                    Ok(record) => {
                        records += 1;
                        sink(Ok(record));
                    }
                    Err(reason) => {
                        undecodable += 1;
                        sink(Err(reason));
                    }
                }
                let seen = records + undecodable;
                if seen.is_multiple_of(PROGRESS_EVERY) {
                    progress(seen);
                }
            }
        }
        let policies = active_policies_in(&tx)?;
        tx.commit()?;
        Ok(FullLoad {
            records,
            undecodable,
            policies,
            position: position_at(last_seq),
        })
    }

    fn changes_since(
        &mut self,
        position: &Position,
        catalogue: &Catalogue,
        limit: usize,
    ) -> Result<ChangeBatch, StoreError> {
        let last: i64 = position.token.parse().map_err(|_| {
            StoreError::Invalid(format!(
                "position `{}` is not a SQLite change-log position (was it made by another \
                 store?); do a full load instead",
                position.token
            ))
        })?;
        self.data_version = self.read_data_version()?;
        let tx = self.conn.transaction()?;
        let entries = {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, kind = 'policy' FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![last, to_i64(limit.max(1) as u64)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let Some(&(upto, _)) = entries.last() else {
            tx.commit()?;
            return Ok(ChangeBatch {
                changes: Vec::new(),
                entries: 0,
                position: position.clone(),
            });
        };
        let mut changes: Vec<(i64, LoadedChange)> = Vec::new();
        {
            // The current state of every row a covered entry touched. A row changed again by a
            // later entry (beyond `upto`) carries that entry's number and comes with it.
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT change_seq, deleted, {CONSENT_COLUMNS} FROM consents \
                 WHERE change_seq > ?1 AND change_seq <= ?2 ORDER BY change_seq"
            ))?;
            let mut rows = stmt.query(params![last, upto])?;
            while let Some(row) = rows.next()? {
                let seq = integer(row, 0, "change_seq").unwrap_or(upto);
                let change = match integer(row, 1, "deleted") {
                    Ok(0) => row_ref(row, 2)
                        .and_then(|r| codec::decode_row(&r, catalogue).map_err(|e| e.0))
                        .map(LoadedChange::Upsert),
                    Ok(_) => (|| {
                        let bsn = integer(row, 2, "bsn")?;
                        let holder = text(row, 3, "holder")?;
                        let data_category = text(row, 4, "data_category")?;
                        let consulting = text(row, 5, "consulting")?;
                        codec::decode_key(bsn, holder, data_category, consulting, catalogue)
                            .map(|(bsn, key)| LoadedChange::Remove { bsn, key })
                            .map_err(|e| e.0)
                    })(),
                    Err(e) => Err(e),
                };
                changes.push((
                    seq,
                    change.unwrap_or_else(|reason| LoadedChange::Undecodable {
                        change_seq: seq,
                        reason,
                    }),
                ));
            }
        }
        if let Some(&(policy_seq, _)) = entries.iter().rev().find(|(_, policy)| *policy) {
            changes.push((policy_seq, LoadedChange::Policies(active_policies_in(&tx)?)));
            changes.sort_by_key(|(seq, _)| *seq);
        }
        tx.commit()?;
        Ok(ChangeBatch {
            changes: changes.into_iter().map(|(_, c)| c).collect(),
            entries: entries.len() as u64,
            position: position_at(upto),
        })
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.read_data_version()?;
            if v != self.data_version {
                self.data_version = v;
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            std::thread::sleep(POLL_INTERVAL.min(deadline - now));
        }
    }

    fn head_seq(&mut self) -> Result<i64, StoreError> {
        Ok(head_seq_in(&self.conn)?)
    }

    fn record_progress(&mut self, node: &str, position: &Position) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO loader_progress (node, position, last_seq, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (node) DO UPDATE SET \
                 position = excluded.position, last_seq = excluded.last_seq, \
                 updated_at = excluded.updated_at",
            )?
            .execute(params![node, position.token, position.last_seq, now_ms()])?;
        Ok(())
    }

    /// From the file's size (about 216 bytes a consent row with its indexes), because an exact
    /// count is a scan of its own; only used to size the index before a full load, which
    /// trims any excess afterwards.
    fn estimated_consent_count(&mut self) -> Result<u64, StoreError> {
        let pages: i64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let page_size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok(u64::try_from(pages.saturating_mul(page_size) / 216).unwrap_or(0))
    }

    fn consent_count(&mut self) -> Result<u64, StoreError> {
        let n: i64 =
            self.conn
                .query_row("SELECT COUNT(*) FROM consents WHERE deleted = 0", [], |r| {
                    r.get(0)
                })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::super::contract;
    use super::*;
    use pdp_core::consent::generate::Generator;

    /// A factory of connections to one new store file in a temporary directory (kept alive by
    /// the closure).
    fn fresh() -> Box<contract::Factory<'static>> {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("temporary directory: {e}"),
        };
        Box::new(move || -> Box<dyn Store> {
            match SqliteStore::open(&dir.path().join("store.db")) {
                Ok(s) => Box::new(s),
                Err(e) => panic!("open: {e}"),
            }
        })
    }

    macro_rules! contract_tests {
        ($($name:ident),* $(,)?) => {$(
            #[test]
            fn $name() {
                contract::$name(&mut *fresh());
            }
        )*};
    }

    contract_tests!(
        reopening_keeps_schema_and_data,
        load_all_returns_what_was_written,
        idempotent_writes_leave_no_log_entry,
        write_counts_are_exact,
        removals_are_tombstones,
        changes_since_is_exact_ordered_and_paged,
        policies_keep_every_revision,
        imports_are_idempotent_and_resumable,
        writes_are_visible_to_other_connections,
        wait_for_change_wakes_on_another_commit,
    );

    fn meta() -> ChangeMeta {
        ChangeMeta {
            author: "sqlite-test".into(),
            summary: "test".into(),
        }
    }

    fn records(n: u64) -> Vec<ConsentRecord> {
        let c = contract::catalogue();
        let g = Generator::new(&c, 42, n).expect("generator");
        let mut seen = std::collections::HashSet::new();
        g.records()
            .filter(|r| seen.insert((r.bsn, r.key())))
            .collect()
    }

    #[test]
    fn a_file_from_a_newer_akkoord_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let s = SqliteStore::open(&path).expect("open");
        drop(s);
        let raw = Connection::open(&path).expect("raw");
        raw.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
            [],
        )
        .expect("insert");
        drop(raw);
        match SqliteStore::open(&path) {
            Err(StoreError::Schema(m)) => {
                assert!(m.contains("999") && m.contains("newer akkoord"), "{m}")
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a newer schema was accepted"),
        }
    }

    #[test]
    fn migrations_are_recorded_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        for _ in 0..3 {
            let mut s = SqliteStore::open(&path).expect("open");
            assert_eq!(
                s.schema_version().expect("version"),
                latest_schema_version()
            );
        }
        let raw = Connection::open(&path).expect("raw");
        let n: i64 = raw
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, MIGRATIONS.len() as i64);
        let mode: String = raw
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_held_write_lock_is_waited_for_then_reported_as_unavailable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let c = contract::catalogue();
        let mut s = SqliteStore::open(&path).expect("open");
        let r = records(5);
        // Another process holds the write lock (an importer in the middle of a batch).
        let other = Connection::open(&path).expect("raw");
        other.execute_batch("BEGIN IMMEDIATE").expect("lock");
        s.set_busy_timeout(Duration::from_millis(200))
            .expect("timeout");
        let started = Instant::now();
        match s.write_consents(&[ConsentChange::Upsert(r[0])], &c, &meta()) {
            Err(StoreError::Unavailable(m)) => assert!(m.contains("retry"), "{m}"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "did not wait"
        );
        // Readers are not blocked by the writer (WAL).
        assert_eq!(s.consent_count().expect("count"), 0);
        // With the default timeout a writer waits for the lock to be released.
        s.set_busy_timeout(DEFAULT_BUSY_TIMEOUT).expect("timeout");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").expect("release");
        });
        let out = s
            .write_consents(&[ConsentChange::Upsert(r[0])], &c, &meta())
            .expect("waits for the lock");
        assert_eq!(out.inserted, 1);
        release.join().expect("thread");
    }

    #[test]
    fn rows_with_unknown_codes_are_reported_not_guessed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let c = contract::catalogue();
        let mut s = SqliteStore::open(&path).expect("open");
        let r = records(10);
        s.write_consents(
            &r.iter()
                .copied()
                .map(ConsentChange::Upsert)
                .collect::<Vec<_>>(),
            &c,
            &meta(),
        )
        .expect("write");
        let mut sink = |_: Result<ConsentRecord, String>| {};
        let full = s.load_all(&c, &mut sink, &mut |_| {}).expect("load");
        // A newer catalogue's node wrote a data category this catalogue lacks, and a removal
        // of a row with an unknown consulting code.
        let raw = Connection::open(&path).expect("raw");
        let row = codec::encode(&r[0], &c).expect("encode");
        raw.execute_batch(
            "INSERT INTO change_log (committed_at, kind, author, records, summary) \
             VALUES (0, 'consents', 'newer-node', 2, 'x')",
        )
        .expect("log");
        let seq = raw.last_insert_rowid();
        raw.execute(
            "INSERT INTO consents VALUES (?1, ?2, 'GGC999', ?3, 'yes', NULL, NULL, 'not-minor', \
             'citizen', 1, 1, 0, ?4)",
            params![row.bsn, row.holder, row.consulting, seq],
        )
        .expect("row");
        raw.execute(
            "INSERT INTO consents VALUES (?1, ?2, ?3, 'RPZAC999', 'yes', NULL, NULL, \
             'not-minor', 'citizen', 1, 1, 1, ?4)",
            params![row.bsn, row.holder, row.data_category, seq],
        )
        .expect("tombstone");
        drop(raw);
        let batch = s.changes_since(&full.position, &c, 10).expect("changes");
        assert_eq!(batch.entries, 1);
        assert_eq!(batch.changes.len(), 2);
        for change in &batch.changes {
            match change {
                LoadedChange::Undecodable { change_seq, reason } => {
                    assert_eq!(*change_seq, seq);
                    assert!(
                        reason.contains("GGC999") || reason.contains("RPZAC999"),
                        "{reason}"
                    );
                    assert!(!reason.contains(&row.bsn.to_string()), "BSN in {reason}");
                }
                other => panic!("expected Undecodable, got {other:?}"),
            }
        }
        let mut errors = Vec::new();
        let mut ok = 0;
        let mut sink = |r: Result<ConsentRecord, String>| match r {
            Ok(_) => ok += 1,
            Err(e) => errors.push(e),
        };
        let full = s.load_all(&c, &mut sink, &mut |_| {}).expect("load");
        assert_eq!(
            full.undecodable, 1,
            "the tombstone is skipped, the row reported"
        );
        assert_eq!(full.records, r.len() as u64);
        assert_eq!(ok, r.len());
        assert!(errors[0].contains("GGC999"), "{errors:?}");
    }

    #[test]
    fn a_key_changed_again_later_comes_once_with_the_later_entry() {
        // SQLite-specific exactness: the row carries its newest change's number, so a page that
        // ends before that change does not return it, and the next page does, once.
        let dir = tempfile::tempdir().expect("tempdir");
        let c = contract::catalogue();
        let mut s = SqliteStore::open(&dir.path().join("s.db")).expect("open");
        let r = records(4);
        let start = s
            .load_all(&c, &mut |_| {}, &mut |_| {})
            .expect("load")
            .position;
        let mut k1 = r[0];
        s.write_consents(&[ConsentChange::Upsert(k1)], &c, &meta())
            .expect("k1");
        s.write_consents(&[ConsentChange::Upsert(r[1])], &c, &meta())
            .expect("k2");
        k1.recorded_at += 1;
        s.write_consents(&[ConsentChange::Upsert(k1)], &c, &meta())
            .expect("k1 again");
        let mut pos = start;
        let mut pages = Vec::new();
        loop {
            let b = s.changes_since(&pos, &c, 1).expect("page");
            if b.entries == 0 {
                break;
            }
            assert_eq!(b.entries, 1);
            pages.push(b.changes);
            pos = b.position;
        }
        assert_eq!(
            pages,
            vec![
                vec![],
                vec![LoadedChange::Upsert(r[1])],
                vec![LoadedChange::Upsert(k1)]
            ]
        );
    }

    #[test]
    fn import_batches_encode_like_single_rows_and_sort_by_key() {
        let c = contract::catalogue();
        let r = records(2_000);
        let mut text = String::new();
        let rows = encode_batch(&r, &c, &mut text).expect("encode");
        assert_eq!(rows.len(), r.len());
        let mut expected: Vec<ConsentRow> = r
            .iter()
            .map(|x| codec::encode(x, &c).expect("encode"))
            .collect();
        expected.sort_by(|a, b| {
            (a.bsn, &a.holder, &a.data_category, &a.consulting).cmp(&(
                b.bsn,
                &b.holder,
                &b.data_category,
                &b.consulting,
            ))
        });
        for (row, want) in rows.iter().zip(&expected) {
            assert_eq!(
                (
                    row.bsn,
                    &text[row.holder.clone()],
                    row.data_category,
                    &text[row.consulting.clone()]
                ),
                (
                    want.bsn,
                    want.holder.as_str(),
                    want.data_category.as_str(),
                    want.consulting.as_str()
                )
            );
            assert_eq!(row.record.recorded_at, want.recorded_at);
        }
    }

    #[test]
    fn an_importing_connection_checkpoints_less_often_and_on_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let c = contract::catalogue();
        let mut s = SqliteStore::open(&path).expect("open");
        let progress = ImportProgress {
            file_id: "f".into(),
            path: "f.ndjson".into(),
            lines_done: 10,
        };
        let r = records(10);
        s.import_batch(&r, &c, &progress, &meta()).expect("import");
        let pages: i64 = s
            .conn
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(pages, IMPORT_WAL_AUTOCHECKPOINT);
        // Another connection stays open, so SQLite's own checkpoint on the last close does not
        // run: only the importer's Drop can have copied the batch into the database file.
        let reader = Connection::open(&path).expect("reader");
        reader
            .query_row("SELECT COUNT(*) FROM consents", [], |r| r.get::<_, i64>(0))
            .expect("read");
        drop(s);
        // The database file alone (copied without its WAL) holds the imported rows.
        let copy = dir.path().join("copy.db");
        std::fs::copy(&path, &copy).expect("copy");
        let n: i64 = Connection::open(&copy)
            .expect("copy")
            .query_row("SELECT COUNT(*) FROM consents", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, r.len() as i64);
        drop(reader);
    }

    #[test]
    fn a_position_from_another_store_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = contract::catalogue();
        let mut s = SqliteStore::open(&dir.path().join("s.db")).expect("open");
        let p = Position {
            last_seq: 3,
            token: "42:48:".into(),
        };
        assert!(matches!(
            s.changes_since(&p, &c, 10),
            Err(StoreError::Invalid(_))
        ));
    }
}
