//! Replays the committed fuzz corpus through the decoders: none may panic.
//!
//! The corpus lives in `fuzz/corpus/<target>/` at the repository root; a
//! long `cargo fuzz run` adds to it, and this test keeps every input found
//! so far in CI.

use std::fs;
use std::path::PathBuf;

use credence_events::Event;
use credence_store::file::format::{Payload, decode_record};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out = Vec::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        out.push((path, bytes));
    }
    assert!(!out.is_empty(), "the corpus {} is empty", dir.display());
    out
}

#[test]
fn record_decoder_corpus_never_panics() {
    let (mut json, mut binary) = (0, 0);
    for (_, bytes) in corpus("record_decoder") {
        if let Ok((raw, _, _)) = decode_record(&bytes) {
            if raw.to_envelope().is_ok() {
                match raw.payload {
                    Payload::Json(_) => json += 1,
                    Payload::Binary(_) => binary += 1,
                }
            }
        }
    }
    // Records written before the binary encoding (kind 1) stay in the
    // corpus next to binary ones (kind 2).
    assert!(
        json > 0,
        "the corpus holds at least one valid JSON-kind record"
    );
    assert!(
        binary > 0,
        "the corpus holds at least one valid binary-kind record"
    );
}

/// The `binary_payload` target's input: a byte choosing the event type (an
/// index into `Event::TYPES`), then the payload.
fn binary_payload(bytes: &[u8]) -> Option<Result<Event, credence_events::BinaryError>> {
    let (&index, payload) = bytes.split_first()?;
    let (name, schema) = Event::TYPES.get(usize::from(index))?;
    Some(credence_events::binary::decode_event(
        name, *schema, payload,
    ))
}

#[test]
fn binary_payload_corpus_never_panics() {
    let mut decoded = 0;
    for (path, bytes) in corpus("binary_payload") {
        if let Some(Ok(event)) = binary_payload(&bytes) {
            decoded += 1;
            // What the binary decoder accepts, the JSON codec accepts.
            let json = credence_events::codec::encode_event(&event);
            let again = credence_events::codec::decode_event(
                event.type_name(),
                event.schema_version(),
                &json,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(again, event, "{}", path.display());
        }
    }
    assert!(decoded > 0, "the corpus holds at least one valid payload");
}

#[test]
fn json_decoder_corpus_never_panics() {
    let mut decoded = 0;
    for (_, bytes) in corpus("json_decoder") {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if credence_events::codec::decode(text).is_ok() {
                decoded += 1;
            }
        }
    }
    assert!(decoded > 0, "the corpus holds at least one valid event");
}

/// Rewrites the seed corpus from the golden event files when
/// `CREDENCE_REGENERATE_CORPUS=1`: one JSON envelope per file for
/// `json_decoder`; one file-log frame per file (plus a few truncated and
/// flipped ones) for `record_decoder`, named `binary-*` (the `record-*`,
/// `torn-*` and `flipped-*` seeds are JSON-kind frames of the build before
/// the binary encoding and are kept as they are); one payload per file for
/// `binary_payload`. Otherwise does nothing.
#[test]
fn regenerate_seed_corpus_on_request() {
    if std::env::var_os("CREDENCE_REGENERATE_CORPUS").is_none() {
        return;
    }
    use credence_store::file::format::SEGMENT_HEADER_LEN;
    use credence_store::{EventStore, ExpectedVersion, FileOptions, FileStore};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let json_dir = root.join("fuzz/corpus/json_decoder");
    let record_dir = root.join("fuzz/corpus/record_decoder");
    let payload_dir = root.join("fuzz/corpus/binary_payload");
    fs::create_dir_all(&json_dir).unwrap();
    fs::create_dir_all(&record_dir).unwrap();
    fs::create_dir_all(&payload_dir).unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(store_dir.path(), FileOptions::default()).unwrap();
    let mut n = 0;
    for golden in [
        "tests/golden/schema-v1/events.jsonl",
        "tests/golden/0.1.0/events.jsonl",
    ] {
        let text = fs::read_to_string(root.join(golden)).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            n += 1;
            fs::write(json_dir.join(format!("golden-{n:03}.json")), line).unwrap();
            if let Ok(envelope) = credence_events::codec::decode(line) {
                let event = &envelope.event;
                if let Some(index) = Event::TYPES
                    .iter()
                    .position(|(name, _)| *name == event.type_name())
                {
                    let mut seed = vec![index as u8];
                    credence_events::binary::encode_event(event, &mut seed);
                    fs::write(payload_dir.join(format!("golden-{n:03}.bin")), seed).unwrap();
                }
                let mut event = envelope.to_new_event();
                event.id = credence_events::EventId::from_u128(n);
                let _ = store.append(&envelope.stream, ExpectedVersion::Any, &[event]);
            }
        }
    }
    drop(store);
    let bytes = fs::read(store_dir.path().join("0000000001.seg")).unwrap();
    let mut offset = SEGMENT_HEADER_LEN;
    let mut i = 0;
    while offset < bytes.len() {
        let (_, _, len) = decode_record(&bytes[offset..]).unwrap();
        let frame = &bytes[offset..offset + len];
        fs::write(record_dir.join(format!("binary-record-{i:03}.bin")), frame).unwrap();
        if i % 5 == 0 {
            fs::write(
                record_dir.join(format!("binary-torn-{i:03}.bin")),
                &frame[..len / 2],
            )
            .unwrap();
            let mut flipped = frame.to_vec();
            flipped[len / 3] ^= 0x20;
            fs::write(
                record_dir.join(format!("binary-flipped-{i:03}.bin")),
                flipped,
            )
            .unwrap();
        }
        offset += len;
        i += 1;
    }
}
