//! Record formats across builds: checked-in logs written by earlier builds
//! stay readable, and what this build writes is pinned byte for byte.
//!
//! `tests/fixtures/` holds two small logs of the same events (every event
//! type, from the 0.1.0 golden file, plus the schema-v1 golden events on a
//! second stream), appended in batches over several segments:
//!
//! * `json-log/`: written by the build before the binary payload encoding
//!   (record kind 1, JSON payloads). Never regenerated: it stands for logs
//!   in the field.
//! * `binary-log/`: written by this build (record kind 2, binary payloads).
//!   A change of the binary encoding or of the record layout makes
//!   [`this_build_writes_the_binary_fixture_byte_for_byte`] fail; an intended
//!   change needs a new record kind or schema version, and the old fixture
//!   stays (see `docs/storage.md`). Written by
//!   `CREDENCE_REGENERATE_FIXTURES=1 cargo test -p credence-store --test tests
//!   write_fixture_on_request` only when a new fixture directory is added.

use std::fs;
use std::path::{Path, PathBuf};

use credence_events::{EventEnvelope, EventId, GlobalPosition, NewEvent, StreamId, StreamVersion};
use credence_store::file::format::{
    KIND_EVENT_BINARY, KIND_EVENT_JSON, Payload, SEGMENT_HEADER_LEN, decode_record,
};
use credence_store::{Durability, EventStore, ExpectedVersion, FileOptions, FileStore};

const FIXTURE_SEGMENT_SIZE: u64 = 4096;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fixture's appends: the 0.1.0 golden events on `ACME-042` in batches
/// of three, then the schema-v1 golden events (upcast on decoding) on
/// `OLD-V1` in batches of four. Event ids are renumbered 1, 2, … so that the
/// two files do not collide.
fn appends() -> Vec<(StreamId, Vec<NewEvent>)> {
    let mut out = Vec::new();
    let mut n = 0u128;
    for (file, stream, batch) in [
        ("tests/golden/0.1.0/events.jsonl", "ACME-042", 3),
        ("tests/golden/schema-v1/events.jsonl", "OLD-V1", 4),
    ] {
        let text = fs::read_to_string(root().join(file)).unwrap();
        let events: Vec<NewEvent> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                n += 1;
                let mut event = credence_events::codec::decode(line).unwrap().to_new_event();
                event.id = EventId::from_u128(n);
                event
            })
            .collect();
        let stream = StreamId::new(stream).unwrap();
        for chunk in events.chunks(batch) {
            out.push((stream.clone(), chunk.to_vec()));
        }
    }
    out
}

/// The envelopes the fixture holds, in log order.
fn expected() -> Vec<EventEnvelope> {
    let mut out = Vec::new();
    let mut versions = std::collections::BTreeMap::new();
    for (stream, events) in appends() {
        for event in events {
            let version = versions.entry(stream.clone()).or_insert(0u64);
            *version += 1;
            out.push(event.into_envelope(
                stream.clone(),
                StreamVersion(*version),
                GlobalPosition(out.len() as u64 + 1),
            ));
        }
    }
    out
}

fn write_log(dir: &Path) {
    let store = FileStore::open(
        dir,
        FileOptions::with_durability(Durability::Buffered).segment_size(FIXTURE_SEGMENT_SIZE),
    )
    .unwrap();
    for (stream, events) in appends() {
        store
            .append(&stream, ExpectedVersion::Any, &events)
            .unwrap();
    }
}

/// The segment files of a log directory, by name.
fn segments(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// A writable copy of a checked-in fixture (the store locks and may repair
/// its directory).
fn copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (file, bytes) in segments(&fixture_dir(name)) {
        fs::write(dir.path().join(file), bytes).unwrap();
    }
    dir
}

/// The record kinds in a log's segments.
fn kinds(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, bytes) in segments(dir) {
        let mut at = SEGMENT_HEADER_LEN;
        while at < bytes.len() {
            let (raw, body, len) = decode_record(&bytes[at..]).unwrap();
            assert_eq!(
                matches!(raw.payload, Payload::Json(_)),
                body[0] == KIND_EVENT_JSON
            );
            out.push(body[0]);
            at += len;
        }
    }
    out
}

fn check_reads(name: &str, kind: u8) {
    let expected = expected();
    let dir = copy(name);
    assert!(segments(dir.path()).len() > 1, "{name} spans segments");
    assert_eq!(kinds(dir.path()), vec![kind; expected.len()]);
    let store = FileStore::open(
        dir.path(),
        FileOptions::default().verify_chain_on_open(true),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(store.recovery_report().torn_tail, None);
    assert_eq!(
        store.read_all(GlobalPosition::START, usize::MAX).unwrap(),
        expected
    );
    let acme = StreamId::new("ACME-042").unwrap();
    assert_eq!(
        store
            .read_stream(&acme, StreamVersion(1), usize::MAX)
            .unwrap(),
        expected
            .iter()
            .filter(|e| e.stream == acme)
            .cloned()
            .collect::<Vec<_>>()
    );
    let report = store.verify().unwrap();
    assert_eq!(report.events, expected.len() as u64);
}

#[test]
fn a_json_log_written_before_the_binary_encoding_still_reads() {
    check_reads("json-log", KIND_EVENT_JSON);
}

#[test]
fn the_binary_fixture_reads() {
    check_reads("binary-log", KIND_EVENT_BINARY);
}

#[test]
fn this_build_writes_the_binary_fixture_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path());
    let written = segments(dir.path());
    let pinned = segments(&fixture_dir("binary-log"));
    assert_eq!(written.len(), pinned.len());
    for ((name, bytes), (pinned_name, pinned_bytes)) in written.iter().zip(&pinned) {
        assert_eq!(name, pinned_name);
        assert!(
            bytes == pinned_bytes,
            "{name} differs from the checked-in binary fixture"
        );
    }
    // Binary records are smaller than the JSON ones they replace.
    let total = |s: &[(String, Vec<u8>)]| s.iter().map(|(_, b)| b.len()).sum::<usize>();
    assert!(total(&written) < total(&segments(&fixture_dir("json-log"))));
}

#[test]
fn a_json_log_continued_by_this_build_mixes_kinds_and_verifies() {
    let dir = copy("json-log");
    let expected = expected();
    let acme = StreamId::new("ACME-042").unwrap();
    let more: Vec<NewEvent> = expected
        .iter()
        .filter(|e| e.stream == acme)
        .take(5)
        .map(|e| {
            let mut event = e.to_new_event();
            event.id = EventId::from_u128(1000 + u128::from(e.version.0));
            event
        })
        .collect();
    {
        let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
        store
            .append(&acme, ExpectedVersion::Any, &more[..2])
            .unwrap();
        store
            .append(&acme, ExpectedVersion::Any, &more[2..])
            .unwrap();
    }
    let mut kinds_expected = vec![KIND_EVENT_JSON; expected.len()];
    kinds_expected.extend([KIND_EVENT_BINARY; 5]);
    assert_eq!(kinds(dir.path()), kinds_expected);
    let store = FileStore::open(
        dir.path(),
        FileOptions::default().verify_chain_on_open(true),
    )
    .unwrap();
    let all = store.read_all(GlobalPosition::START, usize::MAX).unwrap();
    assert_eq!(all[..expected.len()], expected[..]);
    assert_eq!(all.len(), expected.len() + 5);
    for (stored, new) in all[expected.len()..].iter().zip(&more) {
        assert_eq!(stored.to_new_event(), *new);
    }
    assert_eq!(store.verify().unwrap().events, all.len() as u64);
}

/// Writes `tests/fixtures/$CREDENCE_FIXTURE_NAME` with this build when
/// `CREDENCE_REGENERATE_FIXTURES=1`; otherwise does nothing. Only for adding
/// a fixture: the checked-in ones are never rewritten.
#[test]
fn write_fixture_on_request() {
    if std::env::var_os("CREDENCE_REGENERATE_FIXTURES").is_none() {
        return;
    }
    let name = std::env::var("CREDENCE_FIXTURE_NAME").unwrap_or_else(|_| "binary-log".into());
    let target = fixture_dir(&name);
    assert!(!target.exists(), "{} exists", target.display());
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path());
    fs::create_dir_all(&target).unwrap();
    for (file, bytes) in segments(dir.path()) {
        fs::write(target.join(file), bytes).unwrap();
    }
}
