//! One consent choice of one citizen, as registered (domain model §1.1, §1.7, §1.9, §5, §6.1).
//!
//! A [`ConsentRecord`] is the unit the store keeps, the loader feeds to the
//! [`ConsentIndex`](super::index::ConsentIndex) and the bulk NDJSON format carries one of per
//! line. Its identity inside a citizen's profile is its [`RecordKey`] — (holder, data category,
//! consulting set) — so registering the same option again replaces the earlier choice (domain
//! §5: idempotent per BSN, holder, data category and consulting categories).
//!
//! Times are unix seconds (UTC). The core reads no clock: callers pass `now`.

use super::bsn::{Bsn, Ura};
use super::catalogue::{ConsultingCategoryId, DataCategoryId, HolderCategoryId};

/// Who a choice is about on the data-holder side.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum HolderScope {
    /// One organisation, by URA (individual consent; more specific than a category).
    Organisation(Ura),
    /// Every connected provider of a holder category with a treatment relationship
    /// (categorical consent).
    Category(HolderCategoryId),
}

/// A non-empty set of consulting categories, as a bit mask over the catalogue's ids. One record
/// covers several consulting categories at once because Mitz groups the consulting categories
/// with the same decision in one Consent (domain §1.7).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ConsultingSet(u16);

impl ConsultingSet {
    /// A set from a raw mask; `None` for the empty mask.
    pub fn from_bits(bits: u16) -> Option<ConsultingSet> {
        (bits != 0).then_some(ConsultingSet(bits))
    }

    /// The set holding one category.
    pub fn single(id: ConsultingCategoryId) -> ConsultingSet {
        ConsultingSet(1 << id.index())
    }

    /// A set of the given categories; `None` when there are none.
    pub fn from_ids(ids: impl IntoIterator<Item = ConsultingCategoryId>) -> Option<ConsultingSet> {
        Self::from_bits(ids.into_iter().fold(0, |m, id| m | (1 << id.index())))
    }

    /// The set with `id` added.
    pub fn with(self, id: ConsultingCategoryId) -> ConsultingSet {
        ConsultingSet(self.0 | 1 << id.index())
    }

    /// Whether `id` is in the set.
    pub fn contains(self, id: ConsultingCategoryId) -> bool {
        self.0 & (1 << id.index()) != 0
    }

    /// The raw mask (bit = [`ConsultingCategoryId::index`]).
    pub fn bits(self) -> u16 {
        self.0
    }

    /// The number of categories in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Always false (the set is never empty); present for clippy's `len` convention.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The bit indexes in the set, ascending (resolve them with the catalogue's
    /// `consulting_category_ids`).
    pub fn indexes(self) -> impl Iterator<Item = usize> {
        (0..16).filter(move |i| self.0 & (1 << i) != 0)
    }
}

/// The citizen's answer for one option (domain §1.7, §6.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Choice {
    /// Toestemming: share.
    Yes,
    /// Geen toestemming: do not share.
    No,
    /// Nee, tenzij spoed: share only when the question is an emergency (purpose ETREAT), and
    /// inform the citizen.
    NoUnlessEmergency,
}

impl Choice {
    /// All choices, in bit order of [`ChoiceSet`].
    pub const ALL: [Choice; 3] = [Choice::Yes, Choice::No, Choice::NoUnlessEmergency];

    fn bit(self) -> u8 {
        match self {
            Choice::Yes => 1,
            Choice::No => 2,
            Choice::NoUnlessEmergency => 4,
        }
    }
}

/// A small set of [`Choice`]s: which answers are present among the applicable effective records.
/// The policy needs sets, not single values, because several records can apply at once (e.g. a
/// GGC002 and a GGC013 record for a GGC013 question) and "no" must win at equal specificity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct ChoiceSet(u8);

impl ChoiceSet {
    /// The empty set.
    pub const EMPTY: ChoiceSet = ChoiceSet(0);

    /// Adds a choice.
    pub fn insert(&mut self, choice: Choice) {
        self.0 |= choice.bit();
    }

    /// The set with `choice` added.
    pub fn with(self, choice: Choice) -> ChoiceSet {
        ChoiceSet(self.0 | choice.bit())
    }

    /// Whether `choice` is present.
    pub fn contains(self, choice: Choice) -> bool {
        self.0 & choice.bit() != 0
    }

    /// Whether no choice is present.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The choices present, in the order of [`Choice::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Choice> {
        Choice::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The raw bits (Yes = 1, No = 2, NoUnlessEmergency = 4).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// A set from raw bits (bits above the three choices are dropped).
    pub fn from_bits(bits: u8) -> ChoiceSet {
        ChoiceSet(bits & 7)
    }
}

/// The confirmation state of a choice made by a citizen under 16 (domain §6.1): such a choice
/// counts only once a parent or guardian confirmed it; unconfirmed or rejected never count.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum MinorState {
    /// Made by someone of 16 or older: counts at once.
    NotMinor,
    /// Made by a minor, waiting for the guardian's confirmation (koppelcode): does not count.
    PendingConfirmation,
    /// Confirmed by a parent or guardian: counts.
    Confirmed,
    /// Rejected by the parent or guardian: never counts.
    Rejected,
}

impl MinorState {
    /// Whether a choice in this state can take effect.
    pub fn counts(self) -> bool {
        matches!(self, MinorState::NotMinor | MinorState::Confirmed)
    }
}

/// Who recorded the choice (domain §5); reported to the citizen when it was not the citizen.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RecordedBy {
    /// The citizen in MijnMitz.
    Citizen,
    /// A parent, guardian or representative.
    Guardian,
    /// A professional on the citizen's behalf ("Samen naar MijnMitz").
    ProviderOnBehalf,
    /// The data holder's button (dossierhoudersknop, SIT001/SIT002).
    HolderButton,
    /// The consulting provider's temporary button (raadplegersknop, 72 hours).
    ConsultingButton,
    /// A migration of existing consents.
    Migration,
}

impl RecordedBy {
    /// Every value, with its code (the bulk format's and the store's `recorded_by`).
    pub const CODES: [(RecordedBy, &'static str); 6] = [
        (RecordedBy::Citizen, "citizen"),
        (RecordedBy::Guardian, "guardian"),
        (RecordedBy::ProviderOnBehalf, "provider-on-behalf"),
        (RecordedBy::HolderButton, "holder-button"),
        (RecordedBy::ConsultingButton, "consulting-button"),
        (RecordedBy::Migration, "migration"),
    ];

    /// The code of this value.
    pub fn code(self) -> &'static str {
        match self {
            RecordedBy::Citizen => "citizen",
            RecordedBy::Guardian => "guardian",
            RecordedBy::ProviderOnBehalf => "provider-on-behalf",
            RecordedBy::HolderButton => "holder-button",
            RecordedBy::ConsultingButton => "consulting-button",
            RecordedBy::Migration => "migration",
        }
    }

    /// The value of a code.
    pub fn from_code(code: &str) -> Option<RecordedBy> {
        RecordedBy::CODES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(v, _)| *v)
    }
}

/// How long a consulting-button consent lasts (domain §1.9: announced as 72 hours).
pub const CONSULTING_BUTTON_SECONDS: i64 = 72 * 3600;

/// One consent choice of one citizen.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ConsentRecord {
    pub bsn: Bsn,
    pub holder: HolderScope,
    pub data_category: DataCategoryId,
    pub consulting: ConsultingSet,
    pub choice: Choice,
    /// Start of validity (unix seconds, inclusive); `None` = from the beginning.
    pub valid_from: Option<i64>,
    /// End of validity (unix seconds, exclusive); `None` = open-ended. The consulting button
    /// sets `recorded_at + 72h` ([`CONSULTING_BUTTON_SECONDS`]).
    pub valid_until: Option<i64>,
    pub minor: MinorState,
    pub recorded_by: RecordedBy,
    /// The catalogue version the codes were chosen in (domain §1.10).
    pub catalogue_version: u32,
    /// When the choice was made (unix seconds).
    pub recorded_at: i64,
}

/// A record's identity inside one citizen's profile: upserting a record with the same key
/// replaces the earlier one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RecordKey {
    pub holder: HolderScope,
    pub data_category: DataCategoryId,
    pub consulting: ConsultingSet,
}

impl ConsentRecord {
    /// This record's key within the citizen's profile.
    pub fn key(&self) -> RecordKey {
        RecordKey {
            holder: self.holder,
            data_category: self.data_category,
            consulting: self.consulting,
        }
    }

    /// Whether the choice counts at `now`: made by an adult or confirmed by a guardian, and
    /// `valid_from <= now < valid_until`.
    pub fn is_effective(&self, now: i64) -> bool {
        self.minor.counts()
            && self.valid_from.is_none_or(|from| from <= now)
            && self.valid_until.is_none_or(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::catalogue::Catalogue;

    fn record(c: &Catalogue) -> ConsentRecord {
        ConsentRecord {
            bsn: Bsn::parse("999990019").expect("valid"),
            holder: HolderScope::Organisation(Ura::parse("00000001").expect("valid")),
            data_category: c.data_category("GGC002").expect("GGC002"),
            consulting: ConsultingSet::single(c.consulting_category("RPZAC001").expect("RPZAC001")),
            choice: Choice::Yes,
            valid_from: None,
            valid_until: None,
            minor: MinorState::NotMinor,
            recorded_by: RecordedBy::Citizen,
            catalogue_version: c.version(),
            recorded_at: 1_700_000_000,
        }
    }

    #[test]
    fn effectiveness_follows_minor_state_and_validity_window() {
        let c = Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json"))
            .expect("catalogue");
        let mut r = record(&c);
        assert!(r.is_effective(0));
        r.valid_from = Some(100);
        r.valid_until = Some(100 + CONSULTING_BUTTON_SECONDS);
        assert!(!r.is_effective(99));
        assert!(r.is_effective(100));
        assert!(r.is_effective(99 + CONSULTING_BUTTON_SECONDS + 1 - 1));
        assert!(!r.is_effective(100 + CONSULTING_BUTTON_SECONDS));
        r.valid_from = None;
        r.valid_until = None;
        for (state, counts) in [
            (MinorState::NotMinor, true),
            (MinorState::PendingConfirmation, false),
            (MinorState::Confirmed, true),
            (MinorState::Rejected, false),
        ] {
            r.minor = state;
            assert_eq!(r.is_effective(0), counts, "{state:?}");
        }
    }

    #[test]
    fn choice_set_holds_each_choice_once() {
        let mut s = ChoiceSet::EMPTY;
        assert!(s.is_empty());
        s.insert(Choice::No);
        s.insert(Choice::No);
        assert!(s.contains(Choice::No) && !s.contains(Choice::Yes));
        assert_eq!(
            s.with(Choice::Yes).iter().collect::<Vec<_>>(),
            vec![Choice::Yes, Choice::No]
        );
    }

    #[test]
    fn consulting_set_is_never_empty() {
        assert_eq!(ConsultingSet::from_bits(0), None);
        assert_eq!(ConsultingSet::from_ids([]), None);
        let s = ConsultingSet::from_bits(0b101).expect("non-empty");
        assert_eq!(s.indexes().collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(s.len(), 2);
    }
}
