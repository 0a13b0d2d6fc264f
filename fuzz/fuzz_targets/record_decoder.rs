//! Fuzzes the file log's record decoder: any bytes must decode or fail, never panic.
#![no_main]

use credence_store::file::format::{decode_body, decode_record, record_hash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((record, body, len)) = decode_record(data) {
        assert!(len <= data.len());
        let _ = record_hash(body);
        let _ = record.to_envelope();
    }
    // The body decoder on its own, without the CRC gate, reaches far more
    // of the record parsing.
    if let Ok(record) = decode_body(data) {
        let _ = record.to_envelope();
    }
});
