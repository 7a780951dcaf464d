//! The durable store behind Akkoord: consent records, policy versions and the change log, behind
//! one trait ([`Store`]) with two real implementations — SQLite ([`sqlite`], the embedded
//! default: one file, bundled library) and PostgreSQL ([`postgres`], production).
//!
//! # Rules
//!
//! - **Every write appends to the change log in the same transaction.** One call of
//!   [`Store::write_consents`], [`Store::import_batch`], [`Store::put_policy`] or
//!   [`Store::activate_policy`] is one transaction and one change-log entry. The consent rows it
//!   wrote carry that entry's sequence number (`change_seq`), so the loader reads the *current
//!   state* of the rows a change touched rather than replaying events.
//! - **Removals are tombstones.** A removed consent keeps its row with `deleted = true` and the
//!   removing change's sequence number, so a loader that tails the log sees the removal. Full
//!   loads skip tombstones.
//! - **Commit order, exactly once.** [`Store::changes_since`] returns every change committed
//!   after the given [`Position`] and none before it, even when a transaction that took its
//!   sequence number earlier commits later (PostgreSQL: positions are transaction snapshots, see
//!   [`postgres`]; SQLite serialises writers, so sequence order is commit order).
//! - **Policies never reach the store unchecked.** The store keeps what it is given; the
//!   compile-before-write check lives with the callers ([`crate::pap`]), so a policy that does not
//!   compile is refused at write time.
//!
//! # Schema (both dialects; see the migrations in each implementation)
//!
//! | table | columns |
//! | --- | --- |
//! | `schema_migrations` | `version` (primary key), `applied_at` |
//! | `consents` | `bsn`, `holder`, `data_category`, `consulting` (primary key: these four, the record key), `choice`, `valid_from`, `valid_until`, `minor`, `recorded_by`, `catalogue_version`, `recorded_at`, `deleted`, `change_seq` (indexed) |
//! | `change_log` | `seq` (primary key, increasing), `committed_at` (unix ms), `kind` (`consents`, `import`, `policy`), `author`, `records`, `summary`; PostgreSQL adds `xid` (`xid8`, the writing transaction) |
//! | `policies` | `policy_id`, `revision` (primary key: both), `xml`, `author`, `created_at` (unix ms), `active` (at most one revision per `policy_id`), `change_seq` |
//! | `loader_progress` | `node` (primary key), `position`, `last_seq`, `updated_at` |
//! | `import_progress` | `file_id` (primary key), `path`, `lines_done`, `updated_at` |
//!
//! Consent columns hold the catalogue's codes as text ([`codec`]), so the store reads well in
//! `psql` and survives catalogue versions that renumber Akkoord's internal ids.

pub mod codec;
pub mod contract;
pub mod postgres;
pub mod sqlite;
pub mod testing;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use pdp_core::consent::bsn::Bsn;
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::record::{ConsentRecord, RecordKey};

/// One change to a citizen's consents.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConsentChange {
    /// Insert the record, or replace the citizen's record with the same [`RecordKey`].
    Upsert(ConsentRecord),
    /// Remove the citizen's record with this key (a withdrawal); a no-op when there is none.
    Remove { bsn: Bsn, key: RecordKey },
}

/// Who made a change and why; kept in the change log (never a BSN: the log is read by operators).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeMeta {
    /// The user, system or node that wrote the change (for example `registration-api`,
    /// `import:consents.ndjson`, `pap:alice`).
    pub author: String,
    /// A short description for the log (`3 consents`, `policy urn:...:mitz revision 4`).
    pub summary: String,
}

/// What one consent write did.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct WriteOutcome {
    /// The change-log entry written, or `None` when nothing changed (every row was already as
    /// asked: no entry is written, so idempotent writes cost the loaders nothing).
    pub change_seq: Option<i64>,
    /// Rows inserted (new record keys, or a tombstone brought back).
    pub inserted: u64,
    /// Rows whose content changed.
    pub updated: u64,
    /// Rows already exactly as asked.
    pub unchanged: u64,
    /// Rows turned into tombstones.
    pub removed: u64,
}

/// Resumable import state, written in the same transaction as each batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    /// Identifies the input file's content (see `crate::import`), not its name.
    pub file_id: String,
    /// The path as given, for operators.
    pub path: String,
    /// Lines of the file fully handled once this batch commits (1-based count).
    pub lines_done: u64,
}

/// A policy document as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPolicy {
    /// The document's `PolicyId` or `PolicySetId`.
    pub policy_id: String,
    /// Store revision, 1, 2, … per `policy_id`; every revision is kept.
    pub revision: i64,
    pub xml: String,
    pub author: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub active: bool,
}

/// Where a loader is in the change log. Opaque to everyone but the store that made it; it can
/// be written to and read from text ([`Position::token`]) to record loader progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// The highest change-log sequence number applied so far (for metrics and logs; with
    /// PostgreSQL it is *not* enough on its own to resume, see [`postgres`]).
    pub last_seq: i64,
    /// The store's own resume token (SQLite: the sequence number; PostgreSQL: a snapshot).
    pub token: String,
}

/// One change as the loader sees it, in commit order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadedChange {
    /// A consent row's current state: apply it to the index.
    Upsert(ConsentRecord),
    /// A tombstone: remove the record from the index.
    Remove { bsn: Bsn, key: RecordKey },
    /// A consent row that cannot be decoded with this node's catalogue (an unknown code):
    /// counted and logged, never guessed. Carries the change's sequence number and the reason.
    Undecodable { change_seq: i64, reason: String },
    /// The set of active policies changed; this is the whole active set now.
    Policies(Vec<StoredPolicy>),
}

/// What [`Store::changes_since`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeBatch {
    pub changes: Vec<LoadedChange>,
    /// Change-log entries covered (each counted once).
    pub entries: u64,
    /// Pass this to the next call.
    pub position: Position,
}

/// The result of a full load ([`Store::load_all`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullLoad {
    /// Live (non-tombstone) consent rows handed to the callback.
    pub records: u64,
    /// Rows that could not be decoded with this catalogue (reported through the callback).
    pub undecodable: u64,
    /// The active policies in the same snapshot.
    pub policies: Vec<StoredPolicy>,
    /// Tail the change log from here.
    pub position: Position,
}

/// A store failure. `Unavailable` is transient (network, server down, busy): callers retry and
/// keep serving from memory. The others need a person.
#[derive(Debug)]
pub enum StoreError {
    /// The store cannot be reached or timed out; retry later.
    Unavailable(String),
    /// The schema is newer than this binary, or a migration failed.
    Schema(String),
    /// A caller asked for something that does not exist or conflicts (unknown policy revision).
    Invalid(String),
    /// Anything else the database reported.
    Database(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "store unavailable: {m}"),
            StoreError::Schema(m) => write!(f, "store schema: {m}"),
            StoreError::Invalid(m) => write!(f, "{m}"),
            StoreError::Database(m) => write!(f, "store error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Callback for streamed rows: a decoded record, or the reason a row could not be decoded.
pub type RowSink<'a> = dyn FnMut(Result<ConsentRecord, String>) + 'a;

/// The durable store. One value is one connection (not shared between threads; open one per
/// thread with [`open`]). Every method that writes is one transaction with one change-log entry.
pub trait Store: Send {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;

    /// Applies consent changes in one transaction. Rows already as asked are left alone; when
    /// nothing changed, no change-log entry is written. `catalogue` turns the records' ids into
    /// the codes the rows hold ([`codec`]); a record it cannot encode fails the whole write with
    /// [`StoreError::Invalid`].
    fn write_consents(
        &mut self,
        changes: &[ConsentChange],
        catalogue: &Catalogue,
        meta: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError>;

    /// Bulk import of one batch: upserts like [`Store::write_consents`] and records `progress`
    /// in the same transaction, so an interrupted import resumes after the last committed batch.
    /// Optimised for throughput (PostgreSQL: a plain `COPY` when the keys are new, else `COPY`
    /// into a staging table and one upsert).
    fn import_batch(
        &mut self,
        records: &[ConsentRecord],
        catalogue: &Catalogue,
        progress: &ImportProgress,
        meta: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError>;

    /// How many lines of the file with this id earlier imports committed (0 if none).
    fn import_lines_done(&mut self, file_id: &str) -> Result<u64, StoreError>;

    /// Stores a new revision of a policy document (inactive unless `activate`); returns the
    /// revision number. The caller has compiled it first ([`crate::pap`]).
    fn put_policy(
        &mut self,
        policy_id: &str,
        xml: &str,
        activate: bool,
        meta: &ChangeMeta,
    ) -> Result<i64, StoreError>;

    /// Makes `revision` the active revision of `policy_id` (deactivating the others).
    fn activate_policy(
        &mut self,
        policy_id: &str,
        revision: i64,
        meta: &ChangeMeta,
    ) -> Result<(), StoreError>;

    /// Every stored revision of every policy (without the XML when `with_xml` is false), ordered
    /// by `policy_id`, then revision.
    fn policies(&mut self, with_xml: bool) -> Result<Vec<StoredPolicy>, StoreError>;

    /// One revision, with its XML.
    fn policy(
        &mut self,
        policy_id: &str,
        revision: i64,
    ) -> Result<Option<StoredPolicy>, StoreError>;

    /// The active revision of every policy.
    fn active_policies(&mut self) -> Result<Vec<StoredPolicy>, StoreError>;

    /// Streams every live consent row of one consistent snapshot to `sink` without holding the
    /// table in memory, calls `progress(rows_so_far)` about every million rows, and returns the
    /// active policies of the same snapshot and the position to tail from.
    fn load_all(
        &mut self,
        catalogue: &Catalogue,
        sink: &mut RowSink<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FullLoad, StoreError>;

    /// Every change committed after `position`, in commit order, exactly once (see the module
    /// docs). At most about `limit` change-log entries per call.
    fn changes_since(
        &mut self,
        position: &Position,
        catalogue: &Catalogue,
        limit: usize,
    ) -> Result<ChangeBatch, StoreError>;

    /// Blocks until a change may have been committed (PostgreSQL: `LISTEN`/`NOTIFY`; SQLite: a
    /// cheap poll of `PRAGMA data_version`) or `timeout` passes. Returns whether something was
    /// signalled; `false` is not a promise that nothing changed, so callers poll anyway.
    fn wait_for_change(&mut self, timeout: Duration) -> Result<bool, StoreError>;

    /// The newest change-log sequence number (0 for an empty log); for lag metrics.
    fn head_seq(&mut self) -> Result<i64, StoreError>;

    /// Records how far a node's loader got (for operators; a restart does a full load).
    fn record_progress(&mut self, node: &str, position: &Position) -> Result<(), StoreError>;

    /// Number of live (non-tombstone) consent rows.
    fn consent_count(&mut self) -> Result<u64, StoreError>;

    /// Maintenance after a bulk import that changed rows, outside any transaction (PostgreSQL:
    /// `VACUUM (ANALYZE) consents`, so the next full load does not pay for setting every new
    /// row's hint bits and the planner's estimates are current). Returns what it did, for the
    /// report; `None` when the store needs nothing.
    fn after_bulk_import(&mut self) -> Result<Option<&'static str>, StoreError> {
        Ok(None)
    }

    /// A cheap estimate of [`Store::consent_count`] (PostgreSQL: the planner's row estimate),
    /// for sizing the index before a full load. Defaults to the exact count.
    fn estimated_consent_count(&mut self) -> Result<u64, StoreError> {
        self.consent_count()
    }
}

/// Where the store is: parsed from `--store`, `DATABASE_URL`, or the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite:PATH` or a plain path (created if missing).
    Sqlite(std::path::PathBuf),
    /// `postgres://…` or `postgresql://…`, or a libpq `key=value` string.
    Postgres(String),
}

/// The embedded default: a SQLite file in the working directory.
pub const DEFAULT_SQLITE_PATH: &str = "akkoord.db";

impl StoreUrl {
    /// Parses a store location. `postgres://` and `postgresql://` select PostgreSQL; `sqlite:`
    /// (or `sqlite://`) and anything else is a SQLite file path.
    pub fn parse(text: &str) -> StoreUrl {
        let t = text.trim();
        if t.starts_with("postgres://") || t.starts_with("postgresql://") {
            StoreUrl::Postgres(t.to_string())
        } else if let Some(rest) = t.strip_prefix("sqlite://").or(t.strip_prefix("sqlite:")) {
            StoreUrl::Sqlite(rest.into())
        } else {
            StoreUrl::Sqlite(t.into())
        }
    }

    /// `--store` if given, else `DATABASE_URL`, else [`DEFAULT_SQLITE_PATH`].
    pub fn from_config(flag: Option<&str>) -> StoreUrl {
        match flag {
            Some(s) => StoreUrl::parse(s),
            None => match std::env::var("DATABASE_URL") {
                Ok(s) if !s.trim().is_empty() => StoreUrl::parse(&s),
                _ => StoreUrl::Sqlite(DEFAULT_SQLITE_PATH.into()),
            },
        }
    }

    /// For logs: the location without any password.
    pub fn redacted(&self) -> String {
        match self {
            StoreUrl::Sqlite(p) => format!("sqlite:{}", p.display()),
            StoreUrl::Postgres(url) => redact_password(url),
        }
    }
}

fn redact_password(url: &str) -> String {
    // postgres://user:secret@host/db -> postgres://user:***@host/db
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.find('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_string()
}

/// Opens a connection to the store and applies pending schema migrations.
pub fn open(url: &StoreUrl) -> Result<Box<dyn Store>, StoreError> {
    match url {
        StoreUrl::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open(path)?)),
        StoreUrl::Postgres(conn) => Ok(Box::new(postgres::PostgresStore::open(conn)?)),
    }
}

/// Shared handle to a catalogue, as the stores' decoders need it.
pub type SharedCatalogue = Arc<Catalogue>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_select_the_dialect() {
        assert_eq!(
            StoreUrl::parse("postgres://u@h/db"),
            StoreUrl::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            StoreUrl::parse("postgresql://h/db"),
            StoreUrl::Postgres("postgresql://h/db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite:/tmp/a.db"),
            StoreUrl::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(StoreUrl::parse("a.db"), StoreUrl::Sqlite("a.db".into()));
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        let url = StoreUrl::parse("postgres://akkoord:s3cret@db.example:5432/akkoord");
        assert_eq!(
            url.redacted(),
            "postgres://akkoord:***@db.example:5432/akkoord"
        );
        assert!(!url.redacted().contains("s3cret"));
    }
}
