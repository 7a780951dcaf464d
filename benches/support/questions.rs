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

/// The 5 KB bench question (`fixtures/soap/bench-5k.xml`) as `n` client messages of one shape
/// with different values, deterministic: message id, patient (generated citizens, so records
/// are found), holder URA and type (synthetic providers), the three data categories, the
/// requester's type and the purpose (values of different lengths: TREAT, COC, ETREAT). A
/// client sends the same form with new values each time; so do the benches, so that nothing
/// is measured on one repeated message.
pub fn bench_5k_variants(generator: &Generator, n: usize) -> Vec<Vec<u8>> {
    const TEMPLATE: &str = include_str!("../../fixtures/soap/bench-5k.xml");
    let data = ["GGC002", "GGC012", "GGC013"];
    let requesters = ["J8", "Z3", "V6", "T2", "G5"];
    let purposes = ["TREAT", "TREAT", "COC", "ETREAT"];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let replace_one = |text: &str, from: &str, to: &str| {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from} occurs once in the template"
        );
        text.replacen(from, to, 1)
    };
    (0..n)
        .map(|i| {
            let citizen = next(generator.citizens());
            let (holder, holder_type) = generator.provider(next(20_000) as u32);
            let first = next(3) as usize;
            let mut t = replace_one(
                TEMPLATE,
                "b5b5b5b5-0000-4000-8000-000000000005",
                &format!("b5b5b5b5-0000-4000-8000-{i:012}"),
            );
            t = replace_one(
                &t,
                "extension=\"999990019\"",
                &format!("extension=\"{}\"", generator.bsn(citizen)),
            );
            t = replace_one(
                &t,
                "extension=\"00000001\"",
                &format!("extension=\"{holder}\""),
            );
            t = replace_one(&t, "code=\"V6\"", &format!("code=\"#{holder_type}\""));
            for (k, code) in ["GGC002", "GGC003", "GGC013"].iter().enumerate() {
                let new = data[(first + k) % data.len()];
                t = replace_one(&t, &format!("code=\"{code}\""), &format!("code=\"#{new}\""));
            }
            t = replace_one(
                &t,
                "code=\"J8\"",
                &format!("code=\"#{}\"", requesters[next(5) as usize]),
            );
            t = replace_one(
                &t,
                "code=\"TREAT\"",
                &format!("code=\"#{}\"", purposes[next(4) as usize]),
            );
            // `#` marks what was replaced, so that a new code is never taken for an old one.
            t.replace("code=\"#", "code=\"").into_bytes()
        })
        .collect()
}

/// `messages` each turned into a form of its own (indentation before `<a:Action>` as wide as
/// the message's position, 1–256 spaces): with more forms than a service keeps shapes, every
/// message is parsed in full and learned (the worst case of the shape cache).
pub fn each_a_new_form(messages: &[Vec<u8>]) -> Vec<Vec<u8>> {
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let text = String::from_utf8_lossy(m);
            let indented = format!("{}<a:Action", " ".repeat(i + 1));
            assert_eq!(text.matches("    <a:Action").count(), 1);
            text.replacen("    <a:Action", &indented, 1).into_bytes()
        })
        .collect()
}
