//! Fuzzes the JSON event decoder (`credence_events::codec::decode`): never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(envelope) = credence_events::codec::decode(text) {
            // Whatever decodes must encode and decode to the same envelope.
            let again = credence_events::codec::decode(&credence_events::codec::encode(&envelope))
                .expect("an encoded envelope decodes");
            assert_eq!(again, envelope);
        }
    }
});
