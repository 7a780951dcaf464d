//! A deliberately naive consent store with the same facts query as the
//! [`ConsentIndex`](super::index::ConsentIndex), written as plainly as possible.
//!
//! It exists so that property tests can compare the compact index against something obviously
//! right: a `HashMap` of full records, a linear scan, and [`ConsentRecord::is_effective`] and
//! [`Catalogue::covers`] called directly. Never use it on a decision path (it allocates per
//! citizen and per record, and is ~10× larger).

use std::collections::HashMap;

use super::bsn::Bsn;
use super::catalogue::Catalogue;
use super::index::{ConsentFacts, FactsQuery};
use super::record::{ConsentRecord, HolderScope, RecordKey};

/// BSN → the citizen's records, in insertion order.
#[derive(Clone, Debug)]
pub struct ReferenceConsents {
    catalogue: Catalogue,
    profiles: HashMap<Bsn, Vec<ConsentRecord>>,
}

impl ReferenceConsents {
    /// An empty store using `catalogue`'s hierarchy.
    pub fn new(catalogue: &Catalogue) -> ReferenceConsents {
        ReferenceConsents {
            catalogue: catalogue.clone(),
            profiles: HashMap::new(),
        }
    }

    /// Adds the record or replaces the one with the same key; returns whether it replaced.
    pub fn upsert(&mut self, record: &ConsentRecord) -> bool {
        let records = self.profiles.entry(record.bsn).or_default();
        for existing in records.iter_mut() {
            if existing.key() == record.key() {
                *existing = *record;
                return true;
            }
        }
        records.push(*record);
        false
    }

    /// Removes the record with this key; returns whether there was one.
    pub fn remove(&mut self, bsn: Bsn, key: &RecordKey) -> bool {
        let Some(records) = self.profiles.get_mut(&bsn) else {
            return false;
        };
        let before = records.len();
        records.retain(|r| r.key() != *key);
        let removed = records.len() < before;
        if records.is_empty() {
            self.profiles.remove(&bsn);
        }
        removed
    }

    /// Removes the citizen; returns how many records went.
    pub fn remove_citizen(&mut self, bsn: Bsn) -> usize {
        self.profiles.remove(&bsn).map_or(0, |r| r.len())
    }

    /// Number of citizens.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Whether there are no citizens.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Number of records.
    pub fn record_count(&self) -> usize {
        self.profiles.values().map(Vec::len).sum()
    }

    /// The citizen's records.
    pub fn records(&self, bsn: Bsn) -> &[ConsentRecord] {
        self.profiles.get(&bsn).map_or(&[], Vec::as_slice)
    }

    /// The same question as [`ConsentIndex::facts`](super::index::ConsentIndex::facts).
    pub fn facts(&self, q: &FactsQuery) -> ConsentFacts {
        let mut facts = ConsentFacts::default();
        let Some(records) = self.profiles.get(&q.bsn) else {
            return facts;
        };
        facts.profile_found = true;
        for record in records {
            if !record.is_effective(q.now) {
                continue;
            }
            if !self.catalogue.covers(record.data_category, q.data_category) {
                continue;
            }
            if !record.consulting.contains(q.consulting) {
                continue;
            }
            match record.holder {
                HolderScope::Organisation(ura) if ura == q.holder => {
                    facts.individual.insert(record.choice);
                }
                HolderScope::Category(category) if Some(category) == q.holder_category => {
                    facts.categorical.insert(record.choice);
                }
                _ => {}
            }
        }
        facts
    }
}
