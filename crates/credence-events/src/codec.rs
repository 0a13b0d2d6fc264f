//! The JSON codec: the stable, documented on-disk and on-wire shape of events.
//!
//! One envelope is one JSON object (one line in JSON-lines files):
//!
//! ```json
//! {"id":"…","stream":"ACME","version":3,"position":17,
//!  "occurred_at":"2026-11-06T09:00:00Z","recorded_at":"2026-11-06T09:00:02Z",
//!  "correlation_id":null,"causation_id":null,
//!  "type":"OrderPlaced","schema":1,"data":{…}}
//! ```
//!
//! `type` and `schema` name the payload's type and schema version. Decoding a
//! payload written with an older schema runs the registered [upcasters](UPCASTERS)
//! step by step up to the current version; a newer schema than this build
//! knows is an error, never a guess. `docs/events.md` documents every type.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::envelope::{EventEnvelope, GlobalPosition, StreamVersion};
use crate::event::Event;
use crate::id::{CorrelationId, EventId, StreamId};

/// Why a JSON document could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The text is not valid JSON of the expected shape.
    #[error("malformed event json: {0}")]
    Json(#[from] serde_json::Error),
    /// The event type is not known to this build.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// The payload was written by a newer build.
    #[error("{event_type} schema {found} is newer than this build knows ({current})")]
    FutureSchema {
        /// The event type.
        event_type: String,
        /// The schema version found.
        found: u16,
        /// The newest version this build knows.
        current: u16,
    },
    /// An upcaster could not lift an old payload.
    #[error("cannot upcast {event_type} from schema {from}: {message}")]
    Upcast {
        /// The event type.
        event_type: String,
        /// The schema version being lifted.
        from: u16,
        /// What was wrong.
        message: String,
    },
    /// The payload does not match its (current or upcast) schema.
    #[error("invalid {event_type} payload: {source}")]
    Payload {
        /// The event type.
        event_type: String,
        /// What serde reported.
        source: serde_json::Error,
    },
}

/// One upcasting step: lifts a payload of `event_type` from schema `from` to
/// `from + 1`.
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    /// The event type.
    pub event_type: &'static str,
    /// The schema version it reads.
    pub from: u16,
    /// The transformation; an error message on a payload it cannot lift.
    pub lift: fn(Value) -> Result<Value, String>,
}

/// Every upcasting step this build knows, oldest first.
pub const UPCASTERS: &[Upcaster] = &[Upcaster {
    event_type: "TermsChanged",
    from: 1,
    lift: terms_changed_v1_to_v2,
}];

/// `TermsChanged` v1 was flat and knew only calendar-day deferrals
/// (`deferral_days`). v2 wraps the terms in `terms` and states the kind of
/// days: a v1 deferral becomes `{"days": n, "kind": "calendar"}`.
fn terms_changed_v1_to_v2(data: Value) -> Result<Value, String> {
    let Value::Object(mut v1) = data else {
        return Err("payload is not an object".into());
    };
    let days = v1
        .remove("deferral_days")
        .ok_or("missing field `deferral_days`")?;
    let mut deferral = Map::new();
    deferral.insert("days".into(), days);
    deferral.insert("kind".into(), Value::String("calendar".into()));
    v1.insert("deferral".into(), Value::Object(deferral));
    let mut v2 = Map::new();
    v2.insert("terms".into(), Value::Object(v1));
    Ok(Value::Object(v2))
}

/// Lifts `data` of `event_type` from schema `from` to the current schema.
///
/// # Errors
///
/// [`CodecError::UnknownType`], [`CodecError::FutureSchema`] or
/// [`CodecError::Upcast`].
pub fn upcast(event_type: &str, from: u16, mut data: Value) -> Result<Value, CodecError> {
    let current = Event::current_schema(event_type)
        .ok_or_else(|| CodecError::UnknownType(event_type.into()))?;
    if from == 0 {
        return Err(CodecError::Upcast {
            event_type: event_type.into(),
            from,
            message: "schema versions start at 1".into(),
        });
    }
    if from > current {
        return Err(CodecError::FutureSchema {
            event_type: event_type.into(),
            found: from,
            current,
        });
    }
    for version in from..current {
        let step = UPCASTERS
            .iter()
            .find(|u| u.event_type == event_type && u.from == version)
            .ok_or_else(|| CodecError::Upcast {
                event_type: event_type.into(),
                from: version,
                message: "no upcaster registered".into(),
            })?;
        data = (step.lift)(data).map_err(|message| CodecError::Upcast {
            event_type: event_type.into(),
            from: version,
            message,
        })?;
    }
    Ok(data)
}

/// Serialises an event's payload alone, as JSON text. The type name and
/// schema version come from [`Event::type_name`] and [`Event::schema_version`].
pub fn encode_event(event: &Event) -> String {
    let mut out = Vec::with_capacity(256);
    // Payloads are plain data (strings, decimals, dates): serialisation to a
    // Vec cannot fail.
    event
        .data_to_writer(&mut out)
        .expect("event payloads always serialise");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Decodes a payload stored as `event_type` at `schema`, upcasting if needed.
///
/// # Errors
///
/// Any [`CodecError`].
pub fn decode_event(event_type: &str, schema: u16, data: &str) -> Result<Event, CodecError> {
    let current = Event::current_schema(event_type)
        .ok_or_else(|| CodecError::UnknownType(event_type.into()))?;
    let payload_error = |source| CodecError::Payload {
        event_type: event_type.into(),
        source,
    };
    if schema == current {
        return Event::data_from_str(event_type, data)
            .ok_or_else(|| CodecError::UnknownType(event_type.into()))?
            .map_err(payload_error);
    }
    let value: Value = serde_json::from_str(data)?;
    let value = upcast(event_type, schema, value)?;
    Event::data_from_value(event_type, value)
        .ok_or_else(|| CodecError::UnknownType(event_type.into()))?
        .map_err(payload_error)
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    id: EventId,
    #[serde(borrow)]
    stream: Cow<'a, str>,
    version: StreamVersion,
    position: GlobalPosition,
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    correlation_id: Option<CorrelationId>,
    causation_id: Option<EventId>,
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    schema: u16,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Encodes an envelope as one line of JSON (no trailing newline).
pub fn encode(envelope: &EventEnvelope) -> String {
    let data = encode_event(&envelope.event);
    let data = RawValue::from_string(data).expect("encode_event writes valid JSON");
    let wire = Wire {
        id: envelope.id,
        stream: Cow::Borrowed(envelope.stream.as_str()),
        version: envelope.version,
        position: envelope.position,
        occurred_at: envelope.occurred_at,
        recorded_at: envelope.recorded_at,
        correlation_id: envelope.correlation_id,
        causation_id: envelope.causation_id,
        event_type: Cow::Borrowed(envelope.event.type_name()),
        schema: envelope.event.schema_version(),
        data: &data,
    };
    serde_json::to_string(&wire).expect("envelopes always serialise")
}

/// Decodes one envelope from JSON, upcasting old payloads.
///
/// # Errors
///
/// Any [`CodecError`]: malformed JSON, an invalid id or stream name, an
/// unknown type, a schema from the future, or a payload that does not fit.
pub fn decode(json: &str) -> Result<EventEnvelope, CodecError> {
    let wire: Wire<'_> = serde_json::from_str(json)?;
    let stream = StreamId::new(wire.stream.as_ref())
        .map_err(|e| CodecError::Json(<serde_json::Error as serde::de::Error>::custom(e)))?;
    let event = decode_event(&wire.event_type, wire.schema, wire.data.get())?;
    Ok(EventEnvelope {
        id: wire.id,
        stream,
        version: wire.version,
        position: wire.position,
        occurred_at: wire.occurred_at,
        recorded_at: wire.recorded_at,
        correlation_id: wire.correlation_id,
        causation_id: wire.causation_id,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn terms_changed_v1_lifts_to_v2() {
        let v1 = json!({
            "credit_limit": {"amount": "1000.00", "currency": "EUR"},
            "deferral_days": 14,
            "base_discount": "2",
            "markup": "0",
            "bonus": "0",
            "service_level": "standard"
        });
        let v2 = upcast("TermsChanged", 1, v1).unwrap();
        assert_eq!(
            v2["terms"]["deferral"],
            json!({"days": 14, "kind": "calendar"})
        );
        assert!(v2["terms"].get("deferral_days").is_none());
    }

    #[test]
    fn upcast_errors_name_the_step() {
        let err = upcast("TermsChanged", 1, json!({"x": 1})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot upcast TermsChanged from schema 1: missing field `deferral_days`"
        );
        let err = upcast("TermsChanged", 9, json!({})).unwrap_err();
        assert!(matches!(
            err,
            CodecError::FutureSchema {
                found: 9,
                current: 2,
                ..
            }
        ));
        let err = upcast("Nope", 1, json!({})).unwrap_err();
        assert!(matches!(err, CodecError::UnknownType(_)));
    }

    #[test]
    fn every_type_has_a_complete_upcast_chain() {
        for (name, current) in Event::TYPES {
            for from in 1..*current {
                assert!(
                    UPCASTERS
                        .iter()
                        .any(|u| u.event_type == *name && u.from == from),
                    "{name} has no upcaster from schema {from}"
                );
            }
        }
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(matches!(decode("{"), Err(CodecError::Json(_))));
        assert!(matches!(decode("[]"), Err(CodecError::Json(_))));
        let unknown = r#"{"id":"00000000-0000-0000-0000-000000000001","stream":"c","version":1,"position":1,"occurred_at":"2026-11-06T09:00:00Z","recorded_at":"2026-11-06T09:00:00Z","correlation_id":null,"causation_id":null,"type":"Nope","schema":1,"data":{}}"#;
        assert!(matches!(decode(unknown), Err(CodecError::UnknownType(_))));
        let bad_payload = unknown.replace("\"Nope\"", "\"ManagerAssigned\"");
        let err = decode(&bad_payload).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid ManagerAssigned payload"),
            "{err}"
        );
        let bad_stream = unknown.replace("\"stream\":\"c\"", "\"stream\":\"\"");
        assert!(decode(&bad_stream).is_err());
    }
}
