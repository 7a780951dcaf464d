//! End-to-end behaviour of the engine, written from the XACML 3.0 core specification:
//! target and rule evaluation (section 7), the extended Indeterminate of policies (7.13),
//! MustBePresent and missing-attribute details (5.29, 7.19.3), obligations and advice (7.18),
//! variables (5.24/5.25), policy references with versions (5.10–5.13), the Multiple Decision
//! Profile's repeated categories, ReturnPolicyIdList, and load-time rejection of invalid policies.

use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::response::{Decision, DecisionResult, PolicyKind, StatusCode};
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::xml::request::parse_request;
use pdp_core::xacml::{CompileOptions, Pdp, PolicyError, PolicySource};

const NS: &str = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17";
const STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
const INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";
const SUBJECT: &str = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject";
const NOW: RequestTime = RequestTime {
    unix_secs: 1_795_000_000,
    nanos: 0,
};

fn compile(docs: &[&str]) -> Result<Pdp, Vec<PolicyError>> {
    let names: Vec<String> = (0..docs.len()).map(|i| format!("policy{i}.xml")).collect();
    let sources: Vec<PolicySource> = docs
        .iter()
        .zip(&names)
        .map(|(text, name)| PolicySource { name, text })
        .collect();
    Pdp::compile(&sources, &CompileOptions::default())
}

fn pdp(docs: &[&str]) -> Pdp {
    match compile(docs) {
        Ok(p) => p,
        Err(e) => panic!("policy does not compile: {e:?}"),
    }
}

/// A request with string subject attributes `(id, value)`.
fn request_xml(attrs: &[(&str, &str)], extra: &str) -> String {
    let mut a = String::new();
    for (id, v) in attrs {
        a.push_str(&format!(
            r#"<Attribute AttributeId="{id}" IncludeInResult="false"><AttributeValue DataType="{STRING}">{v}</AttributeValue></Attribute>"#
        ));
    }
    format!(
        r#"<Request xmlns="{NS}" ReturnPolicyIdList="false" CombinedDecision="false"><Attributes Category="{SUBJECT}">{a}</Attributes>{extra}</Request>"#
    )
}

fn decide_xml(pdp: &Pdp, xml: &str) -> Vec<DecisionResult> {
    let req = match parse_request(xml.as_bytes(), &XmlLimits::default()) {
        Ok(r) => r,
        Err(e) => panic!("request does not parse: {e}"),
    };
    pdp.evaluate(&req, NOW).results
}

fn decide(pdp: &Pdp, attrs: &[(&str, &str)]) -> DecisionResult {
    let mut r = decide_xml(pdp, &request_xml(attrs, ""));
    assert_eq!(r.len(), 1);
    r.remove(0)
}

fn designator(id: &str, must: bool) -> String {
    format!(
        r#"<AttributeDesignator Category="{SUBJECT}" AttributeId="{id}" DataType="{STRING}" MustBePresent="{must}"/>"#
    )
}

fn match_role(role: &str, must: bool) -> String {
    format!(
        r#"<Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal"><AttributeValue DataType="{STRING}">{role}</AttributeValue>{}</Match>"#,
        designator("role", must)
    )
}

fn target(matches: &str) -> String {
    format!("<Target><AnyOf><AllOf>{matches}</AllOf></AnyOf></Target>")
}

fn policy(id: &str, alg: &str, target: &str, body: &str) -> String {
    format!(
        r#"<Policy xmlns="{NS}" PolicyId="{id}" Version="1.0" RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:{alg}">{target}{body}</Policy>"#
    )
}

fn rule(id: &str, effect: &str, target: &str, condition: &str) -> String {
    format!(r#"<Rule RuleId="{id}" Effect="{effect}">{target}{condition}</Rule>"#)
}

fn condition(expr: &str) -> String {
    format!("<Condition>{expr}</Condition>")
}

fn one_and_only_equals(id: &str, value: &str, must: bool) -> String {
    format!(
        r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-equal"><Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-one-and-only">{}</Apply><AttributeValue DataType="{STRING}">{value}</AttributeValue></Apply>"#,
        designator(id, must)
    )
}

#[test]
fn rule_target_and_condition() {
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule(
            "r",
            "Permit",
            &target(&match_role("doctor", false)),
            &condition(&one_and_only_equals("ward", "A", false)),
        ),
    )]);
    assert_eq!(
        decide(&p, &[("role", "doctor"), ("ward", "A")]).decision,
        Decision::Permit
    );
    // Condition false: NotApplicable.
    assert_eq!(
        decide(&p, &[("role", "doctor"), ("ward", "B")]).decision,
        Decision::NotApplicable
    );
    // Target no match: NotApplicable.
    assert_eq!(
        decide(&p, &[("role", "nurse"), ("ward", "A")]).decision,
        Decision::NotApplicable
    );
    // Condition Indeterminate (one-and-only on an empty bag): Indeterminate, processing-error.
    let r = decide(&p, &[("role", "doctor")]);
    assert_eq!(r.decision, Decision::Indeterminate);
    assert_eq!(r.status.code, StatusCode::ProcessingError);
}

#[test]
fn must_be_present_gives_missing_attribute_with_detail() {
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", &target(&match_role("doctor", true)), ""),
    )]);
    let r = decide(&p, &[("other", "x")]);
    assert_eq!(r.decision, Decision::Indeterminate);
    assert_eq!(r.status.code, StatusCode::MissingAttribute);
    assert_eq!(r.status.missing_attributes.len(), 1);
    assert_eq!(&*r.status.missing_attributes[0].attribute_id, "role");
    assert_eq!(&*r.status.missing_attributes[0].category, SUBJECT);
    // Without MustBePresent the same absence is simply "No match".
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", &target(&match_role("doctor", false)), ""),
    )]);
    assert_eq!(
        decide(&p, &[("other", "x")]).decision,
        Decision::NotApplicable
    );
}

#[test]
fn false_match_beats_indeterminate_match_in_all_of() {
    // AllOf with an Indeterminate match and a false match is "No match" (section 7.7, table 2).
    let matches = format!("{}{}", match_role("doctor", false), {
        format!(
            r#"<Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal"><AttributeValue DataType="{STRING}">x</AttributeValue>{}</Match>"#,
            designator("absent", true)
        )
    });
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", &target(&matches), ""),
    )]);
    assert_eq!(
        decide(&p, &[("role", "nurse")]).decision,
        Decision::NotApplicable
    );
    assert_eq!(
        decide(&p, &[("role", "doctor")]).decision,
        Decision::Indeterminate
    );
}

#[test]
fn indeterminate_policy_target_gives_extended_indeterminate() {
    // Policy target Indeterminate; the rules decide Deny: the policy is Indeterminate{D}. Under
    // permit-overrides with a Permit sibling that makes the set Permit (C.4: Indeterminate{D}
    // loses to Permit), while under deny-overrides it is Indeterminate.
    let inner = |alg: &str| {
        format!(
            r#"<PolicySet xmlns="{NS}" PolicySetId="s" Version="1.0" PolicyCombiningAlgId="urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:{alg}"><Target/>{}{}</PolicySet>"#,
            policy(
                "broken",
                "deny-overrides",
                &target(&match_role("x", true)),
                &rule("d", "Deny", "", "")
            ),
            policy(
                "ok",
                "deny-overrides",
                "<Target/>",
                &rule("p", "Permit", "", "")
            ),
        )
    };
    let p = pdp(&[&inner("permit-overrides")]);
    assert_eq!(decide(&p, &[("other", "1")]).decision, Decision::Permit);
    let p = pdp(&[&inner("deny-overrides")]);
    let r = decide(&p, &[("other", "1")]);
    assert_eq!(r.decision, Decision::Indeterminate);
    assert_eq!(r.status.code, StatusCode::MissingAttribute);
    // When the rules are NotApplicable the Indeterminate target does not matter (table 7).
    let na = policy(
        "na",
        "deny-overrides",
        &target(&match_role("x", true)),
        &rule("d", "Deny", &target(&match_role("never", false)), ""),
    );
    let p = pdp(&[&na]);
    assert_eq!(
        decide(&p, &[("other", "1")]).decision,
        Decision::NotApplicable
    );
}

#[test]
fn obligations_and_advice_follow_the_decision() {
    let actions = format!(
        r#"<ObligationExpressions>
             <ObligationExpression ObligationId="log" FulfillOn="Permit">
               <AttributeAssignmentExpression AttributeId="who">{}</AttributeAssignmentExpression>
             </ObligationExpression>
             <ObligationExpression ObligationId="alarm" FulfillOn="Deny"/>
           </ObligationExpressions>
           <AdviceExpressions><AdviceExpression AdviceId="hint" AppliesTo="Permit"/></AdviceExpressions>"#,
        designator("subject-id", false)
    );
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &format!(
            r#"<Rule RuleId="r" Effect="Permit">{}{actions}</Rule>"#,
            target(&match_role("doctor", false))
        ),
    )]);
    let r = decide(&p, &[("role", "doctor"), ("subject-id", "alice")]);
    assert_eq!(r.decision, Decision::Permit);
    assert_eq!(r.obligations.len(), 1);
    assert_eq!(&*r.obligations[0].id, "log");
    assert_eq!(r.obligations[0].assignments.len(), 1);
    assert_eq!(r.obligations[0].assignments[0].value.to_string(), "alice");
    assert_eq!(r.advice.len(), 1);
    assert_eq!(&*r.advice[0].id, "hint");
    // An assignment from an empty bag yields no assignment, not an error.
    let r = decide(&p, &[("role", "doctor")]);
    assert_eq!(r.decision, Decision::Permit);
    assert!(r.obligations[0].assignments.is_empty());
}

#[test]
fn failing_obligation_expression_makes_the_result_indeterminate() {
    let actions = format!(
        r#"<ObligationExpressions><ObligationExpression ObligationId="log" FulfillOn="Permit">
             <AttributeAssignmentExpression AttributeId="who">{}</AttributeAssignmentExpression>
           </ObligationExpression></ObligationExpressions>"#,
        designator("subject-id", true)
    );
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &format!(r#"<Rule RuleId="r" Effect="Permit">{actions}</Rule>"#),
    )]);
    let r = decide(&p, &[("role", "doctor")]);
    assert_eq!(r.decision, Decision::Indeterminate);
    assert!(r.obligations.is_empty());
}

#[test]
fn variables_are_resolved_and_may_refer_forward() {
    let body = format!(
        r#"<VariableDefinition VariableId="isA"><VariableReference VariableId="ward"/></VariableDefinition>
           <VariableDefinition VariableId="ward">{}</VariableDefinition>
           {}"#,
        one_and_only_equals("ward", "A", false),
        rule(
            "r",
            "Permit",
            "",
            &condition(r#"<VariableReference VariableId="isA"/>"#)
        )
    );
    let p = pdp(&[&policy("p", "deny-overrides", "<Target/>", &body)]);
    assert_eq!(decide(&p, &[("ward", "A")]).decision, Decision::Permit);
    assert_eq!(
        decide(&p, &[("ward", "B")]).decision,
        Decision::NotApplicable
    );
}

fn first_error(docs: &[&str]) -> PolicyError {
    match compile(docs) {
        Ok(_) => panic!("policy should be rejected"),
        Err(mut e) => e.remove(0),
    }
}

#[test]
fn invalid_policies_are_rejected_with_position() {
    // Circular variables.
    let body = r#"<VariableDefinition VariableId="a"><VariableReference VariableId="b"/></VariableDefinition>
<VariableDefinition VariableId="b"><VariableReference VariableId="a"/></VariableDefinition>"#;
    let e = first_error(&[&policy("p", "deny-overrides", "<Target/>", body)]);
    assert!(e.message.contains("refers to itself"), "{e}");
    // Undefined variable.
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule(
            "r",
            "Permit",
            "",
            &condition(r#"<VariableReference VariableId="nope"/>"#),
        ),
    )]);
    assert!(e.message.contains("nope"), "{e}");
    // Unknown function, with its line.
    let text = format!(
        "{}\n{}",
        r#"<Policy xmlns="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" PolicyId="p" Version="1.0" RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides"><Target/>"#,
        r#"<Rule RuleId="r" Effect="Permit"><Condition><Apply FunctionId="urn:example:no-such-function"/></Condition></Rule></Policy>"#
    );
    let e = first_error(&[&text]);
    assert_eq!(e.position.line, 2);
    assert!(
        e.message
            .contains("unknown function urn:example:no-such-function"),
        "{e}"
    );
    assert_eq!(e.file, "policy0.xml");
    // Wrong argument type: integer-add on a string.
    let bad = format!(
        r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:integer-greater-than"><AttributeValue DataType="{STRING}">1</AttributeValue><AttributeValue DataType="{INTEGER}">2</AttributeValue></Apply>"#
    );
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", "", &condition(&bad)),
    )]);
    assert!(e.message.contains("argument 1"), "{e}");
    // Condition that is not boolean.
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", "", &condition(&designator("role", false))),
    )]);
    assert!(e.message.contains("single boolean"), "{e}");
    // Unknown combining algorithm and data type.
    let e = first_error(&[&policy("p", "no-such-alg", "<Target/>", "")]);
    assert!(
        e.message.contains("unknown rule-combining algorithm"),
        "{e}"
    );
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule(
            "r",
            "Permit",
            "",
            &condition(r#"<AttributeValue DataType="urn:example:type">x</AttributeValue>"#),
        ),
    )]);
    assert!(
        e.message.contains("unknown data type urn:example:type"),
        "{e}"
    );
    // A value that does not parse as its data type.
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule(
            "r",
            "Permit",
            "",
            &condition(&format!(
                r#"<AttributeValue DataType="{INTEGER}">twelve</AttributeValue>"#
            )),
        ),
    )]);
    assert!(e.message.contains("twelve"), "{e}");
    // Unknown element.
    let e = first_error(&[&policy("p", "deny-overrides", "<Target/>", "<Rules/>")]);
    assert!(
        e.message.contains("<Rules> is not allowed inside <Policy>"),
        "{e}"
    );
    // Duplicate rule id.
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &format!(
            "{}{}",
            rule("r", "Permit", "", ""),
            rule("r", "Deny", "", "")
        ),
    )]);
    assert!(e.message.contains("RuleId \"r\""), "{e}");
    // AttributeSelector (XPath, optional) is refused clearly.
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule(
            "r",
            "Permit",
            "",
            &condition(&format!(
                r#"<AttributeSelector Category="{SUBJECT}" Path="//x" DataType="{STRING}" MustBePresent="false"/>"#
            )),
        ),
    )]);
    assert!(e.message.contains("AttributeSelector"), "{e}");
}

/// `string-is-in(value, designator(id))`: a membership test, as rule tables compile.
fn string_is_in(id: &str, value: &str) -> String {
    format!(
        r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-is-in"><AttributeValue DataType="{STRING}">{value}</AttributeValue>{}</Apply>"#,
        designator(id, false)
    )
}

/// A target-less first-applicable policy with `body` (rules, variables, actions).
fn first_applicable(id: &str, body: &str) -> String {
    policy(id, "deny-overrides", "<Target/>", body).replace(
        "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides",
        "urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:first-applicable",
    )
}

/// The obligation `echo-x` on Permit, assigning the request's values of `x`: an action that
/// reads the request (not constant).
fn echo_x_obligation() -> String {
    format!(
        r#"<ObligationExpressions><ObligationExpression ObligationId="echo-x" FulfillOn="Permit"><AttributeAssignmentExpression AttributeId="x">{}</AttributeAssignmentExpression></ObligationExpression></ObligationExpressions>"#,
        designator("x", false)
    )
}

/// `text` compiled with rule tables (and so the whole-tree table where it applies) and without.
fn with_and_without_tables(text: &str) -> (Pdp, Pdp) {
    let sources = [PolicySource {
        name: "p.xml",
        text,
    }];
    let with = Pdp::compile(&sources, &CompileOptions::default()).expect("compiles");
    let without = Pdp::compile(
        &sources,
        &CompileOptions {
            rule_tables: false,
            ..CompileOptions::default()
        },
    )
    .expect("compiles");
    (with, without)
}

/// Every request of string attributes `x` ⊆ {a, b, z} (a, b, a and b, z, none) and
/// `y` ⊆ {c, d}: the combinations the table tests below walk through.
fn x_y_combinations() -> Vec<Vec<(&'static str, &'static str)>> {
    let xs: [&[&str]; 5] = [&[], &["a"], &["b"], &["a", "b"], &["z"]];
    let ys: [&[&str]; 4] = [&[], &["c"], &["d"], &["c", "d"]];
    let mut out = Vec::new();
    for x in xs {
        for y in ys {
            out.push(
                x.iter()
                    .map(|v| ("x", *v))
                    .chain(y.iter().map(|v| ("y", *v)))
                    .collect(),
            );
        }
    }
    out
}

fn set(id: &str, alg: &str, children: &str) -> String {
    format!(
        r#"<PolicySet xmlns="{NS}" PolicySetId="{id}" Version="1.0" PolicyCombiningAlgId="urn:oasis:names:tc:xacml:{alg}"><Target/>{children}</PolicySet>"#
    )
}

const FIRST: &str = "1.0:policy-combining-algorithm:first-applicable";

#[test]
fn references_resolve_with_versions() {
    let v = |version: &str, effect: &str| {
        format!(
            r#"<Policy xmlns="{NS}" PolicyId="shared" Version="{version}" RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides"><Target/>{}</Policy>"#,
            rule("r", effect, "", "")
        )
    };
    let (v1, v2) = (v("1.0", "Deny"), v("2.0", "Permit"));
    // Without constraints the latest version is used.
    let root = set(
        "root",
        FIRST,
        "<PolicyIdReference>shared</PolicyIdReference>",
    );
    assert_eq!(
        decide(&pdp(&[&root, &v1, &v2]), &[]).decision,
        Decision::Permit
    );
    let root = set(
        "root",
        FIRST,
        r#"<PolicyIdReference Version="1.*">shared</PolicyIdReference>"#,
    );
    assert_eq!(
        decide(&pdp(&[&root, &v1, &v2]), &[]).decision,
        Decision::Deny
    );
    let root = set(
        "root",
        FIRST,
        r#"<PolicyIdReference LatestVersion="1.5">shared</PolicyIdReference>"#,
    );
    assert_eq!(
        decide(&pdp(&[&root, &v1, &v2]), &[]).decision,
        Decision::Deny
    );
    // Dangling reference.
    let root = set(
        "root",
        FIRST,
        r#"<PolicyIdReference EarliestVersion="3.0">shared</PolicyIdReference>"#,
    );
    let e = first_error(&[&root, &v1, &v2]);
    assert!(e.message.contains("matches no loaded policy"), "{e}");
}

#[test]
fn reference_cycles_are_rejected() {
    let a = set("a", FIRST, "<PolicySetIdReference>b</PolicySetIdReference>");
    let b = set("b", FIRST, "<PolicySetIdReference>a</PolicySetIdReference>");
    let e = first_error(&[&a, &b]);
    assert!(e.message.contains("cycle"), "{e}");
    assert!(e.message.contains("a -> b -> a"), "{e}");
}

#[test]
fn duplicate_policy_ids_in_a_set_are_rejected() {
    let p = policy("dup", "deny-overrides", "<Target/>", "");
    let p = p.replacen(&format!(r#" xmlns="{NS}""#), "", 1);
    let e = first_error(&[&set("root", FIRST, &format!("{p}{p}"))]);
    assert!(e.message.contains("PolicyId \"dup\""), "{e}");
}

#[test]
fn only_one_applicable() {
    let permit = policy(
        "a",
        "deny-overrides",
        &target(&match_role("doctor", false)),
        &rule("r", "Permit", "", ""),
    )
    .replacen(&format!(r#" xmlns="{NS}""#), "", 1);
    let deny = policy(
        "b",
        "deny-overrides",
        &target(&match_role("nurse", false)),
        &rule("r", "Deny", "", ""),
    )
    .replacen(&format!(r#" xmlns="{NS}""#), "", 1);
    let both = policy(
        "c",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Deny", "", ""),
    )
    .replacen(&format!(r#" xmlns="{NS}""#), "", 1);
    let alg = "1.0:policy-combining-algorithm:only-one-applicable";
    let p = pdp(&[&set("s", alg, &format!("{permit}{deny}"))]);
    assert_eq!(decide(&p, &[("role", "doctor")]).decision, Decision::Permit);
    assert_eq!(decide(&p, &[("role", "nurse")]).decision, Decision::Deny);
    assert_eq!(
        decide(&p, &[("role", "clerk")]).decision,
        Decision::NotApplicable
    );
    let p = pdp(&[&set("s", alg, &format!("{permit}{both}"))]);
    assert_eq!(
        decide(&p, &[("role", "doctor")]).decision,
        Decision::Indeterminate
    );
}

#[test]
fn multiple_decision_profile_and_policy_id_list() {
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        &target(&match_role("doctor", false)),
        &rule("r", "Permit", "", ""),
    )]);
    let xml = format!(
        r#"<Request xmlns="{NS}" ReturnPolicyIdList="true" CombinedDecision="false">
  <Attributes Category="{SUBJECT}"><Attribute AttributeId="role" IncludeInResult="true"><AttributeValue DataType="{STRING}">doctor</AttributeValue></Attribute></Attributes>
  <Attributes Category="{SUBJECT}"><Attribute AttributeId="role" IncludeInResult="true"><AttributeValue DataType="{STRING}">nurse</AttributeValue></Attribute></Attributes>
</Request>"#
    );
    let results = decide_xml(&p, &xml);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].decision, Decision::Permit);
    assert_eq!(results[1].decision, Decision::NotApplicable);
    assert_eq!(
        results[0].attributes[0].attributes[0].values[0].to_string(),
        "doctor"
    );
    assert_eq!(
        results[1].attributes[0].attributes[0].values[0].to_string(),
        "nurse"
    );
    let ids = results[0]
        .policy_identifiers
        .as_ref()
        .expect("policy ids requested");
    assert_eq!(ids.len(), 1);
    assert_eq!(
        (ids[0].kind, &*ids[0].id, &*ids[0].version),
        (PolicyKind::Policy, "p", "1.0")
    );
    assert_eq!(
        results[1].policy_identifiers.as_ref().map(Vec::len),
        Some(0)
    );
}

#[test]
fn environment_current_time_is_supplied() {
    let cond = r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:date-greater-than">
        <Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:date-one-and-only">
          <AttributeDesignator Category="urn:oasis:names:tc:xacml:3.0:attribute-category:environment" AttributeId="urn:oasis:names:tc:xacml:1.0:environment:current-date" DataType="http://www.w3.org/2001/XMLSchema#date" MustBePresent="true"/>
        </Apply>
        <AttributeValue DataType="http://www.w3.org/2001/XMLSchema#date">2026-01-01</AttributeValue></Apply>"#;
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", "", &condition(cond)),
    )]);
    // NOW is in November 2026.
    assert_eq!(decide(&p, &[]).decision, Decision::Permit);
}

/// The target index must not change any decision: compare a policy set large enough to be
/// indexed with the same set under an unindexable wrapper of each target.
#[test]
fn target_index_gives_the_same_decisions_as_a_full_scan() {
    let mut indexed = String::new();
    let mut scanned = String::new();
    for i in 0..40 {
        let effect = if i % 3 == 0 { "Deny" } else { "Permit" };
        let role = format!("role{}", i % 13);
        let body = rule("r", effect, "", "");
        let t = target(&match_role(&role, false));
        indexed.push_str(
            &policy(&format!("p{i}"), "deny-overrides", &t, &body).replacen(
                &format!(r#" xmlns="{NS}""#),
                "",
                1,
            ),
        );
        // string-equal-ignore-case is not an index key, so this set is scanned linearly; with
        // lower-case values it decides exactly like string-equal.
        let t2 = t.replace(
            "urn:oasis:names:tc:xacml:1.0:function:string-equal",
            "urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case",
        );
        scanned.push_str(
            &policy(&format!("p{i}"), "deny-overrides", &t2, &body).replacen(
                &format!(r#" xmlns="{NS}""#),
                "",
                1,
            ),
        );
    }
    for alg in [
        "3.0:policy-combining-algorithm:deny-overrides",
        "3.0:policy-combining-algorithm:permit-overrides",
        "1.0:policy-combining-algorithm:first-applicable",
        "3.0:policy-combining-algorithm:deny-unless-permit",
    ] {
        let a = pdp(&[&set("s", alg, &indexed)]);
        let b = pdp(&[&set("s", alg, &scanned)]);
        for role in 0..15 {
            let role = format!("role{role}");
            let x = decide(&a, &[("role", &role)]);
            let y = decide(&b, &[("role", &role)]);
            assert_eq!(x.decision, y.decision, "{alg} {role}");
        }
    }
}

#[test]
fn long_variable_chains_are_refused_not_recursed() {
    let mut body = String::new();
    for i in 0..10_000 {
        body.push_str(&format!(
            r#"<VariableDefinition VariableId="v{i}"><VariableReference VariableId="v{}"/></VariableDefinition>"#,
            i + 1
        ));
    }
    body.push_str(r#"<VariableDefinition VariableId="v10000"><AttributeValue DataType="http://www.w3.org/2001/XMLSchema#boolean">true</AttributeValue></VariableDefinition>"#);
    let e = first_error(&[&policy("p", "deny-overrides", "<Target/>", &body)]);
    assert!(e.message.contains("more than 64 levels"), "{e}");
}

#[test]
fn long_reference_chains_are_refused_not_recursed() {
    let docs: Vec<String> = (0..200)
        .map(|i| {
            set(
                &format!("s{i}"),
                FIRST,
                &format!("<PolicySetIdReference>s{}</PolicySetIdReference>", i + 1),
            )
        })
        .chain(std::iter::once(set("s200", FIRST, "")))
        .collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let e = first_error(&refs);
    assert!(e.message.contains("levels deep"), "{e}");
    // A chain within the limit works.
    let docs: Vec<String> = (0..10)
        .map(|i| {
            set(
                &format!("s{i}"),
                FIRST,
                &format!("<PolicySetIdReference>s{}</PolicySetIdReference>", i + 1),
            )
        })
        .chain(std::iter::once(set(
            "s10",
            FIRST,
            &policy(
                "p",
                "deny-overrides",
                "<Target/>",
                &rule("r", "Permit", "", ""),
            )
            .replacen(&format!(r#" xmlns="{NS}""#), "", 1),
        )))
        .collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    assert_eq!(decide(&pdp(&refs), &[]).decision, Decision::Permit);
}

#[test]
fn literal_regex_patterns_are_compiled_at_load() {
    let apply = |pattern: &str| {
        format!(
            r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-regexp-match"><AttributeValue DataType="{STRING}">{pattern}</AttributeValue><Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-one-and-only">{}</Apply></Apply>"#,
            designator("ward", false)
        )
    };
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", "", &condition(&apply("^ward-[0-9]+$"))),
    )]);
    assert_eq!(
        decide(&p, &[("ward", "ward-12")]).decision,
        Decision::Permit
    );
    assert_eq!(
        decide(&p, &[("ward", "ward-x")]).decision,
        Decision::NotApplicable
    );
    // An invalid literal pattern is a load error, not an Indeterminate at every request.
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", "", &condition(&apply("ward-[0-9"))),
    )]);
    assert!(e.message.contains("string-regexp-match"), "{e}");
    // The same in a target Match.
    let m = format!(
        r#"<Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-regexp-match"><AttributeValue DataType="{STRING}">^doc</AttributeValue>{}</Match>"#,
        designator("role", false)
    );
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", &target(&m), ""),
    )]);
    assert_eq!(decide(&p, &[("role", "doctor")]).decision, Decision::Permit);
    assert_eq!(
        decide(&p, &[("role", "nurse")]).decision,
        Decision::NotApplicable
    );
    let bad = m.replace("^doc", "(doc");
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", &target(&bad), ""),
    )]);
    assert!(e.message.contains("string-regexp-match"), "{e}");
}

#[test]
fn hostile_or_broken_policy_documents_get_specific_errors() {
    let ok = policy("p", "deny-overrides", "<Target/>", "");
    // DOCTYPE with an entity: refused before anything is expanded.
    let doctype = format!(r#"<?xml version="1.0"?><!DOCTYPE p [<!ENTITY boom "boom">]>{ok}"#);
    let e = first_error(&[&doctype]);
    assert!(e.message.contains("DOCTYPE"), "{e}");
    // Billion laughs never gets near expansion either.
    let laughs = String::from(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Policy>&lol2;</Policy>"#,
    );
    assert!(first_error(&[&laughs]).message.contains("DOCTYPE"));
    // Malformed XML, with the line of the problem.
    let e = first_error(&["<Policy>\n<Target>\n</Policy>"]);
    assert!(e.message.contains("malformed XML"), "{e}");
    assert!(e.position.line >= 2, "{e}");
    // Nesting deeper than the limit.
    let deep = format!(
        "{}{}",
        "<Apply FunctionId=\"urn:oasis:names:tc:xacml:1.0:function:not\">".repeat(100),
        "</Apply>".repeat(100)
    );
    let e = first_error(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", "", &condition(&deep)),
    )]);
    assert!(
        e.message.contains("nested deeper than the limit of 64"),
        "{e}"
    );
    // An XACML 2.0 policy is named as such.
    let v2 = r#"<Policy xmlns="urn:oasis:names:tc:xacml:2.0:policy:schema:os" PolicyId="p" RuleCombiningAlgId="x"/>"#;
    let e = first_error(&[v2]);
    assert!(e.message.contains("XACML 1.0/2.0"), "{e}");
    // Not a policy at all.
    let e = first_error(&[&format!(r#"<Request xmlns="{NS}"/>"#)]);
    assert!(
        e.message.contains("starts with <Policy> or <PolicySet>"),
        "{e}"
    );
    // Missing required attribute.
    let e = first_error(&[&format!(
        r#"<Policy xmlns="{NS}" RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides"><Target/></Policy>"#
    )]);
    assert!(e.message.contains("needs the attribute PolicyId"), "{e}");
    // Every error is reported, not only the first.
    let two = policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &format!(
            "{}{}",
            rule("a", "Maybe", "", ""),
            rule(
                "b",
                "Permit",
                "",
                &condition(r#"<Apply FunctionId="urn:example:f"/>"#)
            )
        ),
    );
    match compile(&[&two]) {
        Ok(_) => panic!("should be rejected"),
        Err(errors) => assert_eq!(errors.len(), 2, "{errors:?}"),
    }
}

/// A policy information point that derives `clearance` from `role`, and fails for `role=unknown`.
struct ClearanceProvider;

impl pdp_core::xacml::AttributeProvider for ClearanceProvider {
    fn inputs(&self) -> Vec<pdp_core::xacml::AttributeRef> {
        vec![pdp_core::xacml::AttributeRef::new(SUBJECT, "role")]
    }
    fn outputs(&self) -> Vec<pdp_core::xacml::AttributeRef> {
        vec![pdp_core::xacml::AttributeRef::new(SUBJECT, "clearance")]
    }
    fn provide(
        &self,
        request: &pdp_core::xacml::ProviderRequest<'_>,
        _prepared: Option<&pdp_core::xacml::provider::PreparedInputs>,
        out: &mut pdp_core::xacml::ProvidedAttributes<'_>,
    ) {
        use pdp_core::xacml::value::Value;
        for v in request.values(0) {
            match v.as_str() {
                Some("doctor") => out.push(0, Value::String("high".into())),
                Some("unknown") => out.fail(
                    0,
                    pdp_core::xacml::response::Status::new(
                        StatusCode::ProcessingError,
                        "no such role",
                    ),
                ),
                _ => out.push(0, Value::String("low".into())),
            }
        }
    }
}

#[test]
fn attribute_provider_supplies_attributes_and_failures() {
    let clearance = |level: &str| {
        format!(
            r#"<Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal"><AttributeValue DataType="{STRING}">{level}</AttributeValue>{}</Match>"#,
            designator("clearance", false)
        )
    };
    // Enough policies that the target index is used, so provided attributes must reach it too.
    let mut children = String::new();
    for i in 0..10 {
        let level = if i == 7 { "high" } else { "medium" };
        children.push_str(
            &policy(
                &format!("p{i}"),
                "deny-overrides",
                &target(&clearance(level)),
                &rule("r", "Permit", "", ""),
            )
            .replacen(&format!(r#" xmlns="{NS}""#), "", 1),
        );
    }
    let root = set(
        "s",
        "3.0:policy-combining-algorithm:deny-unless-permit",
        &children,
    );
    let sources = [PolicySource {
        name: "root.xml",
        text: &root,
    }];
    let provider: std::sync::Arc<dyn pdp_core::xacml::AttributeProvider> =
        std::sync::Arc::new(ClearanceProvider);
    let p = match Pdp::compile_with_provider(&sources, &CompileOptions::default(), Some(provider)) {
        Ok(p) => p,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(decide(&p, &[("role", "doctor")]).decision, Decision::Permit);
    assert_eq!(decide(&p, &[("role", "nurse")]).decision, Decision::Deny);
    // The policy set is deny-unless-permit, so a failure shows in a MustBePresent-free rule only
    // as "no permit": check the failure directly on a single policy.
    let single = policy(
        "q",
        "deny-overrides",
        "<Target/>",
        &rule(
            "r",
            "Permit",
            "",
            &condition(&one_and_only_equals("clearance", "high", false)),
        ),
    );
    let sources = [PolicySource {
        name: "q.xml",
        text: &single,
    }];
    let provider: std::sync::Arc<dyn pdp_core::xacml::AttributeProvider> =
        std::sync::Arc::new(ClearanceProvider);
    let p = match Pdp::compile_with_provider(&sources, &CompileOptions::default(), Some(provider)) {
        Ok(p) => p,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(decide(&p, &[("role", "doctor")]).decision, Decision::Permit);
    let r = decide(&p, &[("role", "unknown")]);
    assert_eq!(r.decision, Decision::Indeterminate);
    assert_eq!(r.status.message.as_deref(), Some("no such role"));
}

#[test]
fn is_in_over_a_designator() {
    let is_in = |must: bool| {
        format!(
            r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:string-is-in"><AttributeValue DataType="{STRING}">b</AttributeValue>{}</Apply>"#,
            designator("tag", must)
        )
    };
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", "", &condition(&is_in(false))),
    )]);
    assert_eq!(
        decide(&p, &[("tag", "a"), ("tag", "b")]).decision,
        Decision::Permit
    );
    assert_eq!(
        decide(&p, &[("tag", "a")]).decision,
        Decision::NotApplicable
    );
    assert_eq!(decide(&p, &[]).decision, Decision::NotApplicable);
    let p = pdp(&[&policy(
        "p",
        "deny-overrides",
        "<Target/>",
        &rule("r", "Permit", "", &condition(&is_in(true))),
    )]);
    let r = decide(&p, &[]);
    assert_eq!(
        (r.decision, r.status.code),
        (Decision::Indeterminate, StatusCode::MissingAttribute)
    );
}

/// A policy of membership rules decides the same with and without its compiled rule table, on
/// every combination of the tested values.
#[test]
fn rule_tables_decide_like_rule_by_rule_evaluation() {
    let is_in = string_is_in;
    let and = |a: &str, b: &str| {
        format!(r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:and">{a}{b}</Apply>"#)
    };
    let or = |a: &str, b: &str| {
        format!(r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:or">{a}{b}</Apply>"#)
    };
    let not = |a: &str| {
        format!(r#"<Apply FunctionId="urn:oasis:names:tc:xacml:1.0:function:not">{a}</Apply>"#)
    };
    let body = format!(
        r#"<VariableDefinition VariableId="ab">{}</VariableDefinition>
           <Rule RuleId="r1" Effect="Deny"><Condition>{}</Condition>
             <ObligationExpressions><ObligationExpression ObligationId="o1" FulfillOn="Deny"/></ObligationExpressions></Rule>
           <Rule RuleId="r2" Effect="Permit"><Condition>{}</Condition></Rule>
           <Rule RuleId="r3" Effect="Permit"><Condition>{}</Condition></Rule>
           <Rule RuleId="r4" Effect="Deny"/>"#,
        or(&is_in("x", "a"), &is_in("x", "b")),
        and(r#"<VariableReference VariableId="ab"/>"#, &is_in("y", "c")),
        not(&is_in("y", "d")),
        and(&is_in("x", "b"), &is_in("y", "d")),
    );
    let (with, without) = with_and_without_tables(&first_applicable("p", &body));
    let mut seen = std::collections::HashSet::new();
    for attrs in x_y_combinations() {
        let a = decide(&with, &attrs);
        let b = decide(&without, &attrs);
        assert_eq!(a.decision, b.decision, "{attrs:?}");
        assert_eq!(a.obligations.len(), b.obligations.len(), "{attrs:?}");
        seen.insert(format!("{:?}{}", a.decision, a.obligations.len()));
    }
    assert!(
        seen.len() >= 3,
        "the combinations reach several rules: {seen:?}"
    );
}

/// Tests on request attributes are answered once at preparation, up to a fixed number per PDP
/// (64); the rest stay decision-time tests. Six tables of twelve distinct tests each (72, more
/// than fit) must decide exactly like rule-by-rule evaluation, for values tested in each table.
#[test]
fn request_tests_beyond_the_prepared_ones_are_still_decided_exactly() {
    // Table t: rules "x holds v{t}_{i}" for i in 0..12, alternating Permit and Deny.
    let tables: String = (0..6)
        .map(|t| {
            let rules: String = (0..12)
                .map(|i| {
                    let effect = if (t + i) % 2 == 0 { "Permit" } else { "Deny" };
                    rule(
                        &format!("r{i}"),
                        effect,
                        "",
                        &condition(&string_is_in("x", &format!("v{t}_{i}"))),
                    )
                })
                .collect();
            first_applicable(&format!("p{t}"), &rules)
        })
        .collect();
    let (with, without) = with_and_without_tables(&set("s", FIRST, &tables));
    let mut decisions = std::collections::HashSet::new();
    for t in 0..6 {
        for i in 0..12 {
            for other in ["", "v5_11", "v2_3", "v0_0", "none"] {
                let v = format!("v{t}_{i}");
                let mut attrs = vec![("x", v.as_str())];
                if !other.is_empty() {
                    attrs.push(("x", other));
                }
                let a = decide(&with, &attrs);
                let b = decide(&without, &attrs);
                assert_eq!(a.decision, b.decision, "{attrs:?}");
                decisions.insert(a.decision);
            }
        }
    }
    assert_eq!(
        decisions.len(),
        2,
        "both effects are reached: {decisions:?}"
    );
    assert_eq!(
        decide(&with, &[("x", "none")]).decision,
        Decision::NotApplicable
    );
}

/// A tree of tabled policies compiles to one whole-tree table, and deciding through it gives
/// exactly the results of ordinary evaluation: decision, obligations and advice with their
/// values — including an obligation that reads the request (evaluated the ordinary way) and
/// policy-level advice — for every combination of the tested values.
#[test]
fn the_whole_tree_table_decides_like_ordinary_evaluation() {
    let is_in = string_is_in;
    let echo_x = echo_x_obligation();
    let why = r#"<AdviceExpressions><AdviceExpression AdviceId="why" AppliesTo="Deny"><AttributeAssignmentExpression AttributeId="reason"><AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">no</AttributeValue></AttributeAssignmentExpression></AdviceExpression></AdviceExpressions>"#;
    let p1 = first_applicable(
        "p1",
        &format!(
            r#"<Rule RuleId="a" Effect="Permit"><Condition>{}</Condition>{echo_x}</Rule>
               <Rule RuleId="b" Effect="Deny"><Condition>{}</Condition></Rule>"#,
            is_in("x", "a"),
            is_in("y", "c"),
        ),
    )
    .replace("</Policy>", &format!("{why}</Policy>"));
    let p2 = first_applicable(
        "p2",
        &format!(
            r#"<Rule RuleId="c" Effect="Permit"><Condition>{}</Condition></Rule>
               <Rule RuleId="d" Effect="Deny"><Condition>{}</Condition></Rule>"#,
            is_in("y", "d"),
            is_in("x", "b"),
        ),
    );
    let (with, without) = with_and_without_tables(&set(
        "s",
        "3.0:policy-combining-algorithm:deny-overrides",
        &format!("{p1}{p2}"),
    ));
    // x ∈ {a, b}, y ∈ {c, d}: four tests, sixteen outcomes.
    assert_eq!(with.tree_table_outcomes(), Some(16));
    assert_eq!(without.tree_table_outcomes(), None);
    let actions =
        |list: &[std::sync::Arc<pdp_core::xacml::response::PolicyAction>]| -> Vec<String> {
            list.iter()
                .map(|a| {
                    let values: Vec<String> =
                        a.assignments.iter().map(|x| x.value.to_string()).collect();
                    format!("{}={}", a.id, values.join(","))
                })
                .collect()
        };
    let mut seen = std::collections::HashSet::new();
    for attrs in x_y_combinations() {
        let a = decide(&with, &attrs);
        let b = decide(&without, &attrs);
        assert_eq!(a.decision, b.decision, "{attrs:?}");
        assert_eq!(
            actions(&a.obligations),
            actions(&b.obligations),
            "{attrs:?}"
        );
        assert_eq!(actions(&a.advice), actions(&b.advice), "{attrs:?}");
        seen.insert(format!(
            "{:?} {:?} {:?}",
            a.decision,
            actions(&a.obligations),
            actions(&a.advice)
        ));
    }
    // Permit with the echoed values of x, Deny with and without the policy's advice,
    // NotApplicable: the table's stored outcomes and the ordinary path are both exercised.
    assert!(seen.len() >= 4, "{seen:?}");
    assert!(seen.iter().any(|s| s.contains("echo-x=a")), "{seen:?}");
    assert!(seen.iter().any(|s| s.contains("why=no")), "{seen:?}");
}

/// [`ClearanceProvider`]'s rules with its two levels declared as known values and supplied by
/// index; the role `ghost` names an index it never declared (nothing is supplied for it).
struct KnownClearanceProvider;

impl pdp_core::xacml::AttributeProvider for KnownClearanceProvider {
    fn inputs(&self) -> Vec<pdp_core::xacml::AttributeRef> {
        ClearanceProvider.inputs()
    }
    fn outputs(&self) -> Vec<pdp_core::xacml::AttributeRef> {
        ClearanceProvider.outputs()
    }
    fn known_values(&self) -> Vec<Vec<pdp_core::xacml::value::Value>> {
        use pdp_core::xacml::value::Value;
        vec![vec![
            Value::String("low".into()),
            Value::String("high".into()),
        ]]
    }
    fn provide(
        &self,
        request: &pdp_core::xacml::ProviderRequest<'_>,
        _prepared: Option<&pdp_core::xacml::provider::PreparedInputs>,
        out: &mut pdp_core::xacml::ProvidedAttributes<'_>,
    ) {
        for v in request.values(0) {
            match v.as_str() {
                Some("doctor") => out.push_known(0, 1),
                Some("ghost") => out.push_known(0, 7),
                _ => out.push_known(0, 0),
            }
        }
    }
}

/// Known values supplied by index decide like values supplied whole, through the ordinary
/// evaluator (a policy set with targets) and through the whole-tree table (a membership
/// policy); an undeclared index supplies nothing.
#[test]
fn known_provider_values_decide_like_values_supplied_whole() {
    let is_in = |level: &str| string_is_in("clearance", level);
    let tabled = first_applicable(
        "t",
        &format!(
            "{}{}",
            rule("high", "Permit", "", &condition(&is_in("high"))),
            rule("low", "Deny", "", &condition(&is_in("low")))
        ),
    );
    let targeted = set(
        "s",
        "3.0:policy-combining-algorithm:deny-unless-permit",
        &policy(
            "p",
            "deny-overrides",
            &target(&format!(
                r#"<Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal"><AttributeValue DataType="{STRING}">high</AttributeValue>{}</Match>"#,
                designator("clearance", false)
            )),
            &rule("r", "Permit", "", ""),
        )
        .replacen(&format!(r#" xmlns="{NS}""#), "", 1),
    );
    for (text, tree) in [(&tabled, true), (&targeted, false)] {
        let sources = [PolicySource {
            name: "p.xml",
            text,
        }];
        let compile = |provider: std::sync::Arc<dyn pdp_core::xacml::AttributeProvider>| {
            match Pdp::compile_with_provider(&sources, &CompileOptions::default(), Some(provider)) {
                Ok(p) => p,
                Err(e) => panic!("{e:?}"),
            }
        };
        let known = compile(std::sync::Arc::new(KnownClearanceProvider));
        let whole = compile(std::sync::Arc::new(ClearanceProvider));
        assert_eq!(known.tree_table_outcomes().is_some(), tree);
        for (role, tabled_decision) in [("doctor", Decision::Permit), ("nurse", Decision::Deny)] {
            let a = decide(&known, &[("role", role)]);
            assert_eq!(
                a.decision,
                decide(&whole, &[("role", role)]).decision,
                "{role}"
            );
            if tree {
                assert_eq!(a.decision, tabled_decision, "{role}");
            }
            // The request may carry the provided attribute itself; its values count as well.
            let carried = [("role", role), ("clearance", "high")];
            assert_eq!(
                decide(&known, &carried).decision,
                Decision::Permit,
                "{role}"
            );
            assert_eq!(
                decide(&whole, &carried).decision,
                Decision::Permit,
                "{role}"
            );
        }
        // An undeclared known value supplies nothing: no clearance at all.
        let nothing = if tree {
            Decision::NotApplicable
        } else {
            Decision::Deny
        };
        assert_eq!(decide(&known, &[("role", "ghost")]).decision, nothing);
    }
}

/// A borrowed decision says exactly what the owned result says, on the whole-tree table's path
/// (stored outcome, borrowed actions) and on the evaluator's (an obligation computed from the
/// request).
#[test]
fn a_decision_view_says_what_the_owned_result_says() {
    let text = first_applicable(
        "p",
        &format!(
            r#"<Rule RuleId="a" Effect="Permit"><Condition>{}</Condition>{}</Rule>
               <Rule RuleId="d" Effect="Deny"><AdviceExpressions><AdviceExpression AdviceId="why" AppliesTo="Deny"/></AdviceExpressions></Rule>"#,
            string_is_in("x", "a"),
            echo_x_obligation(),
        ),
    );
    let p = pdp(&[&text]);
    assert!(p.tree_table_outcomes().is_some());
    for (x, decision, obligations, advice) in [
        ("a", Decision::Permit, vec!["echo-x"], vec![]),
        ("b", Decision::Deny, vec![], vec!["why"]),
    ] {
        let xml = request_xml(&[("x", x)], "")
            .replace(r#"IncludeInResult="false""#, r#"IncludeInResult="true""#);
        let request = parse_request(xml.as_bytes(), &XmlLimits::default()).expect("parses");
        let prepared = p.prepare(&request, NOW);
        let view = p.decide_view(&prepared[0]);
        let ids = |list: &[std::sync::Arc<pdp_core::xacml::response::PolicyAction>]| {
            list.iter().map(|a| a.id.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(view.decision, decision);
        assert_eq!(ids(&view.obligations), obligations);
        assert_eq!(ids(&view.advice), advice);
        assert_eq!(view.attributes.len(), 1, "the echoed subject category");
        let owned = p.decide(&prepared[0]);
        assert_eq!(owned.decision, view.decision);
        assert_eq!(owned.status, view.status);
        assert_eq!(ids(&owned.obligations), ids(&view.obligations));
        assert_eq!(ids(&owned.advice), ids(&view.advice));
        assert!(std::sync::Arc::ptr_eq(&owned.attributes, view.attributes));
        let result = view.into_result();
        assert_eq!(ids(&result.obligations), obligations);
    }
}
