//! The agreement check: every engine must give the same (decision, obligation, advice) as the
//! naive reference on every question. Run before the benches time anything, by `cargo test`,
//! and by the `peers-memory` binary.

use std::collections::BTreeMap;

use crate::akkoord::AkkoordEngine;
use crate::cedar_model::CedarEngine;
use crate::model::{Outcome, Question};
use crate::naive::Naive;
use crate::rego_model::{self, RegoEngine};

/// Outcomes of one engine over the question list, or the first error it reported.
pub struct EngineOutcomes {
    pub name: String,
    pub outcomes: Vec<Outcome>,
}

/// Mismatches of one engine against the reference.
#[derive(Debug)]
pub struct Comparison {
    pub reference: String,
    pub engine: String,
    pub mismatches: usize,
    /// The first few differing questions: (index, reference outcome, engine outcome).
    pub examples: Vec<(usize, Outcome, Outcome)>,
}

/// Compares `engine` with `reference` question by question.
pub fn compare(reference: &EngineOutcomes, engine: &EngineOutcomes) -> Comparison {
    let mut examples = Vec::new();
    let mut mismatches = 0;
    for (i, (a, b)) in reference.outcomes.iter().zip(&engine.outcomes).enumerate() {
        if a != b {
            mismatches += 1;
            if examples.len() < 5 {
                examples.push((i, *a, *b));
            }
        }
    }
    mismatches += reference.outcomes.len().abs_diff(engine.outcomes.len());
    Comparison {
        reference: reference.name.clone(),
        engine: engine.name.clone(),
        mismatches,
        examples,
    }
}

/// The naive reference's outcomes.
pub fn naive_outcomes(naive: &Naive, questions: &[Question]) -> EngineOutcomes {
    EngineOutcomes {
        name: "naive".into(),
        outcomes: questions.iter().map(|q| naive.decide(q)).collect(),
    }
}

/// Cedar's outcomes; a request that cannot be built or a policy evaluation error is an error
/// (Cedar would skip an erroring policy silently, which could hide a modelling mistake).
pub fn cedar_outcomes(
    cedar: &CedarEngine,
    questions: &[Question],
) -> Result<EngineOutcomes, String> {
    let mut outcomes = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        let request = cedar.request(q).map_err(|e| format!("question {i}: {e}"))?;
        let errors = cedar.errors(&request);
        if errors > 0 {
            return Err(format!("question {i}: {errors} Cedar evaluation errors"));
        }
        outcomes.push(cedar.decide(&request));
    }
    Ok(EngineOutcomes {
        name: cedar.layout().name().into(),
        outcomes,
    })
}

/// Akkoord's outcomes; a question it refuses, a decision other than Permit/Deny, or a borrowed
/// decision that differs from the owned one is an error.
pub fn akkoord_outcomes(
    akkoord: &AkkoordEngine,
    questions: &[Question],
) -> Result<EngineOutcomes, String> {
    let outcomes = questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let p = akkoord
                .prepare(q)
                .map_err(|e| format!("question {i}: {e}"))?;
            let view = akkoord
                .decide(&p)
                .map_err(|e| format!("question {i}: {e}"))?;
            // The borrowed and the owned form of the decision must say the same.
            let owned = akkoord
                .decide_owned(&p)
                .map_err(|e| format!("question {i}: {e}"))?;
            if view != owned {
                return Err(format!(
                    "question {i}: the view says {view:?}, the owned result {owned:?}"
                ));
            }
            Ok(view)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EngineOutcomes {
        name: "akkoord".into(),
        outcomes,
    })
}

/// One Regorus mode's outcomes.
pub fn rego_outcomes(rego: &RegoEngine, questions: &[Question]) -> Result<EngineOutcomes, String> {
    let outcomes = questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            rego.decide(&rego_model::input(q))
                .map_err(|e| format!("question {i}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EngineOutcomes {
        name: rego.mode().name().into(),
        outcomes,
    })
}

/// Every pair of engines compared (each pair once), for the "mismatches: 0" lines.
pub fn all_pairs(engines: &[EngineOutcomes]) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (i, a) in engines.iter().enumerate() {
        for b in &engines[i + 1..] {
            out.push(compare(a, b));
        }
    }
    out
}

/// Prints one line per pair and returns whether all agree.
pub fn report(comparisons: &[Comparison]) -> bool {
    let mut ok = true;
    for c in comparisons {
        println!(
            "{} vs {}: mismatches: {}",
            c.reference, c.engine, c.mismatches
        );
        for (i, a, b) in &c.examples {
            println!("  question {i}: {} {a:?}, {} {b:?}", c.reference, c.engine);
        }
        ok &= c.mismatches == 0;
    }
    ok
}

/// How the reference's outcomes are spread over the kinds of answer (to show the workload hits
/// every rule).
pub fn outcome_mix(outcomes: &[Outcome]) -> BTreeMap<&'static str, usize> {
    let mut mix = BTreeMap::new();
    for o in outcomes {
        let label = match (o.permit, o.obligation, o.advice) {
            (true, false, _) => "permit",
            (true, true, _) => "permit + inform citizen",
            (false, _, false) => "deny",
            (false, _, true) => "deny + no consent recorded",
        };
        *mix.entry(label).or_insert(0) += 1;
    }
    mix
}
