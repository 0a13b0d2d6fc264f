//! The PostgreSQL backend: one log shared by many processes and machines.
//!
//! # Schema (migration 1)
//!
//! ```sql
//! CREATE TABLE credence_head (id smallint PRIMARY KEY CHECK (id = 1), position bigint NOT NULL);
//! CREATE TABLE credence_events (
//!     position bigint PRIMARY KEY,          -- 1, 2, 3, … in commit order, no gaps
//!     stream text NOT NULL,
//!     version bigint NOT NULL,
//!     event_id uuid NOT NULL UNIQUE,
//!     event_type text NOT NULL,
//!     schema_version integer NOT NULL,
//!     occurred_at timestamptz NOT NULL,     -- for queries; exact values are in `envelope`
//!     recorded_at timestamptz NOT NULL,
//!     envelope json NOT NULL,               -- the codec's JSON envelope
//!     UNIQUE (stream, version));
//! CREATE TABLE credence_snapshots (
//!     stream text, key text, version bigint, data bytea NOT NULL,
//!     PRIMARY KEY (stream, key, version));
//! ```
//!
//! Migrations are numbered and recorded in `schema_migrations`; they run on
//! connect under an advisory lock, so concurrent first connects are safe.
//!
//! # Gap-free positions
//!
//! An append locks the single row of `credence_head` (`SELECT … FOR
//! UPDATE`), takes the next positions from it, inserts, advances it and
//! commits. The row lock is held until commit, so appends commit in position
//! order and a reader never sees position `n + 1` before `n`: reading "after
//! my checkpoint" never skips an event that commits later. The price is that
//! appends are serialised across the whole database, which is what a
//! credit-control log with strict global order needs.
//!
//! # Subscriptions
//!
//! Each append calls `pg_notify('credence_appended', schema)` in its
//! transaction; a waiting subscriber `LISTEN`s on a dedicated connection and
//! re-reads the head when notified. Concurrent waiters beyond the first poll.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use credence_events::codec;
use credence_events::{EventEnvelope, EventId, GlobalPosition, NewEvent, StreamId, StreamVersion};
use postgres::{Client, Config, NoTls};
use uuid::Uuid;

use crate::error::StoreError;
use crate::store::{
    AppendOutcome, AppendPlan, EventStore, ExpectedVersion, Snapshot, SnapshotKey, VerifyReport,
    check_snapshot, plan_append,
};

/// The numbered schema migrations, oldest first.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "CREATE TABLE credence_head (id smallint PRIMARY KEY CHECK (id = 1), position bigint NOT NULL);
     INSERT INTO credence_head VALUES (1, 0);
     CREATE TABLE credence_events (
         position bigint PRIMARY KEY,
         stream text NOT NULL,
         version bigint NOT NULL,
         event_id uuid NOT NULL UNIQUE,
         event_type text NOT NULL,
         schema_version integer NOT NULL,
         occurred_at timestamptz NOT NULL,
         recorded_at timestamptz NOT NULL,
         envelope json NOT NULL,
         UNIQUE (stream, version));
     CREATE TABLE credence_snapshots (
         stream text NOT NULL,
         key text NOT NULL,
         version bigint NOT NULL,
         data bytea NOT NULL,
         PRIMARY KEY (stream, key, version));",
)];

/// The advisory lock key that serialises migrations ("credence" in ASCII).
const MIGRATION_LOCK: i64 = 0x6372_6564_656e_6365;

/// How a [`PostgresStore`] connects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The schema holding Credence's tables; created if missing. Default
    /// `public`. Must be a plain lowercase identifier.
    pub schema: String,
    /// Idle connections kept for reuse. Default 8.
    pub idle_connections: usize,
    /// How often a waiting subscription polls for new events when the
    /// `LISTEN` connection is busy with another waiter. Default 20 ms.
    pub poll_interval: Duration,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions {
            schema: "public".into(),
            idle_connections: 8,
            poll_interval: Duration::from_millis(20),
        }
    }
}

impl PostgresOptions {
    /// These options with another schema.
    pub fn schema(mut self, schema: impl Into<String>) -> PostgresOptions {
        self.schema = schema.into();
        self
    }

    /// These options with another polling interval.
    pub fn poll_interval(mut self, interval: Duration) -> PostgresOptions {
        self.poll_interval = interval;
        self
    }
}

/// An [`EventStore`] in PostgreSQL (feature `postgres`).
///
/// Holds a small pool of connections; every method takes one for its
/// duration, so the store can be shared by many threads. Connect with a
/// libpq-style URL or key-value string (`postgresql://user:pw@host/db`,
/// `host=/run/postgresql user=credence dbname=credence`).
pub struct PostgresStore {
    config: Config,
    options: PostgresOptions,
    idle: Mutex<Vec<Client>>,
    /// A connection that `LISTEN`s on [`CHANNEL`], used by one waiting
    /// subscriber at a time; others poll.
    listener: Mutex<Option<Client>>,
}

/// The channel every append notifies (payload: the schema) on commit.
const CHANNEL: &str = "credence_appended";

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A pooled connection, returned to the pool on drop unless broken.
struct Conn<'a> {
    store: &'a PostgresStore,
    client: Option<Client>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if !client.is_closed() {
                let mut idle = self.store.lock_idle();
                if idle.len() < self.store.options.idle_connections {
                    idle.push(client);
                }
            }
        }
    }
}

fn valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && schema.len() <= 63
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Integrity(format!("negative number {n} in the log")))
}

fn decode(text: &str, position: i64) -> Result<EventEnvelope, StoreError> {
    codec::decode(text).map_err(|source| StoreError::Decode {
        position: GlobalPosition(position.max(0) as u64),
        source,
    })
}

impl PostgresStore {
    /// Connects with default options and runs pending migrations.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidInput`] for a malformed URL,
    /// [`StoreError::Database`] when the server cannot be reached or the
    /// migration fails, [`StoreError::Integrity`] when the database was
    /// migrated by a newer build.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(url, PostgresOptions::default())
    }

    /// Connects with `options` and runs pending migrations.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect`]; [`StoreError::InvalidInput`] for a
    /// schema name that is not a plain lowercase identifier.
    pub fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        if !valid_schema(&options.schema) {
            return Err(StoreError::InvalidInput(format!(
                "schema name {:?} must be a lowercase identifier",
                options.schema
            )));
        }
        let config: Config = url
            .parse()
            .map_err(|e| StoreError::InvalidInput(format!("bad database url: {e}")))?;
        let store = PostgresStore {
            config,
            options,
            idle: Mutex::new(Vec::new()),
            listener: Mutex::new(None),
        };
        let mut client = store.config.connect(NoTls)?;
        store.migrate(&mut client)?;
        client.batch_execute(&format!("SET search_path TO \"{}\"", store.options.schema))?;
        store.lock_idle().push(client);
        Ok(store)
    }

    /// The schema version this build migrates to.
    pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

    fn migrate(&self, client: &mut Client) -> Result<(), StoreError> {
        let schema = &self.options.schema;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
             SET LOCAL search_path TO \"{schema}\";
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now());"
        ))?;
        let applied: Vec<i32> = tx
            .query("SELECT version FROM schema_migrations", &[])?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if let Some(newest) = applied.iter().max() {
            if *newest > Self::SCHEMA_VERSION {
                return Err(StoreError::Integrity(format!(
                    "database schema version {newest} is newer than this build knows ({})",
                    Self::SCHEMA_VERSION
                )));
            }
        }
        for (version, sql) in MIGRATIONS {
            if !applied.contains(version) {
                tx.batch_execute(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[version],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn lock_idle(&self) -> MutexGuard<'_, Vec<Client>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn conn(&self) -> Result<Conn<'_>, StoreError> {
        let pooled = self.lock_idle().pop();
        let client = match pooled {
            Some(client) if !client.is_closed() => client,
            _ => {
                let mut client = self.config.connect(NoTls)?;
                client.batch_execute(&format!("SET search_path TO \"{}\"", self.options.schema))?;
                client
            }
        };
        Ok(Conn {
            store: self,
            client: Some(client),
        })
    }

    fn read_query(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let mut conn = self.conn()?;
        let rows = conn.query(sql, params)?;
        rows.iter()
            .map(|row| decode(row.get(1), row.get(0)))
            .collect()
    }
}

fn version_of(
    client: &mut impl postgres::GenericClient,
    stream: &StreamId,
) -> Result<StreamVersion, StoreError> {
    let v: i64 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM credence_events WHERE stream = $1",
            &[&stream.as_str()],
        )?
        .get(0);
    Ok(StreamVersion(to_u64(v)?))
}

impl EventStore for PostgresStore {
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, StoreError> {
        if events.is_empty() {
            return Err(StoreError::InvalidInput(
                "an append needs at least one event".into(),
            ));
        }
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let head: i64 = tx
            .query_one(
                "SELECT position FROM credence_head WHERE id = 1 FOR UPDATE",
                &[],
            )?
            .get(0);
        let current = version_of(&mut tx, stream)?;
        let ids: Vec<Uuid> = events.iter().map(|e| *e.id.as_uuid()).collect();
        let mut stored = BTreeMap::new();
        for row in tx.query(
            "SELECT position, envelope::text FROM credence_events WHERE event_id = ANY($1)",
            &[&ids],
        )? {
            let envelope = decode(row.get(1), row.get(0))?;
            stored.insert(envelope.id, envelope);
        }
        let plan = plan_append(stream, expected, events, current, |id: &EventId| {
            Ok(stored.get(id).cloned())
        })?;
        let current = match plan {
            AppendPlan::AlreadyStored(outcome) => return Ok(outcome),
            AppendPlan::Write { current } => current,
        };
        let first = to_u64(head)? + 1;
        let n = events.len() as u64;
        let mut positions = Vec::with_capacity(events.len());
        let mut versions = Vec::with_capacity(events.len());
        let mut types = Vec::with_capacity(events.len());
        let mut schemas = Vec::with_capacity(events.len());
        let mut occurred = Vec::with_capacity(events.len());
        let mut recorded = Vec::with_capacity(events.len());
        let mut envelopes = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let position = GlobalPosition(first + i as u64);
            let version = StreamVersion(current.0 + 1 + i as u64);
            positions.push(to_i64(position.0));
            versions.push(to_i64(version.0));
            types.push(event.event.type_name());
            schemas.push(i32::from(event.event.schema_version()));
            occurred.push(event.occurred_at.to_rfc3339());
            recorded.push(event.recorded_at.to_rfc3339());
            envelopes.push(codec::encode(&event.clone().into_envelope(
                stream.clone(),
                version,
                position,
            )));
        }
        tx.execute(
            "INSERT INTO credence_events
                 (position, stream, version, event_id, event_type, schema_version,
                  occurred_at, recorded_at, envelope)
             SELECT p, $2, v, i, t, s, o::timestamptz, r::timestamptz, e::json
             FROM unnest($1::bigint[], $3::bigint[], $4::uuid[], $5::text[], $6::int[],
                         $7::text[], $8::text[], $9::text[]) AS x(p, v, i, t, s, o, r, e)",
            &[
                &positions,
                &stream.as_str(),
                &versions,
                &ids,
                &types,
                &schemas,
                &occurred,
                &recorded,
                &envelopes,
            ],
        )?;
        let last = first + n - 1;
        // Advance the head and notify waiting subscribers (delivered on commit).
        tx.execute(
            "WITH advanced AS (UPDATE credence_head SET position = $1 WHERE id = 1)
             SELECT pg_notify($2, $3)",
            &[&to_i64(last), &CHANNEL, &self.options.schema],
        )?;
        tx.commit()?;
        Ok(AppendOutcome {
            stream_version: StreamVersion(current.0 + n),
            first_position: GlobalPosition(first),
            last_position: GlobalPosition(last),
            already_stored: false,
        })
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        self.read_query(
            "SELECT position, envelope::text FROM credence_events
             WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3",
            &[&stream.as_str(), &to_i64(from.0), &to_i64(max as u64)],
        )
    }

    fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        self.read_query(
            "SELECT position, envelope::text FROM credence_events
             WHERE position > $1 ORDER BY position LIMIT $2",
            &[&to_i64(after.0), &to_i64(max as u64)],
        )
    }

    fn streams(&self) -> Result<Vec<StreamId>, StoreError> {
        // The database's collation may order text differently from Rust:
        // sort here.
        let rows = self
            .conn()?
            .query("SELECT DISTINCT stream FROM credence_events", &[])?;
        let mut streams = rows
            .iter()
            .map(|row| {
                StreamId::new(row.get::<_, String>(0))
                    .map_err(|e| StoreError::Integrity(format!("stored stream id: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        streams.sort_unstable();
        Ok(streams)
    }

    fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError> {
        version_of(&mut *self.conn()?, stream)
    }

    fn head(&self) -> Result<GlobalPosition, StoreError> {
        let head: i64 = self
            .conn()?
            .query_one("SELECT position FROM credence_head WHERE id = 1", &[])?
            .get(0);
        Ok(GlobalPosition(to_u64(head)?))
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        check_snapshot(snapshot, version_of(&mut tx, &snapshot.stream)?)?;
        tx.execute(
            "INSERT INTO credence_snapshots (stream, key, version, data) VALUES ($1, $2, $3, $4)
             ON CONFLICT (stream, key, version) DO UPDATE SET data = EXCLUDED.data",
            &[
                &snapshot.stream.as_str(),
                &snapshot.key.as_str(),
                &to_i64(snapshot.version.0),
                &snapshot.data,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn load_snapshot(
        &self,
        stream: &StreamId,
        key: &SnapshotKey,
        at_or_before: StreamVersion,
    ) -> Result<Option<Snapshot>, StoreError> {
        let row = self.conn()?.query_opt(
            "SELECT version, data FROM credence_snapshots
             WHERE stream = $1 AND key = $2 AND version <= $3
             ORDER BY version DESC LIMIT 1",
            &[&stream.as_str(), &key.as_str(), &to_i64(at_or_before.0)],
        )?;
        row.map(|row| {
            Ok(Snapshot {
                stream: stream.clone(),
                version: StreamVersion(to_u64(row.get(0))?),
                key: key.clone(),
                data: row.get(1),
            })
        })
        .transpose()
    }

    fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let head: i64 = tx
            .query_one("SELECT position FROM credence_head WHERE id = 1", &[])?
            .get(0);
        let row = tx.query_one(
            "SELECT count(*), coalesce(max(position), 0), count(DISTINCT stream) FROM credence_events",
            &[],
        )?;
        let (count, max, streams): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if count != head || max != head {
            return Err(StoreError::Integrity(format!(
                "the log holds {count} events up to position {max} but its head is {head}"
            )));
        }
        if let Some(row) = tx.query_opt(
            "SELECT stream, version FROM (
                 SELECT stream, version, row_number() OVER (PARTITION BY stream ORDER BY version) AS n
                 FROM credence_events) x
             WHERE version <> n LIMIT 1",
            &[],
        )? {
            let (stream, version): (String, i64) = (row.get(0), row.get(1));
            return Err(StoreError::Integrity(format!(
                "stream {stream} has a gap before version {version}"
            )));
        }
        // Every stored envelope must decode, and agree with its columns.
        let mut after = 0i64;
        loop {
            let rows = tx.query(
                "SELECT position, envelope::text, stream, version, event_id FROM credence_events
                 WHERE position > $1 ORDER BY position LIMIT 1000",
                &[&after],
            )?;
            let Some(last) = rows.last() else { break };
            after = last.get(0);
            for row in &rows {
                let position: i64 = row.get(0);
                let envelope = decode(row.get(1), position)?;
                let id: Uuid = row.get(4);
                if envelope.position.0 != to_u64(position)?
                    || envelope.stream.as_str() != row.get::<_, &str>(2)
                    || envelope.version.0 != to_u64(row.get(3))?
                    || envelope.id.as_uuid() != &id
                {
                    return Err(StoreError::Integrity(format!(
                        "the envelope at position {position} disagrees with its columns"
                    )));
                }
            }
        }
        tx.commit()?;
        let head = GlobalPosition(to_u64(head)?);
        Ok(VerifyReport::new(to_u64(count)?, to_u64(streams)?, head))
    }

    fn wait_for_append(
        &self,
        after: GlobalPosition,
        timeout: Duration,
    ) -> Result<GlobalPosition, StoreError> {
        let deadline = crate::store::deadline_after(timeout);
        // One waiter at a time uses the LISTEN connection; the others poll.
        let mut listener = match self.listener.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        loop {
            if let Some(slot) = listener.as_mut() {
                if slot.as_ref().is_none_or(Client::is_closed) {
                    // LISTEN before reading the head, so that no append
                    // between the two goes unnoticed.
                    let mut client = self.config.connect(NoTls)?;
                    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
                    **slot = Some(client);
                }
            }
            let head = self.head()?;
            let now = Instant::now();
            if head > after || now >= deadline {
                return Ok(head);
            }
            let wait = (deadline - now).min(Duration::from_secs(1));
            let failed = match listener.as_mut().and_then(|slot| slot.as_mut()) {
                Some(client) => {
                    use postgres::fallible_iterator::FallibleIterator;
                    let mut notifications = client.notifications();
                    // Any notification (or the time cap) means: look again.
                    let woke = notifications.timeout_iter(wait).next();
                    match woke {
                        Ok(_) => {
                            // Drain what else is queued without blocking.
                            let _ = notifications.iter().count();
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
                None => {
                    std::thread::sleep(wait.min(self.options.poll_interval));
                    None
                }
            };
            if let Some(e) = failed {
                if let Some(slot) = listener.as_mut() {
                    **slot = None;
                }
                return Err(e.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        assert!(valid_schema("public"));
        assert!(valid_schema("credence_t1"));
        assert!(!valid_schema("Public"));
        assert!(!valid_schema("a\"; drop"));
        assert!(!valid_schema(""));
        assert!(!valid_schema("1abc"));
    }

    #[test]
    fn a_bad_url_is_bad_input() {
        let err = PostgresStore::connect("host=/x port=notanumber").unwrap_err();
        assert!(err.is_bad_input(), "{err}");
    }
}
