//! Scenario tests of the closed question, through the shipped policy set
//! (`policies/mitz-consent.xml`), the shipped catalogue and a real consent index: every rule of
//! domain model section 8 and issue 3.

use std::sync::Arc;

use pdp_core::consent::bsn::{Bsn, Ura};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::{ClosedQuestion, ClosedQuestionService, Identifier, Purpose};
use pdp_core::consent::record::{
    Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordedBy,
};
use pdp_core::protocol::soap::FaultCode;
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::response::{Decision, DecisionResult, StatusCode};

mod support;
use support::{shipped_catalogue, shipped_service};
const NOW: i64 = 1_795_000_000;

const PATIENT: &str = "999990019";
const HOSPITAL: &str = "00000001"; // type V6, holder category "ziekenhuizen"
const OTHER_HOSPITAL: &str = "00000003";
const PHARMACY: &str = "00000002"; // type J8, consulting category RPZAC005

struct World {
    catalogue: Arc<Catalogue>,
    index: Arc<ConsentIndex>,
    service: ClosedQuestionService,
}

fn catalogue() -> Arc<Catalogue> {
    shipped_catalogue()
}

fn world() -> World {
    let catalogue = catalogue();
    let index = Arc::new(ConsentIndex::new(&catalogue));
    let service = shipped_service(&catalogue, &index);
    World {
        catalogue,
        index,
        service,
    }
}

fn bsn(s: &str) -> Bsn {
    Bsn::parse(s).expect("test BSN is valid")
}

fn ura(s: &str) -> Ura {
    Ura::parse(s).expect("test URA is valid")
}

impl World {
    /// A record with the given holder, data category, consulting category code and choice.
    fn record(
        &self,
        holder: HolderScope,
        data: &str,
        consulting: &str,
        choice: Choice,
    ) -> ConsentRecord {
        ConsentRecord {
            bsn: bsn(PATIENT),
            holder,
            data_category: self
                .catalogue
                .data_category(data)
                .expect("known data category"),
            consulting: ConsultingSet::single(
                self.catalogue
                    .consulting_category(consulting)
                    .expect("known consulting category"),
            ),
            choice,
            valid_from: None,
            valid_until: None,
            minor: MinorState::NotMinor,
            recorded_by: RecordedBy::Citizen,
            catalogue_version: self.catalogue.version(),
            recorded_at: NOW - 86_400,
        }
    }

    fn hospitals(&self) -> HolderScope {
        HolderScope::Category(
            self.catalogue
                .holder_category("ziekenhuizen")
                .expect("category"),
        )
    }

    fn add(&self, r: ConsentRecord) {
        self.index.upsert(&r);
    }

    fn ask(&self, q: &ClosedQuestion) -> Vec<DecisionResult> {
        self.service
            .decide(
                q.to_request(),
                RequestTime {
                    unix_secs: NOW,
                    nanos: 0,
                },
            )
            .expect("a valid question is answered")
            .results
    }

    fn decide(&self, q: &ClosedQuestion) -> DecisionResult {
        let mut r = self.ask(q);
        assert_eq!(r.len(), 1);
        r.remove(0)
    }
}

/// The pharmacy asks whether the hospital may share GGC002 for TREAT.
fn question(purpose: Purpose, categories: &[&str]) -> ClosedQuestion {
    ClosedQuestion {
        bsn: bsn(PATIENT),
        holder: ura(HOSPITAL),
        holder_type: "V6".into(),
        data_categories: categories.iter().map(|c| c.to_string()).collect(),
        requester: ura(PHARMACY),
        requester_type: "J8".into(),
        role: "17.000".into(),
        professional: Identifier {
            root: "2.16.528.1.1007.3.1".into(),
            extension: "000000123".into(),
        },
        mandated: None,
        purpose,
    }
}

fn treat() -> ClosedQuestion {
    question(Purpose::Treat, &["GGC002"])
}

fn has_obligation(r: &DecisionResult) -> bool {
    r.obligations
        .iter()
        .any(|o| &*o.id == "urn:akkoord:obligation:inform-citizen-of-emergency-access")
}

fn has_no_choice_advice(r: &DecisionResult) -> bool {
    r.advice
        .iter()
        .any(|a| &*a.id == "urn:akkoord:advice:no-consent-recorded")
}

#[test]
fn no_record_is_deny_with_advice() {
    let w = world();
    let r = w.decide(&treat());
    assert_eq!(r.decision, Decision::Deny);
    assert!(has_no_choice_advice(&r));
    assert!(!has_obligation(&r));
}

#[test]
fn categorical_yes_permits() {
    let w = world();
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes));
    let r = w.decide(&treat());
    assert_eq!(r.decision, Decision::Permit);
    assert!(r.advice.is_empty());
    // A different consulting category is not covered.
    let mut q = treat();
    q.requester_type = "Z3".into(); // GP practice: RPZAC001
    assert_eq!(w.decide(&q).decision, Decision::Deny);
}

#[test]
fn individual_choice_overrides_categorical() {
    let w = world();
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::No));
    w.add(w.record(
        HolderScope::Organisation(ura(HOSPITAL)),
        "GGC002",
        "RPZAC005",
        Choice::Yes,
    ));
    assert_eq!(w.decide(&treat()).decision, Decision::Permit);
    // Another hospital of the same category only has the categorical "no".
    let mut q = treat();
    q.holder = ura(OTHER_HOSPITAL);
    assert_eq!(w.decide(&q).decision, Decision::Deny);
    // And the reverse: individual no beats categorical yes.
    let w = world();
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes));
    w.add(w.record(
        HolderScope::Organisation(ura(HOSPITAL)),
        "GGC002",
        "RPZAC005",
        Choice::No,
    ));
    let r = w.decide(&treat());
    assert_eq!(r.decision, Decision::Deny);
    assert!(
        !has_no_choice_advice(&r),
        "an explicit no is not 'no choice recorded'"
    );
}

#[test]
fn no_wins_at_equal_specificity() {
    let w = world();
    // GGC002 yes and GGC013 no both apply to a GGC013 question at the categorical level.
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes));
    w.add(w.record(w.hospitals(), "GGC013", "RPZAC005", Choice::No));
    assert_eq!(
        w.decide(&question(Purpose::Treat, &["GGC013"])).decision,
        Decision::Deny
    );
    // The GGC002 question itself is only covered by the yes.
    assert_eq!(w.decide(&treat()).decision, Decision::Permit);
}

#[test]
fn hierarchy_higher_category_covers_lower() {
    let w = world();
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes));
    assert_eq!(
        w.decide(&question(Purpose::Treat, &["GGC013"])).decision,
        Decision::Permit
    );
    assert_eq!(
        w.decide(&question(Purpose::Treat, &["GGC012"])).decision,
        Decision::Permit
    );
    // The reverse does not hold.
    let w = world();
    w.add(w.record(w.hospitals(), "GGC013", "RPZAC005", Choice::Yes));
    assert_eq!(
        w.decide(&question(Purpose::Treat, &["GGC013"])).decision,
        Decision::Permit
    );
    assert_eq!(w.decide(&treat()).decision, Decision::Deny);
}

#[test]
fn no_unless_emergency() {
    let w = world();
    w.add(w.record(
        w.hospitals(),
        "GGC002",
        "RPZAC005",
        Choice::NoUnlessEmergency,
    ));
    let r = w.decide(&question(Purpose::Etreat, &["GGC002"]));
    assert_eq!(r.decision, Decision::Permit);
    assert!(
        has_obligation(&r),
        "emergency access carries the obligation to inform the citizen"
    );
    let ob = &r.obligations[0];
    assert_eq!(
        ob.assignments.len(),
        2,
        "holder and data category are named"
    );
    let r = w.decide(&treat());
    assert_eq!(r.decision, Decision::Deny);
    assert!(!has_obligation(&r));
    // For COC it is a "no" too.
    assert_eq!(
        w.decide(&question(Purpose::Coc, &["GGC002"])).decision,
        Decision::Deny
    );
    // ETREAT where only a yes applies behaves like TREAT: Permit, no obligation.
    let w = world();
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes));
    let r = w.decide(&question(Purpose::Etreat, &["GGC002"]));
    assert_eq!(r.decision, Decision::Permit);
    assert!(!has_obligation(&r));
    // ETREAT with nothing recorded is Deny: emergency exchange also needs consent.
    let w = world();
    assert_eq!(
        w.decide(&question(Purpose::Etreat, &["GGC002"])).decision,
        Decision::Deny
    );
}

#[test]
fn coc_presumes_consent_unless_a_no_applies() {
    let w = world();
    let r = w.decide(&question(Purpose::Coc, &["GGC002"]));
    assert_eq!(r.decision, Decision::Permit);
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::No));
    assert_eq!(
        w.decide(&question(Purpose::Coc, &["GGC002"])).decision,
        Decision::Deny
    );
}

#[test]
fn minors_count_only_once_confirmed() {
    for (state, expected) in [
        (MinorState::PendingConfirmation, Decision::Deny),
        (MinorState::Rejected, Decision::Deny),
        (MinorState::Confirmed, Decision::Permit),
    ] {
        let w = world();
        let mut r = w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes);
        r.minor = state;
        w.add(r);
        assert_eq!(w.decide(&treat()).decision, expected, "{state:?}");
    }
    // A pending "no" does not override an earlier valid categorical yes either.
    let w = world();
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes));
    let mut pending = w.record(
        HolderScope::Organisation(ura(HOSPITAL)),
        "GGC002",
        "RPZAC005",
        Choice::No,
    );
    pending.minor = MinorState::PendingConfirmation;
    w.add(pending);
    assert_eq!(w.decide(&treat()).decision, Decision::Permit);
}

#[test]
fn expired_button_consent_no_longer_counts() {
    let w = world();
    let mut r = w.record(
        HolderScope::Organisation(ura(HOSPITAL)),
        "GGC002",
        "RPZAC005",
        Choice::Yes,
    );
    r.recorded_by = RecordedBy::ConsultingButton;
    r.valid_from = Some(NOW - 100 * 3600);
    r.valid_until = Some(NOW - 28 * 3600); // 72 hours, ended a day ago
    w.add(r);
    assert_eq!(w.decide(&treat()).decision, Decision::Deny);
    // Still running: counts.
    let w = world();
    r.valid_from = Some(NOW - 3600);
    r.valid_until = Some(NOW + 71 * 3600);
    w.add(r);
    assert_eq!(w.decide(&treat()).decision, Decision::Permit);
    // Not yet started: does not count.
    let w = world();
    r.valid_from = Some(NOW + 3600);
    r.valid_until = Some(NOW + 75 * 3600);
    w.add(r);
    assert_eq!(w.decide(&treat()).decision, Decision::Deny);
}

#[test]
fn several_data_categories_get_one_result_each_with_echo() {
    let w = world();
    w.add(w.record(w.hospitals(), "GGC013", "RPZAC005", Choice::Yes));
    let results = w.ask(&question(Purpose::Treat, &["GGC002", "GGC013"]));
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].decision, Decision::Deny);
    assert_eq!(results[1].decision, Decision::Permit);
    for (r, code) in results.iter().zip(["GGC002", "GGC013"]) {
        let echoed: Vec<String> = r
            .attributes
            .iter()
            .flat_map(|c| c.attributes.iter())
            .flat_map(|a| a.values.iter())
            .map(|v| v.to_string())
            .collect();
        assert!(
            echoed.iter().any(|v| v.ends_with(PATIENT)),
            "patient echoed: {echoed:?}"
        );
        assert!(
            echoed.iter().any(|v| v.ends_with(HOSPITAL)),
            "holder echoed: {echoed:?}"
        );
        assert!(
            echoed.iter().any(|v| v.ends_with(code)),
            "category echoed: {echoed:?}"
        );
        assert!(
            !echoed.iter().any(|v| v.ends_with(PHARMACY)),
            "requester not echoed"
        );
    }
}

#[test]
fn unknown_codes_give_indeterminate_not_a_guess() {
    let w = world();
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes));
    // Unknown data category: Indeterminate for that category only.
    let results = w.ask(&question(Purpose::Treat, &["GGC002", "GGC999"]));
    assert_eq!(results[0].decision, Decision::Permit);
    assert_eq!(results[1].decision, Decision::Indeterminate);
    assert_eq!(results[1].status.code, StatusCode::ProcessingError);
    let msg = results[1].status.message.clone().unwrap_or_default();
    assert!(msg.contains("GGC999"), "{msg}");
    assert!(!msg.contains(PATIENT), "never the BSN in a status: {msg}");
    // Unknown organisation type of the holder.
    let mut q = treat();
    q.holder_type = "XX9".into();
    let r = w.decide(&q);
    assert_eq!(r.decision, Decision::Indeterminate);
    assert!(r.status.message.unwrap_or_default().contains("XX9"));
    // Unknown requester type.
    let mut q = treat();
    q.requester_type = "QQ".into();
    assert_eq!(w.decide(&q).decision, Decision::Indeterminate);
}

#[test]
fn invalid_or_incomplete_questions_are_sender_faults() {
    let w = world();
    let time = RequestTime {
        unix_secs: NOW,
        nanos: 0,
    };
    // Invalid BSN checksum: change the last digit of the request's BSN.
    let mut req = treat().to_request();
    let patient = &mut req.categories[0].attributes[0];
    patient.values[0] =
        pdp_core::xacml::value::Value::ii("2.16.840.1.113883.2.4.6.3", "999990018", None);
    let fault = w
        .service
        .decide(req, time)
        .expect_err("invalid BSN is refused");
    assert_eq!(fault.code, FaultCode::Sender);
    assert!(fault.reason.contains("11-check"), "{}", fault.reason);
    assert!(
        !fault.reason.contains("99999001"),
        "never the BSN in a fault: {}",
        fault.reason
    );
    // Missing purpose.
    let mut req = treat().to_request();
    req.categories
        .retain(|c| !c.category.ends_with(":environment"));
    let fault = w.service.decide(req, time).expect_err("no purpose");
    assert!(fault.reason.contains("purpose"), "{}", fault.reason);
    // No data category.
    let mut req = treat().to_request();
    req.categories.retain(|c| !c.category.ends_with(":action"));
    let fault = w.service.decide(req, time).expect_err("no category");
    assert!(fault.reason.contains("data category"), "{}", fault.reason);
    // The same category twice.
    let q = question(Purpose::Treat, &["GGC002", "GGC002"]);
    let fault = w
        .service
        .decide(q.to_request(), time)
        .expect_err("duplicate");
    assert!(fault.reason.contains("asked twice"), "{}", fault.reason);
    // A purpose outside TREAT/COC/ETREAT.
    let mut req = treat().to_request();
    let env = req
        .categories
        .iter_mut()
        .find(|c| c.category.ends_with(":environment"))
        .expect("env");
    env.attributes[0].values[0] =
        pdp_core::xacml::value::Value::cv("HRESCH", "2.16.840.1.113883.1.11.20448", None);
    let fault = w.service.decide(req, time).expect_err("bad purpose");
    assert!(fault.reason.contains("HRESCH"), "{}", fault.reason);
}

#[test]
fn mandated_assistant_is_decided_like_the_responsible_professional() {
    let w = world();
    w.add(w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes));
    let mut q = treat();
    q.mandated = Some(Identifier {
        root: "2.16.528.1.1007.3.1".into(),
        extension: "000000456".into(),
    });
    assert_eq!(w.decide(&q).decision, Decision::Permit);
    // Without the responsible professional's role the question cannot be asked.
    let mut req = q.to_request();
    let subject = req
        .categories
        .iter_mut()
        .find(|c| c.category.ends_with(":access-subject"))
        .expect("subject");
    subject
        .attributes
        .retain(|a| !a.id.ends_with("subject:role"));
    let fault = w
        .service
        .decide(
            req,
            RequestTime {
                unix_secs: NOW,
                nanos: 0,
            },
        )
        .expect_err("no role");
    assert!(fault.reason.contains("role"), "{}", fault.reason);
}

#[test]
fn changes_in_the_index_are_decided_on_immediately() {
    let w = world();
    let r = w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes);
    w.add(r);
    assert_eq!(w.decide(&treat()).decision, Decision::Permit);
    assert!(w.index.remove(r.bsn, &r.key()));
    assert_eq!(w.decide(&treat()).decision, Decision::Deny);
}

#[test]
fn a_prepared_question_sees_index_changes_made_after_preparation() {
    let w = world();
    let prepared = w
        .service
        .prepare(
            treat().to_request(),
            RequestTime {
                unix_secs: NOW,
                nanos: 0,
            },
        )
        .expect("valid");
    assert_eq!(
        w.service.decide_prepared(&prepared[0]).decision,
        Decision::Deny
    );
    let r = w.record(w.hospitals(), "GGC002", "RPZAC005", Choice::Yes);
    w.add(r);
    assert_eq!(
        w.service.decide_prepared(&prepared[0]).decision,
        Decision::Permit
    );
    assert!(w.index.remove(r.bsn, &r.key()));
    assert_eq!(
        w.service.decide_prepared(&prepared[0]).decision,
        Decision::Deny
    );
}
