//! Learned message shapes (`protocol::shape`) answer exactly as the full parse does: every
//! client-shaped fixture in `fixtures/soap/`, with its values (HL7 parts, WS-Addressing
//! headers) replaced by random ones — valid and invalid BSNs, known and unknown codes, empty
//! values, white space, entity references, `<`, quotes, non-ASCII, long values — gets the same
//! answer bytes or the same fault from a service with shapes as from one without. Plain new
//! values are read through the shape (no second full parse), so the test fails if the shape
//! path is never taken.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::generate::Generator;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::ClosedQuestionService;
use pdp_core::protocol::soap::SoapFault;
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::xml::doc::XmlLimits;
use proptest::prelude::*;
use regex::Regex;

mod support;
use support::{shipped_catalogue, shipped_service};

const CITIZENS: u64 = 2_000;

const FIXTURES: &[&str] = &[
    "bastion365.xml",
    "bench-5k.xml",
    "coc.xml",
    "composed-2.8.xml",
    "default-namespaces.xml",
    "etreat.xml",
    "nuts-knooppunt.xml",
    "rust-crate.xml",
];

fn fixture(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "fixtures", "soap", name]
        .iter()
        .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct World {
    generator: Generator,
    /// Every question parsed in full (no shapes).
    full: ClosedQuestionService,
    /// The default: shapes learned and used.
    shaped: ClosedQuestionService,
    fixtures: Vec<(String, Vec<Hole>)>,
}

/// A value in a fixture that a shape may read from a hole: its byte range and what it is.
#[derive(Clone, Debug)]
struct Hole {
    start: usize,
    end: usize,
    name: String,
}

impl Hole {
    /// A part a shape reads from the message; the others (`root`, `codeSystem`,
    /// `assigningAuthorityName`) are fixed parts of the shape: a message that changes one is
    /// another shape.
    fn read_by_shape(&self) -> bool {
        matches!(
            self.name.as_str(),
            "extension"
                | "code"
                | "displayName"
                | "MessageID"
                | "Action"
                | "To"
                | "ID"
                | "IssueInstant"
        )
    }
}

fn holes(text: &str) -> Vec<Hole> {
    let attr = Regex::new(
        r#"\b(root|extension|assigningAuthorityName|code|codeSystem|displayName|ID|IssueInstant)="([^"]*)""#,
    )
    .expect("regex");
    let header = Regex::new(r"<(?:\w+:)?(MessageID|Action|To)\b[^>]*>([^<]*)<").expect("regex");
    let mut found: Vec<Hole> = Vec::new();
    for re in [&attr, &header] {
        for c in re.captures_iter(text) {
            if let (Some(name), Some(value)) = (c.get(1), c.get(2)) {
                found.push(Hole {
                    start: value.start(),
                    end: value.end(),
                    name: name.as_str().to_string(),
                });
            }
        }
    }
    found.sort_by_key(|h| h.start);
    found
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let catalogue = shipped_catalogue();
        let generator = Generator::new(&catalogue, 11, CITIZENS).expect("generator");
        let parts = generator
            .partitions(1)
            .into_iter()
            .map(|r| generator.records_in(r))
            .collect();
        let index = Arc::new(ConsentIndex::from_partitions(
            &catalogue,
            CITIZENS as usize,
            CITIZENS as usize * 2,
            parts,
        ));
        let full = service_over(&catalogue, &index, 0);
        let shaped = service_over(&catalogue, &index, 64);
        let fixtures = FIXTURES
            .iter()
            .map(|f| {
                let text = fixture(f);
                let h = holes(&text);
                assert!(h.len() >= 5, "{f}: the fixture has its values");
                (text, h)
            })
            .collect();
        World {
            generator,
            full,
            shaped,
            fixtures,
        }
    })
}

fn time(w: &World) -> RequestTime {
    RequestTime {
        unix_secs: w.generator.now(),
        nanos: 0,
    }
}

fn answer(
    service: &ClosedQuestionService,
    bytes: &[u8],
    t: RequestTime,
) -> Result<String, SoapFault> {
    let mut out = String::new();
    service
        .answer(bytes, &XmlLimits::default(), t, &mut out)
        .map(|()| out)
}

/// A replacement for a hole, chosen by `c`; plain choices (`c < 8`) are values a shape reads.
fn replacement(w: &World, hole: &Hole, c: u32) -> Option<String> {
    let pick = |list: &[&str]| list[(c as usize / 32) % list.len()].to_string();
    let header = matches!(hole.name.as_str(), "MessageID" | "Action" | "To");
    Some(match c % 32 {
        0 if header => format!("urn:uuid:00000000-0000-4000-8000-{:012}", c),
        0 => w.generator.bsn(u64::from(c) % CITIZENS).to_string(),
        1 if header => pick(&["urn:x", "http://example.test/a/b?c=d", "é€ü"]),
        1 => w.generator.provider(c).0.to_string(),
        2 => pick(&["GGC002", "GGC003", "GGC012", "GGC013", "GGC999"]),
        3 => pick(&["V6", "J8", "Z3", "T2", "G5", "XX", "01.015", "17.000"]),
        4 => pick(&["TREAT", "ETREAT", "COC", "OTHER"]),
        5 => "9".repeat(1 + c as usize % 300),
        6 => pick(&["é€ü", "it's", "x>y", "CIBG"]),
        7 => (c % 1_000_000_007).to_string(),
        // Not plain: the parser changes or refuses these, so the full parse answers.
        8 => String::new(),
        9 => pick(&[" 999990019 ", "  ", "a b"]),
        10 => pick(&["a&amp;b", "&#57;99990019", "&unknown;", "&"]),
        11 => pick(&["x\ty", "x\ny", "x\r\ny"]),
        12 => pick(&["a<b", "<", "a</x>"]),
        13 => pick(&["quote\"inside", "\"", "\" extra=\"1"]),
        14 => pick(&["]]>", "<!-- c -->", "<![CDATA[x]]>"]),
        _ => return None,
    })
}

fn variant(w: &World, fixture: usize, choices: &[u32]) -> (String, bool) {
    let (text, holes) = &w.fixtures[fixture];
    let mut out = String::with_capacity(text.len() + 64);
    let mut prev = 0;
    let mut plain = true;
    for (k, hole) in holes.iter().enumerate() {
        let c = choices.get(k).copied().unwrap_or(u32::MAX);
        out.push_str(&text[prev..hole.start]);
        match replacement(w, hole, c) {
            Some(v) => {
                plain &= c % 32 < 8;
                out.push_str(&v);
            }
            None => out.push_str(&text[hole.start..hole.end]),
        }
        prev = hole.end;
    }
    out.push_str(&text[prev..]);
    (out, plain)
}

/// Both services answer `bytes` alike; returns whether the shaped one parsed in full.
fn same_answer(w: &World, bytes: &[u8]) -> bool {
    same_answer_with(w, &w.shaped, bytes)
}

fn same_answer_with(w: &World, shaped_service: &ClosedQuestionService, bytes: &[u8]) -> bool {
    let t = time(w);
    let misses = shaped_service.shape_stats().misses;
    let shaped = answer(shaped_service, bytes, t);
    let full = answer(&w.full, bytes, t);
    assert_eq!(
        shaped,
        full,
        "shaped and full parse differ on:\n{}",
        String::from_utf8_lossy(bytes)
    );
    shaped_service.shape_stats().misses > misses
}

/// A service of its own with shapes (the shared one learns shapes from other tests too, and
/// may drop some to make room), over the same index as `w.full`.
fn own_service(w: &World, capacity: usize) -> ClosedQuestionService {
    service_over(w.full.catalogue(), w.full.index(), capacity)
}

/// The shipped policy over `index`, keeping at most `capacity` shapes.
fn service_over(
    catalogue: &Arc<Catalogue>,
    index: &Arc<ConsentIndex>,
    capacity: usize,
) -> ClosedQuestionService {
    shipped_service(catalogue, index).with_shape_capacity(capacity)
}

#[test]
fn plain_new_values_are_read_through_the_learned_shape() {
    let w = world();
    let service = own_service(w, 64);
    for (f, (text, holes)) in w.fixtures.iter().enumerate() {
        // The fixture itself is learned on its first answer.
        assert!(same_answer_with(w, &service, text.as_bytes()));
        for round in 0..40u32 {
            let choices: Vec<u32> = (0..holes.len() as u32)
                .zip(holes)
                .map(|(k, h)| {
                    if h.read_by_shape() {
                        (round * 7 + k * 13) % 8 + 32 * (round + k)
                    } else {
                        u32::MAX
                    }
                })
                .collect();
            let (v, plain) = variant(w, f, &choices);
            assert!(plain);
            let parsed_in_full = same_answer_with(w, &service, v.as_bytes());
            assert!(
                !parsed_in_full,
                "{}: a plain variant was parsed in full:\n{v}",
                FIXTURES[f]
            );
        }
    }
    let stats = service.shape_stats();
    assert_eq!(stats.misses, w.fixtures.len() as u64, "{stats:?}");
}

#[test]
fn a_changed_root_or_code_system_is_another_shape() {
    let w = world();
    let service = own_service(w, 64);
    for (f, (text, holes)) in w.fixtures.iter().enumerate() {
        assert!(same_answer_with(w, &service, text.as_bytes()));
        for (k, hole) in holes.iter().enumerate() {
            if hole.read_by_shape() {
                continue;
            }
            let mut choices = vec![u32::MAX; holes.len()];
            choices[k] = 7 + 32 * k as u32;
            let (v, _) = variant(w, f, &choices);
            assert!(
                same_answer_with(w, &service, v.as_bytes()),
                "{}: a new {} was read through the old shape",
                FIXTURES[f],
                hole.name
            );
        }
    }
}

#[test]
fn a_service_without_shapes_never_learns() {
    let w = world();
    let service = own_service(w, 0);
    for (text, _) in w.fixtures.iter().chain(&w.fixtures) {
        let _ = answer(&service, text.as_bytes(), time(w));
    }
    let stats = service.shape_stats();
    let asked = 2 * w.fixtures.len() as u64;
    assert_eq!((stats.shapes, stats.learned, stats.misses), (0, 0, asked));
}

#[test]
fn concurrent_answers_learn_each_shape_once_and_agree() {
    let w = world();
    let service = own_service(w, 64);
    std::thread::scope(|s| {
        for thread in 0..4u32 {
            let service = &service;
            s.spawn(move || {
                for round in 0..30u32 {
                    let f = ((round + thread) as usize) % w.fixtures.len();
                    let choices: Vec<u32> = (0..64u32)
                        .zip(w.fixtures[f].1.iter())
                        .map(|(k, h)| {
                            if h.read_by_shape() {
                                (round + k) % 8 + 32 * k
                            } else {
                                u32::MAX
                            }
                        })
                        .collect();
                    let (v, plain) = variant(w, f, &choices);
                    assert!(plain);
                    same_answer_with(w, service, v.as_bytes());
                }
            });
        }
    });
    let stats = service.shape_stats();
    assert_eq!(stats.shapes, w.fixtures.len(), "{stats:?}");
    assert_eq!(stats.learned, w.fixtures.len() as u64, "{stats:?}");
}

#[test]
fn a_full_cache_makes_room_for_new_shapes() {
    let w = world();
    let service = own_service(w, 2);
    let t = time(w);
    let mut out = String::new();
    let mut ask = |f: usize| {
        out.clear();
        let before = service.shape_stats();
        let _ = service.answer(
            w.fixtures[f].0.as_bytes(),
            &XmlLimits::default(),
            t,
            &mut out,
        );
        let after = service.shape_stats();
        (after.misses > before.misses, after.learned > before.learned)
    };
    // Until the cache is full, every miss is learned.
    assert_eq!(ask(0), (true, true));
    assert_eq!(ask(1), (true, true));
    assert_eq!((ask(0), ask(1)), ((false, false), (false, false)));
    // Full: a new form is learned within eight of its messages (one miss in eight is), and
    // the oldest shape makes room for it.
    let mut asked = 0;
    loop {
        asked += 1;
        let (missed, learned) = ask(2);
        assert!(missed);
        if learned {
            break;
        }
        assert!(
            asked < 8,
            "a new form was not learned within eight messages"
        );
    }
    assert_eq!(ask(2), (false, false));
    assert_eq!(ask(1), (false, false));
    assert!(ask(0).0, "the oldest shape made room");
    assert_eq!(service.shape_stats().shapes, 2);
}

#[test]
fn a_shape_is_used_only_under_the_limits_it_was_learned_with() {
    let w = world();
    let (text, _) = &w.fixtures[1];
    let t = time(w);
    let mut out = String::new();
    let _ = w
        .shaped
        .answer(text.as_bytes(), &XmlLimits::default(), t, &mut out);
    let tight = XmlLimits {
        max_bytes: text.len() - 1,
        ..XmlLimits::default()
    };
    let shaped = w.shaped.answer(text.as_bytes(), &tight, t, &mut out);
    let full = w.full.answer(text.as_bytes(), &tight, t, &mut out);
    assert!(shaped.is_err());
    assert_eq!(shaped, full);
    let shallow = XmlLimits {
        max_depth: 4,
        ..XmlLimits::default()
    };
    let shaped = w.shaped.answer(text.as_bytes(), &shallow, t, &mut out);
    assert!(shaped.is_err());
    assert_eq!(
        shaped,
        w.full.answer(text.as_bytes(), &shallow, t, &mut out)
    );
}

/// Each value the parser changes or refuses, in a header hole and in an HL7 part of every
/// fixture, after the fixture's shape is learned: the same answer or fault as the full parse.
#[test]
fn values_the_parser_changes_are_answered_alike() {
    let w = world();
    let service = own_service(w, 64);
    for (f, (text, holes)) in w.fixtures.iter().enumerate() {
        assert!(same_answer_with(w, &service, text.as_bytes()));
        let header = holes.iter().position(|h| h.name == "MessageID");
        let extension = holes.iter().position(|h| h.name == "extension");
        for at in [header, extension].into_iter().flatten() {
            for kind in 8..15u32 {
                for pick in 0..4u32 {
                    let mut choices = vec![u32::MAX; holes.len()];
                    choices[at] = kind + 32 * pick;
                    let (v, plain) = variant(w, f, &choices);
                    assert!(!plain);
                    same_answer_with(w, &service, v.as_bytes());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    /// Any values in any fixture: most holes keep their value or get a plain new one (read
    /// through the shape), up to three get one the parser changes or refuses. The same
    /// answer or fault either way.
    #[test]
    fn shaped_answers_equal_full_parse_answers(
        fixture in 0..FIXTURES.len(),
        plain in prop::collection::vec(any::<u32>(), 64),
        special in prop::collection::vec((0usize..64, 8u32..15, any::<u32>()), 0..4),
        prime in any::<bool>(),
    ) {
        let w = world();
        if prime {
            same_answer(w, w.fixtures[fixture].0.as_bytes());
        }
        // Plain choices (`% 32 < 8`) or the fixture's value (`% 32 >= 15`), half and half.
        let mut choices: Vec<u32> = plain
            .iter()
            .map(|c| if c % 2 == 0 { (c / 2) % 8 + 32 * (c / 64) } else { 31 })
            .collect();
        let holes = w.fixtures[fixture].1.len();
        for (at, kind, pick) in special {
            choices[at % holes] = kind + 32 * (pick % 64);
        }
        let (v, _) = variant(w, fixture, &choices);
        same_answer(w, v.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Bytes changed, inserted or cut anywhere in a learned fixture (markup included): no
    /// panic, and the same answer or fault with shapes as without.
    #[test]
    fn mutated_bytes_are_answered_alike(
        fixture in 0..FIXTURES.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
    ) {
        let w = world();
        let mut bytes = w.fixtures[fixture].0.clone().into_bytes();
        same_answer(w, &bytes);
        for (at, kind, byte) in edits {
            let at = at.index(bytes.len());
            match kind {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        same_answer(w, &bytes);
    }
}
