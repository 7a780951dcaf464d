//! The compiled consent index: BSN → compact consent profile, for the whole country in memory.
//!
//! The closed question asks, for one citizen, which choices apply to one holder, data category
//! and consulting category. [`ConsentIndex::facts`] answers that with one hash, one shared lock,
//! usually one cache line of an open-addressing table and one line of packed records — no
//! allocation, no string, no pointer chase per citizen. Writers ([`ConsentIndex::upsert`],
//! [`ConsentIndex::remove`], [`ConsentIndex::remove_citizen`]) take the write lock of one shard
//! only, so readers of the other 4095 shards never wait, and a reader of the same shard sees a
//! citizen's profile either before or after a change, never half of it.
//!
//! # Layout and byte budget
//!
//! The index is 4096 shards chosen by a hash of the BSN. A shard header is one 64-byte line:
//! the `parking_lot::RwLock` word and, behind it, the shard's table and arena pointers and
//! counts, so the lock and the pointers a lookup needs share a line (and readers of
//! neighbouring shards do not). Each shard holds:
//!
//! - `buckets`: an open-addressing table of 64-byte, line-aligned buckets, each with **7
//!   lanes** of `{bsn: u32, start: u32}` and an overflow count (how many citizens whose probe
//!   began at or before this bucket were placed beyond it). A lookup compares all 7 BSNs of
//!   its home bucket at once and stops there unless the overflow count is non-zero, so a
//!   citizen *without* a profile costs one line in most cases (linear probing over single
//!   slots at load 0.8 needed ≈ 13 slots, 2–3 lines, for a miss). Deletion decrements the
//!   counts along the deleted citizen's probe: no tombstones, no backward shift. Kept at a lane
//!   load of 0.6–0.875 (0.7 after a bulk build), so about 13 bytes per citizen;
//! - `records`: one arena of packed records per shard; a citizen's records are contiguous from
//!   `start`, the last one flagged, so no length and no per-citizen heap allocation is needed.
//!   A packed record is **16 bytes**: holder `u32` (URA, or holder-category id with the top bit
//!   set), valid-from and valid-until `u32` (seconds since 2000-01-01 UTC; 0 and `u32::MAX`
//!   mean open), consulting set `u16`, data category `u8`, and one byte of state (choice: 2 bits,
//!   minor state: 2 bits, last-of-run: 1 bit). After a build or compaction the arena is laid
//!   out in **slots**: bucket `b`'s citizens' runs lie in records `b × 12 ..`, three lines (a
//!   bucket holds 4.9 citizens of about two records at the build load); runs that do not fit
//!   their slot follow all the slots.
//!
//! A lookup needs two memory trips for a citizen with a profile (bucket, then records) and one
//! for a citizen without, after the shard header, which stays cached (256 KiB for all shards).
//! The slots make the second address known from the hash alone: a lookup starts loading its
//! bucket's slot together with the bucket line, so the two trips overlap instead of following
//! each other. A run that spilled or moved since the last compaction is found the same way,
//! only without that overlap. Measured at 18 M citizens, against per-bucket hints read first
//! (an earlier design): 305 → 247 ns per decision.
//!
//! For 18 million citizens with 36 million records: 3.67 M buckets of 64 B (235 MB) and their
//! slots of 192 B (705 MB), plus the spilled runs: 954 MiB of heap, 1 049 MiB resident (61
//! bytes per citizen), against 788 MiB for a dense arena — about 150 MB bought for one memory
//! trip per decision, inside the 1.5 GiB budget. Fields the decision never reads (who recorded
//! it, when, catalogue version) stay in the store and in [`ConsentRecord`]; the index keeps
//! only what [`ConsentIndex::facts`] needs, plus the minor state so that a pending choice still
//! replaces an older one with the same key.
//!
//! Arena maintenance: a citizen whose run is at the end of its shard's arena grows in place;
//! otherwise the run moves to the end and the old copy becomes garbage (slot padding is not
//! garbage). A shard compacts itself, back into slots, when garbage exceeds a quarter of its
//! live records, and arenas grow by an eighth at a time, so steady-state churn costs at most
//! about 1.4× the compacted size; [`ConsentIndex::shrink_to_fit`] returns to it.
//!
//! # Time range
//!
//! Validity bounds are stored as seconds since 2000-01-01T00:00:00Z in a `u32`, exact up to
//! 2136-02-07. A bound outside that range is clamped to it (a validity that starts before 2000 is
//! treated as starting in 2000; one that ends after 2136 as open-ended), and so is the query's
//! `now`, which keeps every comparison monotone.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;

use super::bsn::{Bsn, Ura};
use super::catalogue::{
    Catalogue, ConsultingCategoryId, DataCategoryId, HolderCategoryId, MAX_DATA_CATEGORIES,
};
use super::record::{Choice, ChoiceSet, ConsentRecord, HolderScope, MinorState, RecordKey};

/// log2 of the default number of shards.
pub const DEFAULT_SHARD_BITS: u32 = 12;
/// Default number of shards: enough that writers rarely meet readers and a shard's arena stays
/// small (≈ 9 000 records, 140 KiB, nationally) so that relocation and compaction are cheap.
pub const SHARDS: usize = 1 << DEFAULT_SHARD_BITS;
/// The most shard bits [`ConsentIndex::with_shards`] accepts.
pub const MAX_SHARD_BITS: u32 = 20;

/// Top bit of a packed holder ([`IndexedRecord::holder`]): the low bits are a holder-category
/// id, not a URA.
pub const HOLDER_CATEGORY_FLAG: u32 = 1 << 31;
/// State byte: the choice in bits 0–1, minor state in bits 2–3, last record of a run in bit 7.
const STATE_CHOICE_MASK: u8 = 0b0000_0011;
const STATE_MINOR_SHIFT: u8 = 2;
/// Minor states encode as NotMinor 0, Pending 1, Confirmed 2, Rejected 3: bit 0 of the minor
/// field set means "does not count".
const STATE_MINOR_BLOCKS: u8 = 1 << STATE_MINOR_SHIFT;
const STATE_LAST: u8 = 0b1000_0000;

/// 2000-01-01T00:00:00Z in unix seconds: the zero of stored times.
const TIME_EPOCH: i64 = 946_684_800;
const TIME_OPEN_END: u32 = u32::MAX;

/// Lane load (citizens / (buckets × 7)) above which a shard's table grows, the load it grows to,
/// and the load a bulk build or [`ConsentIndex::shrink_to_fit`] leaves.
const MAX_LOAD_NUM: usize = 7;
const MAX_LOAD_DEN: usize = 8;
const GROW_LOAD: f64 = 0.6;
const TARGET_LOAD: f64 = 0.7;

/// One citizen's consent choices packed for the decision path (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C)]
struct Packed {
    holder: u32,
    valid_from: u32,
    valid_until: u32,
    consulting: u16,
    data_category: u8,
    state: u8,
}

const _: () = assert!(std::mem::size_of::<Packed>() == 16);

impl Packed {
    fn from_record(r: &ConsentRecord) -> Packed {
        let holder = match r.holder {
            HolderScope::Organisation(ura) => ura.get(),
            HolderScope::Category(id) => HOLDER_CATEGORY_FLAG | id.index() as u32,
        };
        let choice = match r.choice {
            Choice::Yes => 0,
            Choice::No => 1,
            Choice::NoUnlessEmergency => 2,
        };
        let minor = match r.minor {
            MinorState::NotMinor => 0,
            MinorState::PendingConfirmation => 1,
            MinorState::Confirmed => 2,
            MinorState::Rejected => 3,
        };
        Packed {
            holder,
            valid_from: r.valid_from.map_or(0, encode_time),
            valid_until: r.valid_until.map_or(TIME_OPEN_END, encode_time),
            consulting: r.consulting.bits(),
            data_category: r.data_category.index() as u8,
            state: choice | (minor << STATE_MINOR_SHIFT),
        }
    }

    fn same_key(&self, other: &Packed) -> bool {
        self.holder == other.holder
            && self.data_category == other.data_category
            && self.consulting == other.consulting
    }

    fn is_last(&self) -> bool {
        self.state & STATE_LAST != 0
    }
}

/// A record as the index keeps it: what decisions read, in the index's resolution (times in
/// whole seconds from 2000-01-01 on, earlier starts read as "from the beginning"). Holder
/// categories and data categories are catalogue indexes; see [`IndexedRecord::of`] to compare
/// with a [`ConsentRecord`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct IndexedRecord {
    /// A URA, or `HOLDER_CATEGORY_FLAG | category index` for a categorical holder.
    pub holder: u32,
    pub data_category: u8,
    pub consulting: u16,
    /// 0 = yes, 1 = no, 2 = no-unless-emergency.
    pub choice: u8,
    /// 0 = not a minor, 1 = pending confirmation, 2 = confirmed, 3 = rejected.
    pub minor: u8,
    /// Unix seconds, or `None` for open.
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
}

impl IndexedRecord {
    /// How the index would hold `record`.
    pub fn of(record: &ConsentRecord) -> IndexedRecord {
        Packed::from_record(record).unpack()
    }
}

impl Packed {
    fn unpack(&self) -> IndexedRecord {
        IndexedRecord {
            holder: self.holder,
            data_category: self.data_category,
            consulting: self.consulting,
            choice: self.state & STATE_CHOICE_MASK,
            minor: (self.state >> STATE_MINOR_SHIFT) & 0b11,
            valid_from: (self.valid_from != 0).then(|| i64::from(self.valid_from) + TIME_EPOCH),
            valid_until: (self.valid_until != TIME_OPEN_END)
                .then(|| i64::from(self.valid_until) + TIME_EPOCH),
        }
    }
}

fn packed_key(key: &RecordKey) -> Packed {
    let holder = match key.holder {
        HolderScope::Organisation(ura) => ura.get(),
        HolderScope::Category(id) => HOLDER_CATEGORY_FLAG | id.index() as u32,
    };
    Packed {
        holder,
        valid_from: 0,
        valid_until: 0,
        consulting: key.consulting.bits(),
        data_category: key.data_category.index() as u8,
        state: 0,
    }
}

/// Unix seconds → stored time; clamped to `0..=u32::MAX - 1` so that `u32::MAX` stays "open".
fn encode_time(t: i64) -> u32 {
    t.saturating_sub(TIME_EPOCH)
        .clamp(0, i64::from(TIME_OPEN_END - 1)) as u32
}

/// A well-mixed 64-bit hash of a BSN (the splitmix64 finaliser): bits 40 and up pick the
/// shard, the low 32 bits the home bucket.
#[inline]
fn hash(bsn: u32) -> u64 {
    let mut z = u64::from(bsn).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps the low 32 bits of `h` onto `0..n` without a division.
#[inline]
fn home(h: u64, n: usize) -> usize {
    (((h & 0xFFFF_FFFF) * n as u64) >> 32) as usize
}

/// Lanes (citizens) per bucket of a shard table.
const LANES: usize = 7;

/// One cache line of a shard's bucket table: up to seven citizens and where their records start.
///
/// `overflow` counts the citizens placed beyond this bucket whose probe began here or earlier
/// (whose home bucket precedes this one in their probe). A lookup that does not find its BSN
/// in a bucket with `overflow == 0` stops there, so a citizen without a profile usually costs
/// one line; deletion decrements the counts along the deleted citizen's probe, so they stay
/// exact and no tombstones build up.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Bucket {
    /// 0 = free lane (0 is never a valid BSN).
    bsn: [u32; LANES],
    overflow: u32,
    /// Index of each lane's citizen's first record in the shard's arena.
    start: [u32; LANES],
    _unused: u32,
}

const _: () = assert!(std::mem::size_of::<Bucket>() == 64);

impl Bucket {
    /// The lane holding `bsn` (or the first free lane when `bsn` is 0): all lanes compared at
    /// once (two SSE2 compares on x86-64, where the hot path of every decision runs this).
    #[inline]
    fn lane_of(&self, bsn: u32) -> Option<usize> {
        let mask = lane_mask(&self.bsn, bsn);
        (mask != 0).then(|| mask.trailing_zeros() as usize / 4)
    }
}

/// Bits `4i..4i + 4` set where `lanes[i] == bsn` (four bits per lane: what a byte mask of
/// 32-bit compares gives).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn lane_mask(lanes: &[u32; LANES], bsn: u32) -> u32 {
    use safe_arch::{cmp_eq_mask_i32_m128i, m128i, move_mask_i8_m128i, set_splat_i32_m128i};
    let want = set_splat_i32_m128i(i32::from_ne_bytes(bsn.to_ne_bytes()));
    // Lanes 0–3 and 3–6 (lane 3 twice: seven lanes in two groups of four).
    let low = m128i::from([lanes[0], lanes[1], lanes[2], lanes[3]]);
    let high = m128i::from([lanes[3], lanes[4], lanes[5], lanes[6]]);
    // `move_mask` sets the low sixteen bits only, so the casts keep every bit.
    let bits = |v: m128i| move_mask_i8_m128i(cmp_eq_mask_i32_m128i(v, want)) as u32;
    bits(low) | bits(high) << 12
}

/// Bits `4i..4i + 4` set where `lanes[i] == bsn` (the portable form).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn lane_mask(lanes: &[u32; LANES], bsn: u32) -> u32 {
    lanes.iter().enumerate().fold(0, |mask, (i, &b)| {
        mask | u32::from(b == bsn) * (0xF << (4 * i))
    })
}

/// The contents of one shard: with the lock word, 64 bytes, so a shard header is one line.
#[derive(Default)]
struct Table {
    buckets: Box<[Bucket]>,
    records: Vec<Packed>,
    /// Citizens in this shard (at most `u32::MAX`: arena indices are `u32` too).
    citizens: u32,
    /// Records in use (the rest of `records` is garbage left by moves and removals).
    live: u32,
    /// The bucket count the arena was laid out in slots for at the last compaction (bucket
    /// `b`'s runs from record `b × SLOT_RECORDS` on), or 0 when the buckets changed since.
    slotted: u32,
    /// Unused records of the slots at the last compaction: not garbage, room by design.
    padding: u32,
}

/// One shard, alone on its cache line.
#[repr(align(64))]
#[derive(Default)]
struct Shard {
    table: RwLock<Table>,
}

const _: () = assert!(std::mem::size_of::<Shard>() == 64);

/// What [`ConsentIndex::upsert`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Upserted {
    /// The citizen had no record with this key; one more record.
    Inserted,
    /// A record with the same key was replaced.
    Replaced,
}

/// The consent question for one citizen, holder, data category and consulting category.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FactsQuery {
    pub bsn: Bsn,
    /// The data holder's URA: selects individual choices.
    pub holder: Ura,
    /// The holder's category (from its organisation type): selects categorical choices. `None`
    /// when the type is not in the catalogue; then only individual choices are found.
    pub holder_category: Option<HolderCategoryId>,
    /// The data category asked; records for it or for a category that covers it apply.
    pub data_category: DataCategoryId,
    /// The requester's consulting category; a record applies when its set contains it.
    pub consulting: ConsultingCategoryId,
    /// Decision time (unix seconds): records outside their validity do not apply.
    pub now: i64,
}

/// The choices that apply to a [`FactsQuery`], split by specificity. Only effective records
/// count (adult or confirmed by a guardian, within validity). What to decide from them is the
/// policy's business (individual over categorical, "no" wins, emergency, COC).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct ConsentFacts {
    /// Choices recorded for the holder's own organisation (URA).
    pub individual: ChoiceSet,
    /// Choices recorded for the holder's category.
    pub categorical: ChoiceSet,
    /// Whether the citizen has any record at all (effective or not).
    pub profile_found: bool,
}

/// BSN → compact consent profile for every citizen; see the module docs for the layout. `Send +
/// Sync`: share it by reference or `Arc` between request threads and the one loader that writes.
pub struct ConsentIndex {
    shards: Box<[Shard]>,
    /// `shards.len() - 1` (a power of two minus one).
    shard_mask: usize,
    /// `covered_by[asked]`: mask of the record data categories that apply to a question for
    /// `asked` (from the catalogue hierarchy).
    covered_by: [u16; MAX_DATA_CATEGORIES],
    citizens: AtomicUsize,
    records: AtomicUsize,
}

impl std::fmt::Debug for ConsentIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentIndex")
            .field("citizens", &self.len())
            .field("records", &self.record_count())
            .finish_non_exhaustive()
    }
}

impl ConsentIndex {
    /// An empty index for records coded in `catalogue` (it keeps the data-category hierarchy,
    /// 32 bytes). Allocates the 4096 empty shards (256 KiB).
    pub fn new(catalogue: &Catalogue) -> ConsentIndex {
        ConsentIndex::with_shards(catalogue, DEFAULT_SHARD_BITS)
    }

    /// An empty index with `2^bits` shards (`bits` at most [`MAX_SHARD_BITS`]). Fewer shards
    /// cost less fixed memory (64 bytes each) but make writers and readers meet more often;
    /// tests use one shard to exercise table growth, compaction and deletion on few citizens.
    pub fn with_shards(catalogue: &Catalogue, bits: u32) -> ConsentIndex {
        let count = 1usize << bits.min(MAX_SHARD_BITS);
        ConsentIndex {
            shards: (0..count).map(|_| Shard::default()).collect(),
            shard_mask: count - 1,
            covered_by: catalogue.covered_by_matrix(),
            citizens: AtomicUsize::new(0),
            records: AtomicUsize::new(0),
        }
    }

    /// An empty index with room for about `citizens` citizens and `records` records, so that a
    /// bulk load does not regrow its tables. The estimate may be off; the tables grow as needed.
    pub fn with_capacity(catalogue: &Catalogue, citizens: usize, records: usize) -> ConsentIndex {
        let index = ConsentIndex::new(catalogue);
        let shards = index.shards.len();
        let per_shard_citizens = citizens.div_ceil(shards);
        // 5 % headroom over the average covers the spread between shards (σ ≈ √n).
        let buckets = buckets_for(per_shard_citizens * 21 / 20, TARGET_LOAD);
        let per_shard_records = records.div_ceil(shards) * 21 / 20 + 8;
        for shard in index.shards.iter() {
            let mut t = shard.table.write();
            t.buckets = vec![Bucket::default(); buckets].into_boxed_slice();
            if records > 0 {
                t.records.reserve_exact(per_shard_records);
            }
        }
        index
    }

    /// Makes room for about `citizens` citizens and `records` records in all (spread over the
    /// shards), so that a bulk load into a live index does not regrow its tables step by step:
    /// growing 4096 shard tables one step at a time leaves the allocator holding several times
    /// the final size at the peak. Takes each shard's write lock in turn; never shrinks.
    pub fn reserve(&self, citizens: usize, records: usize) {
        let shards = self.shards.len();
        let per_shard_citizens = citizens.div_ceil(shards) * 21 / 20;
        let per_shard_records = records.div_ceil(shards) * 21 / 20 + 8;
        let buckets = buckets_for(per_shard_citizens, TARGET_LOAD);
        for shard in self.shards.iter() {
            let mut t = shard.table.write();
            if t.buckets.len() < buckets {
                t.rehash(buckets);
            }
            let live = t.records.len();
            if per_shard_records > live {
                t.records.reserve_exact(per_shard_records - live);
            }
        }
    }

    /// Builds an index from records on this thread; later records replace earlier ones with the
    /// same key. For the national build use [`ConsentIndex::from_partitions`].
    pub fn from_records<I>(catalogue: &Catalogue, records: I) -> ConsentIndex
    where
        I: IntoIterator<Item = ConsentRecord>,
    {
        let index = ConsentIndex::new(catalogue);
        for record in records {
            index.upsert(&record);
        }
        index.shrink_to_fit();
        index
    }

    /// Builds an index from several record streams, one thread each (std scoped threads), then
    /// shrinks it to its exact size with the same threads. `citizens` and `records` are size
    /// hints (see [`ConsentIndex::with_capacity`]). The result does not depend on how records
    /// are split, except where two partitions hold records with the same key for the same
    /// citizen: then either may win, so split by citizen.
    pub fn from_partitions<I>(
        catalogue: &Catalogue,
        citizens: usize,
        records: usize,
        partitions: Vec<I>,
    ) -> ConsentIndex
    where
        I: IntoIterator<Item = ConsentRecord> + Send,
    {
        let index = ConsentIndex::with_capacity(catalogue, citizens, records);
        let threads = partitions.len().max(1);
        std::thread::scope(|scope| {
            for part in partitions {
                let index = &index;
                scope.spawn(move || {
                    for record in part {
                        index.upsert(&record);
                    }
                });
            }
        });
        std::thread::scope(|scope| {
            let per_thread = index.shards.len().div_ceil(threads);
            for chunk in index.shards.chunks(per_thread) {
                scope.spawn(move || {
                    for shard in chunk {
                        shard.table.write().shrink_to_fit();
                    }
                });
            }
        });
        index
    }

    /// Number of citizens with at least one record.
    pub fn len(&self) -> usize {
        self.citizens.load(Ordering::Relaxed)
    }

    /// Whether no citizen has a record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of records (every minor state, expired ones included: expiry is decided at query
    /// time, removal is the loader's business).
    pub fn record_count(&self) -> usize {
        self.records.load(Ordering::Relaxed)
    }

    #[inline]
    fn shard(&self, h: u64) -> &Shard {
        // `shard_mask` is `shards.len() - 1`, so the index is always in bounds.
        &self.shards[(h >> 40) as usize & self.shard_mask]
    }

    /// The consent facts for one question: the hot path of every closed question.
    ///
    /// Cost: one hash, one shared lock, usually one cache line of buckets and, for a citizen
    /// with a profile, one of records; no allocation. Unknown ids (of another catalogue) simply match nothing.
    pub fn facts(&self, q: &FactsQuery) -> ConsentFacts {
        let bsn = q.bsn.get();
        let h = hash(bsn);
        let table = self.shard(h).table.read();
        table.prefetch_slot(h);
        let Some(start) = table.find(bsn, h) else {
            return ConsentFacts::default();
        };
        let covered_by = self
            .covered_by
            .get(q.data_category.index())
            .copied()
            .unwrap_or(0);
        let consulting_bit = 1u32 << q.consulting.index();
        let individual_holder = q.holder.get();
        // URAs are below 10^8, so without a category nothing can equal u32::MAX.
        let category_holder = q
            .holder_category
            .map_or(u32::MAX, |c| HOLDER_CATEGORY_FLAG | c.index() as u32);
        let now = encode_time(q.now);
        let mut individual = 0u8;
        let mut categorical = 0u8;
        for r in table.records.get(start as usize..).unwrap_or(&[]) {
            let applies = r.state & STATE_MINOR_BLOCKS == 0
                && r.valid_from <= now
                && now < r.valid_until
                && u32::from(covered_by) & (1u32 << r.data_category) != 0
                && u32::from(r.consulting) & consulting_bit != 0;
            if applies {
                let bit = 1u8 << (r.state & STATE_CHOICE_MASK);
                if r.holder == individual_holder {
                    individual |= bit;
                } else if r.holder == category_holder {
                    categorical |= bit;
                }
            }
            if r.is_last() {
                break;
            }
        }
        ConsentFacts {
            individual: ChoiceSet::from_bits(individual),
            categorical: ChoiceSet::from_bits(categorical),
            profile_found: true,
        }
    }

    /// Whether the citizen has any record.
    pub fn contains(&self, bsn: Bsn) -> bool {
        let h = hash(bsn.get());
        self.shard(h).table.read().find(bsn.get(), h).is_some()
    }

    /// Number of records the citizen has.
    pub fn citizen_record_count(&self, bsn: Bsn) -> usize {
        let h = hash(bsn.get());
        let table = self.shard(h).table.read();
        table
            .find(bsn.get(), h)
            .map_or(0, |start| table.run_len(start as usize))
    }

    /// The citizen's records as the index holds them (for operators' inspection and for tests
    /// that compare an index with its store record for record), in arena order.
    pub fn citizen_records(&self, bsn: Bsn) -> Vec<IndexedRecord> {
        let h = hash(bsn.get());
        let table = self.shard(h).table.read();
        let Some(start) = table.find(bsn.get(), h) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for r in table.records.get(start as usize..).unwrap_or(&[]) {
            out.push(r.unpack());
            if r.is_last() {
                break;
            }
        }
        out
    }

    /// Adds a record, or replaces the citizen's record with the same [`RecordKey`]. Takes one
    /// shard's write lock for the duration of an append (amortised O(1); a relocation or
    /// compaction of that shard copies at most its ~140 KiB arena).
    pub fn upsert(&self, record: &ConsentRecord) -> Upserted {
        let bsn = record.bsn.get();
        let h = hash(bsn);
        let packed = Packed::from_record(record);
        let mut table = self.shard(h).table.write();
        let (outcome, new_citizen) = table.upsert(bsn, h, packed);
        drop(table);
        if outcome == Upserted::Inserted {
            self.records.fetch_add(1, Ordering::Relaxed);
        }
        if new_citizen {
            self.citizens.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }

    /// Removes the citizen's record with this key; returns whether there was one. A citizen
    /// whose last record goes is removed from the index.
    pub fn remove(&self, bsn: Bsn, key: &RecordKey) -> bool {
        let h = hash(bsn.get());
        let mut table = self.shard(h).table.write();
        let (removed, citizen_gone) = table.remove(bsn.get(), h, &packed_key(key));
        drop(table);
        if removed {
            self.records.fetch_sub(1, Ordering::Relaxed);
        }
        if citizen_gone {
            self.citizens.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Removes all of a citizen's records (account deletion, domain §6.4); returns how many.
    pub fn remove_citizen(&self, bsn: Bsn) -> usize {
        let h = hash(bsn.get());
        let mut table = self.shard(h).table.write();
        let removed = table.remove_citizen(bsn.get(), h);
        drop(table);
        if removed > 0 {
            self.records.fetch_sub(removed, Ordering::Relaxed);
            self.citizens.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Compacts every shard's arena and resizes its bucket table to the target load (0.7).
    /// Takes each shard's write lock in turn; costs one pass over the index (about a second
    /// nationally). Call after a bulk load, or periodically after heavy churn.
    pub fn shrink_to_fit(&self) {
        for shard in self.shards.iter() {
            shard.table.write().shrink_to_fit();
        }
    }

    /// Bytes of heap the index holds (table and arena capacities plus the shard headers): what
    /// its resident memory is, up to the allocator's overhead.
    pub fn heap_bytes(&self) -> usize {
        let headers = self.shards.len() * std::mem::size_of::<Shard>();
        headers
            + self
                .shards
                .iter()
                .map(|s| {
                    let t = s.table.read();
                    t.buckets.len() * std::mem::size_of::<Bucket>()
                        + t.records.capacity() * std::mem::size_of::<Packed>()
                })
                .sum::<usize>()
    }
}

/// Records in a bucket's slot: 3 lines, room for the runs of its citizens at the build load
/// (4.9 citizens of about two records, 9.8 records) with some to spare.
const SLOT_RECORDS: usize = 12;
/// Records per cache line.
const RECORDS_PER_LINE: usize = 64 / std::mem::size_of::<Packed>();
/// A record no lane points at (slot padding): last of its run, and never applies.
const PAD: Packed = Packed {
    holder: 0,
    valid_from: 0,
    valid_until: 0,
    consulting: 0,
    data_category: 0,
    state: STATE_LAST | STATE_MINOR_BLOCKS,
};

impl Table {
    /// Starts loading the slot of the home bucket of `h` — where a compacted arena keeps that
    /// bucket's runs — at the same time as the bucket line itself: both addresses follow from
    /// the hash, so the two memory trips of a lookup overlap instead of following each other.
    /// Plain loads kept by `black_box`; their values are not used.
    #[inline]
    fn prefetch_slot(&self, h: u64) {
        let n = self.buckets.len();
        if n == 0 || self.slotted as usize != n {
            return;
        }
        let slot = home(h, n) * SLOT_RECORDS;
        for line in 0..SLOT_RECORDS / RECORDS_PER_LINE {
            if let Some(r) = self.records.get(slot + line * RECORDS_PER_LINE) {
                std::hint::black_box(r.state);
            }
        }
    }

    /// The arena index of the citizen's first record.
    #[inline]
    fn find(&self, bsn: u32, h: u64) -> Option<u32> {
        self.find_lane(bsn, h)
            .and_then(|(b, lane)| self.buckets.get(b).map(|bucket| bucket.start[lane]))
    }

    /// The bucket and lane of the citizen.
    #[inline]
    fn find_lane(&self, bsn: u32, h: u64) -> Option<(usize, usize)> {
        let n = self.buckets.len();
        if n == 0 {
            return None;
        }
        let mut b = home(h, n);
        // A bucket with no overflow ends every probe, and the table is never full (load ≤
        // 7/8); the bound only guards against a broken invariant becoming an endless loop.
        for _ in 0..n {
            let bucket = &self.buckets[b];
            if let Some(lane) = bucket.lane_of(bsn) {
                return Some((b, lane));
            }
            if bucket.overflow == 0 {
                return None;
            }
            b += 1;
            if b == n {
                b = 0;
            }
        }
        None
    }

    fn run_len(&self, start: usize) -> usize {
        let mut n = 0;
        for r in self.records.get(start..).unwrap_or(&[]) {
            n += 1;
            if r.is_last() {
                break;
            }
        }
        n
    }

    /// Makes room for one more record in the arena, growing by an eighth (not doubling) so
    /// that a shard never holds much unused capacity.
    fn reserve_one(&mut self) {
        if self.records.len() == self.records.capacity() {
            let extra = (self.records.len() / 8).max(16);
            self.records.reserve_exact(extra);
        }
    }

    /// Returns what happened and whether the citizen is new.
    fn upsert(&mut self, bsn: u32, h: u64, mut packed: Packed) -> (Upserted, bool) {
        packed.state |= STATE_LAST;
        let Some((b, lane)) = self.find_lane(bsn, h) else {
            self.grow_for_one_more();
            self.reserve_one();
            let start = self.records.len() as u32;
            self.records.push(packed);
            self.insert_entry(bsn, start, h);
            self.citizens += 1;
            self.live += 1;
            return (Upserted::Inserted, true);
        };
        let start = self.buckets[b].start[lane] as usize;
        let len = self.run_len(start);
        let end = start + len;
        for r in &mut self.records[start..end] {
            if r.same_key(&packed) {
                let last = r.state & STATE_LAST;
                *r = Packed {
                    state: (packed.state & !STATE_LAST) | last,
                    ..packed
                };
                return (Upserted::Replaced, false);
            }
        }
        self.reserve_one();
        if end == self.records.len() {
            // The run is at the end of the arena: grow it in place.
            self.records[end - 1].state &= !STATE_LAST;
            self.records.push(packed);
        } else {
            // Move the run to the end; the old copy becomes garbage.
            if self.records.capacity() - self.records.len() < len + 1 {
                self.records.reserve_exact(len + 1 + self.records.len() / 8);
            }
            let new_start = self.records.len();
            self.records.extend_from_within(start..end);
            if let Some(r) = self.records.last_mut() {
                r.state &= !STATE_LAST;
            }
            self.records.push(packed);
            self.buckets[b].start[lane] = new_start as u32;
        }
        self.live += 1;
        self.maybe_compact();
        (Upserted::Inserted, false)
    }

    /// Returns (record removed, citizen removed).
    fn remove(&mut self, bsn: u32, h: u64, key: &Packed) -> (bool, bool) {
        let Some((b, lane)) = self.find_lane(bsn, h) else {
            return (false, false);
        };
        let start = self.buckets[b].start[lane] as usize;
        let len = self.run_len(start);
        let end = start + len;
        let Some(offset) = self.records[start..end]
            .iter()
            .position(|r| r.same_key(key))
        else {
            return (false, false);
        };
        if len == 1 {
            self.delete_entry(b, lane, h);
            self.citizens -= 1;
            self.release_run(start, end);
            self.live -= 1;
            return (true, true);
        }
        // Move the run's last record into the hole; the run shrinks by one.
        let last = end - 1;
        let moved = self.records[last];
        self.records[start + offset] = Packed {
            state: moved.state & !STATE_LAST,
            ..moved
        };
        self.records[last - 1].state |= STATE_LAST;
        self.release_run(last, end);
        self.live -= 1;
        self.maybe_compact();
        (true, false)
    }

    fn remove_citizen(&mut self, bsn: u32, h: u64) -> usize {
        let Some((b, lane)) = self.find_lane(bsn, h) else {
            return 0;
        };
        let start = self.buckets[b].start[lane] as usize;
        let len = self.run_len(start);
        self.delete_entry(b, lane, h);
        self.citizens -= 1;
        self.release_run(start, start + len);
        self.live -= len as u32;
        self.maybe_compact();
        len
    }

    /// Records `start..end` are no longer used: drop them at once if they end the arena.
    fn release_run(&mut self, start: usize, end: usize) {
        if end == self.records.len() {
            self.records.truncate(start);
        }
    }

    /// Records that are neither live nor slot padding.
    fn garbage(&self) -> usize {
        (self.records.len() - self.live as usize).saturating_sub(self.padding as usize)
    }

    fn maybe_compact(&mut self) {
        let live = self.live as usize;
        let garbage = self.garbage();
        if garbage > live / 4 + 32 {
            self.compact(live / 8 + 16);
        }
    }

    /// Rewrites the arena with only live runs and `spare` records of room at its end. Each
    /// bucket gets a slot of [`SLOT_RECORDS`] records at `b × SLOT_RECORDS`, filled with its
    /// citizens' runs in lane order; runs that do not fit follow all the slots.
    fn compact(&mut self, spare: usize) {
        let old = std::mem::take(&mut self.records);
        let run = |start: u32| {
            let start = start as usize;
            let len = old
                .get(start..)
                .unwrap_or(&[])
                .iter()
                .position(Packed::is_last)
                .map_or(0, |i| i + 1);
            old.get(start..start + len).unwrap_or(&[])
        };
        let slots = self.buckets.len() * SLOT_RECORDS;
        // Where each run goes: its bucket's slot (`Some(offset)`), or, if it does not fit, past
        // all slots (`None`).
        let mut in_slots = 0;
        let mut spilled = 0;
        let mut places = Vec::with_capacity(self.citizens as usize);
        for (b, bucket) in self.buckets.iter().enumerate() {
            let mut at = b * SLOT_RECORDS;
            for lane in (0..LANES).filter(|&l| bucket.bsn[l] != 0) {
                let records_of = run(bucket.start[lane]);
                let len = records_of.len();
                if at + len <= (b + 1) * SLOT_RECORDS {
                    places.push((b, lane, records_of, Some(at)));
                    at += len;
                    in_slots += len;
                } else {
                    places.push((b, lane, records_of, None));
                    spilled += len;
                }
            }
        }
        let mut records = Vec::with_capacity(slots + spilled + spare);
        records.resize(slots, PAD);
        for (b, lane, records_of, slot) in places {
            let at = match slot {
                Some(at) => {
                    records[at..at + records_of.len()].copy_from_slice(records_of);
                    at
                }
                None => {
                    records.extend_from_slice(records_of);
                    records.len() - records_of.len()
                }
            };
            self.buckets[b].start[lane] = at as u32;
        }
        self.padding = (slots - in_slots) as u32;
        self.slotted = self.buckets.len() as u32;
        self.records = records;
    }

    fn shrink_to_fit(&mut self) {
        let want = buckets_for(self.citizens as usize, TARGET_LOAD);
        if want != self.buckets.len() {
            self.rehash(want);
        }
        // Compacting after the rehash lays the runs out in their buckets' slots.
        let slotted = self.slotted as usize == self.buckets.len();
        if !slotted || self.garbage() != 0 {
            self.compact(0);
        } else if self.records.capacity() != self.records.len() {
            self.records.shrink_to_fit();
        }
    }

    fn grow_for_one_more(&mut self) {
        let lanes = self.buckets.len() * LANES;
        if (self.citizens as usize + 1) * MAX_LOAD_DEN > lanes * MAX_LOAD_NUM {
            let want = buckets_for(self.citizens as usize + 1, GROW_LOAD).max(1);
            self.rehash(want);
        }
    }

    fn rehash(&mut self, buckets: usize) {
        let old = std::mem::replace(
            &mut self.buckets,
            vec![Bucket::default(); buckets].into_boxed_slice(),
        );
        // Bucket numbers changed: the runs no longer lie in their buckets' slots.
        self.slotted = 0;
        for bucket in old.iter() {
            for lane in 0..LANES {
                let bsn = bucket.bsn[lane];
                if bsn != 0 {
                    self.insert_entry(bsn, bucket.start[lane], hash(bsn));
                }
            }
        }
    }

    /// Places a citizen in the first bucket with a free lane from its home, counting the
    /// overflow in every full bucket passed. The caller has made sure a lane is free.
    fn insert_entry(&mut self, bsn: u32, start: u32, h: u64) {
        let n = self.buckets.len();
        let mut b = home(h, n);
        for _ in 0..n {
            let bucket = &mut self.buckets[b];
            if let Some(lane) = bucket.lane_of(0) {
                bucket.bsn[lane] = bsn;
                bucket.start[lane] = start;
                return;
            }
            bucket.overflow += 1;
            b += 1;
            if b == n {
                b = 0;
            }
        }
        unreachable!("the bucket table always keeps a free lane (load ≤ 7/8)");
    }

    /// Frees a lane and takes the citizen's probe out of the overflow counts of the buckets
    /// it passed.
    fn delete_entry(&mut self, b: usize, lane: usize, h: u64) {
        let n = self.buckets.len();
        self.buckets[b].bsn[lane] = 0;
        self.buckets[b].start[lane] = 0;
        let mut p = home(h, n);
        while p != b {
            self.buckets[p].overflow -= 1;
            p += 1;
            if p == n {
                p = 0;
            }
        }
    }
}

/// Buckets for `citizens` at `load` (0 for none).
fn buckets_for(citizens: usize, load: f64) -> usize {
    if citizens == 0 {
        0
    } else {
        ((citizens as f64 / (LANES as f64 * load)).ceil() as usize).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::generate::{Generator, SplitMix64};

    /// The vector lane compare finds the first lane equal to the BSN, as a plain scan does,
    /// on every lane, with repeats, free lanes (0) and values that differ in one bit.
    #[test]
    fn lane_compare_matches_a_scan() {
        let mut rng = SplitMix64::new(7);
        let pool = [0u32, 1, 999_990_019, 999_990_019 ^ 1, u32::MAX, 0x8000_0000];
        for _ in 0..20_000 {
            let mut bucket = Bucket::default();
            for lane in bucket.bsn.iter_mut() {
                *lane = pool[rng.below(pool.len() as u64) as usize];
            }
            bucket.overflow = pool[rng.below(pool.len() as u64) as usize];
            for &bsn in &pool {
                let naive = bucket.bsn.iter().position(|&b| b == bsn);
                assert_eq!(bucket.lane_of(bsn), naive, "{:?} {bsn}", bucket.bsn);
            }
        }
    }

    /// After a build, the runs lie in their buckets' slots (a few spill past them), so the
    /// lines a lookup reads ahead are the ones it then needs; the padding is not counted as
    /// garbage. A rehash marks the layout stale until the next compaction.
    #[test]
    fn runs_lie_in_their_buckets_slots_after_a_build() {
        let catalogue = Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json"))
            .expect("the shipped catalogue loads");
        let generator = Generator::new(&catalogue, 5, 20_000).expect("generator");
        let index = ConsentIndex::from_records(&catalogue, generator.records());
        let (mut in_slot, mut spilled) = (0usize, 0usize);
        for shard in index.shards.iter() {
            let t = shard.table.read();
            assert_eq!(t.slotted as usize, t.buckets.len());
            assert_eq!(t.garbage(), 0);
            let slots = t.buckets.len() * SLOT_RECORDS;
            for (b, bucket) in t.buckets.iter().enumerate() {
                for lane in (0..LANES).filter(|&l| bucket.bsn[l] != 0) {
                    let start = bucket.start[lane] as usize;
                    let end = start + t.run_len(start);
                    if start >= slots {
                        spilled += 1;
                    } else {
                        assert!(start >= b * SLOT_RECORDS && end <= (b + 1) * SLOT_RECORDS);
                        in_slot += 1;
                    }
                }
            }
        }
        assert_eq!(in_slot + spilled, index.len());
        assert!(
            spilled * 10 < index.len(),
            "{spilled} of {} spilled",
            index.len()
        );
        let mut table = index.shards[0].table.write();
        let grown = table.buckets.len() * 2;
        table.rehash(grown);
        assert_eq!(table.slotted, 0);
    }
}
