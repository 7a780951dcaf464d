//! Per-decision time of the consent question in every engine, on the same data set and the
//! same questions, in one run: `cd bench-peers && cargo bench`.
//!
//! Before anything is timed, every engine is checked against every other on every question
//! ("mismatches: 0" per pair); the bench refuses to time engines that disagree.
//!
//! Each iteration decides the next question of the list (cycling), so a figure is the mean over
//! the whole mix, not one lucky question. Every engine gets its native request prepared outside
//! the timed loop (Akkoord `PreparedRequest`, Cedar `Request`, Regorus `input` value) — the
//! "embedded decision on a parsed question"; the `+request` lines time building the peers'
//! request too.
//!
//! Environment: `PEERS_CITIZENS` (default 100 000), `PEERS_QUESTIONS` (default 10 000).

use std::hint::black_box;
use std::time::Duration;

use bench_peers::akkoord::AkkoordEngine;
use bench_peers::cedar_model::{CedarEngine, CedarLayout};
use bench_peers::check;
use bench_peers::naive::Naive;
use bench_peers::rego_model::{self, RegoEngine, RegoMode};
use bench_peers::workload::Workload;
use criterion::{criterion_group, criterion_main, Criterion};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn peers(c: &mut Criterion) {
    let citizens = env_number("PEERS_CITIZENS", 100_000);
    let questions = env_number("PEERS_QUESTIONS", 10_000);
    eprintln!("workload: {citizens} citizens, {questions} questions");
    let w = Workload::new(citizens as u64, questions).expect("generating the workload");
    eprintln!("records: {}", w.records.len());

    let akkoord = AkkoordEngine::new(&w.catalogue, &w.records).expect("building Akkoord");
    let naive = Naive::new(w.citizen_refs(), w.hierarchy.clone());
    let cedars: Vec<CedarEngine> = CedarLayout::ALL
        .iter()
        .map(|&layout| {
            CedarEngine::new(w.citizen_refs(), &w.hierarchy, &w.data_categories, layout)
                .expect("building the Cedar model")
        })
        .collect();
    for cedar in &cedars {
        eprintln!(
            "{}: {} slot(s) per tag key, {} probe(s) per level and choice",
            cedar.layout().name(),
            cedar.slots(),
            cedar.probes()
        );
    }
    let data = rego_model::build_data(w.citizen_refs(), &w.hierarchy, &w.data_categories);
    let regos: Vec<RegoEngine> = RegoMode::ALL
        .iter()
        .map(|&mode| RegoEngine::new(mode, data.clone()).expect("building a Regorus engine"))
        .collect();
    drop(data);

    // The agreement check, before timing.
    let reference = check::naive_outcomes(&naive, &w.questions);
    eprintln!("outcome mix: {:?}", check::outcome_mix(&reference.outcomes));
    let mut engines = vec![reference];
    engines.push(check::akkoord_outcomes(&akkoord, &w.questions).expect("Akkoord outcomes"));
    for cedar in &cedars {
        engines.push(check::cedar_outcomes(cedar, &w.questions).expect("Cedar outcomes"));
    }
    for rego in &regos {
        engines.push(check::rego_outcomes(rego, &w.questions).expect("Regorus outcomes"));
    }
    assert!(
        check::report(&check::all_pairs(&engines)),
        "engines disagree: refusing to time them"
    );
    drop(engines);

    let n = w.questions.len();
    let mut group = c.benchmark_group("peers");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));

    let prepared: Vec<_> = w
        .questions
        .iter()
        .map(|q| akkoord.prepare(q).expect("Akkoord prepares the question"))
        .collect();
    group.bench_function("akkoord", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % n;
            black_box(akkoord.decide(black_box(&prepared[i])).expect("decision"))
        })
    });
    group.bench_function("akkoord-owned", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % n;
            black_box(
                akkoord
                    .decide_owned(black_box(&prepared[i]))
                    .expect("decision"),
            )
        })
    });
    drop(prepared);

    group.bench_function("naive", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % n;
            black_box(naive.decide(black_box(&w.questions[i])))
        })
    });

    for cedar in &cedars {
        let requests: Vec<_> = w
            .questions
            .iter()
            .map(|q| cedar.request(q).expect("Cedar request"))
            .collect();
        group.bench_function(cedar.layout().name(), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % n;
                black_box(cedar.decide(black_box(&requests[i])))
            })
        });
        group.bench_function(format!("{}+request", cedar.layout().name()), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % n;
                let request = cedar.request(black_box(&w.questions[i])).expect("request");
                black_box(cedar.decide(&request))
            })
        });
    }

    let inputs: Vec<_> = w.questions.iter().map(rego_model::input).collect();
    for rego in &regos {
        group.bench_function(rego.mode().name(), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % n;
                black_box(rego.decide(black_box(&inputs[i])).expect("decision"))
            })
        });
    }
    if let Some(rvm) = regos.iter().find(|r| r.mode() == RegoMode::Rvm) {
        group.bench_function("regorus-rvm+request", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % n;
                let input = rego_model::input(black_box(&w.questions[i]));
                black_box(rvm.decide(&input).expect("decision"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, peers);
criterion_main!(benches);
