//! Consent index benches: `facts()` lookups (the PIP's hot path), single-record upserts, and a
//! small bulk build, on the synthetic national mix (`pdp_core::consent::generate`).
//!
//! Run: `cargo bench --bench consent_index`. The index holds 1,000,000 citizens by default; set
//! `AKKOORD_BENCH_CITIZENS=18000000` for national size (build ≈ 4–8 s and ≈ 0.8 GiB first). The
//! national build time and resident memory are measured by
//! `cargo run --release --example index_national -- 18000000`, not here.
//!
//! Lookups cycle through 65,536 precomputed questions for random citizens, so most touch cold
//! cache lines of the index, as production traffic does; `facts/same_citizen` shows the
//! warm-cache cost for comparison.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::{Generator, PROVIDERS};
use pdp_core::consent::index::{ConsentIndex, FactsQuery};
use pdp_core::consent::record::{Choice, ConsentRecord, HolderScope};

const CATALOGUE: &str = include_str!("../policies/mitz-catalogue.json");
const QUERIES: usize = 1 << 16;

fn citizens() -> u64 {
    std::env::var("AKKOORD_BENCH_CITIZENS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
}

/// A tiny deterministic PRNG for picking questions (xorshift64*).
struct Pick(u64);
impl Pick {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
    }
}

fn questions(catalogue: &Catalogue, generator: &Generator, present: bool) -> Vec<FactsQuery> {
    let data: Vec<_> = ["GGC002", "GGC013", "GGC012"]
        .iter()
        .filter_map(|c| catalogue.data_category(c))
        .collect();
    let consulting: Vec<_> = catalogue.consulting_category_ids().collect();
    let mut pick = Pick(0x9E37_79B9_7F4A_7C15);
    let absent = Generator::new(
        catalogue,
        ABSENT_SEED,
        generator.citizens() * 2 + QUERIES as u64,
    )
    .expect("generator");
    let mut records = Vec::new();
    (0..QUERIES)
        .map(|q| {
            let (mut holder, kind) = generator.provider(pick.below(u64::from(PROVIDERS)) as u32);
            let bsn = if present {
                let citizen = pick.below(generator.citizens());
                // Every other question names a holder the citizen chose for individually, if any.
                generator.citizen_records(citizen, &mut records);
                if q % 2 == 0 {
                    if let Some(ura) = records.iter().find_map(|r| match r.holder {
                        HolderScope::Organisation(ura) => Some(ura),
                        HolderScope::Category(_) => None,
                    }) {
                        holder = ura;
                    }
                }
                generator.bsn(citizen)
            } else {
                // Another seed's BSNs: almost all absent from the index.
                absent.bsn(pick.below(absent.citizens()))
            };
            FactsQuery {
                bsn,
                holder,
                holder_category: catalogue.holder_category_of_type(kind),
                data_category: data[pick.below(data.len() as u64) as usize],
                consulting: consulting[pick.below(consulting.len() as u64) as usize],
                now: generator.now(),
            }
        })
        .collect()
}

const ABSENT_SEED: u64 = 0x00AB_5E17;

fn bench_index(c: &mut Criterion) {
    let catalogue = Catalogue::from_json(CATALOGUE).expect("catalogue");
    let n = citizens();
    let generator = Generator::new(&catalogue, 1, n).expect("generator");
    let parts: Vec<_> = generator
        .partitions(2)
        .into_iter()
        .map(|r| generator.records_in(r))
        .collect();
    let index = ConsentIndex::from_partitions(&catalogue, n as usize, 2 * n as usize, parts);
    eprintln!(
        "consent_index bench: {} citizens, {} records, {:.1} MiB of index",
        index.len(),
        index.record_count(),
        index.heap_bytes() as f64 / 1_048_576.0
    );

    let hits = questions(&catalogue, &generator, true);
    let misses = questions(&catalogue, &generator, false);
    let mut group = c.benchmark_group("facts");
    let mut i = 0usize;
    group.bench_function("random_citizen", |b| {
        b.iter(|| {
            i = (i + 1) & (QUERIES - 1);
            black_box(index.facts(black_box(&hits[i])))
        })
    });
    group.bench_function("absent_citizen", |b| {
        b.iter(|| {
            i = (i + 1) & (QUERIES - 1);
            black_box(index.facts(black_box(&misses[i])))
        })
    });
    let one = hits[0];
    group.bench_function("same_citizen", |b| {
        b.iter(|| black_box(index.facts(black_box(&one))))
    });
    group.finish();

    // A writer's cost: replace one record of a random citizen (same key, other choice).
    let mut group = c.benchmark_group("write");
    let mut records = Vec::new();
    let mut pick = Pick(42);
    group.bench_function("upsert_replace", |b| {
        b.iter_batched(
            || {
                generator.citizen_records(pick.below(n), &mut records);
                let mut r: ConsentRecord = records[0];
                r.choice = if r.choice == Choice::Yes {
                    Choice::No
                } else {
                    Choice::Yes
                };
                r
            },
            |r| black_box(index.upsert(&r)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("remove_and_reinsert", |b| {
        b.iter_batched(
            || {
                generator.citizen_records(pick.below(n), &mut records);
                records[0]
            },
            |r| {
                index.remove(r.bsn, &r.key());
                black_box(index.upsert(&r))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    let small = Generator::new(&catalogue, 2, 100_000).expect("generator");
    group.bench_function("from_partitions_100k_citizens", |b| {
        b.iter(|| {
            let parts: Vec<_> = small
                .partitions(2)
                .into_iter()
                .map(|r| small.records_in(r))
                .collect();
            black_box(ConsentIndex::from_partitions(&catalogue, 100_000, 200_000, parts).len())
        })
    });
    group.finish();
    // How many questions found choices: a sanity check that the bench asks realistic things.
    let individual = hits
        .iter()
        .filter(|q| !index.facts(q).individual.is_empty())
        .count();
    let categorical = hits
        .iter()
        .filter(|q| !index.facts(q).categorical.is_empty())
        .count();
    eprintln!(
        "consent_index bench: of {QUERIES} questions, {individual} found an individual choice, {categorical} a categorical one"
    );
}

criterion_group!(benches, bench_index);
criterion_main!(benches);
