//! Every engine gives the same (decision, obligation, advice) as the naive reference on every
//! generated question.

use bench_peers::akkoord::AkkoordEngine;
use bench_peers::cedar_model::{CedarEngine, CedarLayout};
use bench_peers::check;
use bench_peers::naive::Naive;
use bench_peers::rego_model::{self, RegoEngine, RegoMode};
use bench_peers::workload::Workload;

#[test]
fn all_engines_agree_on_every_question() {
    let w = Workload::new(5_000, 5_000).expect("workload");
    let naive = Naive::new(w.citizen_refs(), w.hierarchy.clone());
    let reference = check::naive_outcomes(&naive, &w.questions);
    let mix = check::outcome_mix(&reference.outcomes);
    println!("outcome mix: {mix:?}");
    assert_eq!(
        mix.len(),
        4,
        "the workload must hit every kind of outcome: {mix:?}"
    );

    let mut engines = vec![reference];
    for layout in CedarLayout::ALL {
        let cedar = CedarEngine::new(w.citizen_refs(), &w.hierarchy, &w.data_categories, layout)
            .expect("cedar");
        engines.push(check::cedar_outcomes(&cedar, &w.questions).expect("cedar outcomes"));
    }
    let data = rego_model::build_data(w.citizen_refs(), &w.hierarchy, &w.data_categories);
    for mode in RegoMode::ALL {
        let rego = RegoEngine::new(mode, data.clone()).expect("regorus");
        engines.push(check::rego_outcomes(&rego, &w.questions).expect("regorus outcomes"));
    }
    let akkoord = AkkoordEngine::new(&w.catalogue, &w.records).expect("akkoord");
    engines.push(check::akkoord_outcomes(&akkoord, &w.questions).expect("akkoord outcomes"));
    let comparisons = check::all_pairs(&engines);
    assert!(
        check::report(&comparisons),
        "engines disagree: {comparisons:#?}"
    );
}
