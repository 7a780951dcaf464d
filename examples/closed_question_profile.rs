//! Instruction-count harness for the closed-question codec: runs one stage N times over
//! `fixtures/soap/bench-5k.xml`, for `valgrind --tool=callgrind` (deterministic, unlike timings
//! on a shared machine).
//!
//! `cargo build --release --example closed_question_profile`, then
//! `valgrind --tool=callgrind target/release/examples/closed_question_profile parse 1000 [FILE]`
//! (stages: `walk`, `cursor` (Akkoord's tokenizer alone), `parse`, `write`, `both`); compare with `walk` at the same N.

use std::hint::black_box;
use std::sync::Arc;

use pdp_core::protocol::soap::{parse_closed_question, write_closed_answer};
use pdp_core::xacml::request::RequestCategory;
use pdp_core::xacml::response::{Decision, DecisionResult, Response, Status};
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::xml::stream::{Item, XmlCursor};
use quick_xml::events::Event;
use quick_xml::Reader;

fn bare_walk(bytes: &[u8]) -> usize {
    let mut reader = Reader::from_reader(bytes);
    let mut events = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return events,
            Ok(_) => events += 1,
            Err(e) => panic!("the fixture is well-formed: {e}"),
        }
    }
}

/// Akkoord's own tokenizer over the same bytes: every item, nothing decoded, nothing kept.
fn cursor_walk(bytes: &[u8], limits: &XmlLimits) -> usize {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"));
    let mut cursor = XmlCursor::new(text, limits);
    let mut items = 0usize;
    loop {
        match cursor.next_item() {
            Ok(Item::Eof) => return items,
            Ok(_) => items += 1,
            Err(e) => panic!("the fixture is well-formed: {e:?}"),
        }
    }
}

/// Three Permit results echoing the resource and one action category each, as the consent
/// service answers the fixture.
fn answer(categories: &[RequestCategory]) -> Response {
    let mut response = Response {
        results: Vec::with_capacity(3),
    };
    for category in &categories[1..4] {
        let mut result = DecisionResult::new(Decision::Permit, Status::ok());
        result.attributes =
            vec![Arc::new(categories[0].clone()), Arc::new(category.clone())].into();
        response.results.push(result);
    }
    response
}

fn main() {
    let mut args = std::env::args().skip(1);
    let stage = args.next().unwrap_or_else(|| "parse".to_string());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    // An optional third argument names another request file (to see what its shape costs).
    let path = args.next().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/soap/bench-5k.xml").to_string()
    });
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let limits = XmlLimits::default();
    let mut out = String::with_capacity(8 * 1024);
    let mut total = 0usize;
    if stage == "write" {
        let envelope =
            parse_closed_question(&bytes, &limits, None).unwrap_or_else(|f| panic!("{f}"));
        let response = answer(&envelope.request.categories);
        for _ in 0..n {
            out.clear();
            write_closed_answer(
                black_box(&response),
                envelope.message_id.as_deref(),
                &mut out,
            );
            total += out.len();
        }
        println!("{stage} x{n}: {total}");
        return;
    }
    for _ in 0..n {
        match stage.as_str() {
            "walk" => total += bare_walk(black_box(&bytes)),
            "cursor" => total += cursor_walk(black_box(&bytes), &limits),
            "parse" | "both" => {
                let envelope = parse_closed_question(black_box(&bytes), &limits, None)
                    .unwrap_or_else(|f| panic!("{f}"));
                if stage == "both" {
                    let response = answer(&envelope.request.categories);
                    out.clear();
                    write_closed_answer(&response, envelope.message_id.as_deref(), &mut out);
                    total += out.len();
                } else {
                    total += envelope.request.categories.len();
                }
            }
            other => panic!("unknown stage {other}"),
        }
    }
    println!("{stage} x{n}: {total}");
}
