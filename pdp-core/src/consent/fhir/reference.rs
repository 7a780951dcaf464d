//! The parser as it was before the tape reader (a `serde_json` tree), kept for tests only: the
//! property tests check that the fast parser returns exactly what this one returns (record or
//! error, message included) for generated, mutated and random lines.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{
    classify, err, parse_datetime, FhirError, BSN_SYSTEM, CONSULTING_SYSTEM, DATA_CATEGORY_SYSTEM,
    HOLDER_CATEGORY_URL, MINOR_STATE_URL, PARTICIPATION_SYSTEM, PROVIDER_CATEGORY_URL,
    RECORDED_BY_CODES, RECORDED_BY_URL, URA_SYSTEM,
};
use crate::consent::bsn::{Bsn, Ura};
use crate::consent::catalogue::Catalogue;
use crate::consent::record::{Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState};

/// Reads one line (a FHIR R4 `Consent` as JSON) into a record, resolving codes in `catalogue`.
/// Surrounding whitespace (the line's `\n` or `\r\n`) is ignored.
pub(super) fn parse_consent_line(
    line: &str,
    catalogue: &Catalogue,
) -> Result<ConsentRecord, FhirError> {
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
