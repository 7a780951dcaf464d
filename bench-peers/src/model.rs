//! The plain, engine-neutral shape of the workload: consent records and questions as codes and
//! strings, exactly as a peer engine would receive them from a host application.
//!
//! Every peer (naive, Cedar, Regorus) is fed from these types, so that differences in the
//! figures come from the engines, not from different inputs. They are converted once from
//! `pdp-core`'s typed records (see [`crate::workload`]); the conversion is not timed.

use std::collections::HashMap;

/// Who a record is about on the data-holder side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// Individual level: one organisation, by its eight-digit URA.
    Organisation(String),
    /// Categorical level: a holder category by its catalogue name (e.g. `huisartsen`).
    Category(String),
}

/// The citizen's choice for one option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    Yes,
    No,
    NoUnlessEmergency,
}

impl Choice {
    /// The short code the Cedar and Rego models use (`yes`, `no`, `nue`).
    pub fn code(self) -> &'static str {
        match self {
            Choice::Yes => "yes",
            Choice::No => "no",
            Choice::NoUnlessEmergency => "nue",
        }
    }
}

/// State of a minor's choice: only `NotMinor` and `Confirmed` count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Minor {
    NotMinor,
    PendingConfirmation,
    Confirmed,
    Rejected,
}

impl Minor {
    /// Whether a choice in this state can ever count (a guardian confirmed it, or no guardian
    /// is needed).
    pub fn counts(self) -> bool {
        matches!(self, Minor::NotMinor | Minor::Confirmed)
    }
}

/// One consent record in plain form.
#[derive(Clone, Debug)]
pub struct Record {
    pub holder: Holder,
    /// GGC code of the data category the choice is about.
    pub data_category: String,
    /// RPZAC codes of the consulting categories the choice is for.
    pub consulting: Vec<String>,
    pub choice: Choice,
    /// Unix seconds; `None` is open.
    pub valid_from: Option<i64>,
    /// Unix seconds, exclusive; `None` is open.
    pub valid_until: Option<i64>,
    pub minor: Minor,
}

impl Record {
    /// Counts at `now`: confirmed (or not a minor's) and inside its validity window.
    pub fn is_effective(&self, now: i64) -> bool {
        self.minor.counts()
            && self.valid_from.is_none_or(|from| from <= now)
            && self.valid_until.is_none_or(|until| now < until)
    }
}

/// Purpose of use of a closed question: the engine's own type, so every model reads the same
/// three codes.
pub use pdp_core::consent::question::Purpose;

/// One closed question for one data category, with the organisation types already mapped to
/// categories through the catalogue (domain §8 step 2). The organisation type codes are kept
/// for the engines that do the mapping themselves (Akkoord's question service).
#[derive(Clone, Debug)]
pub struct Question {
    /// Nine-digit BSN text.
    pub bsn: String,
    /// Eight-digit URA text of the data holder.
    pub holder_ura: String,
    /// Organisation type code of the holder (e.g. `V4`).
    pub holder_type: String,
    /// Holder category of `holder_type` (catalogue name).
    pub holder_category: String,
    /// GGC code asked.
    pub data_category: String,
    /// Organisation type code of the requester.
    pub requester_type: String,
    /// RPZAC code of `requester_type`.
    pub consulting: String,
    pub purpose: Purpose,
    /// Unix seconds.
    pub now: i64,
}

/// What every engine must agree on: the decision, whether the "inform the citizen" obligation
/// is attached, and whether the "no consent recorded" advice is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    pub permit: bool,
    pub obligation: bool,
    pub advice: bool,
}

impl Outcome {
    pub const PERMIT: Outcome = Outcome {
        permit: true,
        obligation: false,
        advice: false,
    };
    pub const PERMIT_INFORM: Outcome = Outcome {
        permit: true,
        obligation: true,
        advice: false,
    };
    pub const DENY: Outcome = Outcome {
        permit: false,
        obligation: false,
        advice: false,
    };
    pub const DENY_NOTHING_RECORDED: Outcome = Outcome {
        permit: false,
        obligation: false,
        advice: true,
    };
}

/// The data-category hierarchy of the catalogue, as codes: for each asked category, the
/// categories whose records cover it (itself included). GGC002 covers GGC012 and GGC013.
#[derive(Clone, Debug, Default)]
pub struct Hierarchy {
    covered_by: HashMap<String, Vec<String>>,
}

impl Hierarchy {
    /// Builds the hierarchy from `(category, categories it covers)` pairs.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Hierarchy {
        let mut covered_by: HashMap<String, Vec<String>> = HashMap::new();
        for (code, covers) in pairs {
            covered_by
                .entry(code.to_string())
                .or_default()
                .push(code.to_string());
            for lower in covers {
                covered_by
                    .entry(lower.to_string())
                    .or_default()
                    .push(code.to_string());
            }
        }
        Hierarchy { covered_by }
    }

    /// The categories whose records apply to a question about `asked` (itself included; just
    /// itself for a code the catalogue does not know).
    pub fn covering(&self, asked: &str) -> Vec<String> {
        self.covered_by
            .get(asked)
            .cloned()
            .unwrap_or_else(|| vec![asked.to_string()])
    }

    /// The categories `record` covers (itself included).
    pub fn covered(&self, record: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .covered_by
            .iter()
            .filter(|(_, by)| by.iter().any(|c| c == record))
            .map(|(asked, _)| asked.clone())
            .collect();
        if !out.iter().any(|c| c == record) {
            out.push(record.to_string());
        }
        out.sort();
        out
    }

    /// Whether a record about `record` applies to a question about `asked`.
    pub fn covers(&self, record: &str, asked: &str) -> bool {
        record == asked
            || self
                .covered_by
                .get(asked)
                .is_some_and(|by| by.iter().any(|c| c == record))
    }
}
