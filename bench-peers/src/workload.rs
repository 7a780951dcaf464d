//! The shared workload: one synthetic data set and one list of questions, fed to every engine.
//!
//! Records come from `pdp-core`'s deterministic generator
//! ([`pdp_core::consent::generate::Generator`]), so the peers see exactly the data set Akkoord's
//! own benches use. Questions are drawn here, deterministically from a seed, to hit every rule:
//!
//! | kind | share | what it exercises |
//! | --- | --- | --- |
//! | individual | 30 % | the holder is the URA of one of the citizen's individual records (its data category or one it covers, its consulting category most of the time) |
//! | categorical | 35 % | the holder has an organisation type of one of the citizen's record holder categories |
//! | random | 20 % | a known citizen, any provider, any data and consulting category |
//! | unknown | 15 % | a valid BSN that is not in the data set |
//!
//! Purposes are uniform over TREAT, COC and ETREAT. `now` is the data set's moment
//! ([`Generator::now`]), at which about half the consulting-button consents have expired;
//! one question in ten is asked a week earlier or later instead, so that validity windows are
//! crossed both ways. Minors' pending and rejected records are in the data and get hit like any
//! other.

use std::collections::{HashMap, HashSet};

use pdp_core::consent::bsn::Bsn;
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::{Generator, SplitMix64, PROVIDERS};
use pdp_core::consent::record::{self, ConsentRecord, HolderScope};

use crate::model::{Choice, Hierarchy, Holder, Minor, Purpose, Question, Record};

/// The catalogue Akkoord ships; every engine reads its codes and hierarchy from it.
pub const CATALOGUE_JSON: &str = include_str!("../../policies/mitz-catalogue.json");

/// Seed of the data set and of the questions in the benches and the check.
pub const SEED: u64 = 20_261_120;

/// The data set and the questions, in every form the engines need.
pub struct Workload {
    pub catalogue: Catalogue,
    pub generator: Generator,
    /// Every record, as `pdp-core` types (what Akkoord's index is built from).
    pub records: Vec<ConsentRecord>,
    /// `(BSN text, records)` per citizen, in plain form (what the peers are built from).
    pub citizens: Vec<(String, Vec<Record>)>,
    pub hierarchy: Hierarchy,
    /// The active data categories (GGC codes) questions ask about.
    pub data_categories: Vec<String>,
    pub questions: Vec<Question>,
}

/// Why the workload could not be made (a catalogue or generator problem).
#[derive(Debug)]
pub struct WorkloadError(pub String);

impl std::fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "workload: {}", self.0)
    }
}

impl std::error::Error for WorkloadError {}

/// The generator's SplitMix64 (specified in `pdp-core`, so the questions never change with a
/// dependency), drawing indexes.
struct Rng(SplitMix64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Converts one `pdp-core` record to the plain form, naming every id by its catalogue code.
pub fn plain_record(c: &Catalogue, r: &ConsentRecord) -> Result<Record, WorkloadError> {
    let missing = |what: &str| WorkloadError(format!("record names a {what} the catalogue lacks"));
    let holder = match r.holder {
        HolderScope::Organisation(ura) => Holder::Organisation(ura.to_string()),
        HolderScope::Category(id) => Holder::Category(
            c.holder_category_name(id)
                .ok_or_else(|| missing("holder category"))?
                .to_string(),
        ),
    };
    let consulting = c
        .consulting_category_ids()
        .filter(|id| r.consulting.contains(*id))
        .map(|id| {
            c.consulting_category_code(id)
                .map(str::to_string)
                .ok_or_else(|| missing("consulting category"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Record {
        holder,
        data_category: c
            .data_category_code(r.data_category)
            .ok_or_else(|| missing("data category"))?
            .to_string(),
        consulting,
        choice: match r.choice {
            record::Choice::Yes => Choice::Yes,
            record::Choice::No => Choice::No,
            record::Choice::NoUnlessEmergency => Choice::NoUnlessEmergency,
        },
        valid_from: r.valid_from,
        valid_until: r.valid_until,
        minor: match r.minor {
            record::MinorState::NotMinor => Minor::NotMinor,
            record::MinorState::PendingConfirmation => Minor::PendingConfirmation,
            record::MinorState::Confirmed => Minor::Confirmed,
            record::MinorState::Rejected => Minor::Rejected,
        },
    })
}

impl Workload {
    /// Generates `citizens` citizens and `questions` questions from [`SEED`].
    pub fn new(citizens: u64, questions: usize) -> Result<Workload, WorkloadError> {
        let catalogue = Catalogue::from_json(CATALOGUE_JSON)
            .map_err(|e| WorkloadError(format!("shipped catalogue: {e}")))?;
        let generator =
            Generator::new(&catalogue, SEED, citizens).map_err(|e| WorkloadError(e.to_string()))?;
        let mut records = Vec::new();
        let mut plain = Vec::with_capacity(citizens as usize);
        let mut buffer = Vec::new();
        for i in 0..citizens {
            generator.citizen_records(i, &mut buffer);
            let converted = buffer
                .iter()
                .map(|r| plain_record(&catalogue, r))
                .collect::<Result<Vec<_>, _>>()?;
            plain.push((generator.bsn(i).to_string(), converted));
            records.extend_from_slice(&buffer);
        }
        let hierarchy = hierarchy(&catalogue);
        let data_categories: Vec<String> = catalogue
            .data_category_ids()
            .filter_map(|id| catalogue.data_category_code(id))
            .filter(|code| !catalogue.is_inactive_data_category(code))
            .map(str::to_string)
            .collect();
        let mut workload = Workload {
            catalogue,
            generator,
            records,
            citizens: plain,
            hierarchy,
            data_categories,
            questions: Vec::new(),
        };
        workload.questions = workload.draw_questions(questions);
        Ok(workload)
    }

    /// `(bsn, records)` pairs, the shape every peer builder takes.
    pub fn citizen_refs(&self) -> impl Iterator<Item = (&String, &Vec<Record>)> + Clone {
        self.citizens.iter().map(|(bsn, records)| (bsn, records))
    }

    /// Organisation types with their holder category name and consulting code.
    fn organisation_types(&self) -> Vec<(String, String, String)> {
        let c = &self.catalogue;
        let mut out: Vec<(String, String, String)> = c
            .organisation_type_codes()
            .filter_map(|code| {
                let t = c.organisation_type(code)?;
                Some((
                    code.to_string(),
                    c.holder_category_name(t.holder_category)?.to_string(),
                    c.consulting_category_code(t.consulting_category)?
                        .to_string(),
                ))
            })
            .collect();
        out.sort();
        out
    }

    fn draw_questions(&self, n: usize) -> Vec<Question> {
        let mut rng = Rng(SplitMix64::new(SEED ^ 0x0051_E571_0000));
        let types = self.organisation_types();
        let known: HashSet<&str> = self.citizens.iter().map(|(b, _)| b.as_str()).collect();
        // The organisation type the generator gave each synthetic provider, by URA text.
        let provider_types: HashMap<String, String> = (0..PROVIDERS)
            .map(|j| {
                let (ura, kind) = self.generator.provider(j);
                (ura.to_string(), kind.to_string())
            })
            .collect();
        let base_now = self.generator.now();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let purpose = *rng.pick(&[Purpose::Treat, Purpose::Coc, Purpose::Etreat]);
            let now = match rng.below(20) {
                0 => base_now - 7 * 86_400,
                1 => base_now + 7 * 86_400,
                _ => base_now,
            };
            let (provider_ura, provider_type) = self
                .generator
                .provider(rng.below(PROVIDERS as usize) as u32);
            let mut holder_ura = provider_ura.to_string();
            let mut holder_type = provider_type.to_string();
            let mut data_category = rng.pick(&self.data_categories).clone();
            let mut consulting_type = rng.pick(&types).0.clone();
            let kind = rng.below(100);
            let bsn = if kind >= 85 {
                // Unknown citizen: a valid BSN outside the data set.
                loop {
                    let prefix = rng.below(99_999_999) as u32;
                    let Some(check) = Bsn::check_digit(prefix) else {
                        continue;
                    };
                    let Ok(bsn) = Bsn::from_u32(prefix * 10 + check) else {
                        continue;
                    };
                    let text = bsn.to_string();
                    if !known.contains(text.as_str()) {
                        break text;
                    }
                }
            } else {
                let (bsn, records) = rng.pick(&self.citizens);
                let wanted_individual = kind < 30;
                let candidates: Vec<&Record> = records
                    .iter()
                    .filter(|r| matches!(r.holder, Holder::Organisation(_)) == wanted_individual)
                    .collect();
                if kind < 65 && !candidates.is_empty() {
                    let r = *rng.pick(&candidates);
                    match &r.holder {
                        Holder::Organisation(ura) => {
                            holder_ura = ura.clone();
                            // The type the generator gave this provider, when it is one of its.
                            if let Some(kind) = provider_types.get(ura) {
                                holder_type = kind.clone();
                            }
                        }
                        Holder::Category(cat) => {
                            let of_cat: Vec<&(String, String, String)> =
                                types.iter().filter(|t| t.1 == *cat).collect();
                            if !of_cat.is_empty() {
                                holder_type = rng.pick(&of_cat).0.clone();
                            }
                        }
                    }
                    // Its own data category or one it covers (the hierarchy cases).
                    let covered = self.hierarchy.covered(&r.data_category);
                    data_category = rng.pick(&covered).clone();
                    // Mostly a requester of one of its consulting categories.
                    if rng.below(10) < 8 {
                        let wanted = rng.pick(&r.consulting);
                        let of: Vec<&(String, String, String)> =
                            types.iter().filter(|t| t.2 == *wanted).collect();
                        if !of.is_empty() {
                            consulting_type = rng.pick(&of).0.clone();
                        }
                    }
                }
                bsn.clone()
            };
            let Some(holder) = types.iter().find(|t| t.0 == holder_type) else {
                continue;
            };
            let Some(requester) = types.iter().find(|t| t.0 == consulting_type) else {
                continue;
            };
            out.push(Question {
                bsn,
                holder_ura,
                holder_type,
                holder_category: holder.1.clone(),
                data_category,
                requester_type: consulting_type.clone(),
                consulting: requester.2.clone(),
                purpose,
                now,
            });
        }
        out
    }
}

/// The catalogue's data-category hierarchy as codes.
pub fn hierarchy(c: &Catalogue) -> Hierarchy {
    let ids: Vec<_> = c.data_category_ids().collect();
    let pairs: Vec<(&str, Vec<&str>)> = ids
        .iter()
        .filter_map(|&record| {
            let code = c.data_category_code(record)?;
            let covers = ids
                .iter()
                .filter(|&&asked| asked != record && c.covers(record, asked))
                .filter_map(|&asked| c.data_category_code(asked))
                .collect();
            Some((code, covers))
        })
        .collect();
    Hierarchy::new(pairs)
}
