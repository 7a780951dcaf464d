//! A deterministic synthetic national consent data set, for benchmarks, load tests and
//! `akkoord gen`.
//!
//! Everything follows from `(seed, citizen number)`: citizen `i`'s records are computed from a
//! PRNG seeded with both, so the data set is identical across runs and machines, any citizen
//! range can be generated independently (one range per thread for the parallel index build),
//! and 36 million records never have to sit in memory at once.
//!
//! The mix (per citizen unless said otherwise), chosen to exercise every rule of the closed
//! question with plausible frequencies — there are no published Mitz figures (domain §7):
//!
//! | what | share |
//! | --- | --- |
//! | records per citizen | 1: 35 %, 2: 38 %, 3: 22 %, 4: 3 %, 5–6: 2 % (mean ≈ 2.0) |
//! | categorical choice (holder category, its catalogue data category) | ≈ 80 % of records |
//! | individual choice (URA of one of 20 000 synthetic providers) | ≈ 15 % |
//! | holder-button consent (own URA, GPs+hospitals+pharmacies, open-ended) | ≈ 3 % |
//! | consulting-button consent (URA, one consulting category, valid 72 h) | ≈ 2 %, about half expired at [`Generator::now`] |
//! | choice of ordinary records | yes 90 %, no 5 %, no-unless-emergency 5 % |
//! | minors (all their records pending / confirmed / rejected, a third each) | 3 % of citizens |
//! | recorded by | citizen 75 %, migration 15 %, provider on behalf 7 %, guardian 3 % (buttons: the button) |
//!
//! BSNs: citizen `i` gets a unique valid BSN through a bijection (a seeded affine permutation of
//! the seven-digit blocks, then the `i mod 9`-th eight-digit prefix of that block whose check
//! digit exists), so up to [`MAX_CITIZENS`] citizens get distinct BSNs without a set of used
//! numbers. They are synthetic and may coincide with real BSNs: never load them next to real data.

use std::ops::Range;

use super::bsn::{Bsn, Ura};
use super::catalogue::{Catalogue, ConsultingCategoryId, DataCategoryId, HolderCategoryId};
use super::record::{
    Choice, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordedBy,
    CONSULTING_BUTTON_SECONDS,
};

/// Seven-digit BSN blocks used (1..=9 999 999); each yields nine BSNs.
const BLOCKS: u64 = 9_999_999;
/// The most citizens one data set can hold (distinct BSNs).
pub const MAX_CITIZENS: u64 = BLOCKS * 9;
/// Multiplier of the block permutation; coprime with [`BLOCKS`].
const BLOCK_MULTIPLIER: u64 = 4_000_037;
/// Number of synthetic providers that individual choices name.
pub const PROVIDERS: u32 = 20_000;
/// First synthetic URA; provider `j` has URA `FIRST_URA + 7 j`.
const FIRST_URA: u32 = 10_000_000;
/// The moment the data set describes: 2026-11-20T00:00:00Z. Records were made in the 700 days
/// before it; consulting-button consents in the 6 days before it.
pub const DATASET_NOW: i64 = 1_795_132_800;
const DAY: i64 = 86_400;

/// Why a generator cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeneratorError {
    /// More citizens than distinct BSNs the scheme yields.
    TooManyCitizens { max: u64 },
    /// The catalogue lacks something the mix needs.
    Catalogue(String),
}

impl std::fmt::Display for GeneratorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GeneratorError::TooManyCitizens { max } => {
                write!(f, "at most {max} citizens can be generated; ask for fewer")
            }
            GeneratorError::Catalogue(what) => write!(
                f,
                "the catalogue cannot drive the generator: {what}; use policies/mitz-catalogue.json or add it"
            ),
        }
    }
}

impl std::error::Error for GeneratorError {}

/// The data-set definition: seed, size and the catalogue ids the mix uses. Cheap to share
/// between threads.
#[derive(Clone, Debug)]
pub struct Generator {
    seed: u64,
    citizens: u64,
    block_offset: u64,
    catalogue_version: u32,
    holder_categories: Vec<(HolderCategoryId, DataCategoryId)>,
    data_categories: Vec<DataCategoryId>,
    consulting: Vec<ConsultingCategoryId>,
    /// The consulting categories a categorical "all" choice names (every one except the EU
    /// category, as in the options table).
    consulting_domestic: u16,
    /// GPs, hospitals and labs, pharmacies: the scope of the holder buttons SIT001/SIT002.
    holder_button_scope: u16,
    organisation_types: Vec<String>,
}

/// SplitMix64: tiny, fast, good enough for synthetic data, and fully specified here so the data
/// set never changes with a dependency's version. Public for the project's tests and benches
/// that draw deterministic schedules and questions.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), by multiply-high.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn percent(&mut self) -> u64 {
        self.below(100)
    }
}

impl Generator {
    /// A data set of `citizens` citizens from `seed`, coded with `catalogue`.
    pub fn new(
        catalogue: &Catalogue,
        seed: u64,
        citizens: u64,
    ) -> Result<Generator, GeneratorError> {
        if citizens > MAX_CITIZENS {
            return Err(GeneratorError::TooManyCitizens { max: MAX_CITIZENS });
        }
        let holder_categories: Vec<_> = catalogue
            .holder_category_ids()
            .filter_map(|h| {
                catalogue
                    .holder_category_entry(h)
                    .map(|e| (h, e.data_category))
            })
            .collect();
        if holder_categories.is_empty() {
            return Err(GeneratorError::Catalogue("no holder categories".into()));
        }
        let data_categories: Vec<_> = catalogue.data_category_ids().collect();
        let consulting: Vec<_> = catalogue.consulting_category_ids().collect();
        if consulting.is_empty() {
            return Err(GeneratorError::Catalogue("no consulting categories".into()));
        }
        let bits = |codes: &[&str]| {
            codes
                .iter()
                .filter_map(|c| catalogue.consulting_category(c))
                .fold(0u16, |m, id| m | 1 << id.index())
        };
        let all = consulting.iter().fold(0u16, |m, id| m | 1 << id.index());
        let eu = bits(&["RPZAC200"]);
        let consulting_domestic = if all & !eu != 0 { all & !eu } else { all };
        let holder_button_scope = match bits(&["RPZAC001", "RPZAC104", "RPZAC005"]) {
            0 => consulting_domestic,
            m => m,
        };
        let mut organisation_types: Vec<String> = catalogue
            .organisation_type_codes()
            .map(str::to_owned)
            .collect();
        organisation_types.sort();
        Ok(Generator {
            seed,
            citizens,
            block_offset: SplitMix64(seed ^ 0x5EED_B10C).next_u64() % BLOCKS,
            catalogue_version: catalogue.version(),
            holder_categories,
            data_categories,
            consulting,
            consulting_domestic,
            holder_button_scope,
            organisation_types,
        })
    }

    /// Number of citizens in the data set.
    pub fn citizens(&self) -> u64 {
        self.citizens
    }

    /// The moment the data set describes ([`DATASET_NOW`]): query at this time to see about
    /// half of the consulting-button consents expired.
    pub fn now(&self) -> i64 {
        DATASET_NOW
    }

    /// The BSN of citizen `i` (distinct for distinct `i < MAX_CITIZENS`).
    pub fn bsn(&self, i: u64) -> Bsn {
        let block = (i / 9) % BLOCKS;
        // Affine permutation of 0..BLOCKS, shifted to 1..=BLOCKS so no prefix is all zeros.
        let permuted = (block * BLOCK_MULTIPLIER + self.block_offset) % BLOCKS + 1;
        let wanted = i % 9;
        let mut seen = 0;
        for d8 in 0..10u32 {
            let prefix = permuted as u32 * 10 + d8;
            if let Some(check) = Bsn::check_digit(prefix) {
                if seen == wanted {
                    if let Ok(bsn) = Bsn::from_u32(prefix * 10 + check) {
                        return bsn;
                    }
                }
                seen += 1;
            }
        }
        // Unreachable: every block has at least nine prefixes with a check digit (2·d8 mod 11
        // takes ten distinct values, so at most one d8 needs the impossible check digit 10).
        // Fall back to a fixed valid BSN rather than panic.
        Bsn::EXAMPLE
    }

    /// Synthetic provider `j` (`j < PROVIDERS`): its URA and organisation-type code, stable for
    /// a catalogue. Individual choices name these URAs, so questions built from them hit
    /// records.
    pub fn provider(&self, j: u32) -> (Ura, &str) {
        let j = j % PROVIDERS;
        // FIRST_URA + 7 * PROVIDERS stays far below 10^8, so this never falls back.
        let ura = Ura::from_u32(FIRST_URA + 7 * j).unwrap_or(Ura::EXAMPLE);
        let mut rng = SplitMix64(u64::from(j) ^ 0xC0DE);
        let kind = match self.organisation_types.len() {
            0 => "",
            n => &self.organisation_types[rng.below(n as u64) as usize],
        };
        (ura, kind)
    }

    /// Appends citizen `i`'s records to `out` (cleared first). Keys are distinct within the
    /// citizen, so none replaces another when loaded.
    pub fn citizen_records(&self, i: u64, out: &mut Vec<ConsentRecord>) {
        out.clear();
        let mut rng = SplitMix64(self.seed ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        let bsn = self.bsn(i);
        let count = match rng.percent() {
            0..=34 => 1,
            35..=72 => 2,
            73..=94 => 3,
            95..=97 => 4,
            98 => 5,
            _ => 6,
        };
        let minor = if rng.percent() < 3 {
            match rng.below(3) {
                0 => MinorState::PendingConfirmation,
                1 => MinorState::Confirmed,
                _ => MinorState::Rejected,
            }
        } else {
            MinorState::NotMinor
        };
        for _ in 0..count {
            // A few tries to find a key the citizen does not have yet.
            for _ in 0..4 {
                let record = self.one_record(&mut rng, bsn, minor);
                if out.iter().all(|r| r.key() != record.key()) {
                    out.push(record);
                    break;
                }
            }
        }
    }

    fn one_record(&self, rng: &mut SplitMix64, bsn: Bsn, minor: MinorState) -> ConsentRecord {
        let recorded_at = DATASET_NOW - 700 * DAY + rng.below(700 * DAY as u64) as i64;
        let kind = rng.percent();
        let mut record = ConsentRecord {
            bsn,
            holder: HolderScope::Category(self.holder_categories[0].0),
            data_category: self.holder_categories[0].1,
            consulting: ConsultingSet::from_bits(self.consulting_domestic)
                .unwrap_or_else(|| ConsultingSet::single(self.consulting[0])),
            choice: Choice::Yes,
            valid_from: None,
            valid_until: None,
            minor,
            recorded_by: RecordedBy::Citizen,
            catalogue_version: self.catalogue_version,
            recorded_at,
        };
        let provider = |rng: &mut SplitMix64| {
            HolderScope::Organisation(self.provider(rng.below(u64::from(PROVIDERS)) as u32).0)
        };
        match kind {
            0..=1 => {
                // Raadplegersknop: temporary consent for one consulting category.
                let at = DATASET_NOW - 6 * DAY + rng.below(6 * DAY as u64) as i64;
                record.holder = provider(rng);
                record.consulting = ConsultingSet::single(
                    self.consulting[rng.below(self.consulting.len() as u64) as usize],
                );
                record.recorded_at = at;
                record.valid_from = Some(at);
                record.valid_until = Some(at + CONSULTING_BUTTON_SECONDS);
                record.recorded_by = RecordedBy::ConsultingButton;
                record.minor = MinorState::NotMinor;
                return record;
            }
            2..=4 => {
                // Dossierhoudersknop (SIT001/SIT002): open-ended, own organisation.
                record.holder = provider(rng);
                record.consulting =
                    ConsultingSet::from_bits(self.holder_button_scope).unwrap_or(record.consulting);
                record.recorded_by = RecordedBy::HolderButton;
                record.minor = MinorState::NotMinor;
                return record;
            }
            5..=19 => {
                record.holder = provider(rng);
                record.data_category = match rng.percent() {
                    0..=69 => self.data_categories[0],
                    p => self.data_categories[(p as usize) % self.data_categories.len()],
                };
                record.consulting = self.random_consulting(rng);
            }
            _ => {
                let (holder, data) =
                    self.holder_categories[rng.below(self.holder_categories.len() as u64) as usize];
                record.holder = HolderScope::Category(holder);
                record.data_category = data;
                record.consulting = self.random_consulting(rng);
            }
        }
        record.choice = match rng.percent() {
            0..=89 => Choice::Yes,
            90..=94 => Choice::No,
            _ => Choice::NoUnlessEmergency,
        };
        record.recorded_by = if minor != MinorState::NotMinor && rng.percent() < 30 {
            RecordedBy::Guardian
        } else {
            match rng.percent() {
                0..=74 => RecordedBy::Citizen,
                75..=89 => RecordedBy::Migration,
                90..=96 => RecordedBy::ProviderOnBehalf,
                _ => RecordedBy::Guardian,
            }
        };
        record
    }

    /// 60 % every domestic category, 25 % a random subset, 15 % a single category.
    fn random_consulting(&self, rng: &mut SplitMix64) -> ConsultingSet {
        let single = |rng: &mut SplitMix64| {
            ConsultingSet::single(self.consulting[rng.below(self.consulting.len() as u64) as usize])
        };
        match rng.percent() {
            0..=59 => {
                ConsultingSet::from_bits(self.consulting_domestic).unwrap_or_else(|| single(rng))
            }
            60..=84 => {
                let all = self
                    .consulting
                    .iter()
                    .fold(0u16, |m, id| m | 1 << id.index());
                ConsultingSet::from_bits(rng.next_u64() as u16 & all).unwrap_or_else(|| single(rng))
            }
            _ => single(rng),
        }
    }

    /// Every record of the data set, citizen by citizen.
    pub fn records(&self) -> Records<'_> {
        self.records_in(0..self.citizens)
    }

    /// The records of citizens `range` (clipped to the data set), citizen by citizen. Ranges
    /// are independent: split `0..citizens()` to generate in parallel.
    pub fn records_in(&self, range: Range<u64>) -> Records<'_> {
        let end = range.end.min(self.citizens);
        Records {
            generator: self,
            next_citizen: range.start.min(end),
            end,
            buffer: Vec::with_capacity(8),
            pos: 0,
        }
    }

    /// `parts` citizen ranges of nearly equal size covering the data set.
    pub fn partitions(&self, parts: usize) -> Vec<Range<u64>> {
        let parts = parts.max(1) as u64;
        (0..parts)
            .map(|p| self.citizens * p / parts..self.citizens * (p + 1) / parts)
            .collect()
    }
}

/// Streaming iterator over generated records; holds only the current citizen's records.
#[derive(Debug)]
pub struct Records<'g> {
    generator: &'g Generator,
    next_citizen: u64,
    end: u64,
    buffer: Vec<ConsentRecord>,
    pos: usize,
}

impl Iterator for Records<'_> {
    type Item = ConsentRecord;

    fn next(&mut self) -> Option<ConsentRecord> {
        loop {
            if let Some(record) = self.buffer.get(self.pos) {
                self.pos += 1;
                return Some(*record);
            }
            if self.next_citizen >= self.end {
                return None;
            }
            self.generator
                .citizen_records(self.next_citizen, &mut self.buffer);
            self.next_citizen += 1;
            self.pos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn catalogue() -> Catalogue {
        Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json"))
            .expect("catalogue")
    }

    #[test]
    fn bsns_are_valid_and_distinct() {
        let g = Generator::new(&catalogue(), 7, 200_000).expect("generator");
        let mut seen = HashSet::new();
        for i in 0..200_000 {
            let bsn = g.bsn(i);
            assert!(Bsn::parse(&bsn.to_string()).is_ok());
            assert!(seen.insert(bsn), "duplicate BSN for citizen {i}");
        }
        // The far end of the range too.
        let last = g.bsn(MAX_CITIZENS - 1);
        assert!(Bsn::from_u32(last.get()).is_ok());
        assert_ne!(last, g.bsn(MAX_CITIZENS - 2));
    }

    #[test]
    fn deterministic_and_independent_of_partitioning() {
        let c = catalogue();
        let a: Vec<_> = Generator::new(&c, 42, 5_000)
            .expect("g")
            .records()
            .collect();
        let g = Generator::new(&c, 42, 5_000).expect("g");
        let b: Vec<_> = g
            .partitions(3)
            .into_iter()
            .flat_map(|r| g.records_in(r))
            .collect();
        assert_eq!(a, b);
        let other: Vec<_> = Generator::new(&c, 43, 5_000)
            .expect("g")
            .records()
            .collect();
        assert_ne!(a, other);
    }

    #[test]
    fn mix_is_roughly_as_documented() {
        let c = catalogue();
        let g = Generator::new(&c, 1, 100_000).expect("g");
        let records: Vec<_> = g.records().collect();
        let n = records.len() as f64;
        let mean = n / 100_000.0;
        assert!(
            (1.9..2.1).contains(&mean),
            "mean records per citizen {mean}"
        );
        let share =
            |f: &dyn Fn(&ConsentRecord) -> bool| records.iter().filter(|r| f(r)).count() as f64 / n;
        let categorical = share(&|r| matches!(r.holder, HolderScope::Category(_)));
        assert!(
            (0.75..0.85).contains(&categorical),
            "categorical {categorical}"
        );
        let nue = share(&|r| r.choice == Choice::NoUnlessEmergency);
        assert!((0.03..0.07).contains(&nue), "no-unless-emergency {nue}");
        let no = share(&|r| r.choice == Choice::No);
        assert!((0.03..0.07).contains(&no), "no {no}");
        let pending = share(&|r| r.minor == MinorState::PendingConfirmation);
        assert!(pending > 0.003 && pending < 0.02, "pending {pending}");
        let button = share(&|r| r.recorded_by == RecordedBy::ConsultingButton);
        assert!((0.01..0.03).contains(&button), "consulting button {button}");
        let expired = share(&|r| r.valid_until.is_some_and(|u| u <= g.now()));
        assert!(expired > 0.002 && expired < button, "expired {expired}");
        for r in &records {
            assert!(r
                .valid_until
                .is_none_or(|u| u - r.recorded_at == CONSULTING_BUTTON_SECONDS));
        }
    }
}
