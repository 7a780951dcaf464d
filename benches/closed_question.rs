//! The closed question on the wire, bytes to bytes, around the decision: parsing a 5 KB SOAP
//! request (`fixtures/soap/bench-5k.xml`: three data categories, mandated assistant) and writing
//! a typical three-result SOAP answer, next to the baseline the goal is stated against — a bare
//! quick-xml event walk over the same bytes that only counts events.
//!
//! Goals (issue 3): request in + response out p50 ≤ 10 µs on one core, and at most 1.2× the bare
//! walk measured in the same run. The decision itself is benched with the consent service
//! (`bytes → decision → bytes`); this bench isolates the codec.
//!
//! Run: `cargo bench --bench closed_question`. Compare ratios within one run only.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use pdp_core::protocol::soap::{parse_closed_question, write_closed_answer};
use pdp_core::xacml::request::{RequestAttribute, RequestCategory};
use pdp_core::xacml::response::{Decision, DecisionResult, Response, Status};
use pdp_core::xacml::value::Value;
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::{CompileOptions, Pdp, PolicySource};
use quick_xml::events::Event;
use quick_xml::Reader;

const RESOURCE: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource";
const ACTION: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:action";

fn request_bytes() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/soap/bench-5k.xml");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The baseline: every event of the document, nothing decoded, nothing kept.
fn bare_walk(bytes: &[u8]) -> usize {
    let mut reader = Reader::from_reader(bytes);
    let mut events = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return events,
            Ok(_) => events += 1,
            Err(e) => panic!("the fixture is well-formed: {e}"),
        }
    }
}

/// A policy that mentions the closed question's categories and ids, so that the parser can
/// share their strings (what the shipped consent policy gives it).
fn symbols_pdp() -> Pdp {
    let designator = |category: &str, id: &str, dt: &str| {
        format!(
            r#"<AttributeDesignator Category="{category}" AttributeId="{id}" DataType="urn:hl7-org:v3#{dt}" MustBePresent="false"/>"#
        )
    };
    let ids = [
        (
            RESOURCE,
            "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
            "II",
        ),
        (
            RESOURCE,
            "urn:ihe:iti:appc:2016:document-entry:healthcare-facility-type-code",
            "CV",
        ),
        (
            RESOURCE,
            "urn:ihe:iti:appc:2016:author-institution:id",
            "II",
        ),
        (
            ACTION,
            "urn:ihe:iti:appc:2016:document-entry:event-code",
            "CV",
        ),
        (
            "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject",
            "urn:oasis:names:tc:xacml:2.0:subject:role",
            "CV",
        ),
        (
            "urn:oasis:names:tc:xacml:3.0:attribute-category:environment",
            "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
            "CV",
        ),
    ];
    let conditions: String = ids
        .iter()
        .map(|(c, id, dt)| {
            format!(
                r#"<Apply FunctionId="urn:akkoord:function:hl7:{dt}-bag-size">{}</Apply>"#,
                designator(c, id, dt)
            )
        })
        .map(|size| {
            format!(
                r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:integer-greater-than-or-equal">{size}<AttributeValue DataType="http://www.w3.org/2001/XMLSchema#integer">0</AttributeValue></Apply>"#
            )
        })
        .collect();
    let policy = format!(
        r#"<Policy xmlns="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" PolicyId="bench" Version="1"
  RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides">
  <Target/>
  <Rule RuleId="r" Effect="Permit"><Condition><Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:and">{conditions}</Apply></Condition></Rule>
</Policy>"#
    );
    Pdp::compile(
        &[PolicySource {
            name: "bench",
            text: &policy,
        }],
        &CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
}

/// Three results, as the consent service answers three data categories: Permit, Permit, Deny,
/// each echoing the patient, the holder and its category.
fn typical_response() -> Response {
    let resource = RequestCategory {
        category: Arc::from(RESOURCE),
        xml_id: None,
        has_content: false,
        attributes: vec![
            RequestAttribute {
                id: Arc::from("urn:oasis:names:tc:xacml:2.0:resource:resource-id"),
                issuer: None,
                include_in_result: true,
                values: vec![Value::ii("2.16.840.1.113883.2.4.6.3", "999990019", None)].into(),
            },
            RequestAttribute {
                id: Arc::from("urn:ihe:iti:appc:2016:author-institution:id"),
                issuer: None,
                include_in_result: true,
                values: vec![Value::ii("2.16.528.1.1007.3.3", "00000001", None)].into(),
            },
        ],
    };
    let results = [
        ("GGC002", Decision::Permit),
        ("GGC003", Decision::Permit),
        ("GGC013", Decision::Deny),
    ]
    .into_iter()
    .map(|(code, decision)| {
        let mut result = DecisionResult::new(decision, Status::ok());
        result.attributes = vec![
            Arc::new(resource.clone()),
            Arc::new(RequestCategory {
                category: Arc::from(ACTION),
                xml_id: None,
                has_content: false,
                attributes: vec![RequestAttribute {
                    id: Arc::from("urn:ihe:iti:appc:2016:document-entry:event-code"),
                    issuer: None,
                    include_in_result: true,
                    values: vec![Value::cv(code, "2.16.840.1.113883.2.4.3.111.5.10.1", None)]
                        .into(),
                }],
            }),
        ]
        .into();
        result
    })
    .collect();
    Response { results }
}

fn bench_closed_question(c: &mut Criterion) {
    let bytes = request_bytes();
    let limits = XmlLimits::default();
    let pdp = symbols_pdp();
    let mut group = c.benchmark_group("closed_question");
    group.bench_function("bare_quick_xml_walk_5k", |b| {
        b.iter(|| bare_walk(black_box(&bytes)))
    });
    group.bench_function("parse_closed_question_5k", |b| {
        b.iter(|| parse_closed_question(black_box(&bytes), &limits, None))
    });
    group.bench_function("parse_closed_question_5k_shared_symbols", |b| {
        b.iter(|| parse_closed_question(black_box(&bytes), &limits, Some(pdp.symbols())))
    });
    let response = typical_response();
    let mut out = String::with_capacity(8 * 1024);
    group.bench_function("write_closed_answer_3_results", |b| {
        b.iter(|| {
            out.clear();
            write_closed_answer(
                black_box(&response),
                Some("urn:uuid:b5b5b5b5-0000-4000-8000-000000000005"),
                &mut out,
            );
            out.len()
        })
    });
    group.bench_function("parse_and_write_5k", |b| {
        b.iter(|| {
            let envelope = parse_closed_question(black_box(&bytes), &limits, Some(pdp.symbols()))
                .map_err(|f| f.to_string());
            out.clear();
            if let Ok(envelope) = envelope {
                write_closed_answer(&response, envelope.message_id.as_deref(), &mut out);
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_closed_question);
criterion_main!(benches);
