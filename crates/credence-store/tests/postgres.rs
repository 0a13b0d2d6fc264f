//! PostgreSQL: the conformance suite, concurrency across connections, migrations.
//!
//! The server comes from `CREDENCE_TEST_DATABASE_URL` when it is set;
//! otherwise this binary starts a throwaway one with `scripts/postgres.sh`
//! (once, on first use; the script's watchdog stops it when this process
//! exits). When neither works the tests fail: they never skip. Each test
//! works in a schema of its own, dropped at the end, so tests run in parallel.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use credence_events::GlobalPosition;
use credence_store::{EventStore, ExpectedVersion, PostgresOptions, PostgresStore, StoreError};

use crate::support::{Fixture, ev, stream, unique};

/// The variable naming an existing server for the tests.
pub const URL_VAR: &str = "CREDENCE_TEST_DATABASE_URL";

/// The database URL for the tests, starting a throwaway server if needed.
pub fn database_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var(URL_VAR) {
            return url;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres.sh");
        let output = Command::new("bash")
            .arg(&script)
            .args(["start", "--owner-pid", &std::process::id().to_string()])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let url = stdout.lines().last().unwrap_or("").trim().to_owned();
        assert!(
            output.status.success() && !url.is_empty(),
            "PostgreSQL could not be started by {} (set {URL_VAR} to use an existing server):\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        url
    })
}

/// Drops the test's schema when the test ends.
struct SchemaGuard(String);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(database_url(), postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0));
        }
    }
}

fn fresh_schema() -> String {
    format!("credence_test_{}_{}", std::process::id(), unique() >> 64)
}

fn open(schema: &str) -> PostgresStore {
    PostgresStore::connect_with(database_url(), PostgresOptions::default().schema(schema))
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {}: {e}", database_url()))
}

fn fixture() -> Fixture {
    let schema = fresh_schema();
    let store = open(&schema);
    Fixture {
        store: Arc::new(store),
        _guard: Box::new(SchemaGuard(schema)),
    }
}

crate::conformance_tests!(fixture);

#[test]
fn connections_race_for_versions() {
    let schema = fresh_schema();
    let _guard = SchemaGuard(schema.clone());
    crate::concurrency::race(Arc::new(open(&schema)), 8, 15);
}

#[test]
fn separate_stores_share_one_log() {
    // Two stores are two independent pools, like two processes.
    let schema = fresh_schema();
    let _guard = SchemaGuard(schema.clone());
    let (a, b) = (open(&schema), open(&schema));
    a.append(&stream("ACME"), ExpectedVersion::NoStream, &[ev(1)])
        .unwrap();
    let err = b
        .append(&stream("ACME"), ExpectedVersion::NoStream, &[ev(2)])
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let retry = b
        .append(&stream("ACME"), ExpectedVersion::NoStream, &[ev(1)])
        .unwrap();
    assert!(retry.already_stored);
    b.append(&stream("Globex"), ExpectedVersion::Any, &[ev(3)])
        .unwrap();
    assert_eq!(a.head().unwrap(), GlobalPosition(2));
    assert_eq!(a.read_all(GlobalPosition::START, 10).unwrap().len(), 2);
}

#[test]
fn migrations_are_recorded_and_idempotent() {
    let schema = fresh_schema();
    let _guard = SchemaGuard(schema.clone());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let schema = schema.clone();
            std::thread::spawn(move || open(&schema))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut client = postgres::Client::connect(database_url(), postgres::NoTls).unwrap();
    let rows = client
        .query(
            &format!("SELECT version FROM \"{schema}\".schema_migrations"),
            &[],
        )
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, [PostgresStore::SCHEMA_VERSION]);
    // A database migrated by a newer build is refused.
    client
        .execute(
            &format!("INSERT INTO \"{schema}\".schema_migrations (version) VALUES (999)"),
            &[],
        )
        .unwrap();
    let err =
        PostgresStore::connect_with(database_url(), PostgresOptions::default().schema(&schema))
            .unwrap_err();
    assert!(matches!(err, StoreError::Integrity(_)), "{err}");
}

#[test]
fn a_bad_schema_name_is_refused() {
    let err =
        PostgresStore::connect_with(database_url(), PostgresOptions::default().schema("x; drop"))
            .unwrap_err();
    assert!(err.is_bad_input());
}

#[test]
fn connections_retry_concurrently() {
    let schema = fresh_schema();
    let _guard = SchemaGuard(schema.clone());
    crate::concurrency::concurrent_retries(Arc::new(open(&schema)), 8);
}
