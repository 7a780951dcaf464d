//! FHIR consent line parsing: `parse_consent_line` per line (the hot loop of `akkoord import`),
//! against a floor: `serde_json` skimming the same lines into `IgnoredAny` (validates the JSON,
//! builds nothing). The ratio of the two says how much the parser spends beyond reading JSON.
//!
//! Run: `cargo bench --bench fhir_parse`. The lines are the synthetic national mix
//! (`pdp_core::consent::generate`), written with `write_consent_line`, so they have the shape
//! and size (about 1.9 KB) of an `akkoord gen` file. Instruction counts, which do not depend on
//! machine load, come from `valgrind --tool=callgrind` on `examples/fhir_parse_profile.rs`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::{parse_consent_line, write_consent_line};
use pdp_core::consent::generate::Generator;

const CATALOGUE: &str = include_str!("../policies/mitz-catalogue.json");
const LINES: usize = 4_000;

fn lines(catalogue: &Catalogue) -> Vec<String> {
    let generator = Generator::new(catalogue, 7, LINES as u64).expect("generator");
    generator
        .records()
        .take(LINES)
        .map(|record| {
            let mut line = String::new();
            write_consent_line(&record, catalogue, &mut line).expect("writes");
            line
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let catalogue = Catalogue::from_json(CATALOGUE).expect("catalogue");
    let lines = lines(&catalogue);
    let bytes: usize = lines.iter().map(String::len).sum();
    eprintln!(
        "fhir_parse: {} lines, {:.0} bytes per line",
        lines.len(),
        bytes as f64 / lines.len() as f64
    );
    let mut group = c.benchmark_group("fhir_parse");
    // Per line: criterion reports the time of one iteration = all lines, elements = lines.
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("parse_consent_line", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(parse_consent_line(black_box(line), &catalogue).is_ok());
            }
        })
    });
    group.bench_function("serde_json_ignored_any", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(serde_json::from_str::<serde::de::IgnoredAny>(black_box(line)).is_ok());
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
