//! The embedded file log: the default backend.
//!
//! A directory holds numbered segment files (`0000000001.seg`, …) of
//! checksummed, hash-chained frames (see [`format`](mod@format)), a `LOCK` file that one
//! writer holds, and `snapshots.log`. An in-memory index built on open maps
//! every position to its frame and every stream to its positions, so
//! reading a stream never scans the log.
//!
//! Appenders are batched by **group commit**: the first appender to find no
//! commit in progress becomes the leader, validates every queued append in
//! order, writes all their frames with one write and (with
//! [`Durability::Fsync`]) one `fdatasync`, then wakes the others.

pub mod format;
mod recovery;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use credence_events::{EventEnvelope, EventId, GlobalPosition, NewEvent, StreamId, StreamVersion};

use crate::error::StoreError;
use crate::store::{
    AppendOutcome, AppendPlan, AppendSignal, EventStore, ExpectedVersion, Snapshot, SnapshotKey,
    VerifyReport, check_snapshot, plan_append,
};
use format::{RecordInput, SEGMENT_HEADER_LEN, decode_record, encode_record};

pub use recovery::{RecoveryReport, TornTail};

/// When an append is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Acknowledge only after the group's frames are written and
    /// `fdatasync`ed: an acknowledged event survives a process crash, a
    /// kernel crash and a power loss (on hardware that honours flushes).
    #[default]
    Fsync,
    /// Acknowledge once the frames are written to the operating system's
    /// cache, without `fdatasync`: an acknowledged event survives a crash of
    /// the process but not of the machine. Much faster; for tests, imports
    /// that can be re-run, and what-if copies.
    Buffered,
}

/// How a [`FileStore`] is opened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FileOptions {
    /// When appends are acknowledged. Default [`Durability::Fsync`].
    pub durability: Durability,
    /// A segment is closed and a new one started once it holds at least
    /// this many bytes. Default 64 MiB.
    pub segment_size: u64,
    /// Check the SHA-256 hash chain of every record while opening (costs one
    /// hash per record). Default false: open checks every frame's CRC32C,
    /// the positions and the stream versions; [`EventStore::verify`] checks
    /// the chain.
    pub verify_chain_on_open: bool,
    /// How long `open` keeps retrying a held directory lock before
    /// returning [`StoreError::Locked`]. Default 500 ms. The lock is an
    /// `flock` on `LOCK`; a child process forked by any thread of this
    /// process holds a copy of the descriptor until it `exec`s, so a store
    /// reopened right after being dropped may find the lock briefly held.
    pub lock_wait: Duration,
}

impl Default for FileOptions {
    fn default() -> FileOptions {
        FileOptions {
            durability: Durability::Fsync,
            segment_size: 64 * 1024 * 1024,
            verify_chain_on_open: false,
            lock_wait: Duration::from_millis(500),
        }
    }
}

impl FileOptions {
    /// The defaults with `durability`.
    pub fn with_durability(durability: Durability) -> FileOptions {
        FileOptions {
            durability,
            ..FileOptions::default()
        }
    }

    /// These options with another segment size.
    pub fn segment_size(mut self, bytes: u64) -> FileOptions {
        self.segment_size = bytes;
        self
    }

    /// These options with the hash chain checked on open (or not).
    pub fn verify_chain_on_open(mut self, verify: bool) -> FileOptions {
        self.verify_chain_on_open = verify;
        self
    }
}

/// The embedded, append-only file log.
///
/// Open it with [`FileStore::open`]; it holds an exclusive lock on the
/// directory until dropped.
pub struct FileStore {
    dir: PathBuf,
    options: FileOptions,
    _lock: File,
    index: RwLock<Index>,
    segments: RwLock<Vec<Arc<File>>>,
    writer: Mutex<Writer>,
    queue: Mutex<Queue>,
    queue_changed: Condvar,
    head: Mutex<GlobalPosition>,
    appended: AppendSignal,
    snapshots: Mutex<SnapshotLog>,
    poisoned: Mutex<Option<String>>,
    recovery: RecoveryReport,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .field("head", &*lock(&self.head))
            .finish_non_exhaustive()
    }
}

/// Where a record's frame is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loc {
    /// Index into the segment list (segment number - 1).
    segment: u32,
    offset: u64,
    len: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    /// By position - 1.
    locs: Vec<Loc>,
    /// Positions of each stream's events, by version - 1.
    streams: BTreeMap<StreamId, Vec<u64>>,
    ids: BTreeMap<EventId, u64>,
}

impl Index {
    fn version(&self, stream: &StreamId) -> StreamVersion {
        StreamVersion(self.streams.get(stream).map_or(0, |p| p.len() as u64))
    }

    fn head(&self) -> GlobalPosition {
        GlobalPosition(self.locs.len() as u64)
    }

    /// Where `stream`'s events from version `from` (inclusive; 0 reads
    /// from the start too) lie, at most `max` of them.
    fn stream_locs(&self, stream: &StreamId, from: StreamVersion, max: usize) -> Vec<Loc> {
        let Some(positions) = self.streams.get(stream) else {
            return Vec::new();
        };
        let skip = from.0.saturating_sub(1).min(positions.len() as u64) as usize;
        positions[skip..]
            .iter()
            .take(max)
            .map(|&p| self.locs[(p - 1) as usize])
            .collect()
    }

    /// Where the log's events after position `after` lie, at most `max`.
    fn log_locs(&self, after: GlobalPosition, max: usize) -> Vec<Loc> {
        let skip = after.0.min(self.locs.len() as u64) as usize;
        self.locs[skip..].iter().take(max).copied().collect()
    }
}

#[derive(Debug)]
struct Writer {
    file: Arc<File>,
    /// Segment number (1-based).
    number: u64,
    len: u64,
    last_hash: [u8; 32],
}

#[derive(Debug, Default)]
struct Queue {
    pending: Vec<Arc<Ticket>>,
    leader: bool,
}

#[derive(Debug)]
struct Ticket {
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    result: Mutex<Option<Result<AppendOutcome, StoreError>>>,
}

#[derive(Debug)]
struct SnapshotLog {
    file: File,
    len: u64,
    index: BTreeMap<(StreamId, SnapshotKey), BTreeMap<StreamVersion, (u64, u32)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data consistent before any call that
    // could panic, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// How many bytes of back-to-back frames a read fetches at once (a single
/// larger frame is read whole).
const READ_CHUNK: u64 = 64 * 1024;

/// Events a replay reads at a time (its locations copied out of the index,
/// so that appends are not held up while the page is read).
const REPLAY_PAGE: usize = 4_096;

/// The file name of segment `number`.
pub fn segment_file_name(number: u64) -> String {
    format!("{number:010}.seg")
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(format!("syncing directory {}", dir.display()), e))
}

impl FileStore {
    /// Opens (creating if needed) the store in `dir`, recovering a torn tail.
    ///
    /// # Errors
    ///
    /// [`StoreError::Locked`] when another writer holds the directory;
    /// [`StoreError::Corruption`] or [`StoreError::MissingSegment`] when the
    /// log is damaged anywhere but a torn tail; [`StoreError::Io`].
    pub fn open(dir: impl AsRef<Path>, options: FileOptions) -> Result<FileStore, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)
            .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
        let lock_path = dir.join("LOCK");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::io(format!("opening {}", lock_path.display()), e))?;
        let started = Instant::now();
        loop {
            match fs4::FileExt::try_lock(&lock_file) {
                Ok(()) => break,
                Err(fs4::TryLockError::WouldBlock) if started.elapsed() < options.lock_wait => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(fs4::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked { path: dir });
                }
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(StoreError::io(
                        format!("locking {}", lock_path.display()),
                        e,
                    ));
                }
            }
        }
        let recovered = recovery::recover(&dir, &options)?;
        let snapshots = recovery::open_snapshots(&dir)?;
        let mut recovery = recovered.report;
        recovery.snapshot_bytes_discarded = snapshots.1;
        let head = recovered.index.head();
        let store = FileStore {
            dir,
            options,
            _lock: lock_file,
            index: RwLock::new(recovered.index),
            segments: RwLock::new(recovered.segments),
            writer: Mutex::new(Writer {
                file: recovered.writer_file,
                number: recovered.writer_number,
                len: recovered.writer_len,
                last_hash: recovered.last_hash,
            }),
            queue: Mutex::new(Queue::default()),
            queue_changed: Condvar::new(),
            head: Mutex::new(head),
            appended: AppendSignal::default(),
            snapshots: Mutex::new(snapshots.0),
            poisoned: Mutex::new(None),
            recovery,
        };
        Ok(store)
    }

    /// What recovery found and repaired when this store was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options it was opened with.
    pub fn options(&self) -> &FileOptions {
        &self.options
    }

    fn check_usable(&self) -> Result<(), StoreError> {
        match &*lock(&self.poisoned) {
            Some(message) => Err(StoreError::Unusable(message.clone())),
            None => Ok(()),
        }
    }

    fn read_frames(&self, locs: &[Loc]) -> Result<Vec<EventEnvelope>, StoreError> {
        let mut out = Vec::with_capacity(locs.len());
        // The visitor never breaks.
        let _continued = self.visit_frames(locs, &mut |envelope| {
            out.push(envelope);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Reads, checks and decodes the frames at `locs`, in order, handing
    /// each event to `visit` until it breaks; returns whether it did.
    fn visit_frames(
        &self,
        locs: &[Loc],
        visit: &mut dyn FnMut(EventEnvelope) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, StoreError> {
        let segments = read(&self.segments).clone();
        let mut i = 0;
        let mut buf = Vec::new();
        let mut last_stream = None;
        while i < locs.len() {
            // A run of frames that lie back to back in one segment is read
            // with one call, in chunks of about READ_CHUNK bytes so that the
            // buffer stays in the CPU cache while its frames are decoded.
            let first = locs[i];
            let mut end = first.offset + u64::from(first.len);
            let mut j = i + 1;
            while j < locs.len()
                && locs[j].segment == first.segment
                && locs[j].offset == end
                && end - first.offset + u64::from(locs[j].len) <= READ_CHUNK
            {
                end += u64::from(locs[j].len);
                j += 1;
            }
            let file = segments
                .get(first.segment as usize)
                .ok_or_else(|| StoreError::Unusable("segment handle missing".into()))?;
            buf.resize((end - first.offset) as usize, 0);
            file.read_exact_at(&mut buf, first.offset).map_err(|e| {
                StoreError::io(
                    format!(
                        "reading {}",
                        self.dir
                            .join(segment_file_name(u64::from(first.segment) + 1))
                            .display()
                    ),
                    e,
                )
            })?;
            let mut at = 0;
            for loc in &locs[i..j] {
                let (raw, _, len) =
                    decode_record(&buf[at..]).map_err(|e| StoreError::Corruption {
                        segment: self.dir.join(segment_file_name(u64::from(loc.segment) + 1)),
                        offset: loc.offset,
                        reason: e.to_string(),
                    })?;
                at += len;
                if visit(raw.to_envelope_reusing(&mut last_stream)?).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
            i = j;
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Hands the events at the locations `page` gives (a page at a time,
    /// from the index; an empty page ends) to `visit`, until it breaks.
    fn replay_pages(
        &self,
        mut page: impl FnMut(&Index, usize) -> Vec<Loc>,
        visit: &mut dyn FnMut(&EventEnvelope) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let mut done = 0;
        loop {
            let locs = page(&read(&self.index), done);
            if locs.is_empty() {
                return Ok(());
            }
            done += locs.len();
            if self
                .visit_frames(&locs, &mut |envelope| visit(&envelope))?
                .is_break()
            {
                return Ok(());
            }
        }
    }

    /// Validates and writes one commit group; sets every ticket's result.
    fn commit_group(&self, group: &[Arc<Ticket>]) {
        let mut writer = lock(&self.writer);
        let set = |ticket: &Ticket, result| *lock(&ticket.result) = Some(result);
        if let Err(e) = self.check_usable() {
            for t in group {
                set(t, Err(e.duplicate()));
            }
            return;
        }
        if writer.len >= self.options.segment_size && writer.len > SEGMENT_HEADER_LEN as u64 {
            if let Err(e) = self.roll(&mut writer) {
                self.poison(&e);
                for t in group {
                    set(t, Err(e.duplicate()));
                }
                return;
            }
        }
        let segment = (writer.number - 1) as u32;
        let base = writer.len;
        let mut buf = Vec::with_capacity(group.len() * 512);
        let mut hash = writer.last_hash;
        let mut written: Vec<(&Ticket, AppendOutcome)> = Vec::new();
        let mut retried: Vec<(&Ticket, AppendOutcome)> = Vec::new();
        let mut new_locs: Vec<(Loc, StreamId, EventId)> = Vec::new();
        let mut group_versions: BTreeMap<&StreamId, StreamVersion> = BTreeMap::new();
        let mut group_ids: BTreeMap<EventId, EventEnvelope> = BTreeMap::new();
        {
            let index = read(&self.index);
            let mut next_position = index.head().0 + 1;
            for ticket in group {
                let current = group_versions
                    .get(&ticket.stream)
                    .copied()
                    .unwrap_or_else(|| index.version(&ticket.stream));
                let plan = plan_append(
                    &ticket.stream,
                    ticket.expected,
                    &ticket.events,
                    current,
                    |id| {
                        if let Some(e) = group_ids.get(id) {
                            return Ok(Some(e.clone()));
                        }
                        match index.ids.get(id) {
                            Some(&p) => {
                                let loc = index.locs[(p - 1) as usize];
                                Ok(self.read_frames(&[loc])?.pop())
                            }
                            None => Ok(None),
                        }
                    },
                );
                let current = match plan {
                    Err(e) => {
                        set(ticket, Err(e));
                        continue;
                    }
                    Ok(AppendPlan::AlreadyStored(outcome)) => {
                        // Acknowledged with the group: the batch may be one
                        // of this group's own, not yet durable.
                        retried.push((ticket, outcome));
                        continue;
                    }
                    Ok(AppendPlan::Write { current }) => current,
                };
                let (start_len, start_hash, start_locs) = (buf.len(), hash, new_locs.len());
                let n = ticket.events.len();
                let mut failed = None;
                for (i, event) in ticket.events.iter().enumerate() {
                    let offset = base + buf.len() as u64;
                    let input = RecordInput {
                        position: GlobalPosition(next_position + i as u64),
                        version: StreamVersion(current.0 + 1 + i as u64),
                        batch_remaining: (n - 1 - i) as u32,
                        prev_hash: hash,
                        stream: &ticket.stream,
                        event,
                    };
                    match encode_record(&input, &mut buf) {
                        Ok(h) => {
                            hash = h;
                            let len = (base + buf.len() as u64 - offset) as u32;
                            new_locs.push((
                                Loc {
                                    segment,
                                    offset,
                                    len,
                                },
                                ticket.stream.clone(),
                                event.id,
                            ));
                        }
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                if let Some(e) = failed {
                    buf.truncate(start_len);
                    hash = start_hash;
                    new_locs.truncate(start_locs);
                    set(ticket, Err(e));
                    continue;
                }
                for (i, event) in ticket.events.iter().enumerate() {
                    group_ids.insert(
                        event.id,
                        event.clone().into_envelope(
                            ticket.stream.clone(),
                            StreamVersion(current.0 + 1 + i as u64),
                            GlobalPosition(next_position + i as u64),
                        ),
                    );
                }
                let outcome = AppendOutcome {
                    stream_version: StreamVersion(current.0 + n as u64),
                    first_position: GlobalPosition(next_position),
                    last_position: GlobalPosition(next_position + n as u64 - 1),
                    already_stored: false,
                };
                group_versions.insert(&ticket.stream, outcome.stream_version);
                next_position += n as u64;
                written.push((ticket, outcome));
            }
        }
        if written.is_empty() {
            for (t, outcome) in retried {
                set(t, Ok(outcome));
            }
            return;
        }
        if let Err(e) = self.write_durably(&writer, &buf) {
            // Undo what may have reached the file so the log stays a
            // sequence of whole batches; the store refuses further writes
            // until reopened either way (after a failed fsync the page cache
            // cannot be trusted).
            let _ = writer.file.set_len(writer.len);
            self.poison(&e);
            for (t, _) in written.iter().chain(&retried) {
                set(t, Err(e.duplicate()));
            }
            return;
        }
        writer.len += buf.len() as u64;
        writer.last_hash = hash;
        let head = {
            let mut index = write(&self.index);
            for (loc, stream, id) in new_locs {
                index.locs.push(loc);
                let position = index.locs.len() as u64;
                index.streams.entry(stream).or_default().push(position);
                index.ids.insert(id, position);
            }
            index.head()
        };
        drop(writer);
        *lock(&self.head) = head;
        self.appended.notify();
        for (t, outcome) in written.into_iter().chain(retried) {
            set(t, Ok(outcome));
        }
    }

    fn write_durably(&self, writer: &Writer, buf: &[u8]) -> Result<(), StoreError> {
        let path = || self.dir.join(segment_file_name(writer.number));
        writer
            .file
            .write_all_at(buf, writer.len)
            .map_err(|e| StoreError::io(format!("writing {}", path().display()), e))?;
        if self.options.durability == Durability::Fsync {
            writer
                .file
                .sync_data()
                .map_err(|e| StoreError::io(format!("syncing {}", path().display()), e))?;
        }
        Ok(())
    }

    fn roll(&self, writer: &mut Writer) -> Result<(), StoreError> {
        let number = writer.number + 1;
        let head = read(&self.index).head();
        let file = recovery::create_segment(&self.dir, number, head.next())?;
        let file = Arc::new(file);
        write(&self.segments).push(Arc::clone(&file));
        writer.file = file;
        writer.number = number;
        writer.len = SEGMENT_HEADER_LEN as u64;
        Ok(())
    }

    fn poison(&self, error: &StoreError) {
        let mut poisoned = lock(&self.poisoned);
        if poisoned.is_none() {
            *poisoned = Some(error.to_string());
        }
    }
}

impl EventStore for FileStore {
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        self.check_usable()?;
        if events.is_empty() {
            return Err(StoreError::InvalidInput(
                "an append needs at least one event".into(),
            ));
        }
        let ticket = Arc::new(Ticket {
            stream: stream.clone(),
            expected,
            events: events.to_vec(),
            result: Mutex::new(None),
        });
        let mut queue = lock(&self.queue);
        queue.pending.push(Arc::clone(&ticket));
        loop {
            if let Some(result) = lock(&ticket.result).take() {
                return result;
            }
            if queue.leader {
                queue = self
                    .queue_changed
                    .wait(queue)
                    .unwrap_or_else(|e| e.into_inner());
                continue;
            }
            queue.leader = true;
            let group = std::mem::take(&mut queue.pending);
            drop(queue);
            // Hand leadership back even if the commit panics, so that other
            // appenders are never stranded.
            struct Release<'a>(&'a FileStore);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    lock(&self.0.queue).leader = false;
                    self.0.queue_changed.notify_all();
                }
            }
            {
                let _release = Release(self);
                self.commit_group(&group);
            }
            queue = lock(&self.queue);
        }
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let locs = read(&self.index).stream_locs(stream, from, max);
        self.read_frames(&locs)
    }

    fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let locs = read(&self.index).log_locs(after, max);
        self.read_frames(&locs)
    }

    fn replay_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        visit: &mut dyn FnMut(&EventEnvelope) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let first = from.0.max(1);
        self.replay_pages(
            |index, done| {
                let from = StreamVersion(first.saturating_add(done as u64));
                index.stream_locs(stream, from, REPLAY_PAGE)
            },
            visit,
        )
    }

    fn replay_all(
        &self,
        after: GlobalPosition,
        visit: &mut dyn FnMut(&EventEnvelope) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        self.replay_pages(
            |index, done| {
                let after = GlobalPosition(after.0.saturating_add(done as u64));
                index.log_locs(after, REPLAY_PAGE)
            },
            visit,
        )
    }

    fn streams(&self) -> Result<Vec<StreamId>, StoreError> {
        Ok(read(&self.index).streams.keys().cloned().collect())
    }

    fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError> {
        Ok(read(&self.index).version(stream))
    }

    fn head(&self) -> Result<GlobalPosition, StoreError> {
        Ok(read(&self.index).head())
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.check_usable()?;
        check_snapshot(snapshot, read(&self.index).version(&snapshot.stream))?;
        let mut log = lock(&self.snapshots);
        recovery::append_snapshot(&self.dir, &mut log, snapshot, self.options.durability)
    }

    fn load_snapshot(
        &self,
        stream: &StreamId,
        key: &SnapshotKey,
        at_or_before: StreamVersion,
    ) -> Result<Option<Snapshot>, StoreError> {
        let log = lock(&self.snapshots);
        recovery::load_snapshot(&self.dir, &log, stream, key, at_or_before)
    }

    fn verify(&self) -> Result<VerifyReport, StoreError> {
        let head = read(&self.index).head();
        let segments = read(&self.segments).len() as u64;
        recovery::verify(&self.dir, segments, head)
    }

    fn wait_for_append(
        &self,
        after: GlobalPosition,
        timeout: Duration,
    ) -> Result<GlobalPosition, StoreError> {
        Ok(self
            .appended
            .wait_for_head(lock(&self.head), after, timeout, |head| *head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FileStore>();
    }

    #[test]
    fn a_failed_write_makes_the_store_unusable_until_reopened() {
        use credence_events::{ManagerAssigned, ManagerId};
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let ev = |n: u128| {
            NewEvent::new(
                EventId::from_u128(n),
                at,
                ManagerAssigned {
                    manager: ManagerId::new("m").unwrap(),
                },
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let s = StreamId::new("ACME").unwrap();
        let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
        store.append(&s, ExpectedVersion::Any, &[ev(1)]).unwrap();
        {
            // Swap the writer's file for a read-only handle: the next write fails.
            let mut writer = lock(&store.writer);
            let path = dir.path().join(segment_file_name(writer.number));
            writer.file = Arc::new(File::open(path).unwrap());
        }
        let err = store
            .append(&s, ExpectedVersion::Any, &[ev(2)])
            .unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
        assert!(err.is_infrastructure());
        let err = store
            .append(&s, ExpectedVersion::Any, &[ev(3)])
            .unwrap_err();
        assert!(matches!(err, StoreError::Unusable(_)), "{err:?}");
        assert_eq!(store.head().unwrap(), GlobalPosition(1));
        assert_eq!(store.read_all(GlobalPosition::START, 10).unwrap().len(), 1);
        drop(store);
        let store = FileStore::open(dir.path(), FileOptions::default()).unwrap();
        assert_eq!(store.head().unwrap(), GlobalPosition(1));
        let retry = store.append(&s, ExpectedVersion::Any, &[ev(2)]).unwrap();
        assert_eq!(retry.first_position, GlobalPosition(2));
        store.verify().unwrap();
    }

    #[test]
    fn segment_names_sort_by_number() {
        assert_eq!(segment_file_name(1), "0000000001.seg");
        assert!(segment_file_name(9) < segment_file_name(10));
    }
}
