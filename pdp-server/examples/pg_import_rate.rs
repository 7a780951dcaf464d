//! Import and full-load throughput of the PostgreSQL store.
//!
//! ```text
//! cargo run --release -p pdp-server --example pg_import_rate -- [RECORDS] [BATCH] [URL]
//! ```
//!
//! Generates `RECORDS` (default 5,000,000) consent records with the data-set generator, imports
//! them with `import_batch` in batches of `BATCH` (default 20,000), then streams them back with
//! `load_all`, printing rows per second for each. Without `URL` it uses a throw-away database on
//! the test server (`AKKOORD_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/postgres`),
//! dropped at the end. Generation is timed apart from the import.

use std::time::Instant;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_server::store::postgres::PostgresStore;
use pdp_server::store::testing::postgres_or_skip;
use pdp_server::store::{ChangeMeta, ImportProgress, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wanted: usize = args.first().map_or(Ok(5_000_000), |s| s.parse())?;
    let batch: usize = args.get(1).map_or(Ok(20_000), |s| s.parse())?;
    let throwaway = match args.get(2) {
        Some(_) => None,
        None => Some(postgres_or_skip("pg_import_rate").ok_or("no PostgreSQL server")?),
    };
    let url = match (&throwaway, args.get(2)) {
        (Some(db), _) => db.url().to_string(),
        (None, Some(u)) => u.clone(),
        (None, None) => return Err("no database".into()),
    };
    let catalogue = Catalogue::from_json(include_str!("../../policies/mitz-catalogue.json"))?;

    let t = Instant::now();
    // At least one record per citizen: generate lazily and cut.
    let generator = Generator::new(&catalogue, 42, wanted as u64)?;
    let records: Vec<_> = generator.records().take(wanted).collect();
    println!(
        "generated {} records in {:.2}s",
        records.len(),
        t.elapsed().as_secs_f64()
    );

    let mut store = PostgresStore::open(&url)?;
    let meta = ChangeMeta {
        author: "import:pg_import_rate".into(),
        summary: "generated".into(),
    };
    let t = Instant::now();
    let mut inserted = 0;
    for (i, chunk) in records.chunks(batch).enumerate() {
        let progress = ImportProgress {
            file_id: "generated".into(),
            path: "generated".into(),
            lines_done: ((i + 1) * batch).min(records.len()) as u64,
        };
        inserted += store.import_batch(chunk, &progress, &meta)?.inserted;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "import_batch: {inserted} rows inserted in {secs:.2}s = {:.0} rows/s (batches of {batch})",
        inserted as f64 / secs
    );

    let t = Instant::now();
    let mut sum = 0u64;
    let full = store.load_all(
        &catalogue,
        &mut |r| {
            if let Ok(r) = r {
                sum = sum.wrapping_add(u64::from(r.bsn.get()));
            }
        },
        &mut |_| {},
    )?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "load_all: {} rows ({} undecodable) in {secs:.2}s = {:.0} rows/s (checksum {sum})",
        full.records,
        full.undecodable,
        full.records as f64 / secs
    );
    drop(store);
    drop(throwaway);
    Ok(())
}
