//! Golden files: every JSON shape Credence ever wrote stays readable.
//!
//! `tests/golden/` (at the repository root) holds one directory per released
//! shape; the files are never edited, only added to (see its README). Each
//! file is checked line by line through [`check`] against the typed events
//! written out here: an old shape must decode (upcasting on the way) to
//! today's events, and the current shape must also re-encode byte for byte.

mod common;

use std::collections::BTreeSet;

use credence_events::codec;
use credence_events::{Deferral, Event, EventEnvelope, ServiceLevel, Terms, TermsChanged};
use serde_json::Value;

use common::{eur, golden_0_1_0, rate};

/// The golden directory, at the repository root.
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden");

/// What a golden file is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Written by an older build: every line decodes to the expected events.
    Old,
    /// What this build writes: every line also re-encodes byte for byte.
    /// When an event type in the file gets a new schema version, its file
    /// becomes [`Shape::Old`] and a new golden directory holds the new shape.
    Current,
}

/// Decodes every line of `file` (relative to [`GOLDEN`]) and compares it with
/// `expected`, line by line.
#[track_caller]
fn check(file: &str, shape: Shape, expected: &[EventEnvelope]) {
    let lines = read_lines(file);
    assert_eq!(
        lines.len(),
        expected.len(),
        "{file}: {} lines, {} expected events",
        lines.len(),
        expected.len()
    );
    for (n, (line, expected)) in lines.iter().zip(expected).enumerate() {
        let at = format!("{file}:{}", n + 1);
        let decoded = codec::decode(line).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(decoded, *expected, "{at}: decoded event differs");
        if shape == Shape::Current {
            assert_eq!(
                codec::encode(&decoded),
                *line,
                "{at}: the current JSON shape changed; add a new golden directory and an upcaster instead"
            );
        }
    }
}

/// The lines of a golden file, which must end with a newline and hold no
/// blank or carriage-return-terminated lines.
#[track_caller]
fn read_lines(file: &str) -> Vec<String> {
    let path = format!("{GOLDEN}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(text.ends_with('\n'), "{file}: no final newline");
    text.lines()
        .map(|line| {
            assert!(!line.trim().is_empty(), "{file}: blank line");
            assert!(!line.ends_with('\r'), "{file}: CRLF line ending");
            line.to_owned()
        })
        .collect()
}

/// The `(type, schema)` of every line of `file`, read from the raw JSON.
#[track_caller]
fn types_and_schemas(file: &str) -> Vec<(String, u64)> {
    read_lines(file)
        .iter()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("golden lines are JSON");
            let name = value["type"].as_str().expect("a type name").to_owned();
            let schema = value["schema"].as_u64().expect("a schema number");
            (name, schema)
        })
        .collect()
}

/// The golden directories this test knows, oldest first.
const DIRECTORIES: &[&str] = &["schema-v1", "0.1.0"];

/// The events of `schema-v1/events.jsonl`: those of 0.1.0, except that its
/// `TermsChanged` is a v1 payload (`deferral_days: 14`, nothing else known
/// about the kind of days) that upcasts to a calendar-day deferral.
fn schema_v1() -> Vec<EventEnvelope> {
    let mut events = golden_0_1_0();
    let terms_changed = events
        .iter_mut()
        .find(|e| e.event.type_name() == "TermsChanged")
        .expect("0.1.0 has a TermsChanged");
    terms_changed.event = TermsChanged {
        terms: Terms {
            credit_limit: eur("30000.00"),
            deferral: Deferral::calendar(14),
            base_discount: rate("2"),
            markup: rate("0"),
            bonus: rate("0"),
            service_level: ServiceLevel::Standard,
        },
    }
    .into();
    events
}

#[test]
fn schema_v1_decodes_to_current_events() {
    check("schema-v1/events.jsonl", Shape::Old, &schema_v1());
}

#[test]
fn release_0_1_0_decodes_and_re_encodes_byte_for_byte() {
    check("0.1.0/events.jsonl", Shape::Current, &golden_0_1_0());
}

#[test]
fn v1_terms_changed_becomes_calendar_day_deferral() {
    let lines = read_lines("schema-v1/events.jsonl");
    let line = lines
        .iter()
        .find(|line| line.contains(r#""type":"TermsChanged""#))
        .expect("a TermsChanged line");
    assert!(
        line.contains(r#""schema":1,"data":{"credit_limit":"#),
        "{line}"
    );
    assert!(line.contains(r#""deferral_days":14"#), "{line}");

    let decoded = codec::decode(line).expect("v1 decodes");
    let Event::TermsChanged(TermsChanged { terms }) = &decoded.event else {
        panic!("expected TermsChanged, got {:?}", decoded.event);
    };
    assert_eq!(terms.deferral, Deferral::calendar(14));
    // Written again, it takes the current shape.
    let again = codec::encode(&decoded);
    assert!(again.contains(r#""schema":2,"data":{"terms":{"#), "{again}");
    assert!(
        again.contains(r#""deferral":{"days":14,"kind":"calendar"}"#),
        "{again}"
    );
}

#[test]
fn schema_v1_holds_every_type_once_at_schema_1() {
    let found = types_and_schemas("schema-v1/events.jsonl");
    let names: BTreeSet<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.len(), found.len(), "a type appears twice: {found:?}");
    for (name, schema) in &found {
        assert_eq!(*schema, 1, "{name} is not at schema 1");
    }
    let release: BTreeSet<String> = types_and_schemas("0.1.0/events.jsonl")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        names,
        release.iter().map(String::as_str).collect(),
        "schema-v1 and 0.1.0 hold different types"
    );
}

/// Every type at its current schema has a golden sample somewhere: a new
/// type or a new schema version needs a new golden directory.
#[test]
fn every_current_schema_has_a_golden_sample() {
    let mut sampled = BTreeSet::new();
    for directory in DIRECTORIES {
        let file = format!("{directory}/events.jsonl");
        let found = types_and_schemas(&file);
        let names: BTreeSet<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names.len(), found.len(), "{file}: a type appears twice");
        sampled.extend(found);
    }
    for (name, schema) in Event::TYPES {
        assert!(
            sampled.contains(&(name.to_string(), u64::from(*schema))),
            "no golden sample of {name} at schema {schema}"
        );
    }
}

#[test]
fn every_golden_directory_is_checked() {
    let mut on_disk: Vec<String> = std::fs::read_dir(GOLDEN)
        .expect("tests/golden exists")
        .map(|entry| entry.expect("readable directory"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = DIRECTORIES.iter().map(|d| d.to_string()).collect();
    known.sort();
    assert_eq!(
        on_disk, known,
        "a golden directory has no check in golden.rs"
    );
}
