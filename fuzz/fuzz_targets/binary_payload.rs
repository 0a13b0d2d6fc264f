//! Fuzzes the binary payload decoder (`credence_events::binary::decode_event`):
//! never panic, and whatever decodes is an event the JSON codec accepts too.
#![no_main]

use credence_events::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the event type, the rest is the payload.
    let Some((&index, payload)) = data.split_first() else {
        return;
    };
    let Some((name, schema)) = Event::TYPES.get(usize::from(index)) else {
        return;
    };
    if let Ok(event) = credence_events::binary::decode_event(name, *schema, payload) {
        let json = credence_events::codec::encode_event(&event);
        let again = credence_events::codec::decode_event(name, *schema, &json)
            .expect("a binary-decoded event is valid JSON");
        assert_eq!(again, event);
        let mut bytes = Vec::new();
        credence_events::binary::encode_event(&event, &mut bytes);
        let again = credence_events::binary::decode_event(name, *schema, &bytes)
            .expect("an encoded payload decodes");
        assert_eq!(again, event);
    }
});
