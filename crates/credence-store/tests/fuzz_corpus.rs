//! Replays the committed fuzz corpus through both decoders: none may panic.
//!
//! The corpus lives in `fuzz/corpus/<target>/` at the repository root; a
//! long `cargo fuzz run` adds to it, and this test keeps every input found
//! so far in CI.

use std::fs;
use std::path::PathBuf;

use credence_store::file::format::decode_record;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
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
    let mut decoded = 0;
    for (_, bytes) in corpus("record_decoder") {
        if let Ok((raw, _, _)) = decode_record(&bytes) {
            decoded += 1;
            let _ = raw.to_envelope();
        }
    }
    assert!(decoded > 0, "the corpus holds at least one valid record");
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
