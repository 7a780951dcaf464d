//! XACML engine benches: compile time of a 1,000-policy set, and the decision time of a typical
//! request against 10, 1,000 and 10,000 policies whose targets match on equality (the target
//! index keeps this nearly flat), plus one small policy on a pre-parsed request.
//!
//! Run: `cargo bench --bench xacml`. Figures are medians on the machine that ran them; compare
//! ratios within one run.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::xml::request::parse_request;
use pdp_core::xacml::{CompileOptions, Pdp, PolicySource};

const NS: &str = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17";
const STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
const RESOURCE: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource";
const SUBJECT: &str = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject";
const ACTION: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:action";

fn string_match(category: &str, attribute: &str, value: &str) -> String {
    format!(
        r#"<Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal">
  <AttributeValue DataType="{STRING}">{value}</AttributeValue>
  <AttributeDesignator Category="{category}" AttributeId="{attribute}" DataType="{STRING}" MustBePresent="false"/>
</Match>"#
    )
}

/// A policy for one resource: physicians may read it, everyone else is denied.
fn policy(i: usize) -> String {
    let resource = string_match(
        RESOURCE,
        "urn:oasis:names:tc:xacml:1.0:resource:resource-id",
        &format!("record-{i}"),
    );
    let role = string_match(SUBJECT, "urn:example:role", "physician");
    let action = string_match(
        ACTION,
        "urn:oasis:names:tc:xacml:1.0:action:action-id",
        "read",
    );
    format!(
        r#"<Policy PolicyId="policy-{i}" Version="1.0" RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-unless-permit">
  <Target><AnyOf><AllOf>{resource}</AllOf></AnyOf></Target>
  <Rule RuleId="read-{i}" Effect="Permit">
    <Target><AnyOf><AllOf>{role}{action}</AllOf></AnyOf></Target>
  </Rule>
</Policy>"#
    )
}

fn policy_set(n: usize) -> String {
    let mut out = format!(
        r#"<PolicySet xmlns="{NS}" PolicySetId="bench" Version="1.0" PolicyCombiningAlgId="urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:deny-overrides"><Target/>"#
    );
    for i in 0..n {
        out.push_str(&policy(i));
    }
    out.push_str("</PolicySet>");
    out
}

fn request(resource: usize) -> String {
    format!(
        r#"<Request xmlns="{NS}" ReturnPolicyIdList="false" CombinedDecision="false">
  <Attributes Category="{SUBJECT}">
    <Attribute AttributeId="urn:oasis:names:tc:xacml:1.0:subject:subject-id" IncludeInResult="false"><AttributeValue DataType="{STRING}">dr-jansen</AttributeValue></Attribute>
    <Attribute AttributeId="urn:example:role" IncludeInResult="false"><AttributeValue DataType="{STRING}">physician</AttributeValue></Attribute>
  </Attributes>
  <Attributes Category="{RESOURCE}">
    <Attribute AttributeId="urn:oasis:names:tc:xacml:1.0:resource:resource-id" IncludeInResult="false"><AttributeValue DataType="{STRING}">record-{resource}</AttributeValue></Attribute>
  </Attributes>
  <Attributes Category="{ACTION}">
    <Attribute AttributeId="urn:oasis:names:tc:xacml:1.0:action:action-id" IncludeInResult="false"><AttributeValue DataType="{STRING}">read</AttributeValue></Attribute>
  </Attributes>
</Request>"#
    )
}

fn compile(text: &str) -> Pdp {
    let options = CompileOptions {
        xml_limits: XmlLimits {
            max_bytes: 256 * 1024 * 1024,
            ..XmlLimits::default()
        },
        ..CompileOptions::default()
    };
    match Pdp::compile(
        &[PolicySource {
            name: "bench.xml",
            text,
        }],
        &options,
    ) {
        Ok(pdp) => pdp,
        Err(errors) => panic!("bench policy does not compile: {}", errors[0]),
    }
}

const NOW: RequestTime = RequestTime {
    unix_secs: 1_795_000_000,
    nanos: 0,
};

fn bench_compile(c: &mut Criterion) {
    let text = policy_set(1_000);
    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    group.bench_function("1000_policies", |b| b.iter(|| compile(black_box(&text))));
    group.finish();
}

fn bench_decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide_prepared");
    for n in [10usize, 1_000, 10_000] {
        let pdp = compile(&policy_set(n));
        let req = match parse_request(request(n / 2).as_bytes(), &XmlLimits::default()) {
            Ok(r) => r,
            Err(e) => panic!("bench request does not parse: {e}"),
        };
        let prepared = pdp.prepare(&req, NOW);
        assert_eq!(prepared.len(), 1);
        let result = pdp.decide(&prepared[0]);
        assert_eq!(result.decision, pdp_core::xacml::response::Decision::Permit);
        group.bench_with_input(BenchmarkId::from_parameter(n), &prepared[0], |b, p| {
            b.iter(|| pdp.decide(black_box(p)))
        });
    }
    group.finish();
}

fn bench_small_policy(c: &mut Criterion) {
    let pdp = compile(&policy_set(1));
    let req = match parse_request(request(0).as_bytes(), &XmlLimits::default()) {
        Ok(r) => r,
        Err(e) => panic!("bench request does not parse: {e}"),
    };
    let prepared = pdp.prepare(&req, NOW);
    c.bench_function("decide_small_policy", |b| {
        b.iter(|| pdp.decide(black_box(&prepared[0])))
    });
    let text = request(0);
    c.bench_function("request_bytes_to_decision_small_policy", |b| {
        b.iter(|| {
            let req = parse_request(black_box(text.as_bytes()), &XmlLimits::default());
            let req = match req {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            };
            pdp.evaluate(&req, NOW)
        })
    });
}

criterion_group!(benches, bench_compile, bench_decide, bench_small_policy);
criterion_main!(benches);
