//! Property test: the closed-question service (consent index + the shipped XACML policy set)
//! against a straightforward reference implementation of domain model section 8, written here
//! from the text as plainly as possible, on random profiles and random questions.

use std::sync::Arc;

use pdp_core::consent::bsn::{Bsn, Ura};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::{ClosedQuestion, Identifier, Purpose};
use pdp_core::consent::record::{
    Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordedBy,
};
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::response::Decision;
use proptest::prelude::*;

mod support;
use support::{shipped_catalogue, shipped_service};
const NOW: i64 = 1_795_132_800;

const URAS: [&str; 3] = ["00000001", "00000002", "12345678"];
/// Holder types: two hospitals' category, a pharmacy, a GP practice.
const HOLDER_TYPES: [&str; 3] = ["V6", "J8", "Z3"];
const HOLDER_CATEGORIES: [&str; 3] = ["ziekenhuizen", "apotheken", "huisartsen"];
const REQUESTER_TYPES: [&str; 3] = ["J8", "Z3", "V4"];
const CONSULTING: [&str; 3] = ["RPZAC005", "RPZAC001", "RPZAC104"];
const DATA: [&str; 3] = ["GGC002", "GGC012", "GGC013"];

/// What the reference says: decision, emergency obligation, "no choice" advice.
type Verdict = (Decision, bool, bool);

/// Domain §8, step 4 and 5, over plain records.
fn reference(records: &[ConsentRecord], cat: &Catalogue, q: &ClosedQuestion) -> Verdict {
    let holder_category = cat.holder_category_of_type(&q.holder_type);
    let consulting = cat
        .consulting_category_of_type(&q.requester_type)
        .expect("known type");
    let asked = cat
        .data_category(&q.data_categories[0])
        .expect("known category");
    let applies = |r: &&ConsentRecord| {
        r.bsn == q.bsn
            && r.minor.counts()
            && r.valid_from.is_none_or(|f| f <= NOW)
            && r.valid_until.is_none_or(|u| NOW < u)
            && cat.covers(r.data_category, asked)
            && r.consulting.contains(consulting)
    };
    let individual: Vec<Choice> = records
        .iter()
        .filter(applies)
        .filter(|r| r.holder == HolderScope::Organisation(q.holder))
        .map(|r| r.choice)
        .collect();
    let categorical: Vec<Choice> = records
        .iter()
        .filter(applies)
        .filter(|r| Some(r.holder) == holder_category.map(HolderScope::Category))
        .map(|r| r.choice)
        .collect();
    for level in [individual, categorical] {
        if level.contains(&Choice::No) {
            return (Decision::Deny, false, false);
        }
        if level.contains(&Choice::NoUnlessEmergency) {
            return if q.purpose == Purpose::Etreat {
                (Decision::Permit, true, false)
            } else {
                (Decision::Deny, false, false)
            };
        }
        if level.contains(&Choice::Yes) {
            return (Decision::Permit, false, false);
        }
    }
    if q.purpose == Purpose::Coc {
        (Decision::Permit, false, false)
    } else {
        (Decision::Deny, false, true)
    }
}

#[derive(Clone, Debug)]
struct Spec {
    citizen: usize,
    individual: bool,
    holder: usize,
    data: usize,
    consulting: u16,
    choice: usize,
    from: Option<i64>,
    until: Option<i64>,
    minor: usize,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0usize..3,
        any::<bool>(),
        0usize..3,
        0usize..3,
        1u16..8,
        0usize..3,
        prop::option::of(-2i64..2),
        prop::option::of(-2i64..2),
        prop_oneof![4 => Just(0usize), 1 => 1usize..4],
    )
        .prop_map(
            |(citizen, individual, holder, data, consulting, choice, from, until, minor)| Spec {
                citizen,
                individual,
                holder,
                data,
                consulting,
                choice,
                from,
                until,
                minor,
            },
        )
}

#[derive(Clone, Debug)]
struct QuestionSpec {
    citizen: usize,
    holder: usize,
    holder_type: usize,
    data: usize,
    requester_type: usize,
    purpose: usize,
}

fn question_spec() -> impl Strategy<Value = QuestionSpec> {
    (
        0usize..3,
        0usize..3,
        0usize..3,
        0usize..3,
        0usize..3,
        0usize..3,
    )
        .prop_map(
            |(citizen, holder, holder_type, data, requester_type, purpose)| QuestionSpec {
                citizen,
                holder,
                holder_type,
                data,
                requester_type,
                purpose,
            },
        )
}

fn record(cat: &Catalogue, bsns: &[Bsn], s: &Spec) -> ConsentRecord {
    // Consulting bits over the three consulting categories used by the requesters.
    let ids = (0..3)
        .filter(|i| s.consulting & (1 << i) != 0)
        .map(|i| cat.consulting_category(CONSULTING[i]).expect("known"));
    ConsentRecord {
        bsn: bsns[s.citizen],
        holder: if s.individual {
            HolderScope::Organisation(Ura::parse(URAS[s.holder]).expect("ura"))
        } else {
            HolderScope::Category(
                cat.holder_category(HOLDER_CATEGORIES[s.holder])
                    .expect("known"),
            )
        },
        data_category: cat.data_category(DATA[s.data]).expect("known"),
        consulting: ConsultingSet::from_ids(ids).expect("non-empty"),
        choice: Choice::ALL[s.choice],
        valid_from: s.from.map(|h| NOW + h * 3600),
        valid_until: s.until.map(|h| NOW + h * 3600),
        minor: [
            MinorState::NotMinor,
            MinorState::PendingConfirmation,
            MinorState::Confirmed,
            MinorState::Rejected,
        ][s.minor],
        recorded_by: RecordedBy::Citizen,
        catalogue_version: cat.version(),
        recorded_at: NOW - 3600,
    }
}

fn question(bsns: &[Bsn], q: &QuestionSpec) -> ClosedQuestion {
    ClosedQuestion {
        bsn: bsns[q.citizen],
        holder: Ura::parse(URAS[q.holder]).expect("ura"),
        holder_type: HOLDER_TYPES[q.holder_type].into(),
        data_categories: vec![DATA[q.data].into()],
        requester: Ura::parse("00000099").expect("ura"),
        requester_type: REQUESTER_TYPES[q.requester_type].into(),
        role: "01.015".into(),
        professional: Identifier {
            root: "2.16.528.1.1007.3.1".into(),
            extension: "000000123".into(),
        },
        mandated: None,
        purpose: [Purpose::Treat, Purpose::Coc, Purpose::Etreat][q.purpose],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn service_agrees_with_the_reference(
        specs in prop::collection::vec(spec(), 0..12),
        questions in prop::collection::vec(question_spec(), 1..16),
    ) {
        let cat = shipped_catalogue();
        let gen = Generator::new(&cat, 7, 3).expect("generator");
        let bsns: Vec<Bsn> = (0..3).map(|i| gen.bsn(i)).collect();
        let index = Arc::new(ConsentIndex::new(&cat));
        // Upsert semantics: a later record with the same key replaces the earlier one.
        let mut records: Vec<ConsentRecord> = Vec::new();
        for s in &specs {
            let r = record(&cat, &bsns, s);
            index.upsert(&r);
            records.retain(|x| !(x.bsn == r.bsn && x.key() == r.key()));
            records.push(r);
        }
        let service = shipped_service(&cat, &index);
        for qs in &questions {
            let q = question(&bsns, qs);
            let expected = reference(&records, &cat, &q);
            let results = service
                .decide(q.to_request(), RequestTime { unix_secs: NOW, nanos: 0 })
                .expect("valid question");
            prop_assert_eq!(results.results.len(), 1);
            let r = &results.results[0];
            let got = (
                r.decision,
                r.obligations.iter().any(|o| o.id.contains("inform-citizen")),
                r.advice.iter().any(|a| a.id.contains("no-consent-recorded")),
            );
            prop_assert_eq!(got, expected, "question {:?}", q);
        }
    }
}
