//! The naive baseline: `HashMap<String, Vec<Record>>` keyed by the BSN text and the decision
//! procedure of domain §8 written as plainly as possible. It is both the reference every
//! engine is checked against and the "what you get without an engine" line in the figures.

use std::collections::HashMap;

use crate::model::{Choice, Hierarchy, Holder, Outcome, Purpose, Question, Record};

/// Every citizen's records by BSN, plus the catalogue's data-category hierarchy.
pub struct Naive {
    by_bsn: HashMap<String, Vec<Record>>,
    hierarchy: Hierarchy,
}

impl Naive {
    /// Builds the map from `(bsn, records)` pairs.
    pub fn new<'a>(
        citizens: impl IntoIterator<Item = (&'a String, &'a Vec<Record>)>,
        hierarchy: Hierarchy,
    ) -> Naive {
        let by_bsn = citizens
            .into_iter()
            .map(|(bsn, records)| (bsn.clone(), records.clone()))
            .collect();
        Naive { by_bsn, hierarchy }
    }

    /// Decides one question.
    pub fn decide(&self, q: &Question) -> Outcome {
        let records = self.by_bsn.get(&q.bsn).map_or(&[][..], Vec::as_slice);
        for individual in [true, false] {
            let (mut no, mut nue, mut yes) = (false, false, false);
            for r in records {
                let holder_matches = match &r.holder {
                    Holder::Organisation(ura) => individual && *ura == q.holder_ura,
                    Holder::Category(cat) => !individual && *cat == q.holder_category,
                };
                if holder_matches
                    && r.is_effective(q.now)
                    && self.hierarchy.covers(&r.data_category, &q.data_category)
                    && r.consulting.contains(&q.consulting)
                {
                    match r.choice {
                        Choice::No => no = true,
                        Choice::NoUnlessEmergency => nue = true,
                        Choice::Yes => yes = true,
                    }
                }
            }
            if no {
                return Outcome::DENY;
            }
            if nue {
                return if q.purpose == Purpose::Etreat {
                    Outcome::PERMIT_INFORM
                } else {
                    Outcome::DENY
                };
            }
            if yes {
                return Outcome::PERMIT;
            }
        }
        if q.purpose == Purpose::Coc {
            Outcome::PERMIT
        } else {
            Outcome::DENY_NOTHING_RECORDED
        }
    }
}
