//! The closed question ("gesloten autorisatievraag"): validation, decision through the shipped
//! XACML policy set and the consent index, and the SOAP round trip.
//!
//! The flow of one question (domain §8):
//! 1. [`ClosedQuestion::from_request`] checks that the question is complete and well-formed
//!    (exactly one patient with a valid BSN, one holder URA and type, one to
//!    [`MAX_DATA_CATEGORIES`] distinct data categories, the requester's URA and type, the
//!    responsible professional and role, a purpose in {TREAT, COC, ETREAT}). Anything missing
//!    or unparseable is a SOAP `Sender` fault naming it — never quoting the BSN.
//! 2. The patient, holder and data category are always echoed in each result (domain §2.3:
//!    the handleiding requires it), on top of what the request marks `IncludeInResult`.
//! 3. The request is split into one individual decision per data category (the Multiple
//!    Decision Profile's repeated `action` category) and each is decided by the policy set, with
//!    the consent index supplying the facts ([`super::pip::ConsentProvider`]). Unknown codes
//!    give `Indeterminate` for that category, not a fault.

use std::sync::Arc;

use arrayvec::ArrayVec;

use super::bsn::{Bsn, Ura};
use super::catalogue::Catalogue;
use super::index::ConsentIndex;
use super::pip::{ids, oids, ConsentProvider};
use crate::protocol::shape::{self, ShapeCache, ShapeStats};
use crate::protocol::soap::{self, SoapFault};
use crate::xacml::provider::PreparedInputs;
use crate::xacml::request::{Request, RequestAttribute, RequestCategory, RequestTime, Values};
use crate::xacml::response::{Decision, DecisionResult, DecisionView, Response};
use crate::xacml::value::Value;
use crate::xacml::xml::doc::XmlLimits;
use crate::xacml::{CompileOptions, Pdp, PolicyError, PolicySource, PreparedRequest};

/// The most data categories one question may ask about. Mitz's catalogue has three active
/// categories; a client caps a question at 32 (domain §2.3), and so do we, which bounds the
/// work one message can cause.
pub const MAX_DATA_CATEGORIES: usize = 32;

/// The purpose of use ("raadpleegsituatie", domain §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Normal care, explicit consent required.
    Treat,
    /// Continuity of care: consent presumed.
    Coc,
    /// The emergency indication.
    Etreat,
}

impl Purpose {
    pub fn code(self) -> &'static str {
        match self {
            Purpose::Treat => "TREAT",
            Purpose::Coc => "COC",
            Purpose::Etreat => "ETREAT",
        }
    }

    pub fn from_code(code: &str) -> Option<Purpose> {
        Some(match code {
            "TREAT" => Purpose::Treat,
            "COC" => Purpose::Coc,
            "ETREAT" => Purpose::Etreat,
            _ => return None,
        })
    }
}

/// An HL7 instance identifier as plain strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identifier {
    pub root: String,
    pub extension: String,
}

/// A validated closed question (the values of domain §2.3, table rows 1–10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedQuestion {
    pub bsn: Bsn,
    pub holder: Ura,
    /// The holder's organisation type code (code system 2.16.840.1.113883.2.4.15.1060).
    pub holder_type: String,
    /// The data category codes asked, in request order (distinct).
    pub data_categories: Vec<String>,
    pub requester: Ura,
    /// The requester's organisation type code.
    pub requester_type: String,
    /// The responsible professional's role code (RoleCodeNL).
    pub role: String,
    /// The responsible professional.
    pub professional: Identifier,
    /// The person who consults under the professional's mandate, if any.
    pub mandated: Option<Identifier>,
    pub purpose: Purpose,
}

fn sender(reason: impl Into<String>) -> SoapFault {
    SoapFault::sender(reason)
}

/// The attributes of one category, or a fault if the category is repeated.
fn single_category<'r>(
    request: &'r Request,
    category: &str,
    name: &str,
) -> Result<Option<&'r RequestCategory>, SoapFault> {
    let mut found = None;
    for c in request
        .categories
        .iter()
        .filter(|c| &*c.category == category)
    {
        if found.is_some() {
            return Err(sender(format!(
                "the {name} category occurs more than once; only the data category (action) may be repeated"
            )));
        }
        found = Some(c);
    }
    Ok(found)
}

/// The single value of attribute `id` in `category`, if present; a fault if it has several.
fn single_value<'r>(
    category: Option<&'r RequestCategory>,
    id: &str,
    name: &str,
) -> Result<Option<&'r Value>, SoapFault> {
    let mut found = None;
    for attr in category.into_iter().flat_map(|c| &c.attributes) {
        if &*attr.id != id {
            continue;
        }
        for v in &attr.values {
            if found.is_some() {
                return Err(sender(format!(
                    "{name} ({id}) has more than one value; send exactly one"
                )));
            }
            found = Some(v);
        }
    }
    Ok(found)
}

fn required<'r>(
    category: Option<&'r RequestCategory>,
    id: &str,
    name: &str,
) -> Result<&'r Value, SoapFault> {
    single_value(category, id, name)?.ok_or_else(|| sender(format!("{name} ({id}) is missing")))
}

/// The extension of an II with the expected root.
fn ii_with_root<'v>(
    value: &'v Value,
    root: &str,
    id: &str,
    name: &str,
) -> Result<&'v str, SoapFault> {
    let ii = value.as_ii().ok_or_else(|| {
        sender(format!(
            "{name} ({id}) must be an HL7 II (DataType urn:hl7-org:v3#II)"
        ))
    })?;
    if ii.root() != root {
        return Err(sender(format!(
            "{name} ({id}) has root {}, expected {root}",
            ii.root()
        )));
    }
    Ok(ii.extension())
}

/// The code of a CV in the expected code system.
fn cv_in_system<'v>(
    value: &'v Value,
    system: &str,
    id: &str,
    name: &str,
) -> Result<&'v str, SoapFault> {
    let cv = value.as_cv().ok_or_else(|| {
        sender(format!(
            "{name} ({id}) must be an HL7 CV (DataType urn:hl7-org:v3#CV)"
        ))
    })?;
    if cv.code_system() != system {
        return Err(sender(format!(
            "{name} ({id}) has codeSystem {}, expected {system}",
            cv.code_system()
        )));
    }
    if cv.code().is_empty() {
        return Err(sender(format!("{name} ({id}) has an empty code")));
    }
    Ok(cv.code())
}

fn identifier<'v>(value: &'v Value, id: &str, name: &str) -> Result<IdentifierRef<'v>, SoapFault> {
    let ii = value.as_ii().ok_or_else(|| {
        sender(format!(
            "{name} ({id}) must be an HL7 II (DataType urn:hl7-org:v3#II)"
        ))
    })?;
    let ext = ii.extension();
    if ext.is_empty() || ext.len() > 60 || !ext.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(sender(format!(
            "{name} ({id}) must have an extension of 1 to 60 letters or digits"
        )));
    }
    Ok(IdentifierRef {
        root: ii.root(),
        extension: ext,
    })
}

/// An HL7 instance identifier borrowed from the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdentifierRef<'r> {
    pub root: &'r str,
    pub extension: &'r str,
}

impl IdentifierRef<'_> {
    fn to_owned(self) -> Identifier {
        Identifier {
            root: self.root.to_string(),
            extension: self.extension.to_string(),
        }
    }
}

/// A validated closed question borrowing its codes from the request: what validation produces
/// without allocating (see [`ClosedQuestion`] for the owned form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionView<'r> {
    pub bsn: Bsn,
    pub holder: Ura,
    pub holder_type: &'r str,
    pub data_categories: ArrayVec<&'r str, MAX_DATA_CATEGORIES>,
    pub requester: Ura,
    pub requester_type: &'r str,
    pub role: &'r str,
    pub professional: IdentifierRef<'r>,
    pub mandated: Option<IdentifierRef<'r>>,
    pub purpose: Purpose,
}

impl<'r> QuestionView<'r> {
    /// Validates a parsed XACML request as a closed question (domain §8 step 1).
    pub fn parse(request: &'r Request) -> Result<QuestionView<'r>, SoapFault> {
        let resource = single_category(request, ids::RESOURCE, "resource")?;
        let subject = single_category(request, ids::SUBJECT, "access-subject")?;
        let environment = single_category(request, ids::ENVIRONMENT, "environment")?;
        if resource.is_none() {
            return Err(sender(
                "the resource category (patient and data holder) is missing",
            ));
        }
        let bsn_value = required(resource, ids::RESOURCE_ID, "the patient")?;
        let bsn = ii_with_root(bsn_value, oids::BSN, ids::RESOURCE_ID, "the patient")?;
        let bsn = Bsn::parse(bsn)
            .map_err(|e| sender(format!("the patient ({}): {e}", ids::RESOURCE_ID)))?;
        let holder = required(resource, ids::HOLDER_ID, "the data holder")?;
        let holder = ii_with_root(holder, oids::URA, ids::HOLDER_ID, "the data holder")?;
        let holder = Ura::parse(holder)
            .map_err(|e| sender(format!("the data holder ({}): {e}", ids::HOLDER_ID)))?;
        let holder_type = required(
            resource,
            ids::HOLDER_TYPE,
            "the data holder's organisation type",
        )?;
        let holder_type = cv_in_system(
            holder_type,
            oids::ORGANISATION_TYPE,
            ids::HOLDER_TYPE,
            "the data holder's organisation type",
        )?;

        let mut data_categories: ArrayVec<&'r str, MAX_DATA_CATEGORIES> = ArrayVec::new();
        for action in request
            .categories
            .iter()
            .filter(|c| &*c.category == ids::ACTION)
        {
            let v = required(Some(action), ids::DATA_CATEGORY, "the data category")?;
            let code = cv_in_system(
                v,
                oids::DATA_CATEGORY,
                ids::DATA_CATEGORY,
                "the data category",
            )?;
            if data_categories.contains(&code) {
                return Err(sender(format!(
                    "data category {code} is asked twice; ask each category once"
                )));
            }
            if data_categories.try_push(code).is_err() {
                return Err(sender(format!(
                    "more than {MAX_DATA_CATEGORIES} data categories are asked; at most {MAX_DATA_CATEGORIES} per question"
                )));
            }
        }
        if data_categories.is_empty() {
            return Err(sender(format!(
                "no data category is asked; add an action category with {}",
                ids::DATA_CATEGORY
            )));
        }

        if subject.is_none() {
            return Err(sender(
                "the access-subject category (the requester) is missing",
            ));
        }
        let role = required(subject, ids::ROLE, "the responsible professional's role")?;
        let role = cv_in_system(
            role,
            oids::ROLE,
            ids::ROLE,
            "the responsible professional's role",
        )?;
        let professional = required(subject, ids::PROVIDER_ID, "the responsible professional")?;
        let professional = identifier(
            professional,
            ids::PROVIDER_ID,
            "the responsible professional",
        )?;
        let mandated = single_value(subject, ids::MANDATED, "the mandated person")?
            .map(|v| identifier(v, ids::MANDATED, "the mandated person"))
            .transpose()?;
        let requester = required(subject, ids::REQUESTER_ID, "the requesting organisation")?;
        let requester = ii_with_root(
            requester,
            oids::URA,
            ids::REQUESTER_ID,
            "the requesting organisation",
        )?;
        let requester = Ura::parse(requester).map_err(|e| {
            sender(format!(
                "the requesting organisation ({}): {e}",
                ids::REQUESTER_ID
            ))
        })?;
        let requester_type = required(
            subject,
            ids::REQUESTER_TYPE,
            "the requesting organisation's type",
        )?;
        let requester_type = cv_in_system(
            requester_type,
            oids::ORGANISATION_TYPE,
            ids::REQUESTER_TYPE,
            "the requesting organisation's type",
        )?;

        if environment.is_none() {
            return Err(sender(
                "the environment category (purpose of use) is missing",
            ));
        }
        let purpose = required(environment, ids::PURPOSE, "the purpose of use")?;
        let purpose = cv_in_system(purpose, oids::PURPOSE, ids::PURPOSE, "the purpose of use")?;
        let purpose = Purpose::from_code(purpose).ok_or_else(|| {
            sender(format!(
                "purpose of use {purpose} is not one of TREAT, COC or ETREAT"
            ))
        })?;
        for c in &request.categories {
            let known = [ids::RESOURCE, ids::ACTION, ids::SUBJECT, ids::ENVIRONMENT];
            if !known.contains(&&*c.category) {
                return Err(sender(format!(
                    "attribute category {} does not belong in a closed question",
                    c.category
                )));
            }
        }
        Ok(QuestionView {
            bsn,
            holder,
            holder_type,
            data_categories,
            requester,
            requester_type,
            role,
            professional,
            mandated,
            purpose,
        })
    }
}

impl ClosedQuestion {
    /// Validates a parsed XACML request as a closed question (domain §8 step 1).
    pub fn from_request(request: &Request) -> Result<ClosedQuestion, SoapFault> {
        let v = QuestionView::parse(request)?;
        Ok(ClosedQuestion {
            bsn: v.bsn,
            holder: v.holder,
            holder_type: v.holder_type.to_string(),
            data_categories: v.data_categories.iter().map(|c| c.to_string()).collect(),
            requester: v.requester,
            requester_type: v.requester_type.to_string(),
            role: v.role.to_string(),
            professional: v.professional.to_owned(),
            mandated: v.mandated.map(IdentifierRef::to_owned),
            purpose: v.purpose,
        })
    }

    /// The XACML request of this question, shaped as the clients of domain §2.8 send it, with
    /// the patient, holder and data category marked `IncludeInResult`.
    pub fn to_request(&self) -> Request {
        let attr = |id: &str, value: Value, echo: bool| RequestAttribute {
            id: Arc::from(id),
            issuer: None,
            include_in_result: echo,
            values: Values::from_buf([value]),
        };
        let category =
            |cat: &str, xml_id: &str, attributes: Vec<RequestAttribute>| RequestCategory {
                category: Arc::from(cat),
                xml_id: Some(Arc::from(xml_id)),
                has_content: false,
                attributes,
            };
        let mut categories = vec![category(
            ids::RESOURCE,
            "resource",
            vec![
                attr(
                    ids::RESOURCE_ID,
                    Value::ii(oids::BSN, &self.bsn.to_string(), None),
                    true,
                ),
                attr(
                    ids::HOLDER_TYPE,
                    Value::cv(&self.holder_type, oids::ORGANISATION_TYPE, None),
                    false,
                ),
                attr(
                    ids::HOLDER_ID,
                    Value::ii(oids::URA, &self.holder.to_string(), None),
                    true,
                ),
            ],
        )];
        for (i, code) in self.data_categories.iter().enumerate() {
            categories.push(category(
                ids::ACTION,
                &format!("action{i}"),
                vec![attr(
                    ids::DATA_CATEGORY,
                    Value::cv(code, oids::DATA_CATEGORY, None),
                    true,
                )],
            ));
        }
        let mut subject = vec![
            attr(ids::ROLE, Value::cv(&self.role, oids::ROLE, None), false),
            attr(
                ids::PROVIDER_ID,
                Value::ii(
                    &self.professional.root,
                    &self.professional.extension,
                    Some("CIBG"),
                ),
                false,
            ),
        ];
        if let Some(m) = &self.mandated {
            subject.push(attr(
                ids::MANDATED,
                Value::ii(&m.root, &m.extension, Some("CIBG")),
                false,
            ));
        }
        subject.push(attr(
            ids::REQUESTER_ID,
            Value::ii(oids::URA, &self.requester.to_string(), None),
            false,
        ));
        subject.push(attr(
            ids::REQUESTER_TYPE,
            Value::cv(&self.requester_type, oids::ORGANISATION_TYPE, None),
            false,
        ));
        categories.push(category(ids::SUBJECT, "subject", subject));
        categories.push(category(
            ids::ENVIRONMENT,
            "environment",
            vec![attr(
                ids::PURPOSE,
                Value::cv(self.purpose.code(), oids::PURPOSE, None),
                false,
            )],
        ));
        Request {
            return_policy_id_list: false,
            combined_decision: false,
            categories,
        }
    }
}

/// Marks the patient, holder and data category for echo in every result.
fn mark_echo(request: &mut Request) {
    for c in &mut request.categories {
        let wanted: &[&str] = match &*c.category {
            ids::RESOURCE => &[ids::RESOURCE_ID, ids::HOLDER_ID],
            ids::ACTION => &[ids::DATA_CATEGORY],
            _ => &[],
        };
        for a in &mut c.attributes {
            if wanted.contains(&&*a.id) {
                a.include_in_result = true;
            }
        }
    }
}

/// Answers closed questions: the compiled consent policy set with the consent index as its
/// policy information point. `Send + Sync`; build once, share between request threads.
pub struct ClosedQuestionService {
    pdp: Pdp,
    provider: Arc<ConsentProvider>,
    /// The message shapes learned from questions parsed in full ([`ShapeCache`]): later
    /// questions of the same client form are read by comparing bytes, not tokenized again.
    shapes: ShapeCache,
}

impl ClosedQuestionService {
    /// Compiles `policies` (the first is the root, normally `policies/mitz-consent.xml`) with the
    /// consent index as policy information point.
    pub fn new(
        policies: &[PolicySource<'_>],
        options: &CompileOptions,
        catalogue: Arc<Catalogue>,
        index: Arc<ConsentIndex>,
    ) -> Result<Self, Vec<PolicyError>> {
        let provider = Arc::new(ConsentProvider::new(catalogue, index));
        let pdp = Pdp::compile_with_provider(policies, options, Some(provider.clone()))?;
        Ok(ClosedQuestionService {
            pdp,
            provider,
            shapes: ShapeCache::new(shape::DEFAULT_CAPACITY),
        })
    }

    /// The same service keeping at most `capacity` message shapes (0: every question is
    /// parsed in full). The default is [`shape::DEFAULT_CAPACITY`].
    pub fn with_shape_capacity(mut self, capacity: usize) -> Self {
        self.shapes = ShapeCache::new(capacity);
        self
    }

    /// What the shape cache has done: shapes held, questions parsed in full, shapes learned.
    pub fn shape_stats(&self) -> ShapeStats {
        self.shapes.stats()
    }

    pub fn pdp(&self) -> &Pdp {
        &self.pdp
    }

    pub fn catalogue(&self) -> &Arc<Catalogue> {
        self.provider.catalogue()
    }

    pub fn index(&self) -> &Arc<ConsentIndex> {
        self.provider.index()
    }

    /// Validates the question and splits it into its individual decisions (one per data
    /// category), interned and ready for [`ClosedQuestionService::decide_prepared`].
    pub fn prepare(
        &self,
        mut request: Request,
        time: RequestTime,
    ) -> Result<Vec<PreparedRequest>, SoapFault> {
        // The consent provider's inputs for every data category at once, from the validated
        // question (what the provider would compute per individual decision, with the parts
        // the categories share looked up once). At most one per data category of the view,
        // so the array cannot overflow.
        let inputs: ArrayVec<PreparedInputs, MAX_DATA_CATEGORIES> = {
            let question = QuestionView::parse(&request)?;
            self.provider.prepare_question(&question).collect()
        };
        mark_echo(&mut request);
        Ok(self.pdp.prepare_owned_with_inputs(request, time, inputs))
    }

    /// Decides one prepared individual decision: one consent-index lookup and the policy set.
    pub fn decide_prepared(&self, prepared: &PreparedRequest) -> DecisionResult {
        self.pdp.decide(prepared)
    }

    /// [`ClosedQuestionService::decide_prepared`], borrowed: the decision reads the stored
    /// outcome of the compiled policy set and the prepared question's echo (see
    /// [`DecisionView`]); nothing is allocated or reference-counted.
    pub fn decide_prepared_view<'a>(&'a self, prepared: &'a PreparedRequest) -> DecisionView<'a> {
        self.pdp.decide_view(prepared)
    }

    /// Validates and decides a parsed question: one result per data category.
    pub fn decide(&self, request: Request, time: RequestTime) -> Result<Response, SoapFault> {
        let prepared = self.prepare(request, time)?;
        Ok(Response {
            results: prepared.iter().map(|p| self.pdp.decide(p)).collect(),
        })
    }

    /// The whole round trip: SOAP request bytes in, SOAP answer appended to `out`. On a fault
    /// nothing is written; the caller writes the fault ([`soap::write_fault`]) with
    /// [`SoapFault::http_status`].
    pub fn answer(
        &self,
        bytes: &[u8],
        limits: &XmlLimits,
        time: RequestTime,
        out: &mut String,
    ) -> Result<(), SoapFault> {
        self.answer_observed(bytes, limits, time, out, |_| {})
    }

    /// [`ClosedQuestionService::answer`], telling `observe` each decision as it is written
    /// (the service counts them for its metrics): the path the service runs is the one the
    /// bytes-to-bytes benchmark measures.
    pub fn answer_observed(
        &self,
        bytes: &[u8],
        limits: &XmlLimits,
        time: RequestTime,
        out: &mut String,
        mut observe: impl FnMut(Decision),
    ) -> Result<(), SoapFault> {
        let envelope = match self.shapes.parse(bytes, limits) {
            Some(envelope) => envelope,
            None => {
                let envelope =
                    soap::parse_closed_question(bytes, limits, Some(self.pdp.symbols()))?;
                self.shapes.learn(bytes, limits, &envelope);
                envelope
            }
        };
        let prepared = self.prepare(envelope.request, time)?;
        // Each decision is written as it is made, read in place: no owned results.
        let views = prepared.iter().map(|p| {
            let view = self.pdp.decide_view(p);
            observe(view.decision);
            view
        });
        soap::write_closed_answer_of(views, envelope.message_id.as_deref(), out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::generate::Generator;
    use crate::xacml::xml::doc::XmlLimits;

    const POLICY: &str = include_str!("../../../policies/mitz-consent.xml");
    const CATALOGUE: &str = include_str!("../../../policies/mitz-catalogue.json");

    fn service() -> ClosedQuestionService {
        let catalogue = Arc::new(Catalogue::from_json(CATALOGUE).expect("catalogue"));
        let generator = Generator::new(&catalogue, 7, 200).expect("generator");
        let index = Arc::new(ConsentIndex::from_records(&catalogue, generator.records()));
        ClosedQuestionService::new(
            &[PolicySource {
                name: "mitz-consent.xml",
                text: POLICY,
            }],
            &CompileOptions::default(),
            catalogue,
            index,
        )
        .expect("the shipped policy compiles")
    }

    /// The inputs a prepared request carries: the packed words, or the reason it failed.
    fn inputs(p: &PreparedRequest) -> (Option<[u64; 2]>, Option<String>) {
        let inputs = p
            .provider_inputs()
            .expect("the consent provider prepares every request");
        (inputs.words().copied(), inputs.shared::<String>().cloned())
    }

    /// The closed question's own preparation (shared parts looked up once per question) gives
    /// every individual decision exactly what the provider computes for it on the general
    /// path, on every client shape and with unknown holder types, data categories and
    /// requester types (reasons included).
    #[test]
    fn question_preparation_matches_the_providers_per_decision_preparation() {
        let service = service();
        let time = RequestTime {
            unix_secs: 1_790_000_000,
            nanos: 0,
        };
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/soap");
        let mut questions = Vec::new();
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "xml") {
                questions.push(std::fs::read_to_string(&path).expect("fixture"));
            }
        }
        let base = std::fs::read_to_string(format!("{dir}/bench-5k.xml")).expect("fixture");
        // An unknown holder type, an unknown requester type, both.
        questions.push(base.replace(r#"code="V6""#, r#"code="ZZ1""#));
        questions.push(base.replace(r#"code="J8""#, r#"code="ZZ2""#));
        questions.push(
            base.replace(r#"code="V6""#, r#"code="ZZ1""#)
                .replace(r#"code="J8""#, r#"code="ZZ2""#),
        );
        let mut compared = 0;
        let mut failures = 0;
        for question in &questions {
            let envelope = soap::parse_closed_question(
                question.as_bytes(),
                &XmlLimits::default(),
                Some(service.pdp().symbols()),
            )
            .expect("a valid question");
            let mut general = envelope.request.clone();
            mark_echo(&mut general);
            let general = service.pdp().prepare_owned(general, time);
            let fast = service.prepare(envelope.request, time).expect("valid");
            assert_eq!(general.len(), fast.len());
            for (g, f) in general.iter().zip(&fast) {
                assert_eq!(inputs(g), inputs(f));
                assert_eq!(
                    service.decide_prepared(g).decision,
                    service.decide_prepared(f).decision
                );
                failures += usize::from(inputs(f).1.is_some());
                compared += 1;
            }
        }
        assert!(compared >= questions.len(), "{compared}");
        // The bench question's GGC003, and every category of the three variants, fail.
        assert!(failures >= 10, "{failures}");
    }
}
