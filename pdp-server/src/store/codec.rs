//! Consent records as store rows: the catalogue's codes as short text, times as unix seconds.
//!
//! | column | type | example |
//! | --- | --- | --- |
//! | `bsn` | integer | `999990019` |
//! | `holder` | text | `ura:00000001` (individual) or `category:ziekenhuizen` (categorical) |
//! | `data_category` | text | `GGC002` |
//! | `consulting` | text | `RPZAC001 RPZAC005` (codes sorted, one space between) |
//! | `choice` | text | `yes`, `no`, `no-unless-emergency` |
//! | `valid_from`, `valid_until` | integer or NULL | unix seconds; `valid_until` exclusive |
//! | `minor` | text | `not-minor`, `pending-confirmation`, `confirmed`, `rejected` |
//! | `recorded_by` | text | `citizen`, `guardian`, `provider-on-behalf`, `holder-button`, `consulting-button`, `migration` |
//! | `catalogue_version` | integer | `3960100` |
//! | `recorded_at` | integer | unix seconds |
//!
//! Codes rather than Akkoord's internal catalogue ids: the ids are positions in one catalogue
//! file and may move in the next version; the codes are the national ones. Decoding goes through
//! the node's [`Catalogue`] and reports unknown codes instead of guessing. Errors never contain a
//! BSN.

use pdp_core::consent::bsn::{Bsn, Ura};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::record::{
    Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordKey, RecordedBy,
};

/// A record's row, owned, ready to bind as SQL parameters or write as `COPY` text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRow {
    pub bsn: i64,
    pub holder: String,
    pub data_category: String,
    pub consulting: String,
    pub choice: &'static str,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    pub minor: &'static str,
    pub recorded_by: &'static str,
    pub catalogue_version: i64,
    pub recorded_at: i64,
}

impl ConsentRow {
    /// The row borrowed: what the SQLite store binds, and what a driver hands to [`decode_row`].
    pub fn borrowed(&self) -> RowRef<'_> {
        RowRef {
            bsn: self.bsn,
            holder: &self.holder,
            data_category: &self.data_category,
            consulting: &self.consulting,
            choice: self.choice,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            minor: self.minor,
            recorded_by: self.recorded_by,
            catalogue_version: self.catalogue_version,
            recorded_at: self.recorded_at,
        }
    }
}

/// A row's key columns, owned (for removals).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyRow {
    pub bsn: i64,
    pub holder: String,
    pub data_category: String,
    pub consulting: String,
}

/// A row's columns as the database driver hands them out, borrowed; decode with
/// [`decode_row`]. `deleted` rows decode to a key only ([`decode_key`]).
#[derive(Clone, Copy, Debug)]
pub struct RowRef<'a> {
    pub bsn: i64,
    pub holder: &'a str,
    pub data_category: &'a str,
    pub consulting: &'a str,
    pub choice: &'a str,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    pub minor: &'a str,
    pub recorded_by: &'a str,
    pub catalogue_version: i64,
    pub recorded_at: i64,
}

/// Why a record cannot be written or a row cannot be read with this catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError(pub String);

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, CodecError> {
    Err(CodecError(msg.into()))
}

pub fn choice_code(c: Choice) -> &'static str {
    match c {
        Choice::Yes => "yes",
        Choice::No => "no",
        Choice::NoUnlessEmergency => "no-unless-emergency",
    }
}

pub fn minor_code(m: MinorState) -> &'static str {
    match m {
        MinorState::NotMinor => "not-minor",
        MinorState::PendingConfirmation => "pending-confirmation",
        MinorState::Confirmed => "confirmed",
        MinorState::Rejected => "rejected",
    }
}

fn parse_choice(s: &str) -> Result<Choice, CodecError> {
    match s {
        "yes" => Ok(Choice::Yes),
        "no" => Ok(Choice::No),
        "no-unless-emergency" => Ok(Choice::NoUnlessEmergency),
        other => err(format!(
            "choice `{other}` is not yes, no or no-unless-emergency"
        )),
    }
}

fn parse_minor(s: &str) -> Result<MinorState, CodecError> {
    match s {
        "not-minor" => Ok(MinorState::NotMinor),
        "pending-confirmation" => Ok(MinorState::PendingConfirmation),
        "confirmed" => Ok(MinorState::Confirmed),
        "rejected" => Ok(MinorState::Rejected),
        other => err(format!("minor state `{other}` is unknown")),
    }
}

fn parse_recorded_by(s: &str) -> Result<RecordedBy, CodecError> {
    RecordedBy::from_code(s).map_or_else(|| err(format!("recorded_by `{s}` is unknown")), Ok)
}

/// The `holder` column of a holder scope.
pub fn holder_text(holder: HolderScope, catalogue: &Catalogue) -> Result<String, CodecError> {
    let mut text = String::new();
    write_holder(&mut text, holder, catalogue)?;
    Ok(text)
}

/// Appends the `holder` column of a holder scope to `out` (as [`holder_text`] returns it), so
/// that bulk encoders can fill one buffer instead of allocating a string per record.
pub fn write_holder(
    out: &mut String,
    holder: HolderScope,
    catalogue: &Catalogue,
) -> Result<(), CodecError> {
    use std::fmt::Write as _;
    match holder {
        // Writing into a String cannot fail; the Result is fmt's signature only.
        HolderScope::Organisation(ura) => {
            let _ = write!(out, "ura:{ura}");
        }
        HolderScope::Category(id) => match catalogue.holder_category_name(id) {
            Some(name) => {
                out.push_str("category:");
                out.push_str(name);
            }
            None => return err("holder category id is not in the catalogue"),
        },
    }
    Ok(())
}

/// The `consulting` column of a consulting set: codes sorted, separated by one space.
pub fn consulting_text(set: ConsultingSet, catalogue: &Catalogue) -> Result<String, CodecError> {
    let mut text = String::new();
    write_consulting(&mut text, set, catalogue)?;
    Ok(text)
}

/// Appends the `consulting` column of a consulting set to `out` (as [`consulting_text`]
/// returns it). The codes are sorted in a fixed array (a set has at most 16 members), so this
/// allocates nothing but `out`'s growth.
pub fn write_consulting(
    out: &mut String,
    set: ConsultingSet,
    catalogue: &Catalogue,
) -> Result<(), CodecError> {
    let mut codes = [""; 16];
    let mut n = 0;
    for i in set.indexes() {
        match catalogue
            .consulting_category_ids()
            .find(|id| id.index() == i)
            .and_then(|id| catalogue.consulting_category_code(id))
        {
            Some(code) if n < codes.len() => {
                codes[n] = code;
                n += 1;
            }
            _ => return err("consulting category id is not in the catalogue"),
        }
    }
    let codes = &mut codes[..n];
    codes.sort_unstable();
    for (k, code) in codes.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(code);
    }
    Ok(())
}

/// The `data_category` column of a record key, borrowed from the catalogue.
pub fn data_category_text<'c>(
    key: &RecordKey,
    catalogue: &'c Catalogue,
) -> Result<&'c str, CodecError> {
    match catalogue.data_category_code(key.data_category) {
        Some(code) => Ok(code),
        None => err("data category id is not in the catalogue"),
    }
}

/// The key columns of a record key.
pub fn encode_key(bsn: Bsn, key: &RecordKey, catalogue: &Catalogue) -> Result<KeyRow, CodecError> {
    Ok(KeyRow {
        bsn: i64::from(bsn.get()),
        holder: holder_text(key.holder, catalogue)?,
        data_category: data_category_text(key, catalogue)?.to_string(),
        consulting: consulting_text(key.consulting, catalogue)?,
    })
}

/// A record's row.
pub fn encode(record: &ConsentRecord, catalogue: &Catalogue) -> Result<ConsentRow, CodecError> {
    let key = encode_key(record.bsn, &record.key(), catalogue)?;
    Ok(ConsentRow {
        bsn: key.bsn,
        holder: key.holder,
        data_category: key.data_category,
        consulting: key.consulting,
        choice: choice_code(record.choice),
        valid_from: record.valid_from,
        valid_until: record.valid_until,
        minor: minor_code(record.minor),
        recorded_by: record.recorded_by.code(),
        catalogue_version: i64::from(record.catalogue_version),
        recorded_at: record.recorded_at,
    })
}

fn decode_bsn(bsn: i64) -> Result<Bsn, CodecError> {
    u32::try_from(bsn)
        .ok()
        .and_then(|v| Bsn::from_u32(v).ok())
        .map_or_else(|| err("bsn column is not a valid BSN"), Ok)
}

fn decode_holder(text: &str, catalogue: &Catalogue) -> Result<HolderScope, CodecError> {
    if let Some(ura) = text.strip_prefix("ura:") {
        match Ura::parse(ura) {
            Ok(u) => Ok(HolderScope::Organisation(u)),
            Err(e) => err(format!("holder `{text}`: {e}")),
        }
    } else if let Some(name) = text.strip_prefix("category:") {
        match catalogue.holder_category_by_key(name) {
            Some(id) => Ok(HolderScope::Category(id)),
            None => err(format!(
                "holder category `{name}` is not in catalogue {}",
                catalogue.version()
            )),
        }
    } else {
        err(format!(
            "holder `{text}` is neither `ura:NNNNNNNN` nor `category:NAME`"
        ))
    }
}

fn decode_consulting(text: &str, catalogue: &Catalogue) -> Result<ConsultingSet, CodecError> {
    let mut bits = 0u16;
    for code in text.split(' ').filter(|c| !c.is_empty()) {
        match catalogue.consulting_category_by_key(code) {
            Some(id) => bits |= 1 << id.index(),
            None => {
                return err(format!(
                    "consulting category `{code}` is not in catalogue {}",
                    catalogue.version()
                ))
            }
        }
    }
    ConsultingSet::from_bits(bits).map_or_else(|| err("consulting column is empty"), Ok)
}

/// A row's record key (for tombstones).
pub fn decode_key(
    bsn: i64,
    holder: &str,
    data_category: &str,
    consulting: &str,
    catalogue: &Catalogue,
) -> Result<(Bsn, RecordKey), CodecError> {
    let bsn = decode_bsn(bsn)?;
    let key = RecordKey {
        holder: decode_holder(holder, catalogue)?,
        data_category: match catalogue.data_category_by_key(data_category) {
            Some(id) => id,
            None => {
                return err(format!(
                    "data category `{data_category}` is not in catalogue {}",
                    catalogue.version()
                ))
            }
        },
        consulting: decode_consulting(consulting, catalogue)?,
    };
    Ok((bsn, key))
}

/// A live row's record.
pub fn decode_row(row: &RowRef<'_>, catalogue: &Catalogue) -> Result<ConsentRecord, CodecError> {
    let (bsn, key) = decode_key(
        row.bsn,
        row.holder,
        row.data_category,
        row.consulting,
        catalogue,
    )?;
    Ok(ConsentRecord {
        bsn,
        holder: key.holder,
        data_category: key.data_category,
        consulting: key.consulting,
        choice: parse_choice(row.choice)?,
        valid_from: row.valid_from,
        valid_until: row.valid_until,
        minor: parse_minor(row.minor)?,
        recorded_by: parse_recorded_by(row.recorded_by)?,
        catalogue_version: u32::try_from(row.catalogue_version)
            .map_or_else(|_| err("catalogue_version is out of range"), Ok)?,
        recorded_at: row.recorded_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdp_core::consent::generate::Generator;

    fn catalogue() -> Catalogue {
        Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json"))
            .expect("shipped catalogue")
    }

    #[test]
    fn generated_records_survive_a_round_trip() {
        let c = catalogue();
        let mut n = 0;
        for record in Generator::new(&c, 7, 2_000).expect("generator").records() {
            let row = encode(&record, &c).expect("encodes");
            assert_eq!(decode_row(&row.borrowed(), &c).expect("decodes"), record);
            n += 1;
        }
        assert!(n > 2_000);
    }

    #[test]
    fn unknown_codes_are_reported_not_guessed() {
        let c = catalogue();
        let record = Generator::new(&c, 1, 10)
            .expect("generator")
            .records()
            .next()
            .expect("a record");
        let mut row = encode(&record, &c).expect("encodes");
        row.data_category = "GGC999".into();
        let e = decode_row(&row.borrowed(), &c).expect_err("unknown code");
        assert!(e.0.contains("GGC999"), "{e}");
        let mut row = encode(&record, &c).expect("encodes");
        row.consulting = "RPZAC001 RPZAC999".into();
        assert!(decode_row(&row.borrowed(), &c).is_err());
        let mut row = encode(&record, &c).expect("encodes");
        row.bsn = 123_456_789; // fails the 11-check
        let e = decode_row(&row.borrowed(), &c).expect_err("bad bsn");
        assert!(!e.0.contains("123456789"), "{e}");
    }
}
