//! Opening the file log: recovery of a torn tail, the snapshot log, and `verify`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use credence_events::{EventId, GlobalPosition, StreamId, StreamVersion};

use super::format::{
    FRAME_HEADER_LEN, FRAME_MAGIC, GENESIS_HASH, MAX_RECORD_LEN, SEGMENT_HEADER_LEN, decode_frame,
    decode_record, decode_segment_header, encode_segment_header, record_hash,
};
use super::{Durability, FileOptions, Index, Loc, SnapshotLog, segment_file_name, sync_dir};
use crate::error::StoreError;
use crate::store::{Snapshot, SnapshotKey, VerifyReport};

/// What [`FileStore::open`](super::FileStore::open) found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Segment files found (after recovery).
    pub segments: u64,
    /// Events in the log after recovery.
    pub events: u64,
    /// The torn tail that was cut off, if the last write had not completed.
    pub torn_tail: Option<TornTail>,
    /// Leftover temporary files of an interrupted segment roll, removed.
    pub removed_temp_files: Vec<PathBuf>,
    /// Bytes cut from the end of `snapshots.log` because they did not form
    /// whole, valid snapshot frames (snapshots are a cache; nothing is lost).
    pub snapshot_bytes_discarded: u64,
}

/// A torn tail removed by recovery: bytes of an append that never completed
/// (and so was never acknowledged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file that was truncated.
    pub segment: PathBuf,
    /// The byte offset it was truncated at.
    pub offset: u64,
    /// How many bytes were removed.
    pub bytes_discarded: u64,
    /// How many complete frames of an incomplete batch were removed.
    pub records_discarded: u64,
}

pub(crate) struct Recovered {
    pub index: Index,
    pub segments: Vec<Arc<File>>,
    pub writer_file: Arc<File>,
    pub writer_number: u64,
    pub writer_len: u64,
    pub last_hash: [u8; 32],
    pub report: RecoveryReport,
}

fn open_rw(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))
}

/// Creates segment `number` atomically (written under a temporary name,
/// synced, renamed, directory synced) and returns it open for writing.
pub(crate) fn create_segment(
    dir: &Path,
    number: u64,
    first_position: GlobalPosition,
) -> Result<File, StoreError> {
    let path = dir.join(segment_file_name(number));
    let tmp = dir.join(format!("{}.tmp", segment_file_name(number)));
    let io = |what: &str, e| StoreError::io(format!("{what} {}", tmp.display()), e);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| io("creating", e))?;
    file.write_all_at(&encode_segment_header(number, first_position), 0)
        .map_err(|e| io("writing", e))?;
    file.sync_all().map_err(|e| io("syncing", e))?;
    fs::rename(&tmp, &path).map_err(|e| io("renaming", e))?;
    sync_dir(dir)?;
    Ok(file)
}

/// True when a valid frame starts anywhere after `offset`: the damage at
/// `offset` is then in the middle of the log, not a torn tail.
fn valid_frame_after(bytes: &[u8], offset: usize) -> bool {
    (offset + 1..bytes.len().saturating_sub(FRAME_HEADER_LEN - 1))
        .any(|i| bytes[i..].starts_with(&FRAME_MAGIC) && decode_frame(&bytes[i..]).is_ok())
}

struct Pending {
    loc: Loc,
    stream: StreamId,
    id: EventId,
    remaining: u32,
}

/// Scans every segment, rebuilds the index and truncates a torn tail.
pub(crate) fn recover(dir: &Path, options: &FileOptions) -> Result<Recovered, StoreError> {
    let mut report = RecoveryReport::default();
    let mut numbers = Vec::new();
    let entries =
        fs::read_dir(dir).map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".seg.tmp") {
            let path = entry.path();
            fs::remove_file(&path)
                .map_err(|e| StoreError::io(format!("removing {}", path.display()), e))?;
            report.removed_temp_files.push(path);
        } else if let Some(stem) = name.strip_suffix(".seg") {
            if let Ok(n) = stem.parse::<u64>() {
                numbers.push(n);
            }
        }
    }
    numbers.sort_unstable();
    if numbers.is_empty() {
        let file = Arc::new(create_segment(dir, 1, GlobalPosition(1))?);
        report.segments = 1;
        return Ok(Recovered {
            index: Index::default(),
            segments: vec![Arc::clone(&file)],
            writer_file: file,
            writer_number: 1,
            writer_len: SEGMENT_HEADER_LEN as u64,
            last_hash: GENESIS_HASH,
            report,
        });
    }
    for (i, &n) in numbers.iter().enumerate() {
        if n != i as u64 + 1 {
            return Err(StoreError::MissingSegment {
                segment: dir.join(segment_file_name(i as u64 + 1)),
            });
        }
    }
    let mut index = Index::default();
    let mut segments = Vec::with_capacity(numbers.len());
    let mut committed_hash = GENESIS_HASH;
    let mut running_hash = GENESIS_HASH;
    let mut writer_len = 0;
    for (i, &number) in numbers.iter().enumerate() {
        let path = dir.join(segment_file_name(number));
        let is_last = i + 1 == numbers.len();
        let file = open_rw(&path)?;
        let bytes = fs::read(&path)
            .map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
        let corrupt = |offset: usize, reason: String| StoreError::Corruption {
            segment: path.clone(),
            offset: offset as u64,
            reason,
        };
        match decode_segment_header(&bytes) {
            None => return Err(corrupt(0, "bad segment header".into())),
            Some((n, _)) if n != number => {
                return Err(corrupt(0, format!("header names segment {n}")));
            }
            Some((_, first)) if first != index.head().next() => {
                return Err(corrupt(
                    0,
                    format!(
                        "segment starts at position {first} but the log before it ends at {}",
                        index.head()
                    ),
                ));
            }
            Some(_) => {}
        }
        let segment = (number - 1) as u32;
        let mut offset = SEGMENT_HEADER_LEN;
        let mut batch_start = offset;
        let mut pending: Vec<Pending> = Vec::new();
        let mut last_committed: Option<(usize, usize)> = None;
        let mut damage = None;
        while offset < bytes.len() {
            let (raw, body, total) = match decode_record(&bytes[offset..]) {
                Ok(record) => record,
                Err(e) => {
                    if is_last && !valid_frame_after(&bytes, offset) {
                        damage = Some(offset);
                        break;
                    }
                    return Err(corrupt(offset, e.to_string()));
                }
            };
            let expected_position = index.head().0 + pending.len() as u64 + 1;
            if raw.position.0 != expected_position {
                return Err(corrupt(
                    offset,
                    format!(
                        "record has position {} where {expected_position} was expected",
                        raw.position
                    ),
                ));
            }
            let stream = StreamId::new(raw.stream)
                .map_err(|e| corrupt(offset, format!("invalid stream name: {e}")))?;
            if let Some(first) = pending.first() {
                if first.stream != stream {
                    return Err(corrupt(offset, "a batch mixes streams".into()));
                }
                let previous = pending.last().map_or(0, |p| p.remaining);
                if raw.batch_remaining + 1 != previous {
                    return Err(corrupt(offset, "batch numbering is broken".into()));
                }
            }
            let expected_version = index.version(&stream).0 + pending.len() as u64 + 1;
            if raw.version.0 != expected_version {
                return Err(corrupt(
                    offset,
                    format!(
                        "record has version {} of stream {stream} where {expected_version} was expected",
                        raw.version
                    ),
                ));
            }
            if index.ids.contains_key(&raw.id) || pending.iter().any(|p| p.id == raw.id) {
                return Err(corrupt(
                    offset,
                    format!("event id {} is stored twice", raw.id),
                ));
            }
            if options.verify_chain_on_open {
                if raw.prev_hash != running_hash {
                    return Err(corrupt(
                        offset,
                        "hash chain broken: the record does not carry its predecessor's hash"
                            .into(),
                    ));
                }
                running_hash = record_hash(body);
            }
            pending.push(Pending {
                loc: Loc {
                    segment,
                    offset: offset as u64,
                    len: total as u32,
                },
                stream,
                id: raw.id,
                remaining: raw.batch_remaining,
            });
            let body_start = offset + FRAME_HEADER_LEN;
            offset += total;
            if raw.batch_remaining == 0 {
                for p in pending.drain(..) {
                    index.locs.push(p.loc);
                    let position = index.locs.len() as u64;
                    index.streams.entry(p.stream).or_default().push(position);
                    index.ids.insert(p.id, position);
                }
                batch_start = offset;
                committed_hash = running_hash;
                last_committed = Some((body_start, offset));
            }
        }
        if !pending.is_empty() && !is_last {
            return Err(corrupt(
                batch_start,
                "incomplete batch at the end of a closed segment".into(),
            ));
        }
        if let Some((start, end)) = last_committed {
            committed_hash = record_hash(&bytes[start..end]);
        }
        running_hash = committed_hash;
        let mut len = bytes.len();
        if damage.is_some() || !pending.is_empty() {
            let cut = batch_start;
            file.set_len(cut as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| StoreError::io(format!("truncating {}", path.display()), e))?;
            report.torn_tail = Some(TornTail {
                segment: path.clone(),
                offset: cut as u64,
                bytes_discarded: (len - cut) as u64,
                records_discarded: pending.len() as u64,
            });
            len = cut;
        }
        if is_last {
            writer_len = len as u64;
        }
        segments.push(Arc::new(file));
    }
    report.segments = segments.len() as u64;
    report.events = index.head().0;
    let writer_file = Arc::clone(
        segments
            .last()
            .ok_or_else(|| StoreError::Unusable("no segment after recovery".into()))?,
    );
    Ok(Recovered {
        index,
        writer_number: segments.len() as u64,
        segments,
        writer_file,
        writer_len,
        last_hash: committed_hash,
        report,
    })
}

/// Walks every segment up to `head`, checking frames, positions, stream
/// versions, event id uniqueness, payload decoding and the hash chain.
pub(crate) fn verify(
    dir: &Path,
    segments: u64,
    head: GlobalPosition,
) -> Result<VerifyReport, StoreError> {
    let mut hash = GENESIS_HASH;
    let mut position = 0u64;
    let mut versions: BTreeMap<StreamId, u64> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for number in 1..=segments {
        if position == head.0 {
            break;
        }
        let path = dir.join(segment_file_name(number));
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::MissingSegment { segment: path });
            }
            Err(e) => return Err(StoreError::io(format!("reading {}", path.display()), e)),
        };
        let corrupt = |offset: usize, reason: String| StoreError::Corruption {
            segment: path.clone(),
            offset: offset as u64,
            reason,
        };
        match decode_segment_header(&bytes) {
            Some((n, first)) if n == number && first.0 == position + 1 => {}
            _ => return Err(corrupt(0, "bad segment header".into())),
        }
        let mut offset = SEGMENT_HEADER_LEN;
        while position < head.0 && offset < bytes.len() {
            let (raw, body, total) =
                decode_record(&bytes[offset..]).map_err(|e| corrupt(offset, e.to_string()))?;
            if raw.prev_hash != hash {
                return Err(corrupt(
                    offset,
                    format!(
                        "hash chain broken at position {}: the previous record was altered or this one was forged",
                        raw.position
                    ),
                ));
            }
            hash = record_hash(body);
            position += 1;
            if raw.position.0 != position {
                return Err(corrupt(
                    offset,
                    format!(
                        "record has position {} where {position} was expected",
                        raw.position
                    ),
                ));
            }
            let envelope = raw
                .to_envelope()
                .map_err(|e| corrupt(offset, e.to_string()))?;
            let version = versions.entry(envelope.stream).or_default();
            *version += 1;
            if envelope.version.0 != *version {
                return Err(corrupt(
                    offset,
                    format!(
                        "record has stream version {} where {version} was expected",
                        envelope.version
                    ),
                ));
            }
            if !ids.insert(envelope.id) {
                return Err(corrupt(
                    offset,
                    format!("event id {} is stored twice", envelope.id),
                ));
            }
            offset += total;
        }
    }
    if position != head.0 {
        return Err(StoreError::Corruption {
            segment: dir.join(segment_file_name(segments)),
            offset: 0,
            reason: format!(
                "the log ends at position {position} but {head} events were acknowledged"
            ),
        });
    }
    let mut report = VerifyReport::new(position, versions.len() as u64, head);
    report.segments = segments;
    report.head_hash = (position > 0).then(|| hex(&hash));
    Ok(report)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const SNAPSHOT_FILE: &str = "snapshots.log";

fn snapshot_frame(snapshot: &Snapshot) -> Result<Vec<u8>, StoreError> {
    let stream = snapshot.stream.as_str().as_bytes();
    let key = snapshot.key.as_str().as_bytes();
    let body_len = 2 + stream.len() + 2 + key.len() + 8 + snapshot.data.len();
    if body_len > MAX_RECORD_LEN {
        return Err(StoreError::InvalidInput(format!(
            "snapshot of {body_len} bytes exceeds the maximum {MAX_RECORD_LEN}"
        )));
    }
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + body_len);
    let len_bytes = (body_len as u32).to_le_bytes();
    out.extend_from_slice(&FRAME_MAGIC);
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(stream.len() as u16).to_le_bytes());
    out.extend_from_slice(stream);
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&snapshot.version.0.to_le_bytes());
    out.extend_from_slice(&snapshot.data);
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), &out[FRAME_HEADER_LEN..]);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

fn parse_snapshot(body: &[u8]) -> Option<Snapshot> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Some(head)
    }
    let mut b = body;
    let n = u16::from_le_bytes(take(&mut b, 2)?.try_into().ok()?) as usize;
    let stream = StreamId::new(std::str::from_utf8(take(&mut b, n)?).ok()?).ok()?;
    let n = u16::from_le_bytes(take(&mut b, 2)?.try_into().ok()?) as usize;
    let key = SnapshotKey::new(std::str::from_utf8(take(&mut b, n)?).ok()?).ok()?;
    let version = StreamVersion(u64::from_le_bytes(take(&mut b, 8)?.try_into().ok()?));
    Some(Snapshot {
        stream,
        version,
        key,
        data: b.to_vec(),
    })
}

/// Opens `snapshots.log`, indexing it and cutting an invalid tail.
pub(crate) fn open_snapshots(dir: &Path) -> Result<(SnapshotLog, u64), StoreError> {
    let path = dir.join(SNAPSHOT_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))?;
    let bytes =
        fs::read(&path).map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
    let mut log = SnapshotLog {
        file,
        len: 0,
        index: BTreeMap::new(),
    };
    let mut offset = 0;
    while offset < bytes.len() {
        let Ok((body, total)) = decode_frame(&bytes[offset..]) else {
            break;
        };
        let Some(snapshot) = parse_snapshot(body) else {
            break;
        };
        log.index
            .entry((snapshot.stream, snapshot.key))
            .or_default()
            .insert(snapshot.version, (offset as u64, total as u32));
        offset += total;
    }
    let discarded = (bytes.len() - offset) as u64;
    if discarded > 0 {
        log.file
            .set_len(offset as u64)
            .and_then(|()| log.file.sync_all())
            .map_err(|e| StoreError::io(format!("truncating {}", path.display()), e))?;
    }
    log.len = offset as u64;
    Ok((log, discarded))
}

pub(crate) fn append_snapshot(
    dir: &Path,
    log: &mut SnapshotLog,
    snapshot: &Snapshot,
    durability: Durability,
) -> Result<(), StoreError> {
    let frame = snapshot_frame(snapshot)?;
    let path = dir.join(SNAPSHOT_FILE);
    let result = log.file.write_all_at(&frame, log.len).and_then(|()| {
        if durability == Durability::Fsync {
            log.file.sync_data()
        } else {
            Ok(())
        }
    });
    if let Err(e) = result {
        let _ = log.file.set_len(log.len);
        return Err(StoreError::io(format!("writing {}", path.display()), e));
    }
    log.index
        .entry((snapshot.stream.clone(), snapshot.key.clone()))
        .or_default()
        .insert(snapshot.version, (log.len, frame.len() as u32));
    log.len += frame.len() as u64;
    Ok(())
}

pub(crate) fn load_snapshot(
    dir: &Path,
    log: &SnapshotLog,
    stream: &StreamId,
    key: &SnapshotKey,
    at_or_before: StreamVersion,
) -> Result<Option<Snapshot>, StoreError> {
    let Some(&(offset, len)) = log
        .index
        .get(&(stream.clone(), key.clone()))
        .and_then(|by_version| by_version.range(..=at_or_before).next_back())
        .map(|(_, loc)| loc)
    else {
        return Ok(None);
    };
    let path = dir.join(SNAPSHOT_FILE);
    let mut buf = vec![0; len as usize];
    log.file
        .read_exact_at(&mut buf, offset)
        .map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
    let corrupt = |reason: String| StoreError::Corruption {
        segment: path.clone(),
        offset,
        reason,
    };
    let (body, _) = decode_frame(&buf).map_err(|e| corrupt(e.to_string()))?;
    parse_snapshot(body)
        .map(Some)
        .ok_or_else(|| corrupt("malformed snapshot record".into()))
}
