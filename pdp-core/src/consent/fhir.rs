//! The bulk consent format: NDJSON, one FHIR R4 `Consent` per line, shaped like Mitz's
//! Consent-Mitz-Notify (domain model §1.7, §4.2, §5) with the additions a registration needs.
//!
//! Each line stands alone (identifiers inline, no references to other resources), so a file of
//! 36 million lines can be split, streamed and imported idempotently: a line's record replaces
//! the citizen's record with the same (holder, data category, consulting categories).
//!
//! | element | meaning |
//! | --- | --- |
//! | `status` | `active` (yes / no-unless-emergency) or `inactive` (no) |
//! | `provision.type` | `permit` (yes); `deny` with a nested `provision` of type `permit` and purpose `ETREAT` (no-unless-emergency, Akkoord's reading of domain §1.7); absent or `deny` on an inactive Consent (no) |
//! | `category[0].coding[0]` | the data category: system `http://fhir.nl/otv/CodeSystem/gegevenscategorie`, `code` GGC…, `version` = the catalogue version the choice was made in |
//! | `extension[OTV-ProviderCategory]` | one per consulting category, `valueCodeableConcept` with an RPZAC coding |
//! | `patient.identifier` | system `http://fhir.nl/fhir/NamingSystem/bsn`, `value` = BSN (nine digits, 11-check) |
//! | `provision.actor[0]` | role `CST`; individual holder: `reference.identifier` with system `http://fhir.nl/fhir/NamingSystem/ura`; categorical holder: `reference.extension` `http://akkoord.example/fhir/StructureDefinition/holder-category` with `valueCode` = the catalogue's holder-category name |
//! | `provision.period` | `start` / `end` (end exclusive) for temporary consents; absent = open |
//! | `extension[minor-state]` | `http://akkoord.example/fhir/StructureDefinition/minor-state`, `valueCode` `pending-confirmation`, `confirmed` or `rejected`; absent = not a minor |
//! | `extension[recorded-by]` | `http://akkoord.example/fhir/StructureDefinition/recorded-by`, `valueCode` `citizen`, `guardian`, `provider-on-behalf`, `holder-button`, `consulting-button` or `migration`; required |
//! | `dateTime` | when the choice was made |
//!
//! Times are written as `YYYY-MM-DDThh:mm:ssZ`; any FHIR dateTime with seconds and a zone is
//! read (fractions are dropped). Parse errors name the JSON path and say what to write
//! instead; they never contain the BSN.

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

#[cfg(test)]
mod reference;
mod tape;

use tape::{Key, Tape, Val};

use super::bsn::{Bsn, Ura};
use super::catalogue::Catalogue;
use super::record::{Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordedBy};

/// `Consent.extension` url of a consulting category (Mitz).
pub const PROVIDER_CATEGORY_URL: &str = "http://fhir.nl/StructureDefinition/OTV-ProviderCategory";
/// Code system of consulting categories (RPZAC…).
pub const CONSULTING_SYSTEM: &str =
    "http://fhir.nl/otv/CodeSystem/raadplegende-zorgaanbiedercategorie";
/// Code system of data categories (GGC…).
pub const DATA_CATEGORY_SYSTEM: &str = "http://fhir.nl/otv/CodeSystem/gegevenscategorie";
/// Code system of `Consent.scope`.
pub const SCOPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
/// FHIR naming system of the BSN.
pub const BSN_SYSTEM: &str = "http://fhir.nl/fhir/NamingSystem/bsn";
/// FHIR naming system of the URA.
pub const URA_SYSTEM: &str = "http://fhir.nl/fhir/NamingSystem/ura";
/// Code system of the actor role (`CST` = custodian = the data holder).
pub const PARTICIPATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/// Code system of the purpose of use, as Mitz writes it.
pub const ACT_REASON_SYSTEM: &str = "http://hl7.org/fhir/v3/ActReason";
/// Akkoord extension: a categorical holder (on `provision.actor.reference`).
pub const HOLDER_CATEGORY_URL: &str =
    "http://akkoord.example/fhir/StructureDefinition/holder-category";
/// Akkoord extension: the confirmation state of a minor's choice.
pub const MINOR_STATE_URL: &str = "http://akkoord.example/fhir/StructureDefinition/minor-state";
/// Akkoord extension: who recorded the choice.
pub const RECORDED_BY_URL: &str = "http://akkoord.example/fhir/StructureDefinition/recorded-by";

/// A line that is not a usable consent: where (a JSON path such as `provision.actor[0].role`)
/// and what is wrong or expected. Never contains the BSN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FhirError {
    pub path: String,
    pub problem: String,
}

impl std::fmt::Display for FhirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

impl std::error::Error for FhirError {}

fn err(path: impl Into<String>, problem: impl Into<String>) -> FhirError {
    FhirError {
        path: path.into(),
        problem: problem.into(),
    }
}

fn minor_code(state: MinorState) -> Option<&'static str> {
    match state {
        MinorState::NotMinor => None,
        MinorState::PendingConfirmation => Some("pending-confirmation"),
        MinorState::Confirmed => Some("confirmed"),
        MinorState::Rejected => Some("rejected"),
    }
}

/// The `recorded-by` codes (shared with the store's rows).
const RECORDED_BY_CODES: [(RecordedBy, &str); 6] = RecordedBy::CODES;

/// Appends `record` as one JSON line (with the final `\n`) to `out`. Fails only when the
/// record's ids are not in `catalogue` or a time lies outside the years 1–9999; then nothing is
/// appended.
pub fn write_consent_line(
    record: &ConsentRecord,
    catalogue: &Catalogue,
    out: &mut String,
) -> Result<(), FhirError> {
    let data_code = catalogue
        .data_category_code(record.data_category)
        .ok_or_else(|| {
            err(
                "category",
                "the record's data category is not in this catalogue",
            )
        })?;
    let mut consulting = Vec::with_capacity(record.consulting.len());
    for id in catalogue.consulting_category_ids() {
        if record.consulting.contains(id) {
            consulting.push(catalogue.consulting_category_code(id).unwrap_or_default());
        }
    }
    if consulting.len() != record.consulting.len() {
        return Err(err(
            "extension",
            "the record's consulting set names a category this catalogue does not have",
        ));
    }
    let holder_category = match record.holder {
        HolderScope::Organisation(_) => None,
        HolderScope::Category(id) => Some(catalogue.holder_category_name(id).ok_or_else(|| {
            err(
                "provision.actor[0].reference",
                "the record's holder category is not in this catalogue",
            )
        })?),
    };
    let mut times = [String::new(), String::new(), String::new()];
    write_datetime(record.recorded_at, &mut times[0])
        .ok_or_else(|| err("dateTime", "the recording time is outside the years 1-9999"))?;
    if let Some(t) = record.valid_from {
        write_datetime(t, &mut times[1])
            .ok_or_else(|| err("provision.period.start", "outside the years 1-9999"))?;
    }
    if let Some(t) = record.valid_until {
        write_datetime(t, &mut times[2])
            .ok_or_else(|| err("provision.period.end", "outside the years 1-9999"))?;
    }
    let version = record.catalogue_version;

    out.push_str("{\"resourceType\":\"Consent\",\"extension\":[");
    for (i, code) in consulting.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"url\":\"{PROVIDER_CATEGORY_URL}\",\"valueCodeableConcept\":{{\"coding\":[{{\"system\":\"{CONSULTING_SYSTEM}\",\"version\":\"{version}\",\"code\":\"{}\"}}]}}}}",
            json_safe(code)
        );
    }
    if let Some(code) = minor_code(record.minor) {
        let _ = write!(
            out,
            ",{{\"url\":\"{MINOR_STATE_URL}\",\"valueCode\":\"{code}\"}}"
        );
    }
    let _ = write!(
        out,
        ",{{\"url\":\"{RECORDED_BY_URL}\",\"valueCode\":\"{}\"}}],",
        record.recorded_by.code()
    );
    let status = if record.choice == Choice::No {
        "inactive"
    } else {
        "active"
    };
    let _ = write!(
        out,
        "\"status\":\"{status}\",\"scope\":{{\"coding\":[{{\"system\":\"{SCOPE_SYSTEM}\",\"version\":\"{version}\",\"code\":\"patient-privacy\"}}]}},\
         \"category\":[{{\"coding\":[{{\"system\":\"{DATA_CATEGORY_SYSTEM}\",\"version\":\"{version}\",\"code\":\"{}\"}}]}}],\
         \"patient\":{{\"identifier\":{{\"system\":\"{BSN_SYSTEM}\",\"value\":\"{}\"}}}},\
         \"dateTime\":\"{}\",\"provision\":{{",
        json_safe(data_code),
        record.bsn,
        times[0]
    );
    match record.choice {
        Choice::Yes => out.push_str("\"type\":\"permit\","),
        Choice::NoUnlessEmergency => out.push_str("\"type\":\"deny\","),
        Choice::No => {}
    }
    if record.valid_from.is_some() || record.valid_until.is_some() {
        out.push_str("\"period\":{");
        if record.valid_from.is_some() {
            let _ = write!(out, "\"start\":\"{}\"", times[1]);
        }
        if record.valid_until.is_some() {
            if record.valid_from.is_some() {
                out.push(',');
            }
            let _ = write!(out, "\"end\":\"{}\"", times[2]);
        }
        out.push_str("},");
    }
    let _ = write!(
        out,
        "\"actor\":[{{\"role\":{{\"coding\":[{{\"system\":\"{PARTICIPATION_SYSTEM}\",\"code\":\"CST\"}}]}},\"reference\":"
    );
    match (record.holder, holder_category) {
        (_, Some(name)) => {
            let _ = write!(
                out,
                "{{\"extension\":[{{\"url\":\"{HOLDER_CATEGORY_URL}\",\"valueCode\":\"{}\"}}]}}",
                json_safe(name)
            );
        }
        (HolderScope::Organisation(ura), None) => {
            let _ = write!(
                out,
                "{{\"identifier\":{{\"system\":\"{URA_SYSTEM}\",\"value\":\"{ura}\"}}}}"
            );
        }
        (HolderScope::Category(_), None) => {}
    }
    let _ = write!(
        out,
        "}}],\"purpose\":[{{\"system\":\"{ACT_REASON_SYSTEM}\",\"code\":\"TREAT\"}}]"
    );
    if record.choice == Choice::NoUnlessEmergency {
        let _ = write!(
            out,
            ",\"provision\":[{{\"type\":\"permit\",\"purpose\":[{{\"system\":\"{ACT_REASON_SYSTEM}\",\"code\":\"ETREAT\"}}]}}]"
        );
    }
    out.push_str("}}\n");
    Ok(())
}

/// Catalogue codes are checked to hold no whitespace at load, but could still hold a quote or
/// backslash; such a code is written as an empty string rather than break the JSON line (the
/// line then fails to parse back, naming the field).
fn json_safe(code: &str) -> &str {
    if code.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        ""
    } else {
        code
    }
}

/// Reads one line (a FHIR R4 `Consent` as JSON) into a record, resolving codes in `catalogue`.
/// Surrounding whitespace (the line's `\n` or `\r\n`) is ignored.
///
/// The line is read by [`tape`], a one-pass JSON reader that borrows its strings from the line
/// and reuses its buffers between lines of a thread, so a good line costs no allocation; paths
/// for error messages are only spelled out when an error is returned ([`JsonPath`]).
pub fn parse_consent_line(line: &str, catalogue: &Catalogue) -> Result<ConsentRecord, FhirError> {
    let text = line.trim();
    let buffers = tape::Buffers::take();
    let tape = match Tape::read(text, buffers, false) {
        Ok(tape) => tape,
        Err((_, buffers)) => {
            // The fast reader was unsure: serde_json names the error, or accepts, and then the
            // line is read again trusting its numbers (see `tape`'s module doc).
            if let Err(e) = serde_json::from_str::<Check>(text) {
                buffers.give_back();
                return Err(json_error(&e));
            }
            match Tape::read(text, buffers, true) {
                Ok(tape) => tape,
                Err((_, buffers)) => {
                    buffers.give_back();
                    return Err(err(
                        "$",
                        "not read: 2 GiB or longer, or otherwise beyond this reader; write one Consent object per line",
                    ));
                }
            }
        }
    };
    let result = consent_from(tape.root(), catalogue);
    tape.into_buffers().give_back();
    result
}

/// The error of a line that is not JSON, as `serde_json` found it.
fn json_error(e: &serde_json::Error) -> FhirError {
    err(
        "$",
        format!(
            "not valid JSON at column {} ({}); write one Consent object per line",
            e.column(),
            classify(e)
        ),
    )
}

/// Member names the parser looks up.
const K_ACTOR: Key = Key::new("actor");
const K_CATEGORY: Key = Key::new("category");
const K_CODE: Key = Key::new("code");
const K_CODING: Key = Key::new("coding");
const K_EXTENSION: Key = Key::new("extension");
const K_IDENTIFIER: Key = Key::new("identifier");
const K_PATIENT: Key = Key::new("patient");
const K_PERIOD: Key = Key::new("period");
const K_PROVISION: Key = Key::new("provision");
const K_PURPOSE: Key = Key::new("purpose");
const K_REFERENCE: Key = Key::new("reference");
const K_RESOURCE_TYPE: Key = Key::new("resourceType");
const K_ROLE: Key = Key::new("role");
const K_STATUS: Key = Key::new("status");
const K_SYSTEM: Key = Key::new("system");
const K_TYPE: Key = Key::new("type");
const K_URL: Key = Key::new("url");
const K_VALUE: Key = Key::new("value");
const K_VALUE_CODE: Key = Key::new("valueCode");
const K_VALUE_CODEABLE_CONCEPT: Key = Key::new("valueCodeableConcept");
const K_DATE_TIME: Key = Key::new("dateTime");
const K_END: Key = Key::new("end");
const K_START: Key = Key::new("start");
const K_VERSION: Key = Key::new("version");

/// A JSON path for error messages, built as the parser descends (on the stack, a few words per
/// step) and spelled out only when an error is returned.
#[derive(Clone, Copy)]
struct JsonPath<'p> {
    parent: Option<&'p JsonPath<'p>>,
    step: Step,
}

#[derive(Clone, Copy)]
enum Step {
    Field(Key),
    Index(usize),
}

impl JsonPath<'static> {
    /// A member of the Consent.
    const fn top(name: Key) -> JsonPath<'static> {
        JsonPath {
            parent: None,
            step: Step::Field(name),
        }
    }
}

impl<'p> JsonPath<'p> {
    fn field(&'p self, name: Key) -> JsonPath<'p> {
        JsonPath {
            parent: Some(self),
            step: Step::Field(name),
        }
    }

    fn index(&'p self, i: usize) -> JsonPath<'p> {
        JsonPath {
            parent: Some(self),
            step: Step::Index(i),
        }
    }

    /// The last field name (what to look up).
    fn name(&self) -> Key {
        match self.step {
            Step::Field(name) => name,
            Step::Index(_) => Key::new(""),
        }
    }
}

impl std::fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
            match self.step {
                Step::Field(name) => write!(f, ".{}", name.text()),
                Step::Index(i) => write!(f, "[{i}]"),
            }
        } else {
            match self.step {
                Step::Field(name) => f.write_str(name.text()),
                Step::Index(i) => write!(f, "[{i}]"),
            }
        }
    }
}

fn err_at(path: &JsonPath<'_>, problem: impl Into<String>) -> FhirError {
    err(path.to_string(), problem)
}

/// The record of a Consent read into a tape. The checks run in a fixed order (so a line with
/// several problems always reports the same one).
fn consent_from(value: Val<'_>, catalogue: &Catalogue) -> Result<ConsentRecord, FhirError> {
    if !value.is_object() {
        return Err(err("$", "expected a JSON object (a FHIR Consent)"));
    }
    let consent = value;
    match consent.get(K_RESOURCE_TYPE).and_then(Val::as_str) {
        Some("Consent") => {}
        Some(_) => return Err(err("resourceType", "must be \"Consent\"")),
        None => {
            return Err(err(
                "resourceType",
                "missing; write \"resourceType\":\"Consent\"",
            ))
        }
    }

    // Patient.
    let patient_path = JsonPath::top(K_PATIENT);
    let bsn_text = identifier_value(
        value.get(K_PATIENT).and_then(|p| p.get(K_IDENTIFIER)),
        &patient_path.field(K_IDENTIFIER),
        BSN_SYSTEM,
    )?;
    let bsn = Bsn::parse(bsn_text).map_err(|e| err("patient.identifier.value", e.to_string()))?;

    // Data category and catalogue version.
    let mut categories = match value.get(K_CATEGORY) {
        Some(v) => v
            .as_array()
            .ok_or_else(|| err("category", "must be an array"))?,
        None => return Err(err("category", "missing")),
    };
    let category = match (categories.next(), categories.next()) {
        (Some(category), None) => category,
        _ => {
            return Err(err(
                "category",
                "must hold exactly one data category; write one line per data category",
            ))
        }
    };
    let category_path = JsonPath::top(K_CATEGORY);
    let category_path = category_path.index(0);
    let (coding, coding_index) = find_coding(category, &category_path, DATA_CATEGORY_SYSTEM)?;
    let codings_path = category_path.field(K_CODING);
    let coding_path = codings_path.index(coding_index);
    let code_path = coding_path.field(K_CODE);
    let code = str_field(coding, &code_path)?;
    let data_category = catalogue.data_category(code).ok_or_else(|| {
        if catalogue.is_inactive_data_category(code) {
            err_at(
                &code_path,
                format!("data category {code} is not active in the catalogue; use an active one such as GGC002"),
            )
        } else {
            err_at(
                &code_path,
                format!("unknown data category {code}; use a GGC code of the catalogue"),
            )
        }
    })?;
    let version_path = coding_path.field(K_VERSION);
    let version_text = str_field(coding, &version_path)?;
    let catalogue_version = version_text
        .parse::<u32>()
        .ok()
        .filter(|_| !version_text.is_empty() && version_text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            err_at(
                &version_path,
                "must be the catalogue version as digits, e.g. \"3960100\"",
            )
        })?;

    // Extensions: consulting categories, minor state, recorded by.
    let mut consulting = 0u16;
    let mut minor = MinorState::NotMinor;
    let mut recorded_by = None;
    let extensions = match consent.get(K_EXTENSION) {
        None => None,
        Some(v) => Some(
            v.as_array()
                .ok_or_else(|| err("extension", "must be an array"))?,
        ),
    };
    let extensions_path = JsonPath::top(K_EXTENSION);
    for (i, ext) in extensions.into_iter().flatten().enumerate() {
        let path = extensions_path.index(i);
        let url = str_at(ext, K_URL).ok_or_else(|| err_at(&path.field(K_URL), "missing"))?;
        match url {
            PROVIDER_CATEGORY_URL => {
                let concept_path = path.field(K_VALUE_CODEABLE_CONCEPT);
                let concept = ext
                    .get(K_VALUE_CODEABLE_CONCEPT)
                    .ok_or_else(|| err_at(&concept_path, "missing"))?;
                let (coding, j) = find_coding(concept, &concept_path, CONSULTING_SYSTEM)?;
                let codings_path = concept_path.field(K_CODING);
                let coding_path = codings_path.index(j);
                let code_path = coding_path.field(K_CODE);
                let code = str_field(coding, &code_path)?;
                let id = catalogue.consulting_category(code).ok_or_else(|| {
                    err_at(
                        &code_path,
                        format!("unknown consulting category {code}; use an RPZAC code of the catalogue"),
                    )
                })?;
                consulting |= 1 << id.index();
            }
            MINOR_STATE_URL => {
                minor = match str_at(ext, K_VALUE_CODE) {
                    Some("pending-confirmation") => MinorState::PendingConfirmation,
                    Some("confirmed") => MinorState::Confirmed,
                    Some("rejected") => MinorState::Rejected,
                    Some("not-minor") => MinorState::NotMinor,
                    _ => {
                        return Err(err_at(
                            &path.field(K_VALUE_CODE),
                            "must be pending-confirmation, confirmed, rejected or not-minor",
                        ))
                    }
                };
            }
            RECORDED_BY_URL => {
                let code = str_at(ext, K_VALUE_CODE).unwrap_or_default();
                recorded_by = Some(
                    RECORDED_BY_CODES
                        .iter()
                        .find(|(_, c)| *c == code)
                        .map(|(by, _)| *by)
                        .ok_or_else(|| {
                            err_at(
                                &path.field(K_VALUE_CODE),
                                "must be citizen, guardian, provider-on-behalf, holder-button, consulting-button or migration",
                            )
                        })?,
                );
            }
            // Other extensions (e.g. narrative helpers) do not change the choice.
            _ => {}
        }
    }
    let consulting = ConsultingSet::from_bits(consulting).ok_or_else(|| {
        err(
            "extension",
            format!(
                "no consulting category; add an extension {PROVIDER_CATEGORY_URL} per RPZAC code"
            ),
        )
    })?;
    let recorded_by = recorded_by.ok_or_else(|| {
        err(
            "extension",
            format!("missing who recorded the choice; add {{\"url\":\"{RECORDED_BY_URL}\",\"valueCode\":\"citizen\"}} (or guardian, provider-on-behalf, holder-button, consulting-button, migration)"),
        )
    })?;

    // Choice.
    let provision = consent
        .get(K_PROVISION)
        .filter(|p| p.is_object())
        .ok_or_else(|| {
            err(
                "provision",
                "missing; it names the data holder (actor) and the choice",
            )
        })?;
    let status = consent.get(K_STATUS).and_then(Val::as_str);
    let kind = provision.get(K_TYPE).map(|t| t.as_str().unwrap_or("?"));
    let choice = match (status, kind) {
        (Some("active"), Some("permit")) => Choice::Yes,
        (Some("active"), Some("deny")) => {
            if has_emergency_exception(provision)? {
                Choice::NoUnlessEmergency
            } else {
                Choice::No
            }
        }
        (Some("inactive"), None | Some("deny")) => Choice::No,
        (Some("active" | "inactive"), _) => {
            return Err(err(
                "provision.type",
                "must be permit (yes) or deny (no, or no-unless-emergency with a nested ETREAT permit) on an active Consent, and absent or deny on an inactive one",
            ))
        }
        (Some(_), _) => {
            return Err(err(
                "status",
                "must be active (consent or no-unless-emergency) or inactive (no consent)",
            ))
        }
        (None, _) => return Err(err("status", "missing; write active or inactive")),
    };

    // Holder.
    let actors = provision
        .get(K_ACTOR)
        .and_then(Val::as_array)
        .ok_or_else(|| {
            err(
                "provision.actor",
                "missing; name the data holder as an actor with role CST",
            )
        })?;
    let provision_path = JsonPath::top(K_PROVISION);
    let actors_path = provision_path.field(K_ACTOR);
    let mut holder = None;
    for (i, actor) in actors.enumerate() {
        let path = actors_path.index(i);
        let is_custodian = actor
            .get(K_ROLE)
            .and_then(|r| r.get(K_CODING))
            .and_then(Val::as_array)
            .is_some_and(|mut c| {
                c.any(|c| {
                    str_at(c, K_CODE) == Some("CST")
                        && str_at(c, K_SYSTEM) == Some(PARTICIPATION_SYSTEM)
                })
            });
        if !is_custodian {
            continue;
        }
        if holder.is_some() {
            return Err(err_at(
                &path,
                "a second CST actor; a consent names exactly one data holder",
            ));
        }
        holder = Some(parse_holder(actor, &path, catalogue)?);
    }
    let holder = holder.ok_or_else(|| {
        err(
            "provision.actor",
            format!(
                "no actor with role {PARTICIPATION_SYSTEM}|CST; add one naming the data holder"
            ),
        )
    })?;

    // Times.
    let recorded_at = datetime_field(value, &JsonPath::top(K_DATE_TIME), true)?.unwrap_or_default();
    let period_path = provision_path.field(K_PERIOD);
    let (valid_from, valid_until) = match provision.get(K_PERIOD) {
        None => (None, None),
        Some(period) if period.is_object() => (
            datetime_field(period, &period_path.field(K_START), false)?,
            datetime_field(period, &period_path.field(K_END), false)?,
        ),
        Some(_) => {
            return Err(err(
                "provision.period",
                "must be an object with start and/or end",
            ))
        }
    };
    if let (Some(from), Some(until)) = (valid_from, valid_until) {
        if until <= from {
            return Err(err(
                "provision.period.end",
                "must be after provision.period.start",
            ));
        }
    }

    Ok(ConsentRecord {
        bsn,
        holder,
        data_category,
        consulting,
        choice,
        valid_from,
        valid_until,
        minor,
        recorded_by,
        catalogue_version,
        recorded_at,
    })
}

/// Whether a `deny` provision carries the nested `permit` for purpose ETREAT that makes it
/// no-unless-emergency.
fn has_emergency_exception(provision: Val<'_>) -> Result<bool, FhirError> {
    let Some(nested) = provision.get(K_PROVISION) else {
        return Ok(false);
    };
    let mut nested = nested
        .as_array()
        .ok_or_else(|| err("provision.provision", "must be an array"))?;
    match (nested.next(), nested.next()) {
        (None, _) => Ok(false),
        (Some(p), None) => {
            let etreat = p
                .get(K_PURPOSE)
                .and_then(Val::as_array)
                .is_some_and(|mut ps| ps.any(|c| str_at(c, K_CODE) == Some("ETREAT")));
            if etreat && str_at(p, K_TYPE) == Some("permit") {
                Ok(true)
            } else {
                Err(err(
                    "provision.provision[0]",
                    "the only nested provision Akkoord reads is {\"type\":\"permit\",\"purpose\":[{\"code\":\"ETREAT\"}]} (no-unless-emergency)",
                ))
            }
        }
        (Some(_), Some(_)) => Err(err(
            "provision.provision",
            "has more than one nested provision; no-unless-emergency has exactly one (permit for ETREAT)",
        )),
    }
}

fn parse_holder(
    actor: Val<'_>,
    path: &JsonPath<'_>,
    catalogue: &Catalogue,
) -> Result<HolderScope, FhirError> {
    let reference_path = path.field(K_REFERENCE);
    let reference = actor.get(K_REFERENCE).ok_or_else(|| {
        err_at(
            &reference_path,
            "missing; give the holder's URA identifier or holder-category extension",
        )
    })?;
    let ura = reference.get(K_IDENTIFIER);
    let category = reference
        .get(K_EXTENSION)
        .and_then(Val::as_array)
        .and_then(|mut a| a.find(|e| str_at(*e, K_URL) == Some(HOLDER_CATEGORY_URL)));
    match (ura, category) {
        (Some(_), Some(_)) => Err(err_at(
            &reference_path,
            "has both a URA and a holder category; a consent is for one organisation or for one category",
        )),
        (Some(_), None) => {
            let identifier_path = reference_path.field(K_IDENTIFIER);
            let text = identifier_value(ura, &identifier_path, URA_SYSTEM)?;
            let ura = Ura::parse(text)
                .map_err(|e| err_at(&identifier_path.field(K_VALUE), e.to_string()))?;
            Ok(HolderScope::Organisation(ura))
        }
        (None, Some(ext)) => {
            let extension_path = reference_path.field(K_EXTENSION);
            let value_path = extension_path.field(K_VALUE_CODE);
            let name = str_at(ext, K_VALUE_CODE).ok_or_else(|| {
                err_at(
                    &value_path,
                    "missing; give the holder-category name from the catalogue, e.g. huisartsen",
                )
            })?;
            let id = catalogue.holder_category(name).ok_or_else(|| {
                err_at(
                    &value_path,
                    format!("unknown holder category {name:?}; use a name from the catalogue's holder_categories"),
                )
            })?;
            Ok(HolderScope::Category(id))
        }
        (None, None) => Err(err_at(
            &reference_path,
            format!("names no holder; add identifier {{\"system\":\"{URA_SYSTEM}\",\"value\":\"<8 digits>\"}} or the extension {HOLDER_CATEGORY_URL}"),
        )),
    }
}

/// The `value` of an Identifier (`node`, found at `path`), checking its system.
fn identifier_value<'t>(
    node: Option<Val<'t>>,
    path: &JsonPath<'_>,
    system: &str,
) -> Result<&'t str, FhirError> {
    let node = node.ok_or_else(|| {
        err_at(
            path,
            format!("missing; write {{\"system\":\"{system}\",\"value\":\"...\"}}"),
        )
    })?;
    match node.get(K_SYSTEM).and_then(Val::as_str) {
        Some(s) if s == system => {}
        Some(_) => return Err(err_at(&path.field(K_SYSTEM), format!("must be {system}"))),
        None => {
            return Err(err_at(
                &path.field(K_SYSTEM),
                format!("missing; write {system}"),
            ))
        }
    }
    node.get(K_VALUE)
        .and_then(Val::as_str)
        .ok_or_else(|| err_at(&path.field(K_VALUE), "missing or not a string"))
}

/// The first coding of a CodeableConcept (at `path`) with the given system, and its index.
fn find_coding<'t>(
    concept: Val<'t>,
    path: &JsonPath<'_>,
    system: &str,
) -> Result<(Val<'t>, usize), FhirError> {
    let codings = concept
        .get(K_CODING)
        .and_then(Val::as_array)
        .ok_or_else(|| err_at(&path.field(K_CODING), "missing or not an array"))?;
    codings
        .enumerate()
        .find(|(_, c)| str_at(*c, K_SYSTEM) == Some(system))
        .map(|(i, c)| (c, i))
        .ok_or_else(|| {
            err_at(
                &path.field(K_CODING),
                format!("no coding with system {system}"),
            )
        })
}

fn str_at<'t>(value: Val<'t>, field: Key) -> Option<&'t str> {
    value.get(field).and_then(Val::as_str)
}

/// The string member named by the last step of `path`.
fn str_field<'t>(value: Val<'t>, path: &JsonPath<'_>) -> Result<&'t str, FhirError> {
    str_at(value, path.name()).ok_or_else(|| err_at(path, "missing or not a string"))
}

fn datetime_field(
    obj: Val<'_>,
    path: &JsonPath<'_>,
    required: bool,
) -> Result<Option<i64>, FhirError> {
    match obj.get(path.name()) {
        None if required => Err(err_at(path, "missing; write e.g. \"2026-11-20T09:15:00Z\"")),
        None => Ok(None),
        Some(v) => {
            let text = v
                .as_str()
                .ok_or_else(|| err_at(path, "must be a string such as \"2026-11-20T09:15:00Z\""))?;
            parse_datetime(text).map(Some).ok_or_else(|| {
                err_at(
                    path,
                    "not a FHIR dateTime with seconds and time zone; write e.g. \"2026-11-20T09:15:00Z\"",
                )
            })
        }
    }
}

/// Any JSON value, read by `serde_json` and dropped: how a line the fast reader was unsure of is
/// checked. It asks `serde_json` for exactly what the earlier tree-based parser asked (values
/// through `deserialize_any`, member names through `deserialize_str`), so a line that is not
/// JSON gets the same error, at the same column, as before.
struct Check;

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckVisitor)
    }
}

struct CheckVisitor;

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = Check;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_unit<E>(self) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_none<E>(self) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_str<E>(self, _: &str) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Check, A::Error> {
        while seq.next_element::<Check>()?.is_some() {}
        Ok(Check)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Check, A::Error> {
        while map.next_key::<CheckKey>()?.is_some() {
            map.next_value::<Check>()?;
        }
        Ok(Check)
    }
}

/// A member name, read as a string (as the earlier parser read names).
struct CheckKey;

impl<'de> Deserialize<'de> for CheckKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = CheckKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, _: &str) -> Result<CheckKey, E> {
                Ok(CheckKey)
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Names a JSON syntax error without echoing the input (which may hold a BSN).
fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "the line ends early",
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Writes unix seconds as `YYYY-MM-DDThh:mm:ssZ`; `None` outside the years 1–9999.
pub fn write_datetime(t: i64, out: &mut String) -> Option<()> {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(1..=9999).contains(&y) {
        return None;
    }
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    Some(())
}

/// Reads a FHIR dateTime with seconds and a zone (`Z` or `±hh:mm`); fractions of a second are
/// dropped. `None` for anything else, including dates without a time (whose instant would be
/// ambiguous).
pub fn parse_datetime(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = b.get(r)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if y == 0 || !(1..=12).contains(&mo) || d == 0 || d > month_days[mo as usize - 1] {
        return None;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (oh, om) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if oh > 14 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    Some(days * 86_400 + i64::from(h * 3600 + mi * 60 + s.min(59)) - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json"))
            .expect("catalogue")
    }

    fn base(c: &Catalogue) -> ConsentRecord {
        ConsentRecord {
            bsn: Bsn::EXAMPLE,
            holder: HolderScope::Category(c.holder_category("apotheken").expect("apotheken")),
            data_category: c.data_category("GGC013").expect("GGC013"),
            consulting: ConsultingSet::from_ids(
                ["RPZAC001", "RPZAC104"]
                    .iter()
                    .filter_map(|code| c.consulting_category(code)),
            )
            .expect("non-empty"),
            choice: Choice::Yes,
            valid_from: None,
            valid_until: None,
            minor: MinorState::NotMinor,
            recorded_by: RecordedBy::Citizen,
            catalogue_version: c.version(),
            recorded_at: 1_795_166_100,
        }
    }

    #[test]
    fn datetimes_round_trip_and_reject_bad_input() {
        for t in [
            0,
            1_795_166_100,
            -86_400,
            951_782_400, /* 2000-02-29 */
            253_402_300_799,
        ] {
            let mut s = String::new();
            write_datetime(t, &mut s).expect("in range");
            assert_eq!(parse_datetime(&s), Some(t), "{s}");
        }
        assert_eq!(
            parse_datetime("2026-11-20T10:15:00.1234567+01:00"),
            Some(1_795_166_100)
        );
        for bad in [
            "2026-11-20",
            "2026-02-30T00:00:00Z",
            "2026-11-20T09:15:00",
            "2026-11-20T25:00:00Z",
            "x",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_shape_round_trips() {
        let c = catalogue();
        let mut records = vec![base(&c)];
        let mut r = base(&c);
        r.choice = Choice::No;
        r.holder = HolderScope::Organisation(Ura::EXAMPLE);
        r.minor = MinorState::PendingConfirmation;
        records.push(r);
        r.choice = Choice::NoUnlessEmergency;
        r.minor = MinorState::Rejected;
        r.recorded_by = RecordedBy::Migration;
        records.push(r);
        r.choice = Choice::Yes;
        r.recorded_by = RecordedBy::ConsultingButton;
        r.valid_from = Some(r.recorded_at);
        r.valid_until = Some(r.recorded_at + 72 * 3600);
        r.minor = MinorState::Confirmed;
        records.push(r);
        r.valid_from = None;
        records.push(r);
        for record in records {
            let mut line = String::new();
            write_consent_line(&record, &c, &mut line).expect("writes");
            assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
            let back = parse_consent_line(&line, &c).unwrap_or_else(|e| panic!("{e}\n{line}"));
            assert_eq!(back, record, "{line}");
        }
    }

    #[test]
    fn written_line_has_the_mitz_shape() {
        let c = catalogue();
        let mut r = base(&c);
        r.choice = Choice::NoUnlessEmergency;
        let mut line = String::new();
        write_consent_line(&r, &c, &mut line).expect("writes");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["status"], "active");
        assert_eq!(v["provision"]["type"], "deny");
        assert_eq!(
            v["provision"]["provision"][0]["purpose"][0]["code"],
            "ETREAT"
        );
        assert_eq!(v["category"][0]["coding"][0]["code"], "GGC013");
        assert_eq!(v["category"][0]["coding"][0]["version"], "3960100");
        assert_eq!(v["patient"]["identifier"]["value"], "999990019");
        assert_eq!(
            v["provision"]["actor"][0]["role"]["coding"][0]["code"],
            "CST"
        );
        assert_eq!(
            v["provision"]["actor"][0]["reference"]["extension"][0]["valueCode"],
            "apotheken"
        );
        assert_eq!(v["extension"][0]["url"], PROVIDER_CATEGORY_URL);
    }

    #[test]
    fn mitz_notification_consent_is_read() {
        // The Consent of the domain model's notification example (§4.2), with the patient and
        // holder inlined as identifiers and a recorded-by extension added.
        let line = r#"{"resourceType":"Consent",
          "meta":{"profile":["http://vzvz.nl/fhir/StructureDefinition/Consent-Mitz-Notify|3.8.0"]},
          "extension":[{"url":"http://fhir.nl/StructureDefinition/OTV-ProviderCategory",
            "valueCodeableConcept":{"coding":[{"system":"http://fhir.nl/otv/CodeSystem/raadplegende-zorgaanbiedercategorie",
            "version":"3960100","code":"RPZAC001","display":"Huisartsen en huisartsenposten"}]}},
            {"url":"http://akkoord.example/fhir/StructureDefinition/recorded-by","valueCode":"migration"}],
          "status":"inactive",
          "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","version":"3960100","code":"patient-privacy"}]},
          "category":[{"coding":[{"system":"http://fhir.nl/otv/CodeSystem/gegevenscategorie","version":"3960100","code":"GGC002","display":"Behandelgegevens"}]}],
          "patient":{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999990019"}},
          "dateTime":"2026-11-20T09:15:00.0000000Z",
          "provision":{"actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"CST"}]},
             "reference":{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/ura","value":"00000001"}}}],
             "purpose":[{"system":"http://hl7.org/fhir/v3/ActReason","code":"TREAT"}]}}"#;
        let c = catalogue();
        let r = parse_consent_line(&line.replace('\n', " "), &c).expect("parses");
        assert_eq!(r.choice, Choice::No);
        assert_eq!(r.holder, HolderScope::Organisation(Ura::EXAMPLE));
        assert_eq!(r.recorded_by, RecordedBy::Migration);
        assert_eq!(r.recorded_at, 1_795_166_100);
    }

    #[test]
    fn errors_name_the_path_and_never_the_bsn() {
        let c = catalogue();
        let mut good = String::new();
        write_consent_line(&base(&c), &c, &mut good).expect("writes");
        let cases = [
            (good.replace("999990019", "999990018"), "patient.identifier.value", "11-check"),
            (good.replace("GGC013", "GGC007"), "category[0].coding[0].code", "not active"),
            (good.replace("GGC013", "GGC999"), "category[0].coding[0].code", "unknown data category GGC999"),
            (good.replace("RPZAC104", "RPZAC999"), "extension[1].valueCodeableConcept.coding[0].code", "RPZAC999"),
            (good.replace("\"apotheken\"", "\"bakkers\""), "provision.actor[0].reference.extension.valueCode", "bakkers"),
            (good.replace("\"active\"", "\"draft\""), "status", "active"),
            (good.replace("\"CST\"", "\"PRCP\""), "provision.actor", "CST"),
            (good.replace(",{\"url\":\"http://akkoord.example/fhir/StructureDefinition/recorded-by\",\"valueCode\":\"citizen\"}", ""), "extension", "recorded"),
            (good.replace("2026-11-20T", "2026-13-20T"), "dateTime", "dateTime"),
            (good[..good.len() / 2].to_string(), "$", "JSON"),
            ("[]".to_string(), "$", "object"),
        ];
        for (line, path, hint) in cases {
            let e = parse_consent_line(&line, &c).expect_err(path);
            assert_eq!(e.path, path, "{e}");
            assert!(e.to_string().contains(hint), "{e}");
            assert!(
                !e.to_string().contains("99999001"),
                "error leaks the BSN: {e}"
            );
        }
    }
    /// Both parsers on one line: the fast one must return exactly what the earlier one does.
    fn same_as_reference(line: &str, c: &Catalogue) -> Result<ConsentRecord, FhirError> {
        let fast = parse_consent_line(line, c);
        let slow = reference::parse_consent_line(line, c);
        assert_eq!(fast, slow, "line: {line:?}");
        fast
    }

    fn good_line(c: &Catalogue) -> String {
        let mut line = String::new();
        write_consent_line(&base(c), c, &mut line).expect("writes");
        line
    }

    #[test]
    fn escapes_whitespace_order_and_duplicates_read_as_before() {
        let c = catalogue();
        let good = good_line(&c);
        let ok = |line: String| {
            let r = same_as_reference(&line, &c).unwrap_or_else(|e| panic!("{e}\n{line}"));
            assert_eq!(r, base(&c), "{line}");
        };
        // Escapes in values and names, including `\/`, `\u` and a surrogate pair.
        ok(good.replace("GGC013", "GGC01\\u0033"));
        ok(good.replace(
            "http://fhir.nl/fhir/NamingSystem/bsn",
            "http:\\/\\/fhir.nl\\/fhir\\/NamingSystem\\/bsn",
        ));
        ok(good.replace("\"code\":\"RPZAC001\"", "\"c\\u006fde\":\"RPZAC001\""));
        ok(good.replace(
            "\"resourceType\"",
            "\"note\":\"caf\\u00e9 \\ud83d\\ude00 \\\" \\\\ \\b\\f\\n\\r\\t\",\"resourceType\"",
        ));
        ok(good.replace("\"resourceType\"", "\"note\":\"café 😀\",\"resourceType\""));
        // Whitespace everywhere JSON allows it, and around the line.
        let spaced = good
            .trim_end()
            .replace(",\"", " ,\t\"")
            .replace("\":", "\"\r\n: ")
            .replace('{', "{ ")
            .replace('[', "[\n");
        ok(format!("  {spaced} \r\n"));
        // Other values of any type, anywhere.
        ok(good.replace(
            "\"resourceType\"",
            "\"n\":[1,-0.5,2e3,true,false,null,{},[]],\"resourceType\"",
        ));
        // Member order does not matter.
        let v: serde_json::Value = serde_json::from_str(&good).expect("json");
        let obj = v.as_object().expect("object");
        let mut members: Vec<String> = obj
            .iter()
            .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap_or_default(), v))
            .collect();
        members.reverse();
        ok(format!("{{{}}}", members.join(",")));
        // With a duplicate name the last one counts (and a bad earlier one is ignored).
        ok(good.replace(
            "\"status\":\"active\"",
            "\"status\":\"draft\",\"status\":\"active\"",
        ));
        let e = same_as_reference(
            &good.replace(
                "\"status\":\"active\"",
                "\"status\":\"active\",\"status\":7",
            ),
            &c,
        )
        .expect_err("last status wins");
        assert_eq!(e.path, "status");
    }

    #[test]
    fn lines_that_are_not_json_fail_as_before() {
        let c = catalogue();
        let good = good_line(&c);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let deep_ok = format!("{{\"x\":{}{}}}", "[".repeat(120), "]".repeat(120));
        let cases = [
            String::new(),
            " ".to_string(),
            "{".to_string(),
            "nul".to_string(),
            "\"x\"".to_string(),
            "1e400".to_string(),
            "[1e400]".to_string(),
            "[01]".to_string(),
            "[1.]".to_string(),
            "[-]".to_string(),
            "{\"a\":1,}".to_string(),
            "{\"a\" 1}".to_string(),
            "[1 2]".to_string(),
            "{} x".to_string(),
            deep,
            deep_ok,
            good.replace("GGC013", "GGC\u{1}013"),
            good.replace("GGC013", "GGC\\x013"),
            good.replace("GGC013", "GGC\\ud800013"),
            good.replace("GGC013", "GGC\\udc00013"),
            good.replace("GGC013", "GGC\\ud800\\u0041013"),
            good.replace("GGC013", "GGC\\u12"),
            good.replace("GGC013", "GGC013\\"),
            good.replace(
                "\"resourceType\"",
                "\"n\":12345678901234567890123456789,\"resourceType\"",
            ),
            good.replace("\"resourceType\"", "\"n\":1.5e308,\"resourceType\""),
            good.replace("\"resourceType\"", "\"n\":1e309,\"resourceType\""),
            good.replace("\"resourceType\"", "\"n\":-1E-400,\"resourceType\""),
            format!("{}{}", good.trim_end(), good),
        ];
        for line in cases {
            let _ = same_as_reference(&line, &c);
        }
    }

    #[test]
    fn every_error_of_the_reference_cases_is_unchanged() {
        let c = catalogue();
        let good = good_line(&c);
        // Remove each member, blank each string, and change each container's type in turn.
        let v: serde_json::Value = serde_json::from_str(&good).expect("json");
        let mut lines = Vec::new();
        fn walk(v: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            out.push(path.clone());
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        path.push(k.clone());
                        walk(v, path, out);
                        path.pop();
                    }
                }
                serde_json::Value::Array(a) => {
                    for (i, v) in a.iter().enumerate() {
                        path.push(i.to_string());
                        walk(v, path, out);
                        path.pop();
                    }
                }
                _ => {}
            }
        }
        let mut paths = Vec::new();
        walk(&v, &mut Vec::new(), &mut paths);
        for path in paths.iter().skip(1) {
            for replacement in [
                serde_json::Value::Null,
                serde_json::Value::String(String::new()),
                serde_json::json!({}),
                serde_json::json!([]),
                serde_json::json!([{}]),
                serde_json::json!(7),
            ] {
                let mut w = v.clone();
                let mut node = &mut w;
                for step in path {
                    node = match node {
                        serde_json::Value::Object(m) => m.get_mut(step).expect("member"),
                        serde_json::Value::Array(a) => a
                            .get_mut(step.parse::<usize>().expect("index"))
                            .expect("item"),
                        _ => unreachable!(),
                    };
                }
                *node = replacement;
                lines.push(w.to_string());
            }
        }
        for line in &lines {
            let _ = same_as_reference(line, &c);
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn lines() -> Vec<String> {
            let c = catalogue();
            let generator = crate::consent::generate::Generator::new(&c, 3, 200).expect("gen");
            generator
                .records()
                .take(200)
                .map(|r| {
                    let mut line = String::new();
                    write_consent_line(&r, &c, &mut line).expect("writes");
                    line
                })
                .collect()
        }

        /// Bytes that make JSON interesting.
        const PIECES: [&str; 24] = [
            "\"",
            "\\",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\n",
            "\u{1}",
            "0",
            "-",
            "1e9",
            "e",
            ".",
            "null",
            "true",
            "\\u",
            "\\ud83d\\ude00",
            "é",
            "\"status\":\"active\",",
            "\"type\":\"deny\",",
            "\"provision\":[{\"type\":\"permit\"}],",
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Mutated generated lines: the fast parser never panics and agrees with the
            /// earlier one, record or error.
            #[test]
            fn mutated_lines_parse_as_before(
                which in 0usize..200,
                edits in proptest::collection::vec((0usize..4, any::<proptest::sample::Index>(), 0usize..24, 0usize..40), 1..4),
            ) {
                let c = catalogue();
                let all = lines();
                let mut line = all[which].clone().into_bytes();
                for (op, at, piece, len) in edits {
                    let at = at.index(line.len() + 1);
                    let end = (at + len).min(line.len());
                    match op {
                        0 => { line.drain(at..end); }
                        1 => { line.splice(at..at, PIECES[piece].bytes()); }
                        2 => { line.splice(at..end, PIECES[piece].bytes()); }
                        _ => {
                            let copy = line[at..end].to_vec();
                            line.splice(at..at, copy);
                        }
                    }
                }
                if let Ok(text) = String::from_utf8(line) {
                    let _ = same_as_reference(&text, &c);
                }
            }

            /// Random text from JSON-ish pieces.
            #[test]
            fn random_text_parses_as_before(pieces in proptest::collection::vec(0usize..24, 0..40)) {
                let c = catalogue();
                let text: String = pieces.iter().map(|&p| PIECES[p]).collect();
                let _ = same_as_reference(&text, &c);
                let _ = same_as_reference(&format!("{{\"a\":{text}}}"), &c);
            }

            /// Arbitrary strings never panic.
            #[test]
            fn arbitrary_strings_never_panic(text in ".{0,200}") {
                let c = catalogue();
                let _ = same_as_reference(&text, &c);
            }
        }
    }
}
