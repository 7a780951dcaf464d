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

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

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

fn recorded_by_code(by: RecordedBy) -> &'static str {
    match by {
        RecordedBy::Citizen => "citizen",
        RecordedBy::Guardian => "guardian",
        RecordedBy::ProviderOnBehalf => "provider-on-behalf",
        RecordedBy::HolderButton => "holder-button",
        RecordedBy::ConsultingButton => "consulting-button",
        RecordedBy::Migration => "migration",
    }
}

const RECORDED_BY_CODES: [(RecordedBy, &str); 6] = [
    (RecordedBy::Citizen, "citizen"),
    (RecordedBy::Guardian, "guardian"),
    (RecordedBy::ProviderOnBehalf, "provider-on-behalf"),
    (RecordedBy::HolderButton, "holder-button"),
    (RecordedBy::ConsultingButton, "consulting-button"),
    (RecordedBy::Migration, "migration"),
];

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
        recorded_by_code(record.recorded_by)
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
pub fn parse_consent_line(line: &str, catalogue: &Catalogue) -> Result<ConsentRecord, FhirError> {
    let value: Value<'_> = serde_json::from_str(line.trim()).map_err(|e| {
        err(
            "$",
            format!(
                "not valid JSON at column {} ({}); write one Consent object per line",
                e.column(),
                classify(&e)
            ),
        )
    })?;
    if !value.is_object() {
        return Err(err("$", "expected a JSON object (a FHIR Consent)"));
    }
    let consent = &value;
    match consent.get("resourceType").and_then(Value::as_str) {
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
    let bsn_text = identifier_value(
        value.get("patient").and_then(|p| p.get("identifier")),
        "patient.identifier",
        BSN_SYSTEM,
    )?;
    let bsn = Bsn::parse(bsn_text).map_err(|e| err("patient.identifier.value", e.to_string()))?;

    // Data category and catalogue version.
    let categories = array(&value, "category")?;
    if categories.len() != 1 {
        return Err(err(
            "category",
            "must hold exactly one data category; write one line per data category",
        ));
    }
    let coding = find_coding(&categories[0], "category[0]", DATA_CATEGORY_SYSTEM)?;
    let code = str_field(coding.0, &format!("{}.code", coding.1))?;
    let data_category = catalogue.data_category(code).ok_or_else(|| {
        if catalogue.is_inactive_data_category(code) {
            err(
                format!("{}.code", coding.1),
                format!("data category {code} is not active in the catalogue; use an active one such as GGC002"),
            )
        } else {
            err(
                format!("{}.code", coding.1),
                format!("unknown data category {code}; use a GGC code of the catalogue"),
            )
        }
    })?;
    let version_text = str_field(coding.0, &format!("{}.version", coding.1))?;
    let catalogue_version = version_text
        .parse::<u32>()
        .ok()
        .filter(|_| !version_text.is_empty() && version_text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            err(
                format!("{}.version", coding.1),
                "must be the catalogue version as digits, e.g. \"3960100\"",
            )
        })?;

    // Extensions: consulting categories, minor state, recorded by.
    let mut consulting = 0u16;
    let mut minor = MinorState::NotMinor;
    let mut recorded_by = None;
    let extensions = match consent.get("extension") {
        None => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(err("extension", "must be an array")),
    };
    for (i, ext) in extensions.iter().enumerate() {
        let path = format!("extension[{i}]");
        let url = str_at(ext, "url").ok_or_else(|| err(format!("{path}.url"), "missing"))?;
        match url {
            PROVIDER_CATEGORY_URL => {
                let concept = ext
                    .get("valueCodeableConcept")
                    .ok_or_else(|| err(format!("{path}.valueCodeableConcept"), "missing"))?;
                let (coding, cpath) = find_coding(
                    concept,
                    &format!("{path}.valueCodeableConcept"),
                    CONSULTING_SYSTEM,
                )?;
                let code = str_field(coding, &format!("{cpath}.code"))?;
                let id = catalogue.consulting_category(code).ok_or_else(|| {
                    err(
                        format!("{cpath}.code"),
                        format!("unknown consulting category {code}; use an RPZAC code of the catalogue"),
                    )
                })?;
                consulting |= 1 << id.index();
            }
            MINOR_STATE_URL => {
                minor = match str_at(ext, "valueCode") {
                    Some("pending-confirmation") => MinorState::PendingConfirmation,
                    Some("confirmed") => MinorState::Confirmed,
                    Some("rejected") => MinorState::Rejected,
                    Some("not-minor") => MinorState::NotMinor,
                    _ => {
                        return Err(err(
                            format!("{path}.valueCode"),
                            "must be pending-confirmation, confirmed, rejected or not-minor",
                        ))
                    }
                };
            }
            RECORDED_BY_URL => {
                let code = str_at(ext, "valueCode").unwrap_or_default();
                recorded_by = Some(
                    RECORDED_BY_CODES
                        .iter()
                        .find(|(_, c)| *c == code)
                        .map(|(by, _)| *by)
                        .ok_or_else(|| {
                            err(
                                format!("{path}.valueCode"),
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
        .get("provision")
        .filter(|p| p.is_object())
        .ok_or_else(|| {
            err(
                "provision",
                "missing; it names the data holder (actor) and the choice",
            )
        })?;
    let status = consent.get("status").and_then(Value::as_str);
    let kind = provision.get("type").map(|t| t.as_str().unwrap_or("?"));
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
        .get("actor")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            err(
                "provision.actor",
                "missing; name the data holder as an actor with role CST",
            )
        })?;
    let mut holder = None;
    for (i, actor) in actors.iter().enumerate() {
        let path = format!("provision.actor[{i}]");
        let is_custodian = actor
            .get("role")
            .and_then(|r| r.get("coding"))
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter().any(|c| {
                    str_at(c, "code") == Some("CST")
                        && str_at(c, "system") == Some(PARTICIPATION_SYSTEM)
                })
            });
        if !is_custodian {
            continue;
        }
        if holder.is_some() {
            return Err(err(
                path,
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
    let recorded_at = datetime_field(&value, "dateTime", true)?.unwrap_or_default();
    let (valid_from, valid_until) = match provision.get("period") {
        None => (None, None),
        Some(period) if period.is_object() => (
            datetime_field(period, "provision.period.start", false)?,
            datetime_field(period, "provision.period.end", false)?,
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
fn has_emergency_exception(provision: &Value<'_>) -> Result<bool, FhirError> {
    let Some(nested) = provision.get("provision") else {
        return Ok(false);
    };
    let nested = nested
        .as_array()
        .ok_or_else(|| err("provision.provision", "must be an array"))?;
    match nested.as_slice() {
        [] => Ok(false),
        [p] => {
            let etreat = p
                .get("purpose")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|c| str_at(c, "code") == Some("ETREAT")));
            if etreat && str_at(p, "type") == Some("permit") {
                Ok(true)
            } else {
                Err(err(
                    "provision.provision[0]",
                    "the only nested provision Akkoord reads is {\"type\":\"permit\",\"purpose\":[{\"code\":\"ETREAT\"}]} (no-unless-emergency)",
                ))
            }
        }
        _ => Err(err(
            "provision.provision",
            "has more than one nested provision; no-unless-emergency has exactly one (permit for ETREAT)",
        )),
    }
}

fn parse_holder(
    actor: &Value<'_>,
    path: &str,
    catalogue: &Catalogue,
) -> Result<HolderScope, FhirError> {
    let reference = actor.get("reference").ok_or_else(|| {
        err(
            format!("{path}.reference"),
            "missing; give the holder's URA identifier or holder-category extension",
        )
    })?;
    let ura = reference.get("identifier");
    let category = reference
        .get("extension")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|e| str_at(e, "url") == Some(HOLDER_CATEGORY_URL))
        });
    match (ura, category) {
        (Some(_), Some(_)) => Err(err(
            format!("{path}.reference"),
            "has both a URA and a holder category; a consent is for one organisation or for one category",
        )),
        (Some(_), None) => {
            let text = identifier_value(ura, &format!("{path}.reference.identifier"), URA_SYSTEM)?;
            let ura = Ura::parse(text)
                .map_err(|e| err(format!("{path}.reference.identifier.value"), e.to_string()))?;
            Ok(HolderScope::Organisation(ura))
        }
        (None, Some(ext)) => {
            let name = str_at(ext, "valueCode").ok_or_else(|| {
                err(
                    format!("{path}.reference.extension.valueCode"),
                    "missing; give the holder-category name from the catalogue, e.g. huisartsen",
                )
            })?;
            let id = catalogue.holder_category(name).ok_or_else(|| {
                err(
                    format!("{path}.reference.extension.valueCode"),
                    format!("unknown holder category {name:?}; use a name from the catalogue's holder_categories"),
                )
            })?;
            Ok(HolderScope::Category(id))
        }
        (None, None) => Err(err(
            format!("{path}.reference"),
            format!("names no holder; add identifier {{\"system\":\"{URA_SYSTEM}\",\"value\":\"<8 digits>\"}} or the extension {HOLDER_CATEGORY_URL}"),
        )),
    }
}

/// The `value` of an Identifier (`node`, found at `path`), checking its system.
fn identifier_value<'v>(
    node: Option<&'v Value<'_>>,
    path: &str,
    system: &str,
) -> Result<&'v str, FhirError> {
    let node = node.ok_or_else(|| {
        err(
            path,
            format!("missing; write {{\"system\":\"{system}\",\"value\":\"...\"}}"),
        )
    })?;
    match node.get("system").and_then(Value::as_str) {
        Some(s) if s == system => {}
        Some(_) => return Err(err(format!("{path}.system"), format!("must be {system}"))),
        None => {
            return Err(err(
                format!("{path}.system"),
                format!("missing; write {system}"),
            ))
        }
    }
    node.get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| err(format!("{path}.value"), "missing or not a string"))
}

fn array<'v, 'j>(root: &'v Value<'j>, field: &str) -> Result<&'v Vec<Value<'j>>, FhirError> {
    match root.get(field) {
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(err(field, "must be an array")),
        None => Err(err(field, "missing")),
    }
}

/// The first coding of a CodeableConcept with the given system, and its path.
fn find_coding<'v, 'j>(
    concept: &'v Value<'j>,
    path: &str,
    system: &str,
) -> Result<(&'v Value<'j>, String), FhirError> {
    let codings = concept
        .get("coding")
        .and_then(Value::as_array)
        .ok_or_else(|| err(format!("{path}.coding"), "missing or not an array"))?;
    codings
        .iter()
        .enumerate()
        .find(|(_, c)| str_at(c, "system") == Some(system))
        .map(|(i, c)| (c, format!("{path}.coding[{i}]")))
        .ok_or_else(|| {
            err(
                format!("{path}.coding"),
                format!("no coding with system {system}"),
            )
        })
}

fn str_at<'v>(value: &'v Value<'_>, field: &str) -> Option<&'v str> {
    value.get(field).and_then(Value::as_str)
}

fn str_field<'v>(value: &'v Value<'_>, path: &str) -> Result<&'v str, FhirError> {
    let field = path.rsplit('.').next().unwrap_or(path);
    str_at(value, field).ok_or_else(|| err(path, "missing or not a string"))
}

fn datetime_field(obj: &Value<'_>, path: &str, required: bool) -> Result<Option<i64>, FhirError> {
    let field = path.rsplit('.').next().unwrap_or(path);
    match obj.get(field) {
        None if required => Err(err(path, "missing; write e.g. \"2026-11-20T09:15:00Z\"")),
        None => Ok(None),
        Some(v) => {
            let text = v
                .as_str()
                .ok_or_else(|| err(path, "must be a string such as \"2026-11-20T09:15:00Z\""))?;
            parse_datetime(text).map(Some).ok_or_else(|| {
                err(
                    path,
                    "not a FHIR dateTime with seconds and time zone; write e.g. \"2026-11-20T09:15:00Z\"",
                )
            })
        }
    }
}

/// A JSON value borrowing its strings from the line.
///
/// Why not `serde_json::Value`: it allocates a `String` for every key and string and a
/// `BTreeMap` for every object, about 150 allocations for a 1.9 KB Consent line, which made
/// parsing the bottleneck of `akkoord import`. This type borrows keys and strings (escaped ones
/// are the only copies) and keeps objects as small vectors. It offers the few accessors the
/// parser uses, with `serde_json::Value`'s meaning (`get` on a non-object is `None`; with a
/// duplicate key the last one wins), so errors and results are unchanged.
#[derive(Debug)]
enum Value<'j> {
    Null,
    Bool,
    Number,
    String(Cow<'j, str>),
    Array(Vec<Value<'j>>),
    Object(Vec<(Cow<'j, str>, Value<'j>)>),
}

impl<'j> Value<'j> {
    fn get(&self, key: &str) -> Option<&Value<'j>> {
        match self {
            Value::Object(fields) => fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&Vec<Value<'j>>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value<'de>, E> {
        Ok(Value::Number)
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(4).min(64));
        while let Some(Key(key)) = map.next_key()? {
            fields.push((key, map.next_value()?));
        }
        Ok(Value::Object(fields))
    }
}

/// An object key, borrowed from the line unless it holds an escape.
struct Key<'j>(Cow<'j, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
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
}
