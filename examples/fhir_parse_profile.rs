//! Profiling aid for the FHIR line parser: generates consent lines, then parses them, so that
//! `valgrind --tool=callgrind --toggle-collect='*parse_consent_line*'` counts the instructions of
//! parsing alone (deterministic, unlike timings on a shared machine).
//!
//! ```text
//! cargo build --release --example fhir_parse_profile
//! valgrind --tool=callgrind --toggle-collect='*parse_consent_line*' \
//!     target/release/examples/fhir_parse_profile 10000
//! ```
//!
//! Divide the reported `Collected` instructions by the number of lines. With a second argument
//! `serde`, it skims the lines with `serde_json` into `IgnoredAny` instead (the floor the
//! `fhir_parse` bench compares against; collect with `--toggle-collect='*skim*'`).

use std::hint::black_box;
use std::time::Instant;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::{parse_consent_line, write_consent_line};
use pdp_core::consent::generate::Generator;

const CATALOGUE: &str = include_str!("../policies/mitz-catalogue.json");

#[inline(never)]
fn skim(line: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let serde = args.next().as_deref() == Some("serde");
    let catalogue = Catalogue::from_json(CATALOGUE).expect("catalogue");
    let generator = Generator::new(&catalogue, 7, n as u64).expect("generator");
    let lines: Vec<String> = generator
        .records()
        .take(n)
        .map(|record| {
            let mut line = String::new();
            write_consent_line(&record, &catalogue, &mut line).expect("writes");
            line
        })
        .collect();
    let start = Instant::now();
    let mut ok = 0usize;
    for line in &lines {
        let good = if serde {
            skim(black_box(line))
        } else {
            parse_consent_line(black_box(line), &catalogue).is_ok()
        };
        ok += usize::from(good);
    }
    let elapsed = start.elapsed();
    println!(
        "{} lines, {ok} ok, {:.0} ns per line",
        lines.len(),
        elapsed.as_nanos() as f64 / lines.len() as f64
    );
}
