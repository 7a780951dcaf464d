//! The closed question on the wire: every client-shaped fixture in `fixtures/soap/` parses into
//! the expected XACML request, the answer written for it re-parses with the right headers and
//! one echoing Result per data category, malformed questions get specific faults that never
//! quote a BSN, and no input — truncated or mutated — panics a parser.

use std::path::PathBuf;
use std::sync::Arc;

use pdp_core::protocol::soap::{
    content_type_ok, parse_closed_question, write_closed_answer, write_fault,
    ClosedQuestionEnvelope, FaultCode, SoapFault, ANSWER_ACTION, SOAP12_NS, WSA_NS,
};
use pdp_core::xacml::hl7::HL7_NS;
use pdp_core::xacml::request::{Request, RequestCategory, RequestTime};
use pdp_core::xacml::response::{ActionList, DecisionResult, Response};
use pdp_core::xacml::value::Value;
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::xml::request::{parse_request, parse_request_with, XACML_NS};
use pdp_core::xacml::{CompileOptions, Pdp, PolicySource};

mod support;

const RESOURCE: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource";
const ACTION: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:action";
const SUBJECT: &str = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject";
const ENVIRONMENT: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:environment";
const RESOURCE_ID: &str = "urn:oasis:names:tc:xacml:2.0:resource:resource-id";
const FACILITY_TYPE: &str = "urn:ihe:iti:appc:2016:document-entry:healthcare-facility-type-code";
const AUTHOR_INSTITUTION: &str = "urn:ihe:iti:appc:2016:author-institution:id";
const EVENT_CODE: &str = "urn:ihe:iti:appc:2016:document-entry:event-code";
const ROLE: &str = "urn:oasis:names:tc:xacml:2.0:subject:role";
const PROVIDER_ID: &str = "urn:ihe:iti:xua:2017:subject:provider-identifier";
const MANDATED: &str = "urn:nl:otv:names:tc:1.0:subject:mandated";
const PROVIDER_INSTITUTION: &str = "urn:nl:otv:names:tc:1.0:subject:provider-institution";
const CONSULTING_TYPE: &str =
    "urn:nl:otv:names:tc:1.0:subject:consulting-healthcare-facility-type-code";
const PURPOSE: &str = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse";

const BSN_ROOT: &str = "2.16.840.1.113883.2.4.6.3";
const URA_ROOT: &str = "2.16.528.1.1007.3.3";
const UZI_ROOT: &str = "2.16.528.1.1007.3.1";
const GGC_SYSTEM: &str = "2.16.840.1.113883.2.4.3.111.5.10.1";
const PURPOSE_SYSTEM: &str = "2.16.840.1.113883.1.11.20448";

/// What a fixture must parse into.
struct Expected {
    file: &'static str,
    message_id: &'static str,
    bsn: &'static str,
    holder_ura: &'static str,
    holder_type: &'static str,
    categories: &'static [&'static str],
    role: &'static str,
    mandated: Option<&'static str>,
    purpose: &'static str,
    /// Attribute ids marked IncludeInResult="true".
    included: &'static [&'static str],
}

const ALL: &[&str] = &[
    RESOURCE_ID,
    FACILITY_TYPE,
    AUTHOR_INSTITUTION,
    EVENT_CODE,
    ROLE,
    PROVIDER_ID,
    MANDATED,
    PROVIDER_INSTITUTION,
    CONSULTING_TYPE,
    PURPOSE,
];

const FIXTURES: &[Expected] = &[
    Expected {
        file: "composed-2.8.xml",
        message_id: "urn:uuid:6f1c2a0e-8b7d-4c1e-9a53-0d2f6b1e7a44",
        bsn: "999990019",
        holder_ura: "00000001",
        holder_type: "V6",
        categories: &["GGC002", "GGC013"],
        role: "17.000",
        mandated: Some("000000456"),
        purpose: "TREAT",
        included: &[RESOURCE_ID, FACILITY_TYPE, AUTHOR_INSTITUTION, EVENT_CODE],
    },
    Expected {
        file: "nuts-knooppunt.xml",
        message_id: "urn:uuid:0b5f6a52-3c1d-4f4e-8d2a-9e7c1b2a3d40",
        bsn: "900203638",
        holder_ura: "00000010",
        holder_type: "Z3",
        categories: &["GGC002"],
        role: "01.015",
        mandated: None,
        purpose: "TREAT",
        included: ALL,
    },
    Expected {
        file: "bastion365.xml",
        message_id: "urn:uuid:3f2e1d0c-b9a8-4765-8432-10fedcba9876",
        bsn: "900203651",
        holder_ura: "00000030",
        holder_type: "V4",
        categories: &["GGC003", "GGC012"],
        role: "17.000",
        mandated: None,
        purpose: "TREAT",
        included: &[],
    },
    Expected {
        file: "rust-crate.xml",
        message_id: "urn:uuid:9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
        bsn: "999993653",
        holder_ura: "00000001",
        holder_type: "V6",
        categories: &["GGC002", "GGC013", "GGC012"],
        role: "01.015",
        mandated: None,
        purpose: "TREAT",
        included: &[
            RESOURCE_ID,
            FACILITY_TYPE,
            AUTHOR_INSTITUTION,
            EVENT_CODE,
            ROLE,
            PROVIDER_ID,
        ],
    },
    Expected {
        file: "default-namespaces.xml",
        message_id: "urn:uuid:11111111-2222-4333-8444-555555555555",
        bsn: "999990019",
        holder_ura: "00000001",
        holder_type: "V6",
        categories: &["GGC002"],
        role: "01.015",
        mandated: None,
        purpose: "TREAT",
        included: &[RESOURCE_ID, AUTHOR_INSTITUTION, EVENT_CODE],
    },
    Expected {
        file: "etreat.xml",
        message_id: "urn:uuid:e7e7e7e7-0000-4000-8000-000000000001",
        bsn: "999990019",
        holder_ura: "00000001",
        holder_type: "V6",
        categories: &["GGC002"],
        role: "01.018",
        mandated: None,
        purpose: "ETREAT",
        included: &[RESOURCE_ID, AUTHOR_INSTITUTION, EVENT_CODE],
    },
    Expected {
        file: "coc.xml",
        message_id: "urn:uuid:c0c0c0c0-0000-4000-8000-000000000002",
        bsn: "900203638",
        holder_ura: "00000001",
        holder_type: "Z3",
        categories: &["GGC002", "GGC003"],
        role: "01.018",
        mandated: None,
        purpose: "COC",
        included: &[RESOURCE_ID, AUTHOR_INSTITUTION, EVENT_CODE],
    },
    Expected {
        file: "bench-5k.xml",
        message_id: "urn:uuid:b5b5b5b5-0000-4000-8000-000000000005",
        bsn: "999990019",
        holder_ura: "00000001",
        holder_type: "V6",
        categories: &["GGC002", "GGC003", "GGC013"],
        role: "17.000",
        mandated: Some("000000456"),
        purpose: "TREAT",
        included: &[RESOURCE_ID, AUTHOR_INSTITUTION, EVENT_CODE],
    },
];

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/soap")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).expect("fixtures are UTF-8")
}

fn parse(bytes: &[u8]) -> Result<ClosedQuestionEnvelope<'_>, SoapFault> {
    parse_closed_question(bytes, &XmlLimits::default(), None)
}

fn fault_of(text: &str) -> SoapFault {
    match parse(text.as_bytes()) {
        Ok(_) => panic!("expected a fault for:\n{text}"),
        Err(f) => {
            // No fault may ever quote a BSN of the fixtures.
            for bsn in ["999990019", "900203638", "900203651", "999993653"] {
                assert!(!f.reason.contains(bsn), "fault quotes a BSN: {f}");
            }
            f
        }
    }
}

/// The single value of attribute `id` in the `n`-th category `category`.
fn value<'r>(request: &'r Request, category: &str, n: usize, id: &str) -> &'r Value {
    let cat = request
        .categories
        .iter()
        .filter(|c| &*c.category == category)
        .nth(n)
        .unwrap_or_else(|| panic!("no category {category} #{n}"));
    let attr = cat
        .attributes
        .iter()
        .find(|a| &*a.id == id)
        .unwrap_or_else(|| panic!("no attribute {id}"));
    assert_eq!(attr.values.len(), 1, "{id}");
    &attr.values[0]
}

fn ii(v: &Value) -> (&str, &str) {
    let ii = v.as_ii().unwrap_or_else(|| panic!("not an II: {v:?}"));
    (ii.root(), ii.extension())
}

fn cv(v: &Value) -> (&str, &str) {
    let cv = v.as_cv().unwrap_or_else(|| panic!("not a CV: {v:?}"));
    (cv.code(), cv.code_system())
}

fn check_request(e: &Expected, request: &Request) {
    let f = e.file;
    assert!(
        !request.return_policy_id_list && !request.combined_decision,
        "{f}"
    );
    assert_eq!(request.categories.len(), 3 + e.categories.len(), "{f}");
    assert_eq!(
        ii(value(request, RESOURCE, 0, RESOURCE_ID)),
        (BSN_ROOT, e.bsn),
        "{f}"
    );
    assert_eq!(
        ii(value(request, RESOURCE, 0, AUTHOR_INSTITUTION)),
        (URA_ROOT, e.holder_ura),
        "{f}"
    );
    assert_eq!(
        cv(value(request, RESOURCE, 0, FACILITY_TYPE)).0,
        e.holder_type,
        "{f}"
    );
    for (i, code) in e.categories.iter().enumerate() {
        assert_eq!(
            cv(value(request, ACTION, i, EVENT_CODE)),
            (*code, GGC_SYSTEM),
            "{f}"
        );
    }
    assert_eq!(cv(value(request, SUBJECT, 0, ROLE)).0, e.role, "{f}");
    let provider = value(request, SUBJECT, 0, PROVIDER_ID);
    assert_eq!(ii(provider).0, UZI_ROOT, "{f}");
    assert_eq!(
        provider.as_ii().and_then(|i| i.assigning_authority_name()),
        Some("CIBG"),
        "{f}"
    );
    let subject = request
        .categories
        .iter()
        .find(|c| &*c.category == SUBJECT)
        .expect("subject");
    let mandated = subject.attributes.iter().find(|a| &*a.id == MANDATED);
    match e.mandated {
        Some(uzi) => assert_eq!(
            ii(&mandated.expect("mandated").values[0]),
            (UZI_ROOT, uzi),
            "{f}"
        ),
        None => assert!(mandated.is_none(), "{f}"),
    }
    assert_eq!(
        ii(value(request, SUBJECT, 0, PROVIDER_INSTITUTION)).0,
        URA_ROOT
    );
    assert!(value(request, SUBJECT, 0, CONSULTING_TYPE)
        .as_cv()
        .is_some());
    assert_eq!(
        cv(value(request, ENVIRONMENT, 0, PURPOSE)),
        (e.purpose, PURPOSE_SYSTEM),
        "{f}"
    );
    for cat in &request.categories {
        for a in &cat.attributes {
            assert_eq!(
                a.include_in_result,
                e.included.contains(&&*a.id),
                "{f}: IncludeInResult of {}",
                a.id
            );
        }
    }
    let ids: Vec<_> = request
        .categories
        .iter()
        .map(|c| c.xml_id.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(ids[0], "resource", "{f}");
    assert_eq!(ids[1], "action0", "{f}");
}

#[test]
fn every_client_shape_parses_into_the_expected_request() {
    for e in FIXTURES {
        let bytes = fixture(e.file);
        let envelope = parse(&bytes).unwrap_or_else(|fault| panic!("{}: {fault}", e.file));
        assert_eq!(
            envelope.message_id.as_deref(),
            Some(e.message_id),
            "{}",
            e.file
        );
        assert_eq!(
            envelope.action.as_deref(),
            Some("XACMLAuthorizationDecisionQueryRequest"),
            "{}",
            e.file
        );
        assert!(
            envelope
                .to
                .as_deref()
                .is_some_and(|to| to.ends_with("/geslotenautorisatievraag/xacml3")),
            "{}",
            e.file
        );
        check_request(e, &envelope.request);
    }
}

/// A policy over the HL7 functions only: Permit for data categories GGC002 and GGC013 asked for
/// treatment, Deny otherwise. Enough to get one decision per category with the echo.
const POLICY: &str = r#"<Policy xmlns="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"
    PolicyId="urn:test:soap" Version="1.0"
    RuleCombiningAlgId="urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:first-applicable">
  <Target/>
  <Rule RuleId="permit-some-categories" Effect="Permit">
    <Condition>
      <Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-is-in">
        <Apply FunctionId="urn:akkoord:function:hl7:CV-code">
          <Apply FunctionId="urn:akkoord:function:hl7:CV-one-and-only">
            <AttributeDesignator Category="urn:oasis:names:tc:xacml:3.0:attribute-category:action"
                AttributeId="urn:ihe:iti:appc:2016:document-entry:event-code"
                DataType="urn:hl7-org:v3#CV" MustBePresent="true"/>
          </Apply>
        </Apply>
        <Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-bag">
          <AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">GGC002</AttributeValue>
          <AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">GGC013</AttributeValue>
        </Apply>
      </Apply>
    </Condition>
  </Rule>
  <Rule RuleId="deny-the-rest" Effect="Deny"/>
</Policy>"#;

fn pdp() -> Pdp {
    Pdp::compile(
        &[PolicySource {
            name: "soap-test.xml",
            text: POLICY,
        }],
        &CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
}

const NOW: RequestTime = RequestTime {
    unix_secs: 1_795_000_000,
    nanos: 0,
};

#[test]
fn answers_re_parse_with_headers_and_one_echoing_result_per_category() {
    let pdp = pdp();
    for e in FIXTURES {
        let bytes = fixture(e.file);
        let envelope = parse_closed_question(&bytes, &XmlLimits::default(), Some(pdp.symbols()))
            .unwrap_or_else(|f| panic!("{}: {f}", e.file));
        let mut request = envelope.request.clone();
        // The handleiding requires the patient, holder and category echo in every Result
        // (domain 2.3): the closed-question service marks them whatever the client sent.
        for cat in &mut request.categories {
            for a in &mut cat.attributes {
                if [RESOURCE_ID, AUTHOR_INSTITUTION, EVENT_CODE].contains(&&*a.id) {
                    a.include_in_result = true;
                }
            }
        }
        let response = pdp.evaluate(&request, NOW);
        let mut out = String::new();
        write_closed_answer(&response, envelope.message_id.as_deref(), &mut out);

        let doc = roxmltree::Document::parse(&out).unwrap_or_else(|x| panic!("{x}\n{out}"));
        let root = doc.root_element();
        assert!(root.has_tag_name((SOAP12_NS, "Envelope")));
        let header = root
            .children()
            .find(|n| n.has_tag_name((SOAP12_NS, "Header")))
            .expect("Header");
        let text_of = |name: &str| {
            header
                .children()
                .find(|n| n.has_tag_name((WSA_NS, name)))
                .and_then(|n| n.text())
        };
        assert_eq!(text_of("Action"), Some(ANSWER_ACTION), "{}", e.file);
        assert_eq!(text_of("RelatesTo"), Some(e.message_id), "{}", e.file);
        let body = root
            .children()
            .find(|n| n.has_tag_name((SOAP12_NS, "Body")))
            .expect("Body");
        let xacml_response = body
            .children()
            .find(|n| n.is_element())
            .expect("Response in Body");
        assert!(
            xacml_response.has_tag_name((XACML_NS, "Response")),
            "{}",
            e.file
        );
        let results: Vec<_> = xacml_response
            .children()
            .filter(|n| n.has_tag_name((XACML_NS, "Result")))
            .collect();
        assert_eq!(results.len(), e.categories.len(), "{}", e.file);
        for (result, code) in results.iter().zip(e.categories) {
            let decision = result
                .children()
                .find(|n| n.has_tag_name((XACML_NS, "Decision")))
                .and_then(|n| n.text());
            let expected = if ["GGC002", "GGC013"].contains(code) {
                "Permit"
            } else {
                "Deny"
            };
            assert_eq!(decision, Some(expected), "{} {code}", e.file);
            let iis: Vec<_> = result
                .descendants()
                .filter(|n| n.has_tag_name((HL7_NS, "InstanceIdentifier")))
                .map(|n| (n.attribute("root"), n.attribute("extension")))
                .collect();
            assert!(iis.contains(&(Some(BSN_ROOT), Some(e.bsn))), "{}", e.file);
            assert!(
                iis.contains(&(Some(URA_ROOT), Some(e.holder_ura))),
                "{}",
                e.file
            );
            let codes: Vec<_> = result
                .descendants()
                .filter(|n| n.has_tag_name((HL7_NS, "CodedValue")))
                .filter(|n| n.attribute("codeSystem") == Some(GGC_SYSTEM))
                .filter_map(|n| n.attribute("code"))
                .collect();
            assert_eq!(codes, [*code], "{}", e.file);
            for value in result
                .descendants()
                .filter(|n| n.has_tag_name((XACML_NS, "AttributeValue")))
            {
                let dt = value.attribute("DataType").unwrap_or("");
                assert!(dt.starts_with("urn:hl7-org:v3#"), "{dt}");
            }
        }
    }
}

#[test]
fn request_ids_share_the_policies_strings() {
    let pdp = pdp();
    let bytes = fixture("composed-2.8.xml");
    let envelope =
        parse_closed_question(&bytes, &XmlLimits::default(), Some(pdp.symbols())).unwrap();
    let action: &RequestCategory = envelope
        .request
        .categories
        .iter()
        .find(|c| &*c.category == ACTION)
        .unwrap();
    let shared = pdp
        .symbols()
        .shared(ACTION)
        .expect("the policy mentions the action category");
    assert!(Arc::ptr_eq(&action.category, &shared));
    assert!(Arc::ptr_eq(
        &action.attributes[0].id,
        &pdp.symbols().shared(EVENT_CODE).unwrap()
    ));
}

#[test]
fn the_plain_request_parser_reads_the_embedded_request_alike() {
    let text = fixture_text("composed-2.8.xml");
    let start = text.find("<x:Request").unwrap();
    let end = text.find("</x:Request>").unwrap() + "</x:Request>".len();
    // Lift the Request out with the namespace declarations it relies on.
    let standalone = text[start..end].replacen(
        "<x:Request",
        "<x:Request xmlns:x=\"urn:oasis:names:tc:xacml:3.0:core:schema:wd-17\" \
         xmlns:v3=\"urn:hl7-org:v3\"",
        1,
    );
    let request = parse_request(standalone.as_bytes(), &XmlLimits::default()).unwrap();
    check_request(&FIXTURES[0], &request);
    let shared = parse_request_with(standalone.as_bytes(), &XmlLimits::default(), None).unwrap();
    assert_eq!(shared.categories.len(), request.categories.len());
}

// ---- faults ----------------------------------------------------------------------------------

fn composed() -> String {
    fixture_text("composed-2.8.xml")
}

#[test]
fn not_xml_and_doctype_are_sender_faults() {
    let f = fault_of("this is not XML");
    assert_eq!(f.code, FaultCode::Sender);
    assert!(
        f.reason.contains("not well-formed") || f.reason.contains("root"),
        "{f}"
    );
    let f = fault_of(&format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE s:Envelope [<!ENTITY bsn \"999990019\">]>\n{}",
        composed()
    ));
    assert_eq!(f.code, FaultCode::Sender);
    assert!(f.reason.starts_with("2:1: DOCTYPE"), "{f}");
    let f = fault_of(&composed()[..3000]);
    assert_eq!(f.code, FaultCode::Sender);
    assert!(f.reason.contains("not well-formed"), "{f}");
    let f = parse(b"\xff\xfe<").unwrap_err();
    assert_eq!(f.code, FaultCode::Sender);
}

#[test]
fn soap_1_1_is_a_version_mismatch() {
    let text = composed().replace(SOAP12_NS, "http://schemas.xmlsoap.org/soap/envelope/");
    let f = fault_of(&text);
    assert_eq!(f.code, FaultCode::VersionMismatch);
    assert!(f.reason.contains("SOAP 1.1"), "{f}");
    assert_eq!(f.http_status(), 400);
}

#[test]
fn missing_body_query_or_request_are_named() {
    let text = composed();
    let body_start = text.find("  <s:Body>").unwrap();
    let body_end = text.find("</s:Body>").unwrap() + "</s:Body>".len();
    let f = fault_of(&format!("{}{}", &text[..body_start], &text[body_end..]));
    assert_eq!(f.code, FaultCode::Sender);
    assert!(f.reason.contains("no Body"), "{f}");

    let q_start = text.find("<q:XACMLAuthzDecisionQuery").unwrap();
    let q_end = text.find("</q:XACMLAuthzDecisionQuery>").unwrap() + 28;
    let f = fault_of(&format!("{}{}", &text[..q_start], &text[q_end..]));
    assert!(f.reason.contains("no XACMLAuthzDecisionQuery"), "{f}");

    let r_start = text.find("<x:Request").unwrap();
    let r_end = text.find("</x:Request>").unwrap() + "</x:Request>".len();
    let f = fault_of(&format!("{}{}", &text[..r_start], &text[r_end..]));
    assert!(f.reason.contains("no XACML 3.0 Request"), "{f}");
}

#[test]
fn unknown_must_understand_headers_fault_and_others_are_ignored() {
    let security = "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/\
        oasis-200401-wss-wssecurity-secext-1.0.xsd\" s:mustUnderstand=\"1\"><wsse:X/></wsse:Security>";
    let text = composed().replacen("<s:Header>", &format!("<s:Header>{security}"), 1);
    let f = fault_of(&text);
    assert_eq!(f.code, FaultCode::MustUnderstand);
    assert!(f.reason.contains("Security"), "{f}");
    assert_eq!(f.http_status(), 400);
    // The same block without mustUnderstand, or for another role, is ignored.
    for variant in [
        security.replace(" s:mustUnderstand=\"1\"", ""),
        security.replace(" s:mustUnderstand=\"1\"", " s:mustUnderstand=\"false\""),
        security.replace(
            " s:mustUnderstand=\"1\"",
            " s:mustUnderstand=\"true\" s:role=\"http://www.w3.org/2003/05/soap-envelope/role/none\"",
        ),
    ] {
        let text = composed().replacen("<s:Header>", &format!("<s:Header>{variant}"), 1);
        let envelope = parse(text.as_bytes()).unwrap_or_else(|f| panic!("{f}"));
        check_request(&FIXTURES[0], &envelope.request);
    }
    let text = composed().replacen("s:mustUnderstand=\"1\"", "s:mustUnderstand=\"yes\"", 1);
    assert_eq!(fault_of(&text).code, FaultCode::Sender);
}

#[test]
fn unknown_datatype_and_bad_hl7_values_are_sender_faults_without_values() {
    let text = composed().replacen("urn:hl7-org:v3#II", "urn:hl7-org:v3#XX", 1);
    let f = fault_of(&text);
    assert_eq!(f.code, FaultCode::Sender);
    assert!(f.reason.contains("unknown DataType"), "{f}");
    assert!(f.reason.contains(RESOURCE_ID), "{f}");
    assert!(!f.reason.contains("v3#XX"), "{f}");

    // An II without root (the BSN with no scheme).
    let text = composed().replacen("root=\"2.16.840.1.113883.2.4.6.3\" ", "", 1);
    let f = fault_of(&text);
    assert_eq!(f.code, FaultCode::Sender);
    assert!(f.reason.contains("root"), "{f}");
    assert!(f.reason.contains(RESOURCE_ID), "{f}");

    // A CV without codeSystem.
    let text = composed().replacen(" codeSystem=\"2.16.840.1.113883.1.11.20448\"", "", 1);
    let f = fault_of(&text);
    assert!(f.reason.contains("codeSystem"), "{f}");
    assert!(f.reason.contains(PURPOSE), "{f}");

    // A text type given an element, an HL7 type given no element.
    let text = composed().replacen(
        "DataType=\"urn:hl7-org:v3#II\"",
        "DataType=\"http://www.w3.org/2001/XMLSchema#string\"",
        1,
    );
    assert!(fault_of(&text).reason.contains("AttributeValue"));
}

#[test]
fn wrong_namespaces_are_named() {
    // The query, the XACML request and an HL7 value in the wrong namespace.
    let cases = [
        (
            "urn:oasis:names:tc:xacml:3.0:profile:saml2.0:v2:schema:protocol:wd-14",
            "urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:protocol",
            "XACMLAuthzDecisionQuery is in the wrong namespace",
        ),
        (
            "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17",
            "urn:oasis:names:tc:xacml:2.0:context:schema:os",
            "Request is in the wrong namespace",
        ),
        (
            "xmlns:v3=\"urn:hl7-org:v3\"",
            "xmlns:v3=\"urn:hl7-org:v2\"",
            "InstanceIdentifier",
        ),
    ];
    for (from, to, says) in cases {
        let f = fault_of(&composed().replace(from, to));
        assert_eq!(f.code, FaultCode::Sender);
        assert!(f.reason.contains(says), "{from}: {f}");
    }
    // A bare XACML Request, and a Request straight in the Body.
    let f = fault_of(&format!(
        "<Request xmlns=\"{XACML_NS}\" ReturnPolicyIdList=\"false\" CombinedDecision=\"false\"/>"
    ));
    assert!(f.reason.contains("Envelope"), "{f}");
    let text = composed();
    let q_start = text.find("<q:XACMLAuthzDecisionQuery").unwrap();
    let r_start = text.find("<x:Request").unwrap();
    let r_end = text.find("</x:Request>").unwrap() + "</x:Request>".len();
    let q_end = text.find("</q:XACMLAuthzDecisionQuery>").unwrap() + 28;
    let bare = format!(
        "{}{}{}",
        &text[..q_start],
        text[r_start..r_end].replacen(
            "<x:Request",
            "<x:Request xmlns:x=\"urn:oasis:names:tc:xacml:3.0:core:schema:wd-17\" \
             xmlns:v3=\"urn:hl7-org:v3\"",
            1
        ),
        &text[q_end..]
    );
    assert!(
        fault_of(&bare).reason.contains("wrapped"),
        "bare request in Body"
    );
}

#[test]
fn entities_in_headers_and_values_are_unescaped() {
    let text = composed()
        .replace(
            "urn:uuid:6f1c2a0e-8b7d-4c1e-9a53-0d2f6b1e7a44",
            "urn:uuid:a&amp;b&#x41;",
        )
        .replace("extension=\"00000001\"", "extension=\"0000&#48;001\"");
    let envelope = parse(text.as_bytes()).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(envelope.message_id.as_deref(), Some("urn:uuid:a&bA"));
    assert_eq!(
        ii(value(&envelope.request, RESOURCE, 0, AUTHOR_INSTITUTION)).1,
        "00000001"
    );
    let mut out = String::new();
    write_closed_answer(
        &Default::default(),
        envelope.message_id.as_deref(),
        &mut out,
    );
    let doc = roxmltree::Document::parse(&out).unwrap();
    let relates = doc
        .descendants()
        .find(|n| n.has_tag_name((WSA_NS, "RelatesTo")))
        .and_then(|n| n.text());
    assert_eq!(relates, Some("urn:uuid:a&bA"));
}

#[test]
fn faults_are_written_as_soap_1_2_faults() {
    let f = fault_of(&composed().replacen("urn:hl7-org:v3#II", "urn:hl7-org:v3#XX", 1));
    let mut out = String::new();
    write_fault(&f, &mut out);
    let doc = roxmltree::Document::parse(&out).unwrap();
    let code = doc
        .descendants()
        .find(|n| n.has_tag_name((SOAP12_NS, "Value")))
        .and_then(|n| n.text());
    assert_eq!(code, Some("s:Sender"));
    let reason = doc
        .descendants()
        .find(|n| n.has_tag_name((SOAP12_NS, "Text")))
        .and_then(|n| n.text());
    assert_eq!(reason, Some(f.reason.as_str()));
}

#[test]
fn content_types_of_the_clients_are_accepted() {
    assert!(content_type_ok("application/soap+xml; charset=UTF-8"));
    assert!(content_type_ok(
        "application/soap+xml; charset=UTF-8; action=\"XACMLAuthorizationDecisionQueryRequest\""
    ));
    assert!(content_type_ok("text/xml"));
    assert!(!content_type_ok("application/json"));
}

// ---- robustness --------------------------------------------------------------------------------

/// A small deterministic generator (no dependency): xorshift.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn feed(bytes: &[u8]) {
    let _ = parse_closed_question(bytes, &XmlLimits::default(), None);
    let _ = parse_request(bytes, &XmlLimits::default());
}

#[test]
fn truncated_and_mutated_inputs_never_panic() {
    let text = fixture("composed-2.8.xml");
    let request_only = {
        let t = fixture_text("default-namespaces.xml");
        let start = t.find("<Request").unwrap();
        let end = t.find("</Request>").unwrap() + "</Request>".len();
        t.as_bytes()[start..end].to_vec()
    };
    for input in [&text, &request_only] {
        for cut in 0..input.len() {
            feed(&input[..cut]);
        }
    }
    let interesting = b"<>\"'/&;:=! x\xff\xc3?[]-#";
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    for round in 0..3000 {
        let base = if round % 2 == 0 { &text } else { &request_only };
        let mut mutated = base.clone();
        for _ in 0..(1 + rng.next() % 4) {
            let at = (rng.next() as usize) % mutated.len();
            match rng.next() % 3 {
                0 => mutated[at] = interesting[(rng.next() as usize) % interesting.len()],
                1 => {
                    mutated.remove(at);
                }
                _ => mutated.insert(at, interesting[(rng.next() as usize) % interesting.len()]),
            }
        }
        feed(&mutated);
    }
}

/// [`ClosedQuestionService::answer`] writes each decision as it is made, read in place
/// (`DecisionView`), and copies the elements results share; the owned path collects a
/// `Response` and writes it with [`write_closed_answer`], and a response whose results share
/// nothing (deep copies) is written element by element. All three give the same bytes, over
/// every fixture asked for many generated citizens: Permit, Deny with advice, Indeterminate
/// for an unknown code, and Permit with the emergency obligation.
#[test]
fn answers_read_in_place_equal_the_owned_response_written() {
    use pdp_core::consent::generate::Generator;
    use pdp_core::consent::index::ConsentIndex;

    let catalogue = support::shipped_catalogue();
    let generator = Generator::new(&catalogue, 1, 2000).expect("generator");
    let index = Arc::new(ConsentIndex::from_records(&catalogue, generator.records()));
    let service = support::shipped_service(&catalogue, &index);
    let time = RequestTime {
        unix_secs: generator.now(),
        nanos: 0,
    };
    let mut bsns: Vec<String> = generator.records().map(|r| r.bsn.to_string()).collect();
    bsns.dedup();
    bsns.truncate(400);
    let limits = XmlLimits::default();
    let mut seen = [0usize; 5];
    for e in FIXTURES {
        let text = fixture_text(e.file);
        for bsn in &bsns {
            let question = text.replace(e.bsn, bsn);
            let mut in_place = String::new();
            service
                .answer(question.as_bytes(), &limits, time, &mut in_place)
                .unwrap_or_else(|f| panic!("{}: {f}", e.file));
            let envelope =
                parse_closed_question(question.as_bytes(), &limits, Some(service.pdp().symbols()))
                    .unwrap_or_else(|f| panic!("{}: {f}", e.file));
            let response = service
                .decide(envelope.request, time)
                .unwrap_or_else(|f| panic!("{}: {f}", e.file));
            let mut owned = String::new();
            write_closed_answer(&response, envelope.message_id.as_deref(), &mut owned);
            assert_eq!(in_place, owned, "{} for {bsn}", e.file);
            let unshared = Response {
                results: response.results.iter().map(unshared).collect(),
            };
            let mut copied = String::new();
            write_closed_answer(&unshared, envelope.message_id.as_deref(), &mut copied);
            assert_eq!(in_place, copied, "{} for {bsn}", e.file);
            for (n, what) in seen.iter_mut().zip([
                "<Decision>Permit",
                "<Decision>Deny",
                "<Decision>Indeterminate",
                "<Obligation ",
                "<Advice ",
            ]) {
                *n += in_place.matches(what).count();
            }
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}

/// A deep copy of `result` that shares no echoed category, obligation or advice.
fn unshared(result: &DecisionResult) -> DecisionResult {
    let actions = |list: &ActionList| list.iter().map(|a| Arc::new((**a).clone())).collect();
    DecisionResult {
        obligations: actions(&result.obligations),
        advice: actions(&result.advice),
        attributes: Arc::new(
            result
                .attributes
                .iter()
                .map(|c| Arc::new((**c).clone()))
                .collect(),
        ),
        ..result.clone()
    }
}
