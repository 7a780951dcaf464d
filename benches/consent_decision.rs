//! The closed question's headline figures (issue 3):
//!
//! - `embedded_decision`: one individual decision on a parsed question (one data category)
//!   through the shipped XACML policy set (`policies/mitz-consent.xml`) and the consent index as
//!   policy information point, with an index of the whole country: 18 million citizens, about
//!   36 million records, from the synthetic generator. Goal: p50 ≤ 200 ns. The decision is
//!   read in place (`DecisionView`); `embedded_decision_owned` times the owned
//!   `DecisionResult` of the same decision.
//! - `bytes_to_bytes`: a 5 KB SOAP closed question in (`fixtures/soap/bench-5k.xml`, three data
//!   categories), the SOAP answer out, on one core, against a bare quick-xml event walk over the
//!   same bytes measured in the same run. Goal: p50 ≤ 10 µs and ≤ 1.2× the walk. Each
//!   iteration takes the next of 256 messages of the fixture's form with other values
//!   (patients, holders, data categories, requester types, purposes, message ids:
//!   `support::questions::bench_5k_variants`), for the walk too. `bytes_to_bytes_5k` is the
//!   service as it runs (the form's shape learned from its first message, `protocol::shape`);
//!   `bytes_to_bytes_5k_full_parse` is the same service with shapes turned off, i.e. every
//!   message parsed in full (what a client's first message of a new form costs);
//!   `bytes_to_bytes_5k_new_form_each` gives every message a form of its own (256 forms, more
//!   than the service keeps), so each is parsed in full and learned: the cache's worst case.
//!
//! ```text
//! cargo bench --bench consent_decision                        # 18 M citizens (~1 GiB RAM)
//! AKKOORD_BENCH_CITIZENS=1000000 cargo bench --bench consent_decision
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::ClosedQuestionService;
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::{CompileOptions, PolicySource};

#[path = "support/questions.rs"]
mod questions;

const POLICY: &str = include_str!("../policies/mitz-consent.xml");
const CATALOGUE: &str = include_str!("../policies/mitz-catalogue.json");
const QUESTION_5K: &[u8] = include_bytes!("../fixtures/soap/bench-5k.xml");

struct Setup {
    service: ClosedQuestionService,
    /// The same policies and index, without message shapes.
    full_parse: ClosedQuestionService,
    generator: Generator,
}

fn setup() -> Setup {
    let citizens: u64 = std::env::var("AKKOORD_BENCH_CITIZENS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(18_000_000);
    let catalogue = Arc::new(Catalogue::from_json(CATALOGUE).expect("catalogue"));
    let generator = Generator::new(&catalogue, 1, citizens).expect("generator");
    let started = Instant::now();
    let parts = generator
        .partitions(2)
        .into_iter()
        .map(|r| generator.records_in(r))
        .collect();
    let index = Arc::new(ConsentIndex::from_partitions(
        &catalogue,
        citizens as usize,
        citizens as usize * 2,
        parts,
    ));
    eprintln!(
        "consent index: {} citizens, {} records, built in {:.1} s",
        index.len(),
        index.record_count(),
        started.elapsed().as_secs_f64()
    );
    let service = |capacity: usize| {
        ClosedQuestionService::new(
            &[PolicySource {
                name: "policies/mitz-consent.xml",
                text: POLICY,
            }],
            &CompileOptions::default(),
            catalogue.clone(),
            index.clone(),
        )
        .expect("the shipped policy compiles")
        .with_shape_capacity(capacity)
    };
    Setup {
        service: service(pdp_core::protocol::shape::DEFAULT_CAPACITY),
        full_parse: service(0),
        generator,
    }
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let prepared = questions::prepared_questions(&s.service, &s.generator, 4096);
    let mut tally = std::collections::HashMap::new();
    for p in &prepared {
        *tally
            .entry(s.service.decide_prepared(p).decision.as_str())
            .or_insert(0usize) += 1;
    }
    eprintln!("decision mix over the 4096 bench questions: {tally:?}");

    let mut group = c.benchmark_group("closed_question");
    let mut i = 0usize;
    // The decision read in place (`DecisionView`: borrows the stored outcome and the echo).
    group.bench_function("embedded_decision", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            let view = s.service.decide_prepared_view(black_box(&prepared[i]));
            black_box((view.decision, view.obligations.len(), view.advice.len()))
        })
    });
    // The same decision as an owned `DecisionResult` (reference counts taken and dropped).
    group.bench_function("embedded_decision_owned", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            black_box(s.service.decide_prepared(black_box(&prepared[i])))
        })
    });

    let variants = questions::bench_5k_variants(&s.generator, 256);
    let mut k = 0usize;
    group.bench_function("quick_xml_walk_5k", |b| {
        b.iter(|| {
            k = (k + 1) & 255;
            let mut reader = quick_xml::Reader::from_reader(black_box(&variants[k][..]));
            let mut events = 0usize;
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                    Ok(_) => events += 1,
                }
            }
            events
        })
    });

    let limits = XmlLimits::default();
    let time = RequestTime {
        unix_secs: s.generator.now(),
        nanos: 0,
    };
    let mut out = String::with_capacity(16 * 1024);
    s.service
        .answer(QUESTION_5K, &limits, time, &mut out)
        .expect("the bench question is valid");
    let mut answers = std::collections::HashMap::new();
    for v in &variants {
        out.clear();
        s.service
            .answer(v, &limits, time, &mut out)
            .expect("the bench variants are valid");
        let mut full = String::new();
        s.full_parse
            .answer(v, &limits, time, &mut full)
            .expect("the bench variants are valid");
        assert_eq!(out, full, "shaped and full parse answer alike");
        for d in ["Permit", "Deny", "Indeterminate", "NotApplicable"] {
            *answers.entry(d).or_insert(0usize) += out.matches(&format!(">{d}<")).count();
        }
    }
    eprintln!(
        "answers over the 256 bench messages: {answers:?}; shapes: {:?}",
        s.service.shape_stats()
    );
    // Last, as it fills the cache with one-off shapes.
    let new_forms = questions::each_a_new_form(&variants);
    for (name, service, messages) in [
        ("bytes_to_bytes_5k", &s.service, &variants),
        ("bytes_to_bytes_5k_full_parse", &s.full_parse, &variants),
        ("bytes_to_bytes_5k_new_form_each", &s.service, &new_forms),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                k = (k + 1) & 255;
                out.clear();
                service
                    .answer(black_box(&messages[k]), &limits, time, &mut out)
                    .expect("valid");
                out.len()
            })
        });
    }
    eprintln!("shapes after the benches: {:?}", s.service.shape_stats());
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
