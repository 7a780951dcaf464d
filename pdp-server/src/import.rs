//! `akkoord import FILE`: bulk consent migration from NDJSON of FHIR R4 `Consent` (the format
//! `akkoord gen` writes; see `pdp_core::consent::fhir`) into the durable store.
//!
//! # Pipeline
//!
//! A national migration is tens of millions of ~2 KB lines, so the file is streamed and never
//! held in memory, and the three kinds of work overlap:
//!
//! 1. a **reader** thread cuts the file into chunks of whole lines (about 1 MiB each) and numbers
//!    them;
//! 2. **parser** threads (one per core unless `--threads`) turn each chunk into records and
//!    rejected lines with [`parse_consent_line`];
//! 3. the **writer** (the calling thread) puts the chunks back in file order, fills batches of
//!    `--batch-size` records and hands each to [`Store::import_batch`], while the parsers work on
//!    the next chunks.
//!
//! Queues between the stages are bounded, so memory stays at a few MiB whatever the file size.
//!
//! # Idempotent and resumable
//!
//! Every batch commits the records *and* the number of lines handled (`import_progress`,
//! keyed by the file id) in one transaction. Killing the import at any moment therefore loses
//! nothing and duplicates nothing: the next run of the same file asks
//! [`Store::import_lines_done`], skips that many lines (reported as `skipped`) and goes on. The
//! store's upsert leaves rows that are already as the line says untouched (and writes no
//! change-log entry when a whole batch is unchanged), so running a file again changes nothing.
//!
//! When an earlier run already handled *every* line of the file, the file is read again from
//! the start and every line compared with the store (reported as `unchanged`), rather than
//! skipped: an operator who runs a finished file again wants to know that the store holds it.
//!
//! # The file id
//!
//! `v1-<size>-<mtime ns>-<hash>`, where the hash is FNV-1a (64 bit) over the first and the last
//! MiB of the file. It is computed before the first line is read (it must be, to know how much
//! to skip), costs two 1 MiB reads whatever the file size, and changes whenever the file is
//! appended to, truncated or rewritten. The modification time is part of it because an
//! operator may fix a rejected line in the middle of the file with an edit of the same length:
//! the size and the sampled ends would then match and a resumed run would skip the fix. A copy
//! of the file that does not keep the modification time gets a new id and is imported from
//! line 1 — slower, never wrong.
//!
//! # Rejected lines
//!
//! A line that is not a usable Consent (bad JSON, invalid BSN, unknown code, not UTF-8) is
//! skipped with its line number and the reason (which names the JSON path and never the BSN);
//! the rest of the file is imported. The report lists the first [`REJECTS_SHOWN`]; every one is
//! appended to `FILE.rejected.txt` (or `--rejected PATH`), one `line N: reason` a line under a
//! header naming the run, so operators can fix the lines and run the file again. Blank lines are
//! ignored.
//!
//! # Store outages
//!
//! A batch that fails with [`StoreError::Unavailable`] is retried [`RETRIES`] times with a
//! growing pause, on a fresh connection each time. If the store stays away, the command stops
//! with exit status 1 and says that running it again resumes after the last committed batch.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{IsTerminal as _, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::parse_consent_line;
use pdp_core::consent::record::ConsentRecord;

use crate::store::{self, ChangeMeta, ImportProgress, Store, StoreError, StoreUrl, WriteOutcome};

/// Records per [`Store::import_batch`] call unless `--batch-size` says otherwise: large enough
/// that a transaction's fixed cost disappears, small enough that an interrupted run redoes
/// little.
pub const DEFAULT_BATCH_SIZE: usize = 20_000;

/// Rejected lines listed in the report; the rest are counted (and all are in the rejected file).
pub const REJECTS_SHOWN: usize = 100;

/// Retries of a batch the store could not take because it was unavailable.
pub const RETRIES: u32 = 5;

/// Bytes a reader chunk aims at (it ends at the last whole line in it).
const CHUNK_BYTES: usize = 1 << 20;

/// A line longer than this is rejected without being held in memory whole.
const MAX_LINE_BYTES: usize = 16 << 20;

/// Bytes at each end of the file that the file id hashes.
const ID_SAMPLE_BYTES: u64 = 1 << 20;

/// Without a terminal, a progress line is logged this often.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// What `akkoord import` was asked to do.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub file: PathBuf,
    pub store: StoreUrl,
    pub batch_size: usize,
    pub catalogue: PathBuf,
    /// The change log's author; default `import:<file name>`.
    pub author: Option<String>,
    /// Show a progress bar (terminal) or progress lines (otherwise) on stderr.
    pub progress: bool,
    /// Parser threads; default: the number of cores.
    pub threads: Option<usize>,
    /// Where rejected lines go; default `FILE.rejected.txt`.
    pub rejected: Option<PathBuf>,
    /// At most this many lines per second; `None`: no limit.
    pub max_rate: Option<u64>,
}

/// What an import did (also when it stopped early: then `error` says why).
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// Lines read and handled by this run (not counting skipped ones).
    pub read: u64,
    /// Lines skipped because an earlier run had committed them.
    pub skipped: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rejected lines (all of them; `rejects` holds the first [`REJECTS_SHOWN`]).
    pub rejected: u64,
    pub rejects: Vec<(u64, String)>,
    pub blank: u64,
    /// Lines of the file committed in the store when the run ended.
    pub lines_done: u64,
    /// An earlier run had imported the whole file; this one compared every line again.
    pub rechecked: bool,
    pub elapsed: Duration,
    /// Where the rejected lines were written, if any were.
    pub rejected_file: Option<PathBuf>,
    /// A problem writing the rejected file (the import itself went on).
    pub rejected_file_error: Option<String>,
    /// Why the run stopped before the end of the file.
    pub error: Option<String>,
    /// The store's maintenance after the import ([`Store::after_bulk_import`]): what ran and
    /// how long it took (not counted in `elapsed` or the rate), or why it failed.
    pub maintenance: Option<Result<(&'static str, Duration), String>>,
}

impl ImportReport {
    /// Records written or confirmed in the store by this run.
    pub fn records(&self) -> u64 {
        self.inserted + self.updated + self.unchanged
    }

    /// Records per second of this run.
    pub fn rate(&self) -> f64 {
        self.records() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The report as printed on stdout: one `name: value` a line, then the rejected lines.
    pub fn render(&self, file: &Path, store: &str) -> String {
        let mut out = String::new();
        let status = if self.error.is_some() {
            "stopped"
        } else {
            "finished"
        };
        out.push_str(&format!(
            "akkoord import: {status}: {} into {store}\n",
            file.display()
        ));
        let mut line = |name: &str, value: String| out.push_str(&format!("  {name:<10} {value}\n"));
        line("read:", format!("{} lines", self.read));
        line(
            "skipped:",
            format!("{} lines (already imported)", self.skipped),
        );
        line("inserted:", self.inserted.to_string());
        line("updated:", self.updated.to_string());
        line("unchanged:", self.unchanged.to_string());
        line("rejected:", self.rejected.to_string());
        line("blank:", self.blank.to_string());
        line("elapsed:", format!("{:.1} s", self.elapsed.as_secs_f64()));
        line("rate:", format!("{:.0} records/s", self.rate()));
        line(
            "committed:",
            format!("{} lines of the file", self.lines_done),
        );
        match &self.maintenance {
            Some(Ok((what, took))) => {
                line("then:", format!("{what} in {:.1} s", took.as_secs_f64()))
            }
            Some(Err(e)) => line(
                "then:",
                format!("maintenance failed ({e}); the import is complete, run it by hand"),
            ),
            None => {}
        }
        if self.rechecked {
            out.push_str(
                "  an earlier run had imported the whole file: every line was compared again\n",
            );
        }
        if self.rejected > 0 {
            out.push_str("rejected lines (skipped; the rest of the file was imported):\n");
            for (n, reason) in &self.rejects {
                out.push_str(&format!("  line {n}: {reason}\n"));
            }
            let more = self.rejected - self.rejects.len() as u64;
            if more > 0 {
                out.push_str(&format!("  ... and {more} more\n"));
            }
            match (&self.rejected_file, &self.rejected_file_error) {
                (Some(path), None) => out.push_str(&format!(
                    "all rejected lines are in {}; fix them and run the file again (unchanged \
                     lines are left alone)\n",
                    path.display()
                )),
                (_, Some(e)) => out.push_str(&format!("could not write the rejected file: {e}\n")),
                (None, None) => {}
            }
        }
        out
    }
}

/// Runs `akkoord import`: the report when the import got to the end of the file (rejected lines
/// included), else the message to print (the report so far, if there is one, comes with it).
pub fn run(opts: &ImportOptions) -> Result<ImportReport, (Option<Box<ImportReport>>, String)> {
    let started = Instant::now();
    let file = File::open(&opts.file).map_err(|e| {
        (
            None,
            format!(
                "akkoord import: cannot read {}: {e}; check the path",
                opts.file.display()
            ),
        )
    })?;
    let file_id = file_id(&file).map_err(|e| {
        (
            None,
            format!("akkoord import: cannot read {}: {e}", opts.file.display()),
        )
    })?;
    let text = std::fs::read_to_string(&opts.catalogue).map_err(|e| {
        (
            None,
            format!(
                "akkoord import: cannot read catalogue file {}: {e} (pass --catalogue FILE)",
                opts.catalogue.display()
            ),
        )
    })?;
    let catalogue = Catalogue::from_json(&text)
        .map_err(|e| (None, format!("{}: {e}", opts.catalogue.display())))?;
    let url = opts.store.clone();
    let store = store::open(&url).map_err(|e| (None, open_failure(&url, &e)))?;
    let name = opts.file.file_name().map_or_else(
        || opts.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let job = ImportJob {
        path: opts.file.display().to_string(),
        file_id,
        author: opts
            .author
            .clone()
            .unwrap_or_else(|| format!("import:{name}")),
        name,
        batch_size: opts.batch_size.max(1),
        threads: opts.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        }),
        rejected_path: opts.rejected.clone().unwrap_or_else(|| {
            let mut p = opts.file.clone().into_os_string();
            p.push(".rejected.txt");
            PathBuf::from(p)
        }),
        progress: if opts.progress {
            if std::io::stderr().is_terminal() {
                ProgressMode::Bar
            } else {
                ProgressMode::Log
            }
        } else {
            ProgressMode::Off
        },
        retry_pause: Duration::from_millis(500),
        max_rate: opts.max_rate,
    };
    let mut reopen = || store::open(&url);
    let mut report = import(file, &catalogue, store, &mut reopen, &job);
    report.elapsed = started.elapsed();
    if report.error.is_none() && report.inserted + report.updated > 0 {
        let began = Instant::now();
        report.maintenance = match store::open(&url).and_then(|mut s| s.after_bulk_import()) {
            Ok(Some(what)) => Some(Ok((what, began.elapsed()))),
            Ok(None) => None,
            Err(e) => Some(Err(e.to_string())),
        };
    }
    match report.error.clone() {
        None => Ok(report),
        Some(e) => Err((Some(Box::new(report)), e)),
    }
}

fn open_failure(url: &StoreUrl, e: &StoreError) -> String {
    let hint = match url {
        StoreUrl::Postgres(_) => {
            "check --store or DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/DB) and that the \
             server is running and reachable"
        }
        StoreUrl::Sqlite(_) => {
            "check --store or DATABASE_URL (a SQLite file path; its directory must exist and be \
             writable)"
        }
    };
    format!(
        "akkoord import: cannot open the store {}: {e}; {hint}",
        url.redacted()
    )
}

/// How progress is shown on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    Bar,
    Log,
    Off,
}

/// One import run, after the file, catalogue and store are open.
pub struct ImportJob {
    /// The path as given (kept in `import_progress` for operators).
    pub path: String,
    pub file_id: String,
    /// The file name, for change-log summaries.
    pub name: String,
    pub author: String,
    pub batch_size: usize,
    pub threads: usize,
    pub rejected_path: PathBuf,
    pub progress: ProgressMode,
    /// The first pause before retrying an unavailable store (doubled each retry).
    pub retry_pause: Duration,
    /// At most this many lines per second ([`ImportOptions::max_rate`]).
    pub max_rate: Option<u64>,
}

/// Imports `file` into `store`; `reopen` opens a fresh connection after the store became
/// unavailable. Never panics on input; a stop is reported in [`ImportReport::error`].
pub fn import(
    file: File,
    catalogue: &Catalogue,
    mut store: Box<dyn Store>,
    reopen: &mut dyn FnMut() -> Result<Box<dyn Store>, StoreError>,
    job: &ImportJob,
) -> ImportReport {
    let started = Instant::now();
    let mut report = ImportReport::default();
    let file_len = file.metadata().map_or(0, |m| m.len());
    let done = match store.import_lines_done(&job.file_id) {
        Ok(n) => n,
        Err(e) => {
            report.error = Some(format!(
                "akkoord import: cannot read the import progress from the store: {e}; run the \
                 command again once the store is reachable"
            ));
            return report;
        }
    };
    let mut chunker = Chunker::new(file);
    if done > 0 {
        match chunker.skip_lines(done) {
            Ok(true) => report.skipped = done,
            Ok(false) => {
                // The earlier run handled every line: compare them all again.
                if let Err(e) = chunker.rewind() {
                    report.error = Some(format!("akkoord import: cannot read {}: {e}", job.path));
                    return report;
                }
                report.rechecked = true;
            }
            Err(e) => {
                report.error = Some(format!("akkoord import: cannot read {}: {e}", job.path));
                return report;
            }
        }
    }
    report.lines_done = if report.rechecked {
        done
    } else {
        report.skipped
    };

    let threads = job.threads.max(1);
    let stop = AtomicBool::new(false);
    let (work_tx, work_rx) = sync_channel::<(u64, Chunk)>(threads * 4);
    // Parsed chunks may run up to about two batches ahead of the writer, so that the parsers
    // fill the next batch while the store commits the current one (a queue shorter than a batch
    // left the store idle while the writer waited for the parsers after every commit). Parsed
    // chunks are compact (records, not text): two 20 000-record batches are a few MiB.
    let parsed_ahead = threads * 4 + 2 * job.batch_size / 256;
    let (done_tx, done_rx) = sync_channel::<(u64, Parsed)>(parsed_ahead);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let progress = Progress::new(job.progress, file_len, chunker.offset);
    std::thread::scope(|scope| {
        let stop = &stop;
        scope.spawn(move || read_chunks(chunker, &work_tx, stop));
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || parse_chunks(&work_rx, &done_tx, catalogue));
        }
        drop(done_tx);
        drop(work_rx);
        let mut writer = Writer {
            store: &mut store,
            reopen,
            job,
            catalogue,
            report: &mut report,
            batch: Vec::with_capacity(job.batch_size),
            batch_first_line: 0,
            rejected_out: None,
            progress,
            started,
        };
        writer.run(done_rx);
        writer.progress.finish();
        stop.store(true, Ordering::Relaxed);
    });
    report
}

/// A piece of the file: whole lines, numbered from `first_line`.
enum Chunk {
    Lines {
        first_line: u64,
        data: Vec<u8>,
        /// Offset in the file just after this chunk.
        end_offset: u64,
    },
    /// One line longer than [`MAX_LINE_BYTES`], dropped while reading.
    TooLong { line: u64, end_offset: u64 },
    /// Reading failed here; nothing after it is imported.
    Failed(String),
}

/// A chunk as the writer needs it.
struct Parsed {
    records: Vec<ConsentRecord>,
    /// The line of each record.
    record_lines: Vec<u64>,
    rejects: Vec<(u64, String)>,
    blank: u64,
    /// Lines in the chunk.
    lines: u64,
    /// The chunk's last line.
    last_line: u64,
    end_offset: u64,
    failed: Option<String>,
}

/// Cuts a file into chunks of whole lines, counting lines as it goes.
struct Chunker {
    file: File,
    /// Bytes read but not yet handed out (the start of a line).
    carry: Vec<u8>,
    /// The number of the line `carry` starts.
    next_line: u64,
    /// File offset where `carry` starts.
    offset: u64,
    eof: bool,
}

impl Chunker {
    fn new(file: File) -> Chunker {
        Chunker {
            file,
            carry: Vec::new(),
            next_line: 1,
            offset: 0,
            eof: false,
        }
    }

    /// Reads up to `CHUNK_BYTES` more into `carry`; false at the end of the file.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let start = self.carry.len();
        self.carry.resize(start + CHUNK_BYTES, 0);
        let n = loop {
            match self.file.read(&mut self.carry[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.carry.truncate(start);
                    return Err(e);
                }
            }
        };
        self.carry.truncate(start + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Skips `n` lines. True when lines remain after them; false when the file has no more
    /// than `n` lines (an earlier run handled all of it).
    fn skip_lines(&mut self, n: u64) -> std::io::Result<bool> {
        let mut left = n;
        while left > 0 {
            if self.carry.is_empty() && !self.fill()? {
                return Ok(false);
            }
            let mut seen = 0u64;
            let mut cut = None;
            for pos in memchr::memchr_iter(b'\n', &self.carry) {
                seen += 1;
                if seen == left {
                    cut = Some(pos + 1);
                    break;
                }
            }
            if let Some(cut) = cut {
                self.advance(cut, seen);
                left = 0;
            } else if self.eof {
                // Fewer than `left` lines remain (a last line without `\n` counts as one).
                let all = self.carry.len();
                self.advance(all, seen);
                return Ok(false);
            } else {
                // Drop the whole lines seen, keep the start of the next one, read on.
                if let Some(last_nl) = memchr::memrchr(b'\n', &self.carry) {
                    self.advance(last_nl + 1, seen);
                }
                left -= seen;
                self.fill()?;
            }
        }
        if self.carry.is_empty() && !self.fill()? {
            return Ok(false);
        }
        Ok(true)
    }

    fn advance(&mut self, bytes: usize, lines: u64) {
        self.next_line += lines;
        self.offset += bytes as u64;
        self.carry.drain(..bytes);
    }

    fn rewind(&mut self) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.carry.clear();
        self.next_line = 1;
        self.offset = 0;
        self.eof = false;
        Ok(())
    }

    /// The next chunk, or `None` at the end of the file.
    fn next_chunk(&mut self) -> Option<Chunk> {
        loop {
            if self.carry.len() >= CHUNK_BYTES || self.eof {
                if let Some(last_nl) = memchr::memrchr(b'\n', &self.carry) {
                    let rest = self.carry.split_off(last_nl + 1);
                    let data = std::mem::replace(&mut self.carry, rest);
                    return Some(self.hand_out(data));
                }
                if self.eof {
                    if self.carry.is_empty() {
                        return None;
                    }
                    // A last line without `\n`.
                    let data = std::mem::take(&mut self.carry);
                    return Some(self.hand_out(data));
                }
                if self.carry.len() > MAX_LINE_BYTES {
                    return Some(self.drop_long_line());
                }
            }
            if let Err(e) = self.fill() {
                self.eof = true;
                self.carry.clear();
                return Some(Chunk::Failed(format!(
                    "cannot read the file after line {}: {e}",
                    self.next_line - 1
                )));
            }
        }
    }

    fn hand_out(&mut self, data: Vec<u8>) -> Chunk {
        let first_line = self.next_line;
        let mut lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        if data.last() != Some(&b'\n') {
            lines += 1;
        }
        self.next_line += lines;
        self.offset += data.len() as u64;
        Chunk::Lines {
            first_line,
            data,
            end_offset: self.offset,
        }
    }

    /// Reads past the end of an over-long line without keeping it.
    fn drop_long_line(&mut self) -> Chunk {
        let line = self.next_line;
        loop {
            if let Some(nl) = memchr::memchr(b'\n', &self.carry) {
                self.offset += nl as u64 + 1;
                self.carry.drain(..=nl);
                break;
            }
            self.offset += self.carry.len() as u64;
            self.carry.clear();
            match self.fill() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.eof = true;
                    return Chunk::Failed(format!("cannot read the file at line {line}: {e}"));
                }
            }
        }
        self.next_line += 1;
        Chunk::TooLong {
            line,
            end_offset: self.offset,
        }
    }
}

/// The reader stage.
fn read_chunks(mut chunker: Chunker, work: &SyncSender<(u64, Chunk)>, stop: &AtomicBool) {
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Some(chunk) = chunker.next_chunk() else {
            return;
        };
        let failed = matches!(chunk, Chunk::Failed(_));
        if work.send((seq, chunk)).is_err() || failed {
            return;
        }
        seq += 1;
    }
}

/// A parser stage thread.
fn parse_chunks(
    work: &Mutex<Receiver<(u64, Chunk)>>,
    done: &SyncSender<(u64, Parsed)>,
    catalogue: &Catalogue,
) {
    loop {
        let next = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, chunk)) = next else {
            return;
        };
        if done.send((seq, parse_chunk(chunk, catalogue))).is_err() {
            return;
        }
    }
}

fn parse_chunk(chunk: Chunk, catalogue: &Catalogue) -> Parsed {
    let mut parsed = Parsed {
        records: Vec::new(),
        record_lines: Vec::new(),
        rejects: Vec::new(),
        blank: 0,
        lines: 0,
        last_line: 0,
        end_offset: 0,
        failed: None,
    };
    let (first_line, data) = match chunk {
        Chunk::Failed(e) => {
            parsed.failed = Some(e);
            return parsed;
        }
        Chunk::TooLong { line, end_offset } => {
            parsed.lines = 1;
            parsed.last_line = line;
            parsed.end_offset = end_offset;
            parsed.rejects.push((
                line,
                format!(
                    "longer than {} MiB; a Consent line is about 2 KB",
                    MAX_LINE_BYTES >> 20
                ),
            ));
            return parsed;
        }
        Chunk::Lines {
            first_line,
            data,
            end_offset,
        } => {
            parsed.end_offset = end_offset;
            (first_line, data)
        }
    };
    parsed.records.reserve(data.len() / 1500 + 1);
    parsed.record_lines.reserve(data.len() / 1500 + 1);
    let mut line_no = first_line;
    let body = data.strip_suffix(b"\n").unwrap_or(&data);
    // memchr rather than `split`: a byte-by-byte split cost 15 % of the parser threads' time.
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
    for end in ends {
        let line = &body[start..end];
        start = end + 1;
        if line.trim_ascii().is_empty() {
            parsed.blank += 1;
        } else {
            match std::str::from_utf8(line) {
                Err(e) => parsed.rejects.push((
                    line_no,
                    format!(
                        "not UTF-8 (invalid byte at column {}); write the file as UTF-8",
                        e.valid_up_to() + 1
                    ),
                )),
                Ok(text) => match parse_consent_line(text, catalogue) {
                    Ok(record) => {
                        parsed.records.push(record);
                        parsed.record_lines.push(line_no);
                    }
                    Err(e) => parsed.rejects.push((line_no, e.to_string())),
                },
            }
        }
        line_no += 1;
    }
    parsed.lines = line_no - first_line;
    parsed.last_line = line_no - 1;
    parsed
}

/// The writer stage: orders the parsed chunks, fills and commits batches, reports.
struct Writer<'a> {
    store: &'a mut Box<dyn Store>,
    reopen: &'a mut dyn FnMut() -> Result<Box<dyn Store>, StoreError>,
    job: &'a ImportJob,
    catalogue: &'a Catalogue,
    report: &'a mut ImportReport,
    batch: Vec<ConsentRecord>,
    batch_first_line: u64,
    rejected_out: Option<std::io::BufWriter<File>>,
    progress: Progress,
    started: Instant,
}

impl Writer<'_> {
    fn run(&mut self, done: Receiver<(u64, Parsed)>) {
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        let mut last_line = self.report.lines_done;
        'chunks: loop {
            let parsed = match pending.remove(&next) {
                Some(p) => p,
                None => match done.recv() {
                    Ok((seq, p)) => {
                        pending.insert(seq, p);
                        continue;
                    }
                    Err(_) => break,
                },
            };
            next += 1;
            let parsed: Parsed = parsed;
            if let Some(e) = parsed.failed {
                // Commit what was read before the failure, then stop.
                if last_line > self.report.lines_done && !self.commit(last_line) {
                    break;
                }
                self.report.error = Some(format!(
                    "akkoord import: {}: {e}; run the same command again to resume after line {}",
                    self.job.path, self.report.lines_done
                ));
                break;
            }
            self.report.read += parsed.lines;
            self.report.blank += parsed.blank;
            for (line, reason) in parsed.rejects {
                self.reject(line, reason);
            }
            for (record, line) in parsed.records.into_iter().zip(parsed.record_lines) {
                if self.batch.is_empty() {
                    self.batch_first_line = line;
                }
                self.batch.push(record);
                if self.batch.len() >= self.job.batch_size && !self.commit(line) {
                    break 'chunks;
                }
            }
            last_line = parsed.last_line.max(last_line);
            self.progress
                .update(parsed.end_offset, self.report, self.started);
        }
        if self.report.error.is_none()
            && (!self.batch.is_empty() || last_line > self.report.lines_done)
        {
            // The tail: the last records, and rejected or blank lines after them.
            self.commit(last_line);
        }
        if let Some(out) = self.rejected_out.as_mut() {
            if let Err(e) = out.flush() {
                self.report.rejected_file_error =
                    Some(format!("{}: {e}", self.job.rejected_path.display()));
            }
        }
    }

    fn reject(&mut self, line: u64, reason: String) {
        self.report.rejected += 1;
        if self.report.rejected_file_error.is_none() {
            if let Err(e) = self.write_reject(line, &reason) {
                self.report.rejected_file_error =
                    Some(format!("{}: {e}", self.job.rejected_path.display()));
            }
        }
        if self.report.rejects.len() < REJECTS_SHOWN {
            self.report.rejects.push((line, reason));
        }
    }

    fn write_reject(&mut self, line: u64, reason: &str) -> std::io::Result<()> {
        if self.rejected_out.is_none() {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.job.rejected_path)?;
            let mut out = std::io::BufWriter::new(file);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            writeln!(
                out,
                "# akkoord import of {} (file id {}), run at unix time {now}",
                self.job.path, self.job.file_id
            )?;
            self.rejected_out = Some(out);
            self.report.rejected_file = Some(self.job.rejected_path.clone());
        }
        match self.rejected_out.as_mut() {
            Some(out) => writeln!(out, "line {line}: {reason}"),
            None => Ok(()),
        }
    }

    /// Commits the batch with `lines_done`, retrying while the store is unavailable. False
    /// (with the report's error set) when the import must stop.
    fn commit(&mut self, lines_done: u64) -> bool {
        let first = if self.batch.is_empty() {
            self.report.lines_done + 1
        } else {
            self.batch_first_line.min(self.report.lines_done + 1)
        };
        let progress = ImportProgress {
            file_id: self.job.file_id.clone(),
            path: self.job.path.clone(),
            lines_done,
        };
        let meta = ChangeMeta {
            author: self.job.author.clone(),
            summary: format!(
                "import {} lines {first}-{lines_done}: {} records",
                self.job.name,
                self.batch.len()
            ),
        };
        let mut pause = self.job.retry_pause;
        let mut attempt = 0;
        let outcome = loop {
            match self
                .store
                .import_batch(&self.batch, self.catalogue, &progress, &meta)
            {
                Ok(outcome) => break outcome,
                Err(StoreError::Unavailable(m)) if attempt < RETRIES => {
                    attempt += 1;
                    self.progress.note(&format!(
                        "akkoord import: store unavailable ({m}); retry {attempt} of {RETRIES} in {:.1} s",
                        pause.as_secs_f64()
                    ));
                    std::thread::sleep(pause);
                    pause *= 2;
                    // The old connection may be dead: start a new one (if that fails too, the
                    // next attempt fails and is retried).
                    if let Ok(fresh) = (self.reopen)() {
                        *self.store = fresh;
                    }
                }
                Err(e) => {
                    let gave_up = if attempt > 0 {
                        format!(" after {attempt} retries")
                    } else {
                        String::new()
                    };
                    self.report.error = Some(format!(
                        "akkoord import: the store refused lines {first}-{lines_done}{gave_up}: {e}. \
                         Lines 1-{done} are committed; run the same command again to resume after \
                         line {done}",
                        done = self.report.lines_done
                    ));
                    return false;
                }
            }
        };
        let WriteOutcome {
            inserted,
            updated,
            unchanged,
            ..
        } = outcome;
        self.report.inserted += inserted;
        self.report.updated += updated;
        self.report.unchanged += unchanged;
        self.report.lines_done = lines_done;
        self.batch.clear();
        self.keep_to_rate();
        true
    }

    /// With a rate limit, waits until the lines this run handled so far are within it.
    fn keep_to_rate(&self) {
        let Some(rate) = self.job.max_rate.filter(|&r| r > 0) else {
            return;
        };
        let handled = self.report.lines_done.saturating_sub(self.report.skipped);
        let due = Duration::from_secs_f64(handled as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(self.started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

/// Progress on stderr: a bar on a terminal, a line every few seconds otherwise.
struct Progress {
    mode: ProgressMode,
    bar: Option<indicatif::ProgressBar>,
    last_log: Instant,
    file_len: u64,
    start_offset: u64,
}

impl Progress {
    fn new(mode: ProgressMode, file_len: u64, start_offset: u64) -> Progress {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = indicatif::ProgressBar::new(file_len);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {percent:>3}% {bytes}/{total_bytes} {msg} ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_position(start_offset);
            bar.reset_eta();
            bar
        });
        Progress {
            mode,
            bar,
            last_log: Instant::now(),
            file_len,
            start_offset,
        }
    }

    fn update(&mut self, offset: u64, report: &ImportReport, started: Instant) {
        let rate = report.records() as f64 / started.elapsed().as_secs_f64().max(1e-9);
        match self.mode {
            ProgressMode::Off => {}
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(offset);
                    bar.set_message(format!(
                        "{} records, {rate:.0}/s, {} rejected",
                        report.records(),
                        report.rejected
                    ));
                }
            }
            ProgressMode::Log => {
                if self.last_log.elapsed() >= LOG_EVERY {
                    self.last_log = Instant::now();
                    let pct = 100.0 * offset as f64 / self.file_len.max(1) as f64;
                    let left = self.file_len.saturating_sub(offset) as f64;
                    let speed = (offset - self.start_offset.min(offset)) as f64
                        / started.elapsed().as_secs_f64().max(1e-9);
                    eprintln!(
                        "akkoord import: {pct:.1}%, {} lines committed, {} records, {rate:.0} records/s, {} rejected, ETA {:.0} s",
                        report.lines_done,
                        report.records(),
                        report.rejected,
                        left / speed.max(1.0)
                    );
                }
            }
        }
    }

    fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The file id (see the module docs): size, modification time and FNV-1a of the first and last
/// MiB.
pub fn file_id(file: &File) -> std::io::Result<String> {
    let meta = file.metadata()?;
    let size = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut hash = Fnv::new();
    let mut f = file;
    let mut buf = vec![0u8; ID_SAMPLE_BYTES as usize];
    let head = ID_SAMPLE_BYTES.min(size) as usize;
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(&mut buf[..head])?;
    hash.write(&buf[..head]);
    if size > ID_SAMPLE_BYTES {
        let tail_start = (size - ID_SAMPLE_BYTES).max(ID_SAMPLE_BYTES);
        let tail = (size - tail_start) as usize;
        f.seek(SeekFrom::Start(tail_start))?;
        f.read_exact(&mut buf[..tail])?;
        hash.write(&buf[..tail]);
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(format!("v1-{size}-{mtime}-{:016x}", hash.0))
}

/// FNV-1a, 64 bit: stable across Rust versions (unlike `DefaultHasher`), which the stored ids
/// need, and fast enough for the 2 MiB it hashes.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ChangeBatch, ConsentChange, FullLoad, Position, RowSink, StoredPolicy};
    use std::sync::atomic::AtomicU32;

    fn catalogue() -> Catalogue {
        Catalogue::from_json(include_str!("../../policies/mitz-catalogue.json"))
            .expect("shipped catalogue")
    }

    /// A store that takes import batches (failing the first `fail_first` calls with
    /// `Unavailable`) and remembers them; everything else is refused.
    struct FakeStore {
        fail_first: Arc<AtomicU32>,
        batches: Batches,
        done: u64,
    }

    fn refused<T>() -> Result<T, StoreError> {
        Err(StoreError::Invalid("not in the fake".into()))
    }

    impl Store for FakeStore {
        fn kind(&self) -> &'static str {
            "fake"
        }
        fn write_consents(
            &mut self,
            _: &[ConsentChange],
            _: &Catalogue,
            _: &ChangeMeta,
        ) -> Result<WriteOutcome, StoreError> {
            refused()
        }
        fn import_batch(
            &mut self,
            records: &[ConsentRecord],
            _: &Catalogue,
            progress: &ImportProgress,
            _: &ChangeMeta,
        ) -> Result<WriteOutcome, StoreError> {
            let left = self.fail_first.load(Ordering::SeqCst);
            if left > 0 {
                self.fail_first.store(left - 1, Ordering::SeqCst);
                return Err(StoreError::Unavailable("connection refused".into()));
            }
            if let Ok(mut b) = self.batches.lock() {
                b.push((records.len(), progress.lines_done));
            }
            self.done = progress.lines_done;
            Ok(WriteOutcome {
                inserted: records.len() as u64,
                ..WriteOutcome::default()
            })
        }
        fn import_lines_done(&mut self, _: &str) -> Result<u64, StoreError> {
            Ok(self.done)
        }
        fn put_policy(
            &mut self,
            _: &str,
            _: &str,
            _: bool,
            _: &ChangeMeta,
        ) -> Result<i64, StoreError> {
            refused()
        }
        fn activate_policy(&mut self, _: &str, _: i64, _: &ChangeMeta) -> Result<(), StoreError> {
            refused()
        }
        fn policies(&mut self, _: bool) -> Result<Vec<StoredPolicy>, StoreError> {
            refused()
        }
        fn policy(&mut self, _: &str, _: i64) -> Result<Option<StoredPolicy>, StoreError> {
            refused()
        }
        fn active_policies(&mut self) -> Result<Vec<StoredPolicy>, StoreError> {
            refused()
        }
        fn load_all(
            &mut self,
            _: &Catalogue,
            _: &mut RowSink<'_>,
            _: &mut dyn FnMut(u64),
        ) -> Result<FullLoad, StoreError> {
            refused()
        }
        fn changes_since(
            &mut self,
            _: &Position,
            _: &Catalogue,
            _: usize,
        ) -> Result<ChangeBatch, StoreError> {
            refused()
        }
        fn wait_for_change(&mut self, _: Duration) -> Result<bool, StoreError> {
            refused()
        }
        fn head_seq(&mut self) -> Result<i64, StoreError> {
            refused()
        }
        fn record_progress(&mut self, _: &str, _: &Position) -> Result<(), StoreError> {
            refused()
        }
        fn consent_count(&mut self) -> Result<u64, StoreError> {
            refused()
        }
    }

    /// A file of `records` generated lines with a blank line and a bad line after them.
    fn sample_file(dir: &Path, records: u64) -> (PathBuf, u64) {
        let c = catalogue();
        let mut text = String::new();
        let mut n = 0;
        for r in pdp_core::consent::generate::Generator::new(&c, 3, records)
            .expect("generator")
            .records()
        {
            pdp_core::consent::fhir::write_consent_line(&r, &c, &mut text).expect("writes");
            n += 1;
        }
        text.push_str("\n{not json\n");
        let path = dir.join("sample.ndjson");
        std::fs::write(&path, text).expect("write");
        (path, n)
    }

    fn job(dir: &Path, batch_size: usize) -> ImportJob {
        ImportJob {
            path: "sample.ndjson".into(),
            file_id: "test".into(),
            name: "sample.ndjson".into(),
            author: "test".into(),
            batch_size,
            threads: 2,
            rejected_path: dir.join("rejected.txt"),
            progress: ProgressMode::Off,
            retry_pause: Duration::from_millis(1),
            max_rate: None,
        }
    }

    /// The batches a fake store took: (records, lines_done).
    type Batches = Arc<Mutex<Vec<(usize, u64)>>>;

    fn fake(fail_first: u32) -> (FakeStore, Arc<AtomicU32>, Batches) {
        let fail = Arc::new(AtomicU32::new(fail_first));
        let batches = Arc::new(Mutex::new(Vec::new()));
        let store = FakeStore {
            fail_first: Arc::clone(&fail),
            batches: Arc::clone(&batches),
            done: 0,
        };
        (store, fail, batches)
    }

    #[test]
    fn an_unavailable_store_is_retried_on_a_fresh_connection() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, n) = sample_file(dir.path(), 300);
        let (store, fail, batches) = fake(3);
        let mut reopened = 0;
        let mut reopen = || {
            reopened += 1;
            let (s, _, _) = fake(0);
            Ok(Box::new(FakeStore {
                fail_first: Arc::clone(&fail),
                batches: Arc::clone(&batches),
                ..s
            }) as Box<dyn Store>)
        };
        let file = File::open(&path).expect("open");
        let report = import(
            file,
            &catalogue(),
            Box::new(store),
            &mut reopen,
            &job(dir.path(), 100),
        );
        assert_eq!(report.error, None);
        assert_eq!(reopened, 3);
        assert_eq!(report.inserted, n);
        assert_eq!(report.rejected, 1);
        assert_eq!(report.blank, 1);
        assert_eq!(report.lines_done, n + 2);
        let b = batches.lock().expect("lock").clone();
        assert_eq!(b.iter().map(|(k, _)| *k as u64).sum::<u64>(), n);
        assert!(b.iter().all(|(k, _)| *k <= 100));
        assert_eq!(
            b.last().map(|(_, d)| *d),
            Some(n + 2),
            "the tail is committed"
        );
    }

    /// With `--max-rate`, a run takes at least its lines divided by the rate (it pauses after
    /// batches) and still imports everything.
    #[test]
    fn a_rate_limit_spreads_the_import_over_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, n) = sample_file(dir.path(), 300);
        let (store, _, batches) = fake(0);
        let mut reopen = || Err(StoreError::Unavailable("not needed".into()));
        let rate = 1_000;
        let job = ImportJob {
            max_rate: Some(rate),
            ..job(dir.path(), 50)
        };
        let started = Instant::now();
        let report = import(
            File::open(&path).expect("open"),
            &catalogue(),
            Box::new(store),
            &mut reopen,
            &job,
        );
        assert_eq!(report.error, None);
        assert_eq!(report.inserted, n);
        assert!(batches.lock().expect("lock").len() >= 6);
        let least = Duration::from_secs_f64(report.lines_done as f64 / rate as f64);
        assert!(
            started.elapsed() >= least,
            "{:?} < {least:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_store_that_stays_away_stops_the_import_with_a_resume_hint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, _) = sample_file(dir.path(), 300);
        let (store, _, batches) = fake(u32::MAX);
        let mut reopen = || Err(StoreError::Unavailable("still down".into()));
        let file = File::open(&path).expect("open");
        let report = import(
            file,
            &catalogue(),
            Box::new(store),
            &mut reopen,
            &job(dir.path(), 100),
        );
        let e = report.error.expect("stopped");
        assert!(e.contains("run the same command again"), "{e}");
        assert!(batches.lock().expect("lock").is_empty());
        assert_eq!(report.lines_done, 0);
    }

    #[test]
    fn skipping_counts_lines_and_knows_a_finished_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, "a\nb\n\nd").expect("write");
        for (skip, more) in [(1, true), (3, true), (4, false), (9, false)] {
            let mut c = Chunker::new(File::open(&path).expect("open"));
            assert_eq!(c.skip_lines(skip).expect("skip"), more, "skip {skip}");
            if more {
                match c.next_chunk() {
                    Some(Chunk::Lines { first_line, .. }) => assert_eq!(first_line, skip + 1),
                    _ => panic!("a chunk"),
                }
            }
        }
    }

    #[test]
    fn file_ids_change_with_the_content() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, "a\nb\n").expect("write");
        let a = file_id(&File::open(&path).expect("open")).expect("id");
        assert_eq!(a, file_id(&File::open(&path).expect("open")).expect("id"));
        std::fs::write(&path, "a\nc\n").expect("write");
        assert_ne!(a, file_id(&File::open(&path).expect("open")).expect("id"));
    }
}
