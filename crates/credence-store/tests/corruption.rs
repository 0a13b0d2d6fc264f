//! Corruption of the file log: each kind of damage is detected or recovered as specified.

use std::fs;
use std::path::{Path, PathBuf};

use credence_events::{GlobalPosition, StreamVersion};
use credence_store::file::format::{SEGMENT_HEADER_LEN, decode_frame};
use credence_store::file::segment_file_name;
use credence_store::{EventStore, ExpectedVersion, FileOptions, FileStore, StoreError};

use crate::support::{ev, evs, stream};

/// A store in `dir` with `n` single-event appends.
fn populate(dir: &Path, n: u64, options: FileOptions) {
    let store = FileStore::open(dir, options).unwrap();
    for i in 0..n {
        store
            .append(
                &stream("ACME"),
                ExpectedVersion::Exact(StreamVersion(i)),
                &[ev(u128::from(i) + 1)],
            )
            .unwrap();
    }
}

fn segment(dir: &Path, number: u64) -> PathBuf {
    dir.join(segment_file_name(number))
}

/// (offset, length) of every frame of a segment.
fn frames(path: &Path) -> Vec<(usize, usize)> {
    let bytes = fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut offset = SEGMENT_HEADER_LEN;
    while offset < bytes.len() {
        let (_, len) = decode_frame(&bytes[offset..]).unwrap();
        out.push((offset, len));
        offset += len;
    }
    out
}

fn corruption(err: StoreError) -> (PathBuf, u64, String) {
    match err {
        StoreError::Corruption {
            segment,
            offset,
            reason,
        } => (segment, offset, reason),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn a_flipped_byte_in_the_middle_names_segment_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 30, FileOptions::default());
    let path = segment(dir.path(), 1);
    let (offset, len) = frames(&path)[12];
    let mut bytes = fs::read(&path).unwrap();
    bytes[offset + len / 2] ^= 0x01;
    let size = bytes.len() as u64;
    fs::write(&path, bytes).unwrap();
    let err = FileStore::open(dir.path(), FileOptions::default()).unwrap_err();
    let message = err.to_string();
    let (segment, at, reason) = corruption(err);
    assert_eq!(segment, path);
    assert_eq!(at, offset as u64);
    assert!(reason.contains("checksum mismatch"), "{reason}");
    assert!(
        message.contains("0000000001.seg") && message.contains(&format!("at byte {offset}")),
        "{message}"
    );
    // Nothing was truncated: the data after the damage is still there.
    assert_eq!(fs::metadata(&path).unwrap().len(), size);
}

#[test]
fn damage_in_a_closed_segment_is_an_error_even_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 30, FileOptions::default().segment_size(2000));
    let path = segment(dir.path(), 1);
    let (offset, _) = *frames(&path).last().unwrap();
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let (segment, at, _) =
        corruption(FileStore::open(dir.path(), FileOptions::default()).unwrap_err());
    assert_eq!((segment, at), (path, offset as u64));
}

#[test]
fn a_truncated_tail_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 10, FileOptions::default());
    {
        let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
        // The last append is a batch of three; tear its last record.
        store
            .append(
                &stream("ACME"),
                ExpectedVersion::Exact(StreamVersion(10)),
                &evs(100, 3),
            )
            .unwrap();
    }
    let path = segment(dir.path(), 1);
    let all = frames(&path);
    let batch_start = all[10].0;
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
    let tail = store
        .recovery_report()
        .torn_tail
        .clone()
        .expect("a torn tail is reported");
    assert_eq!(tail.segment, path);
    assert_eq!(tail.offset, batch_start as u64);
    assert_eq!(tail.records_discarded, 2);
    assert_eq!(tail.bytes_discarded, len - 5 - batch_start as u64);
    assert_eq!(store.head().unwrap(), GlobalPosition(10));
    assert_eq!(fs::metadata(&path).unwrap().len(), batch_start as u64);
    store.verify().unwrap();
    // Appends continue where the log now ends, and the chain holds.
    store
        .append(
            &stream("ACME"),
            ExpectedVersion::Exact(StreamVersion(10)),
            &evs(100, 3),
        )
        .unwrap();
    assert_eq!(store.verify().unwrap().events, 13);
    drop(store);
    let store = FileStore::open(
        dir.path(),
        FileOptions::default().verify_chain_on_open(true),
    )
    .unwrap();
    assert_eq!(store.recovery_report().torn_tail, None);
}

#[test]
fn zeroes_after_the_last_record_are_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 5, FileOptions::default());
    let path = segment(dir.path(), 1);
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len + 4096)
        .unwrap();
    let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
    let tail = store.recovery_report().torn_tail.clone().unwrap();
    assert_eq!(
        (tail.offset, tail.bytes_discarded, tail.records_discarded),
        (len, 4096, 0)
    );
    assert_eq!(store.head().unwrap(), GlobalPosition(5));
}

#[test]
fn a_deleted_segment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 40, FileOptions::default().segment_size(1500));
    assert!(segment(dir.path(), 3).exists());
    fs::remove_file(segment(dir.path(), 2)).unwrap();
    let err = FileStore::open(dir.path(), FileOptions::default()).unwrap_err();
    match &err {
        StoreError::MissingSegment { segment: missing } => {
            assert_eq!(missing, &segment(dir.path(), 2))
        }
        other => panic!("expected a missing segment, got {other:?}"),
    }
    assert!(
        err.to_string().ends_with("0000000002.seg is missing"),
        "{err}"
    );
}

#[test]
fn an_edited_payload_with_a_recomputed_crc_breaks_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 10, FileOptions::default());
    let path = segment(dir.path(), 1);
    let all = frames(&path);
    let (offset, len) = all[4];
    let mut bytes = fs::read(&path).unwrap();
    // Rewrite the manager's name in event 5 ("manager-5" -> "manager-7")
    // and fix up the frame's CRC so that only the chain can tell.
    let frame = &mut bytes[offset..offset + len];
    let at = frame.windows(9).position(|w| w == b"manager-5").unwrap();
    frame[at + 8] = b'7';
    let crc = crc32c::crc32c_append(crc32c::crc32c(&frame[4..8]), &frame[12..]);
    frame[8..12].copy_from_slice(&crc.to_le_bytes());
    fs::write(&path, &bytes).unwrap();

    // The frame checks out, so a plain open succeeds...
    let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
    let edited = store
        .read_stream(&stream("ACME"), StreamVersion(5), 1)
        .unwrap();
    assert_ne!(edited[0].event, ev(5).event);
    // ...but the chain does not.
    let (segment, at, reason) = corruption(store.verify().unwrap_err());
    assert_eq!((segment.clone(), at), (path.clone(), all[5].0 as u64));
    assert!(reason.contains("hash chain broken"), "{reason}");
    drop(store);
    let (segment, at, _) = corruption(
        FileStore::open(
            dir.path(),
            FileOptions::default().verify_chain_on_open(true),
        )
        .unwrap_err(),
    );
    assert_eq!((segment, at), (path, all[5].0 as u64));
}

#[test]
fn a_replaced_segment_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 3, FileOptions::default());
    let path = segment(dir.path(), 1);
    let mut bytes = fs::read(&path).unwrap();
    bytes[0] = b'X';
    fs::write(&path, bytes).unwrap();
    let (segment, at, reason) =
        corruption(FileStore::open(dir.path(), FileOptions::default()).unwrap_err());
    assert_eq!((segment, at), (path, 0));
    assert_eq!(reason, "bad segment header");
}

/// A write torn at any byte of the last appends is recovered to the last
/// complete batch: never an error, never a partial batch, never more.
#[test]
fn a_write_torn_at_any_byte_recovers_to_the_last_whole_batch() {
    let original = tempfile::tempdir().unwrap();
    {
        let store = FileStore::open(original.path(), FileOptions::default()).unwrap();
        store
            .append(&stream("ACME"), ExpectedVersion::NoStream, &evs(1, 2))
            .unwrap();
        store
            .append(
                &stream("ACME"),
                ExpectedVersion::Exact(StreamVersion(2)),
                &evs(3, 3),
            )
            .unwrap();
        store
            .append(&stream("Globex"), ExpectedVersion::NoStream, &evs(6, 2))
            .unwrap();
    }
    let path = segment(original.path(), 1);
    let bytes = fs::read(&path).unwrap();
    let all = frames(&path);
    // Batch ends (exclusive byte offsets) and the head after each batch.
    let ends = [
        (all[1].0 + all[1].1, 2),
        (all[4].0 + all[4].1, 5),
        (bytes.len(), 7),
    ];
    let work = tempfile::tempdir().unwrap();
    let torn = segment(work.path(), 1);
    for cut in (ends[0].0..=bytes.len())
        .step_by(5)
        .chain([bytes.len() - 1, bytes.len()])
    {
        fs::write(&torn, &bytes[..cut]).unwrap();
        let _ = fs::remove_file(work.path().join("snapshots.log"));
        let store = FileStore::open(
            work.path(),
            FileOptions::default().verify_chain_on_open(true),
        )
        .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let (end, head) = *ends.iter().rev().find(|(end, _)| *end <= cut).unwrap();
        assert_eq!(store.head().unwrap(), GlobalPosition(head), "cut at {cut}");
        assert_eq!(
            store.recovery_report().torn_tail.is_some(),
            cut != end,
            "cut at {cut}"
        );
        assert_eq!(
            fs::metadata(&torn).unwrap().len(),
            end as u64,
            "cut at {cut}"
        );
        store.verify().unwrap();
    }
}
