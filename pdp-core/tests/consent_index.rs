//! The compact consent index against the naive reference (`consent::reference`), on random
//! profiles, random interleavings of upserts and removals, and random questions; plus a
//! concurrency test that readers only ever see a record before or after a change.

use std::sync::atomic::{AtomicBool, Ordering};

use pdp_core::consent::bsn::{Bsn, Ura};
use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::index::{ConsentFacts, ConsentIndex, FactsQuery, Upserted};
use pdp_core::consent::record::{
    Choice, ChoiceSet, ConsentRecord, ConsultingSet, HolderScope, MinorState, RecordKey, RecordedBy,
};
use pdp_core::consent::reference::ReferenceConsents;
use proptest::prelude::*;

const CATALOGUE: &str = include_str!("../../policies/mitz-catalogue.json");
/// 2026-11-20T00:00:00Z; random times fall within ±10 hours of it.
const T0: i64 = 1_795_132_800;
const HOUR: i64 = 3600;

fn catalogue() -> Catalogue {
    Catalogue::from_json(CATALOGUE).expect("the shipped catalogue loads")
}

/// A pool of valid, distinct BSNs (from the generator's bijection).
fn bsns(n: u64) -> Vec<Bsn> {
    let g = Generator::new(&catalogue(), 99, n).expect("generator");
    (0..n).map(|i| g.bsn(i)).collect()
}

const URAS: [u32; 3] = [1, 2, 12_345_678];

/// Small pools make keys collide often, so replacement and removal paths are exercised.
#[derive(Clone, Debug)]
struct RecordSpec {
    bsn: usize,
    holder: (bool, usize),
    data: usize,
    consulting: u16,
    choice: usize,
    from: Option<i64>,
    until: Option<i64>,
    minor: usize,
}

fn record_spec(citizens: usize) -> impl Strategy<Value = RecordSpec> {
    (
        0..citizens,
        (any::<bool>(), 0usize..7),
        0usize..3,
        // Mostly one of a few masks (keys collide), sometimes any mask of the 7 categories.
        prop_oneof![
            3 => prop::sample::select(vec![0b1u16, 0b11, 0b0111111]),
            1 => 1u16..128,
        ],
        0usize..3,
        prop::option::of(-10i64..10),
        prop::option::of(-10i64..10),
        prop_oneof![5 => Just(0usize), 1 => 1usize..4],
    )
        .prop_map(
            |(bsn, holder, data, consulting, choice, from, until, minor)| RecordSpec {
                bsn,
                holder,
                data,
                consulting,
                choice,
                from: from.map(|h| T0 + h * HOUR),
                until: until.map(|h| T0 + h * HOUR),
                minor,
            },
        )
}

struct World {
    catalogue: Catalogue,
    bsns: Vec<Bsn>,
}

impl World {
    fn new(citizens: u64) -> World {
        World {
            catalogue: catalogue(),
            bsns: bsns(citizens),
        }
    }

    fn holder(&self, (individual, i): (bool, usize)) -> HolderScope {
        if individual {
            HolderScope::Organisation(Ura::from_u32(URAS[i % URAS.len()]).expect("URA"))
        } else {
            let ids: Vec<_> = self.catalogue.holder_category_ids().collect();
            HolderScope::Category(ids[i % ids.len()])
        }
    }

    fn record(&self, s: &RecordSpec) -> ConsentRecord {
        let data: Vec<_> = self.catalogue.data_category_ids().collect();
        ConsentRecord {
            bsn: self.bsns[s.bsn],
            holder: self.holder(s.holder),
            data_category: data[s.data % data.len()],
            consulting: ConsultingSet::from_bits(s.consulting).expect("non-empty mask"),
            choice: [Choice::Yes, Choice::No, Choice::NoUnlessEmergency][s.choice],
            valid_from: s.from,
            valid_until: s.until,
            minor: [
                MinorState::NotMinor,
                MinorState::PendingConfirmation,
                MinorState::Confirmed,
                MinorState::Rejected,
            ][s.minor],
            recorded_by: RecordedBy::Citizen,
            catalogue_version: self.catalogue.version(),
            recorded_at: T0,
        }
    }

    /// Every question over the pools at one moment.
    fn all_queries(&self, now: i64) -> Vec<FactsQuery> {
        let mut out = Vec::new();
        let holder_categories: Vec<_> = std::iter::once(None)
            .chain(self.catalogue.holder_category_ids().map(Some))
            .collect();
        for &bsn in &self.bsns {
            for &ura in &URAS {
                for &holder_category in &holder_categories {
                    for data_category in self.catalogue.data_category_ids() {
                        for consulting in self.catalogue.consulting_category_ids() {
                            out.push(FactsQuery {
                                bsn,
                                holder: Ura::from_u32(ura).expect("URA"),
                                holder_category,
                                data_category,
                                consulting,
                                now,
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
enum Op {
    Upsert(RecordSpec),
    Remove(RecordSpec),
    RemoveCitizen(usize),
    Query(RecordSpec, i64),
    Shrink,
}

fn op(citizens: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => record_spec(citizens).prop_map(Op::Upsert),
        3 => record_spec(citizens).prop_map(Op::Remove),
        1 => (0..citizens).prop_map(Op::RemoveCitizen),
        4 => (record_spec(citizens), -12i64..12).prop_map(|(s, h)| Op::Query(s, T0 + h * HOUR)),
        1 => Just(Op::Shrink),
    ]
}

fn query_from(world: &World, s: &RecordSpec, now: i64) -> FactsQuery {
    let holder_category = match world.holder((false, s.holder.1)) {
        HolderScope::Category(c) if s.holder.0 => Some(c),
        _ => None,
    };
    let ura = match world.holder((true, s.holder.1)) {
        HolderScope::Organisation(u) => u,
        HolderScope::Category(_) => Ura::EXAMPLE,
    };
    let data: Vec<_> = world.catalogue.data_category_ids().collect();
    let consulting: Vec<_> = world.catalogue.consulting_category_ids().collect();
    FactsQuery {
        bsn: world.bsns[s.bsn],
        holder: ura,
        holder_category,
        data_category: data[s.data % data.len()],
        consulting: consulting[s.consulting.trailing_zeros() as usize % consulting.len()],
        now,
    }
}

/// Applies `ops` to both implementations, comparing every answer, then compares every
/// possible question at three moments.
fn run_against_reference(
    world: &World,
    index: &ConsentIndex,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let mut reference = ReferenceConsents::new(&world.catalogue);
    for op in ops {
        match op {
            Op::Upsert(s) => {
                let r = world.record(s);
                let replaced = reference.upsert(&r);
                let got = index.upsert(&r);
                prop_assert_eq!(got == Upserted::Replaced, replaced);
            }
            Op::Remove(s) => {
                let r = world.record(s);
                let key: RecordKey = r.key();
                prop_assert_eq!(index.remove(r.bsn, &key), reference.remove(r.bsn, &key));
            }
            Op::RemoveCitizen(i) => {
                let bsn = world.bsns[*i];
                prop_assert_eq!(index.remove_citizen(bsn), reference.remove_citizen(bsn));
            }
            Op::Query(s, now) => {
                let q = query_from(world, s, *now);
                prop_assert_eq!(index.facts(&q), reference.facts(&q));
            }
            Op::Shrink => index.shrink_to_fit(),
        }
        prop_assert_eq!(index.len(), reference.len());
        prop_assert_eq!(index.record_count(), reference.record_count());
    }
    for &bsn in &world.bsns {
        prop_assert_eq!(
            index.citizen_record_count(bsn),
            reference.records(bsn).len()
        );
        prop_assert_eq!(index.contains(bsn), !reference.records(bsn).is_empty());
    }
    for now in [T0 - 11 * HOUR, T0, T0 + 5 * HOUR] {
        for q in world.all_queries(now) {
            prop_assert_eq!(index.facts(&q), reference.facts(&q), "{:?}", q);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Few citizens, many colliding keys: replacement, removal, expiry, minors, hierarchy.
    #[test]
    fn index_matches_reference_on_small_profiles(ops in prop::collection::vec(op(4), 1..120)) {
        let world = World::new(4);
        run_against_reference(&world, &ConsentIndex::new(&world.catalogue), &ops)?;
    }

    /// One shard holding many citizens: slot-table growth, arena relocation and compaction,
    /// backward-shift deletion — all under the same comparison.
    #[test]
    fn single_shard_index_matches_reference(ops in prop::collection::vec(op(40), 1..600)) {
        let world = World::new(40);
        run_against_reference(&world, &ConsentIndex::with_shards(&world.catalogue, 0), &ops)?;
    }

    /// A bulk build (from_records and from_partitions) answers like the reference built from
    /// the same records.
    #[test]
    fn bulk_builds_match_reference(specs in prop::collection::vec(record_spec(30), 0..200)) {
        let world = World::new(30);
        let records: Vec<_> = specs.iter().map(|s| world.record(s)).collect();
        let mut reference = ReferenceConsents::new(&world.catalogue);
        for r in &records {
            reference.upsert(r);
        }
        let single = ConsentIndex::from_records(&world.catalogue, records.iter().copied());
        // Partition by citizen so that the last record per key wins in both.
        let parts: Vec<Vec<ConsentRecord>> = (0..3)
            .map(|p| records.iter().copied().filter(|r| world.bsns.iter().position(|b| *b == r.bsn).unwrap_or(0) % 3 == p).collect())
            .collect();
        let parallel = ConsentIndex::from_partitions(&world.catalogue, 30, 200, parts);
        for index in [&single, &parallel] {
            prop_assert_eq!(index.len(), reference.len());
            prop_assert_eq!(index.record_count(), reference.record_count());
            for q in world.all_queries(T0) {
                prop_assert_eq!(index.facts(&q), reference.facts(&q));
            }
        }
    }
}

/// Scenario checks that read like the domain rules, independent of the reference.
#[test]
fn facts_follow_hierarchy_minors_and_expiry() {
    let world = World::new(2);
    let c = &world.catalogue;
    let index = ConsentIndex::new(c);
    let ggc002 = c.data_category("GGC002").expect("GGC002");
    let ggc013 = c.data_category("GGC013").expect("GGC013");
    let rpzac001 = c.consulting_category("RPZAC001").expect("RPZAC001");
    let rpzac005 = c.consulting_category("RPZAC005").expect("RPZAC005");
    let huisartsen = c.holder_category("huisartsen").expect("huisartsen");
    let ura = Ura::EXAMPLE;
    let bsn = world.bsns[0];
    let base = ConsentRecord {
        bsn,
        holder: HolderScope::Category(huisartsen),
        data_category: ggc002,
        consulting: ConsultingSet::single(rpzac001),
        choice: Choice::Yes,
        valid_from: None,
        valid_until: None,
        minor: MinorState::NotMinor,
        recorded_by: RecordedBy::Citizen,
        catalogue_version: c.version(),
        recorded_at: T0,
    };
    let q = FactsQuery {
        bsn,
        holder: ura,
        holder_category: Some(huisartsen),
        data_category: ggc013,
        consulting: rpzac001,
        now: T0,
    };
    // No profile at all.
    assert_eq!(index.facts(&q), ConsentFacts::default());

    // GGC002 covers a GGC013 question; not the other way round.
    index.upsert(&base);
    let yes = ChoiceSet::EMPTY.with(Choice::Yes);
    assert_eq!(index.facts(&q).categorical, yes);
    assert!(index.facts(&q).individual.is_empty());
    let narrow = ConsentRecord {
        data_category: ggc013,
        holder: HolderScope::Organisation(ura),
        choice: Choice::No,
        ..base
    };
    index.upsert(&narrow);
    assert_eq!(
        index
            .facts(&FactsQuery {
                data_category: ggc002,
                ..q
            })
            .individual,
        ChoiceSet::EMPTY
    );
    assert_eq!(
        index.facts(&q).individual,
        ChoiceSet::EMPTY.with(Choice::No)
    );
    // Another consulting category does not match.
    assert!(index
        .facts(&FactsQuery {
            consulting: rpzac005,
            ..q
        })
        .categorical
        .is_empty());

    // A pending minor's choice replaces the old one (same key) but does not count; confirmed
    // counts; rejected never does.
    for (minor, counts) in [
        (MinorState::PendingConfirmation, false),
        (MinorState::Confirmed, true),
        (MinorState::Rejected, false),
    ] {
        assert_eq!(
            index.upsert(&ConsentRecord { minor, ..base }),
            Upserted::Replaced
        );
        assert_eq!(index.facts(&q).categorical == yes, counts, "{minor:?}");
        assert!(index.facts(&q).profile_found);
    }

    // A 72-hour consulting-button consent expires by itself.
    let button = ConsentRecord {
        bsn: world.bsns[1],
        holder: HolderScope::Organisation(ura),
        valid_from: Some(T0),
        valid_until: Some(T0 + 72 * HOUR),
        recorded_by: RecordedBy::ConsultingButton,
        ..base
    };
    index.upsert(&button);
    let bq = FactsQuery {
        bsn: world.bsns[1],
        ..q
    };
    assert_eq!(
        index.facts(&FactsQuery { now: T0 - 1, ..bq }).individual,
        ChoiceSet::EMPTY
    );
    assert_eq!(index.facts(&bq).individual, yes);
    assert_eq!(
        index
            .facts(&FactsQuery {
                now: T0 + 72 * HOUR - 1,
                ..bq
            })
            .individual,
        yes
    );
    assert_eq!(
        index
            .facts(&FactsQuery {
                now: T0 + 72 * HOUR,
                ..bq
            })
            .individual,
        ChoiceSet::EMPTY
    );
    assert!(
        index
            .facts(&FactsQuery {
                now: T0 + 72 * HOUR,
                ..bq
            })
            .profile_found
    );

    assert_eq!(index.remove_citizen(world.bsns[1]), 1);
    assert!(!index.facts(&bq).profile_found);
    assert_eq!((index.len(), index.record_count()), (1, 2));
}

/// Readers running while a writer changes one citizen's record (and churns other citizens of
/// the same, single shard, forcing table growth and arena compaction) only ever see the
/// citizen's profile before or after a change, never a torn or foreign state.
#[test]
fn concurrent_readers_see_before_or_after_states() {
    let world = World::new(400);
    let c = &world.catalogue;
    let index = ConsentIndex::with_shards(c, 0);
    let huisartsen = c.holder_category("huisartsen").expect("huisartsen");
    let ggc002 = c.data_category("GGC002").expect("GGC002");
    let rpzac001 = c.consulting_category("RPZAC001").expect("RPZAC001");
    let target = world.bsns[0];
    let stable = ConsentRecord {
        bsn: target,
        holder: HolderScope::Category(huisartsen),
        data_category: ggc002,
        consulting: ConsultingSet::single(rpzac001),
        choice: Choice::Yes,
        valid_from: None,
        valid_until: None,
        minor: MinorState::NotMinor,
        recorded_by: RecordedBy::Citizen,
        catalogue_version: c.version(),
        recorded_at: T0,
    };
    index.upsert(&stable);
    let changing = ConsentRecord {
        holder: HolderScope::Organisation(Ura::EXAMPLE),
        ..stable
    };
    let q = FactsQuery {
        bsn: target,
        holder: Ura::EXAMPLE,
        holder_category: Some(huisartsen),
        data_category: ggc002,
        consulting: rpzac001,
        now: T0,
    };
    let allowed_individual = [
        ChoiceSet::EMPTY,
        ChoiceSet::EMPTY.with(Choice::No),
        ChoiceSet::EMPTY.with(Choice::NoUnlessEmergency),
    ];
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) || reads < 1000 {
                    let f = index.facts(&q);
                    assert!(f.profile_found);
                    assert_eq!(f.categorical, ChoiceSet::EMPTY.with(Choice::Yes));
                    assert!(
                        allowed_individual.contains(&f.individual),
                        "torn state {f:?}"
                    );
                    reads += 1;
                }
            });
        }
        scope.spawn(|| {
            for round in 0..3000usize {
                match round % 4 {
                    0 => index.upsert(&ConsentRecord {
                        choice: Choice::No,
                        ..changing
                    }),
                    1 => index.upsert(&ConsentRecord {
                        choice: Choice::NoUnlessEmergency,
                        ..changing
                    }),
                    _ => {
                        assert!(index.remove(target, &changing.key()) || round % 4 == 3);
                        Upserted::Inserted
                    }
                };
                // Churn: other citizens come and go in the same shard.
                let other = world.bsns[1 + round % 399];
                if round % 3 == 0 {
                    index.remove_citizen(other);
                } else {
                    index.upsert(&ConsentRecord {
                        bsn: other,
                        ..stable
                    });
                    index.upsert(&ConsentRecord {
                        bsn: other,
                        ..changing
                    });
                }
            }
            done.store(true, Ordering::Relaxed);
        });
    });
    assert_eq!(
        index.facts(&q).categorical,
        ChoiceSet::EMPTY.with(Choice::Yes)
    );
}

/// The generated national mix loads with every record kept (keys are distinct per citizen).
#[test]
fn generated_data_set_loads_completely() {
    let c = catalogue();
    let g = Generator::new(&c, 5, 200_000).expect("generator");
    let count = g.records().count();
    let parts: Vec<_> = g
        .partitions(2)
        .into_iter()
        .map(|r| g.records_in(r))
        .collect();
    let index = ConsentIndex::from_partitions(&c, 200_000, count, parts);
    assert_eq!(index.len(), 200_000);
    assert_eq!(index.record_count(), count);
    // Size after the build's shrink: per 7 × 0.7 citizens one 64-byte bucket and its slot of
    // 12 records of 16 bytes (≈ 10 used); the runs that do not fit their slot (at most a
    // quarter of the records here) after the slots; 64 bytes per shard header (1.3 bytes per
    // citizen at this size), and per shard up to one bucket of rounding.
    let per_citizen = index.heap_bytes() as f64 / 200_000.0;
    let expected = (64.0 + 12.0 * 16.0) / (7.0 * 0.7)
        + 0.25 * 16.0 * count as f64 / 200_000.0
        + 4096.0 * 64.0 / 200_000.0;
    assert!(
        per_citizen < expected + 4.0,
        "{per_citizen} bytes per citizen, expected about {expected}"
    );
}

#[test]
fn citizen_records_reads_back_what_was_upserted() {
    use pdp_core::consent::index::IndexedRecord;
    let c = catalogue();
    let g = Generator::new(&c, 5, 300).expect("generator");
    let index = ConsentIndex::new(&c);
    let mut expected: std::collections::HashMap<u32, Vec<IndexedRecord>> = Default::default();
    for r in g.records() {
        if index.upsert(&r) == Upserted::Replaced {
            expected
                .get_mut(&r.bsn.get())
                .expect("replaced an earlier record")
                .retain(|e| {
                    IndexedRecord::of(&r).holder != e.holder
                        || IndexedRecord::of(&r).data_category != e.data_category
                        || IndexedRecord::of(&r).consulting != e.consulting
                });
        }
        expected
            .entry(r.bsn.get())
            .or_default()
            .push(IndexedRecord::of(&r));
    }
    assert!(expected.len() > 250);
    for (bsn, mut want) in expected {
        let bsn = Bsn::from_u32(bsn).expect("valid");
        let mut got = index.citizen_records(bsn);
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }
    let stranger = Generator::new(&c, 5, 400).expect("generator").bsn(399);
    assert!(index.citizen_records(stranger).is_empty());
}
