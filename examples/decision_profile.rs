//! Profiling aid: builds a consent index from the generator, prepares questions and decides them
//! in a loop, printing the mean time per decision. Run under `perf record --call-graph dwarf`.
//!
//! ```text
//! cargo run --release --example decision_profile -- [CITIZENS] [DECISIONS] [view | answer | answer-new-forms]
//! ```

use std::sync::Arc;
use std::time::Instant;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::ClosedQuestionService;
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::{CompileOptions, PolicySource};

#[path = "../benches/support/questions.rs"]
mod questions;

const POLICY: &str = include_str!("../policies/mitz-consent.xml");
const CATALOGUE: &str = include_str!("../policies/mitz-catalogue.json");

fn main() {
    let mut args = std::env::args().skip(1);
    let citizens: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let decisions: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    // With a third argument `answer`, time whole SOAP round trips of the 5 KB form instead.
    // With `view`, read each decision in place (`decide_prepared_view`, what the embedded bench
    // times) instead of building the owned result.
    let mode = args.next();
    let answer_mode = matches!(mode.as_deref(), Some("answer" | "answer-new-forms"));
    let view_mode = mode.as_deref() == Some("view");
    let catalogue = Arc::new(Catalogue::from_json(CATALOGUE).expect("catalogue"));
    let generator = Generator::new(&catalogue, 1, citizens).expect("generator");
    let index = Arc::new(ConsentIndex::from_records(&catalogue, generator.records()));
    let service = ClosedQuestionService::new(
        &[PolicySource {
            name: "mitz-consent.xml",
            text: POLICY,
        }],
        &CompileOptions::default(),
        catalogue,
        index,
    )
    .expect("policy");
    let time = RequestTime {
        unix_secs: generator.now(),
        nanos: 0,
    };
    if answer_mode {
        // The bench's 256 messages of the 5 KB form with other values, in turn.
        // With `answer-new-forms`, each message in a form of its own (the shape cache's worst
        // case: every message parsed in full, one in eight learned).
        let mut variants = questions::bench_5k_variants(&generator, 256);
        if mode.as_deref() == Some("answer-new-forms") {
            variants = questions::each_a_new_form(&variants);
        }
        let limits = pdp_core::xacml::xml::doc::XmlLimits::default();
        let mut out = String::with_capacity(16 * 1024);
        let started = Instant::now();
        for i in 0..decisions {
            out.clear();
            service
                .answer(&variants[i & 255], &limits, time, &mut out)
                .expect("valid question");
        }
        println!(
            "{decisions} answers, {:.0} ns each",
            started.elapsed().as_nanos() as f64 / decisions.max(1) as f64
        );
        return;
    }
    let prepared = questions::prepared_questions(&service, &generator, 4096);
    let started = Instant::now();
    let mut permits = 0usize;
    for i in 0..decisions {
        let decision = if view_mode {
            service.decide_prepared_view(&prepared[i & 4095]).decision
        } else {
            service.decide_prepared(&prepared[i & 4095]).decision
        };
        permits += usize::from(decision == pdp_core::xacml::response::Decision::Permit);
    }
    let took = started.elapsed();
    println!(
        "{decisions} decisions, {:.0} ns each, {permits} permits",
        took.as_nanos() as f64 / decisions as f64
    );
}
