//! The question mix of the closed-question benches and profiling examples, shared so that the
//! criterion figures and the instruction counts measure the same workload.

use pdp_core::consent::bsn::Ura;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::question::{ClosedQuestion, ClosedQuestionService, Identifier, Purpose};
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::PreparedRequest;

/// `n` prepared individual decisions about generated citizens, deterministic: random synthetic
/// providers as holders (so individual and categorical records are hit), all three data
/// categories and purposes, requesters of several types.
pub fn prepared_questions(
    service: &ClosedQuestionService,
    generator: &Generator,
    n: usize,
) -> Vec<PreparedRequest> {
    let data = ["GGC002", "GGC012", "GGC013"];
    let requesters = ["J8", "Z3", "V6", "T2", "G5"];
    let purposes = [
        Purpose::Treat,
        Purpose::Treat,
        Purpose::Coc,
        Purpose::Etreat,
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let time = RequestTime {
        unix_secs: generator.now(),
        nanos: 0,
    };
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let citizen = next(generator.citizens());
        let (holder, holder_type) = generator.provider(next(20_000) as u32);
        let q = ClosedQuestion {
            bsn: generator.bsn(citizen),
            holder,
            holder_type: holder_type.to_string(),
            data_categories: vec![data[next(3) as usize].to_string()],
            requester: Ura::EXAMPLE,
            requester_type: requesters[next(5) as usize].to_string(),
            role: "01.015".into(),
            professional: Identifier {
                root: "2.16.528.1.1007.3.1".into(),
                extension: "000000123".into(),
            },
            mandated: None,
            purpose: purposes[next(4) as usize],
        };
        let mut prepared = service
            .prepare(q.to_request(), time)
            .expect("generated questions are valid");
        out.append(&mut prepared);
    }
    out.truncate(n);
    out
}
