//! The file log's byte layout: segment headers, checksummed frames and event records.
//!
//! ```text
//! segment  = header frame*
//! header   = "CREDSEG1" (8) | segment number u64 | first position u64        (24 bytes)
//! frame    = magic u32 "CRF1" | body length u32 | crc32c(length ‖ body) u32 | body
//! body     = kind u8 (1 = event with a JSON payload, 2 = event with a binary payload)
//!          | position u64 | stream version u64 | batch remaining u32
//!          | previous record's sha-256 (32)
//!          | event id (16)
//!          | occurred_at secs i64 | nanos u32 | recorded_at secs i64 | nanos u32
//!          | flags u8 (1 = correlation id, 2 = causation id) | [correlation (16)] | [causation (16)]
//!          | stream length u16 | stream utf-8
//!          | type length u16 | type utf-8 | schema u16
//!          | data length u32 | payload
//! payload  = kind 1: JSON text (`credence_events::codec::encode_event`)
//!          | kind 2: bytes of `credence_events::binary::encode_event`
//! ```
//!
//! The two kinds differ only in the payload. New records are written with
//! kind 2; kind 1 is what builds before the binary encoding wrote, and stays
//! readable for ever (a log may mix both: old segments, or an old segment
//! continued by a new build). Both kinds go through the same CRC framing,
//! hash chain, batch numbering and recovery. A kind-1 payload of an older
//! schema is upcast by the JSON codec; a kind-2 payload is decoded by the
//! binary decoder of its schema version (see `credence_events::binary`).
//!
//! Integers in the header are little-endian. A record's hash is the SHA-256 of its body;
//! the next record carries it, so editing any record breaks the chain even
//! when the frame's CRC is recomputed. `batch remaining` counts the records
//! that follow in the same append: recovery drops a batch that was not
//! written completely.

use chrono::{DateTime, Utc};
use credence_events::{
    CorrelationId, EventEnvelope, EventId, GlobalPosition, NewEvent, StreamId, StreamVersion,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::StoreError;

/// The first bytes of every segment file.
pub const SEGMENT_MAGIC: &[u8; 8] = b"CREDSEG1";
/// The length of a segment header.
pub const SEGMENT_HEADER_LEN: usize = 24;
/// The first four bytes of every frame.
pub const FRAME_MAGIC: [u8; 4] = *b"CRF1";
/// The length of a frame header (magic, length, crc).
pub const FRAME_HEADER_LEN: usize = 12;
/// The largest record body accepted, in bytes.
pub const MAX_RECORD_LEN: usize = 16 * 1024 * 1024;
/// The hash that the first record of the log carries as its predecessor's.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Record kind: an event whose payload is JSON (written before 0.2).
pub const KIND_EVENT_JSON: u8 = 1;
/// Record kind: an event whose payload is the binary encoding.
pub const KIND_EVENT_BINARY: u8 = 2;
const FLAG_CORRELATION: u8 = 1;
const FLAG_CAUSATION: u8 = 2;

/// Why bytes are not a valid frame or record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The bytes end before the frame does (a torn write, or a short read).
    #[error("frame is incomplete: {needed} bytes needed, {available} available")]
    Incomplete {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// The frame does not start with the frame magic.
    #[error("bad frame magic")]
    BadMagic,
    /// The length field is larger than [`MAX_RECORD_LEN`].
    #[error("record length {0} exceeds the maximum")]
    TooLong(usize),
    /// The checksum does not match.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The stored CRC32C.
        stored: u32,
        /// The computed CRC32C.
        computed: u32,
    },
    /// The body is not a well-formed record.
    #[error("malformed record: {0}")]
    Malformed(&'static str),
}

/// A record's payload, still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// JSON text (record kind 1, [`KIND_EVENT_JSON`]).
    Json(&'a str),
    /// The binary encoding (record kind 2, [`KIND_EVENT_BINARY`]).
    Binary(&'a [u8]),
}

/// A decoded record whose payload is still encoded; cheap to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// Global position.
    pub position: GlobalPosition,
    /// Stream version.
    pub version: StreamVersion,
    /// Records following in the same append batch.
    pub batch_remaining: u32,
    /// SHA-256 of the previous record's body.
    pub prev_hash: [u8; 32],
    /// Event id.
    pub id: EventId,
    /// Business time.
    pub occurred_at: DateTime<Utc>,
    /// Recorded time.
    pub recorded_at: DateTime<Utc>,
    /// Correlation id.
    pub correlation_id: Option<CorrelationId>,
    /// Causation id.
    pub causation_id: Option<EventId>,
    /// Stream name (validated when converted to an envelope).
    pub stream: &'a str,
    /// Event type name.
    pub event_type: &'a str,
    /// Payload schema version.
    pub schema: u16,
    /// The payload, JSON or binary by the record's kind.
    pub payload: Payload<'a>,
}

impl RawRecord<'_> {
    /// Decodes the payload (upcasting old schemas) into an envelope.
    ///
    /// # Errors
    ///
    /// [`StoreError::Decode`] when the stream name or a JSON payload is
    /// invalid, [`StoreError::BinaryDecode`] when a binary payload is.
    pub fn to_envelope(&self) -> Result<EventEnvelope, StoreError> {
        self.to_envelope_reusing(&mut None)
    }

    /// [`RawRecord::to_envelope`], reusing the stream id of the previous
    /// record read when it names the same stream (as runs of one stream's
    /// records do) instead of validating the name again.
    pub(crate) fn to_envelope_reusing(
        &self,
        last_stream: &mut Option<StreamId>,
    ) -> Result<EventEnvelope, StoreError> {
        let decode_error = |source| StoreError::Decode {
            position: self.position,
            source,
        };
        let stream = match last_stream {
            Some(last) if last.as_str() == self.stream => last.clone(),
            _ => {
                let stream = StreamId::try_from(self.stream).map_err(|e| {
                    decode_error(credence_events::CodecError::Json(
                        <serde_json::Error as serde::de::Error>::custom(e),
                    ))
                })?;
                *last_stream = Some(stream.clone());
                stream
            }
        };
        let event = match self.payload {
            Payload::Binary(bytes) => {
                credence_events::binary::decode_event(self.event_type, self.schema, bytes).map_err(
                    |source| StoreError::BinaryDecode {
                        position: self.position,
                        source,
                    },
                )?
            }
            Payload::Json(text) => {
                credence_events::codec::decode_event(self.event_type, self.schema, text)
                    .map_err(decode_error)?
            }
        };
        Ok(EventEnvelope {
            id: self.id,
            stream,
            version: self.version,
            position: self.position,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            event,
        })
    }
}

/// Splits one frame off the front of `bytes`, checking magic, length and
/// CRC32C. Returns the body and the frame's total length.
///
/// # Errors
///
/// A [`FrameError`]; never panics on any input.
pub fn decode_frame(bytes: &[u8]) -> Result<(&[u8], usize), FrameError> {
    if bytes.len() < FRAME_HEADER_LEN {
        return Err(FrameError::Incomplete {
            needed: FRAME_HEADER_LEN,
            available: bytes.len(),
        });
    }
    if bytes[0..4] != FRAME_MAGIC {
        return Err(FrameError::BadMagic);
    }
    let len_bytes: [u8; 4] = [bytes[4], bytes[5], bytes[6], bytes[7]];
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len > MAX_RECORD_LEN {
        return Err(FrameError::TooLong(len));
    }
    let total = FRAME_HEADER_LEN + len;
    if bytes.len() < total {
        return Err(FrameError::Incomplete {
            needed: total,
            available: bytes.len(),
        });
    }
    let stored = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let body = &bytes[FRAME_HEADER_LEN..total];
    let computed = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), body);
    if stored != computed {
        return Err(FrameError::Checksum { stored, computed });
    }
    Ok((body, total))
}

/// Decodes one frame and its record from the front of `bytes`: the record
/// (payload still encoded), the SHA-256-able body, and the frame's length.
/// This is the file log's decoder, exposed for fuzzing and tools.
///
/// # Errors
///
/// A [`FrameError`]; never panics on any input.
pub fn decode_record(bytes: &[u8]) -> Result<(RawRecord<'_>, &[u8], usize), FrameError> {
    let (body, total) = decode_frame(bytes)?;
    Ok((decode_body(body)?, body, total))
}

/// Decodes a record body (the bytes inside a frame).
///
/// # Errors
///
/// [`FrameError::Malformed`]; never panics on any input.
pub fn decode_body(body: &[u8]) -> Result<RawRecord<'_>, FrameError> {
    let mut r = Reader { bytes: body };
    let kind = r.u8()?;
    if kind != KIND_EVENT_JSON && kind != KIND_EVENT_BINARY {
        return Err(FrameError::Malformed("unknown record kind"));
    }
    let position = GlobalPosition(r.u64()?);
    let version = StreamVersion(r.u64()?);
    let batch_remaining = r.u32()?;
    let prev_hash = r.array::<32>()?;
    let id = EventId::from_uuid(Uuid::from_bytes(r.array::<16>()?));
    let occurred_at = r.time()?;
    let recorded_at = r.time()?;
    let flags = r.u8()?;
    if flags & !(FLAG_CORRELATION | FLAG_CAUSATION) != 0 {
        return Err(FrameError::Malformed("unknown flags"));
    }
    let correlation_id = if flags & FLAG_CORRELATION != 0 {
        Some(CorrelationId::from_uuid(Uuid::from_bytes(r.array::<16>()?)))
    } else {
        None
    };
    let causation_id = if flags & FLAG_CAUSATION != 0 {
        Some(EventId::from_uuid(Uuid::from_bytes(r.array::<16>()?)))
    } else {
        None
    };
    let stream_len = r.u16()? as usize;
    let stream = r.str(stream_len)?;
    let type_len = r.u16()? as usize;
    let event_type = r.str(type_len)?;
    let schema = r.u16()?;
    let data_len = r.u32()? as usize;
    let payload = if kind == KIND_EVENT_JSON {
        Payload::Json(r.str(data_len)?)
    } else {
        Payload::Binary(r.take(data_len)?)
    };
    if !r.bytes.is_empty() {
        return Err(FrameError::Malformed("trailing bytes"));
    }
    if position.0 == 0 || version.0 == 0 {
        return Err(FrameError::Malformed("zero position or version"));
    }
    Ok(RawRecord {
        position,
        version,
        batch_remaining,
        prev_hash,
        id,
        occurred_at,
        recorded_at,
        correlation_id,
        causation_id,
        stream,
        event_type,
        schema,
        payload,
    })
}

/// The SHA-256 of a record body: what the next record carries.
pub fn record_hash(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// Everything needed to write one record.
pub(crate) struct RecordInput<'a> {
    pub position: GlobalPosition,
    pub version: StreamVersion,
    pub batch_remaining: u32,
    pub prev_hash: [u8; 32],
    pub stream: &'a StreamId,
    pub event: &'a NewEvent,
}

/// Appends the frame of one record, with a binary payload (kind 2), to
/// `out` and returns the record's hash.
pub(crate) fn encode_record(
    input: &RecordInput<'_>,
    out: &mut Vec<u8>,
) -> Result<[u8; 32], StoreError> {
    encode_record_as(input, KIND_EVENT_BINARY, out)
}

/// Appends the frame of one record of `kind` ([`KIND_EVENT_BINARY`], or
/// [`KIND_EVENT_JSON`] for tests of old logs) to `out` and returns its hash.
pub(crate) fn encode_record_as(
    input: &RecordInput<'_>,
    kind: u8,
    out: &mut Vec<u8>,
) -> Result<[u8; 32], StoreError> {
    let e = input.event;
    let stream = input.stream.as_str();
    let event_type = e.event.type_name();
    let start = out.len();
    out.extend_from_slice(&FRAME_MAGIC);
    out.extend_from_slice(&[0; 8]);
    let body_start = out.len();
    out.push(kind);
    out.extend_from_slice(&input.position.0.to_le_bytes());
    out.extend_from_slice(&input.version.0.to_le_bytes());
    out.extend_from_slice(&input.batch_remaining.to_le_bytes());
    out.extend_from_slice(&input.prev_hash);
    out.extend_from_slice(e.id.as_uuid().as_bytes());
    put_time(out, &e.occurred_at);
    put_time(out, &e.recorded_at);
    let mut flags = 0;
    if e.correlation_id.is_some() {
        flags |= FLAG_CORRELATION;
    }
    if e.causation_id.is_some() {
        flags |= FLAG_CAUSATION;
    }
    out.push(flags);
    if let Some(c) = &e.correlation_id {
        out.extend_from_slice(c.as_uuid().as_bytes());
    }
    if let Some(c) = &e.causation_id {
        out.extend_from_slice(c.as_uuid().as_bytes());
    }
    // Stream ids are at most 128 bytes and type names are short constants.
    out.extend_from_slice(&(stream.len() as u16).to_le_bytes());
    out.extend_from_slice(stream.as_bytes());
    out.extend_from_slice(&(event_type.len() as u16).to_le_bytes());
    out.extend_from_slice(event_type.as_bytes());
    out.extend_from_slice(&e.event.schema_version().to_le_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    if kind == KIND_EVENT_JSON {
        out.extend_from_slice(credence_events::codec::encode_event(&e.event).as_bytes());
    } else {
        credence_events::binary::encode_event(&e.event, out);
    }
    // Beyond u32::MAX the body is over MAX_RECORD_LEN and rejected below.
    let data_len = u32::try_from(out.len() - len_at - 4).unwrap_or(u32::MAX);
    out[len_at..len_at + 4].copy_from_slice(&data_len.to_le_bytes());
    let body_len = out.len() - body_start;
    if body_len > MAX_RECORD_LEN {
        out.truncate(start);
        return Err(StoreError::InvalidInput(format!(
            "event {} is {body_len} bytes encoded, more than the maximum {MAX_RECORD_LEN}",
            e.id
        )));
    }
    let len_bytes = (body_len as u32).to_le_bytes();
    let body = &out[body_start..];
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), body);
    let hash = record_hash(body);
    out[start + 4..start + 8].copy_from_slice(&len_bytes);
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    Ok(hash)
}

/// A segment header.
pub(crate) fn encode_segment_header(
    number: u64,
    first_position: GlobalPosition,
) -> [u8; SEGMENT_HEADER_LEN] {
    let mut header = [0; SEGMENT_HEADER_LEN];
    header[0..8].copy_from_slice(SEGMENT_MAGIC);
    header[8..16].copy_from_slice(&number.to_le_bytes());
    header[16..24].copy_from_slice(&first_position.0.to_le_bytes());
    header
}

/// Parses a segment header: its number and first position.
pub(crate) fn decode_segment_header(bytes: &[u8]) -> Option<(u64, GlobalPosition)> {
    let mut r = Reader {
        bytes: bytes.get(..SEGMENT_HEADER_LEN)?,
    };
    if r.array::<8>().ok()? != *SEGMENT_MAGIC {
        return None;
    }
    Some((r.u64().ok()?, GlobalPosition(r.u64().ok()?)))
}

fn put_time(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    out.extend_from_slice(&t.timestamp().to_le_bytes());
    out.extend_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.bytes.len() < n {
            return Err(FrameError::Malformed("record body too short"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, FrameError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, FrameError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn time(&mut self) -> Result<DateTime<Utc>, FrameError> {
        let secs = i64::from_le_bytes(self.array()?);
        let nanos = self.u32()?;
        DateTime::from_timestamp(secs, nanos).ok_or(FrameError::Malformed("timestamp out of range"))
    }

    fn str(&mut self, n: usize) -> Result<&'a str, FrameError> {
        std::str::from_utf8(self.take(n)?).map_err(|_| FrameError::Malformed("invalid utf-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_events::{ManagerAssigned, ManagerId};

    fn event(n: u128) -> NewEvent {
        let at = DateTime::from_timestamp(1_790_000_000, 123_456_789).unwrap();
        let mut e = NewEvent::new(
            EventId::from_u128(n),
            at,
            ManagerAssigned {
                manager: ManagerId::new("m1").unwrap(),
            },
        );
        e.causation_id = Some(EventId::from_u128(99));
        e
    }

    #[test]
    fn records_round_trip() {
        let stream = StreamId::new("ACME").unwrap();
        let e = event(1);
        let mut out = Vec::new();
        let hash = encode_record(
            &RecordInput {
                position: GlobalPosition(7),
                version: StreamVersion(3),
                batch_remaining: 0,
                prev_hash: [5; 32],
                stream: &stream,
                event: &e,
            },
            &mut out,
        )
        .unwrap();
        let (raw, body, len) = decode_record(&out).unwrap();
        assert_eq!(len, out.len());
        assert_eq!(record_hash(body), hash);
        assert_eq!(raw.prev_hash, [5; 32]);
        let envelope = raw.to_envelope().unwrap();
        assert_eq!(
            envelope,
            e.clone()
                .into_envelope(stream, StreamVersion(3), GlobalPosition(7))
        );
    }

    fn frame(kind: u8, e: &NewEvent) -> Vec<u8> {
        let stream = StreamId::new("ACME").unwrap();
        let mut out = Vec::new();
        let input = RecordInput {
            position: GlobalPosition(7),
            version: StreamVersion(3),
            batch_remaining: 1,
            prev_hash: [5; 32],
            stream: &stream,
            event: e,
        };
        encode_record_as(&input, kind, &mut out).unwrap();
        out
    }

    #[test]
    fn new_records_are_binary_and_json_records_still_read() {
        let e = event(1);
        let expected = e.clone().into_envelope(
            StreamId::new("ACME").unwrap(),
            StreamVersion(3),
            GlobalPosition(7),
        );
        let json = frame(KIND_EVENT_JSON, &e);
        let binary = frame(KIND_EVENT_BINARY, &e);
        let (raw, _, _) = decode_record(&json).unwrap();
        assert_eq!(raw.payload, Payload::Json(r#"{"manager":"m1"}"#));
        assert_eq!(raw.to_envelope().unwrap(), expected);
        let (raw, _, _) = decode_record(&binary).unwrap();
        assert_eq!(raw.payload, Payload::Binary(b"\x02m1"));
        assert_eq!(raw.to_envelope().unwrap(), expected);
        assert!(binary.len() < json.len());
        // What the store appends is the binary kind.
        let stream = StreamId::new("ACME").unwrap();
        let mut out = Vec::new();
        encode_record(
            &RecordInput {
                position: GlobalPosition(7),
                version: StreamVersion(3),
                batch_remaining: 1,
                prev_hash: [5; 32],
                stream: &stream,
                event: &e,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, binary);
        // Any other kind is malformed.
        for kind in [0, 3, 255] {
            let mut body = decode_record(&binary).unwrap().1.to_vec();
            body[0] = kind;
            assert_eq!(
                decode_body(&body),
                Err(FrameError::Malformed("unknown record kind"))
            );
        }
    }

    #[test]
    fn old_json_schemas_are_upcast_and_bad_binary_payloads_are_decode_errors() {
        let json = frame(KIND_EVENT_JSON, &event(1));
        let (mut raw, _, _) = decode_record(&json).unwrap();
        raw.event_type = "TermsChanged";
        raw.schema = 1;
        raw.payload = Payload::Json(
            r#"{"credit_limit":{"amount":"10.00","currency":"EUR"},"deferral_days":14,"base_discount":"0","markup":"0","bonus":"0","service_level":"basic"}"#,
        );
        let envelope = raw.to_envelope().unwrap();
        assert_eq!(envelope.event.schema_version(), 2);
        // A binary payload of a schema without a binary decoder is an error,
        // never a misread.
        raw.payload = Payload::Binary(b"");
        let err = raw.to_envelope().unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::BinaryDecode {
                    source: credence_events::BinaryError::UnsupportedSchema { .. },
                    ..
                }
            ),
            "{err}"
        );
        raw.event_type = "ManagerAssigned";
        raw.schema = 2;
        raw.payload = Payload::Binary(b"\x02m1");
        assert!(raw.to_envelope().is_err());
        raw.schema = 1;
        assert!(raw.to_envelope().is_ok());
        raw.payload = Payload::Binary(b"\x03m1");
        assert!(matches!(
            raw.to_envelope(),
            Err(StoreError::BinaryDecode { .. })
        ));
    }

    #[test]
    fn damaged_json_frames_are_errors() {
        assert_damage_is_detected(&frame(KIND_EVENT_JSON, &event(1)));
    }

    /// Every truncation of the record `out` is incomplete, and every flipped
    /// bit an error.
    fn assert_damage_is_detected(out: &[u8]) {
        for cut in 0..out.len() {
            assert!(matches!(
                decode_record(&out[..cut]),
                Err(FrameError::Incomplete { .. })
            ));
        }
        for i in 0..out.len() {
            let mut bad = out.to_vec();
            bad[i] ^= 0x40;
            assert!(decode_record(&bad).is_err(), "flip at {i} went unnoticed");
        }
    }

    #[test]
    fn damaged_frames_are_errors() {
        let stream = StreamId::new("ACME").unwrap();
        let mut out = Vec::new();
        let input = RecordInput {
            position: GlobalPosition(1),
            version: StreamVersion(1),
            batch_remaining: 0,
            prev_hash: GENESIS_HASH,
            stream: &stream,
            event: &event(1),
        };
        encode_record(&input, &mut out).unwrap();
        assert_damage_is_detected(&out);
    }
}
