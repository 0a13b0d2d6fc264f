//! Crash test: a child process appends with `Durability::Fsync` and is
//! SIGKILLed at random moments; every acknowledged event must survive.
//!
//! The child is this test binary re-invoked to run [`child_appender`] with
//! `CREDENCE_CRASH_CHILD_DIR` set; it prints `ACK <event id>` for every
//! acknowledged event. Without the variable `child_appender` does nothing.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use credence_events::{EventId, GlobalPosition, NewEvent};
use credence_store::{Durability, EventStore, ExpectedVersion, FileOptions, FileStore};

use crate::support::{at, stream};

const DIR_VAR: &str = "CREDENCE_CRASH_CHILD_DIR";
const RUN_VAR: &str = "CREDENCE_CRASH_CHILD_RUN";
const KILLS: u64 = 25;

fn options() -> FileOptions {
    // Small segments so that kills also land around segment rolls.
    FileOptions::with_durability(Durability::Fsync).segment_size(16 * 1024)
}

/// The child's body: three threads append forever, printing each ack.
#[test]
fn child_appender() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let run: u128 = std::env::var(RUN_VAR).unwrap().parse().unwrap();
    let store = Arc::new(FileStore::open(Path::new(&dir), options()).unwrap());
    let threads: Vec<_> = (0..3u128)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                let s = stream(&format!("customer-{t}"));
                for i in 0u128.. {
                    let n = (i % 3 + 1) as usize;
                    let events: Vec<NewEvent> = (0..n)
                        .map(|k| {
                            let id = (run << 96) | (t << 64) | (i << 8) | k as u128;
                            let mut e = crate::support::ev(id);
                            e.recorded_at = at();
                            e
                        })
                        .collect();
                    store.append(&s, ExpectedVersion::Any, &events).unwrap();
                    let mut out = std::io::stdout().lock();
                    for e in &events {
                        writeln!(out, "ACK {}", e.id).unwrap();
                    }
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// A small xorshift generator: the test needs varied kill moments, not
/// good randomness.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn sigkill_never_loses_an_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let mut acknowledged: BTreeSet<EventId> = BTreeSet::new();
    let mut torn_tails = 0;
    for run in 1..=KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash::child_appender",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .env(RUN_VAR, run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let acks = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = {
            let acks = Arc::clone(&acks);
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    // The test harness may print on the same line first.
                    if let Some((_, id)) = line.split_once("ACK ") {
                        // A line cut by the kill does not parse and was
                        // never fully reported: ignore it.
                        if let Ok(id) = id.parse::<EventId>() {
                            acks.lock().unwrap().push(id);
                            // The child is appending: the kill may come.
                            let _ = ready_tx.send(());
                        }
                    }
                }
            })
        };
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the child opened the store and acknowledged an append");
        thread::sleep(Duration::from_millis(10 + rng.below(120)));
        child.kill().unwrap(); // SIGKILL on unix
        child.wait().unwrap();
        reader.join().unwrap();
        let acks = std::mem::take(&mut *acks.lock().unwrap());
        acknowledged.extend(acks);

        let store = FileStore::open(dir.path(), options()).unwrap();
        if store.recovery_report().torn_tail.is_some() {
            torn_tails += 1;
        }
        let stored: BTreeSet<EventId> = store
            .read_all(GlobalPosition::START, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        let lost: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "run {run}: acknowledged events lost: {lost:?}"
        );
        let report = store.verify().unwrap();
        assert_eq!(report.events, stored.len() as u64);
        assert_eq!(report.head, GlobalPosition(stored.len() as u64));
    }
    // Appends continue after the last crash.
    let store = FileStore::open(dir.path(), options().verify_chain_on_open(true)).unwrap();
    let head = store.head().unwrap();
    store
        .append(
            &stream("after"),
            ExpectedVersion::NoStream,
            &[crate::support::ev(7)],
        )
        .unwrap();
    assert_eq!(store.head().unwrap(), head.next());
    eprintln!(
        "{KILLS} kills, {} acknowledged events, {} stored, {torn_tails} torn tails recovered",
        acknowledged.len(),
        head
    );
}
