//! The engine over real stores: execute, evaluate, caching, snapshots,
//! conflicts and as-of views.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use credence::aggregates::{
    Command, PlaceOrder, ReceivePayment, RecordDelivery, RegisterCustomer, RequestedLine,
};
use credence::events::*;
use credence::policies::Policy;
use credence::store::{EventStore, MemoryStore};
use credence::{AsOf, Engine, EngineConfig, EngineError};
use rust_decimal_macros::dec;

fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

fn money(amount: rust_decimal::Decimal) -> Money {
    Money::new(amount, eur()).unwrap()
}

fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

fn customer() -> CustomerId {
    CustomerId::new("ACME").unwrap()
}

fn register() -> Command {
    RegisterCustomer {
        customer: customer(),
        name: "Acme".into(),
        manager: ManagerId::new("olena").unwrap(),
        currency: eur(),
        tags: Default::default(),
        terms: Terms {
            credit_limit: money(dec!(1000)),
            deferral: Deferral::business(3),
            base_discount: Rate::percent(dec!(5)).unwrap(),
            markup: Rate::ZERO,
            bonus: Rate::ZERO,
            service_level: ServiceLevel::Standard,
        },
    }
    .into()
}

fn place(order: &str, quantity: u32) -> Command {
    PlaceOrder {
        customer: customer(),
        order: OrderId::new(order).unwrap(),
        lines: vec![RequestedLine {
            item: ItemId::new("cartridge").unwrap(),
            quantity: Quantity::units(quantity).unwrap(),
            unit_price: money(dec!(20)),
        }],
        requested_delivery: at(6, 12),
        urgency: Urgency::Normal,
    }
    .into()
}

fn deliver(id: &str, order: &str, quantity: u32) -> Command {
    RecordDelivery {
        customer: customer(),
        delivery: DeliveryId::new(id).unwrap(),
        order: OrderId::new(order).unwrap(),
        lines: vec![DeliveryLine {
            item: ItemId::new("cartridge").unwrap(),
            quantity: Quantity::units(quantity).unwrap(),
        }],
        receivable: None,
        occurred_at: None,
    }
    .into()
}

fn pay(id: &str, amount: rust_decimal::Decimal, occurred_at: Option<DateTime<Utc>>) -> Command {
    ReceivePayment {
        customer: customer(),
        payment: PaymentId::new(id).unwrap(),
        amount: money(amount),
        method: PaymentMethod::BankTransfer,
        allocations: vec![],
        payment_order: None,
        occurred_at,
    }
    .into()
}

#[test]
fn an_order_is_recorded_with_its_credit_decision_in_one_append() {
    let engine = Engine::in_memory();
    engine.execute(register(), at(2, 9)).unwrap();
    let placed = engine.execute(place("O-1", 5), at(6, 9)).unwrap();
    let types: Vec<_> = placed.events.iter().map(|e| e.event.type_name()).collect();
    assert_eq!(types, ["OrderPlaced", "CreditDecided"]);
    // One append: consecutive positions, the same recorded time.
    assert_eq!(placed.events[1].position.0, placed.events[0].position.0 + 1);
    assert_eq!(placed.version, StreamVersion(3));
    let Event::CreditDecided(decision) = &placed.events[1].event else {
        unreachable!()
    };
    assert_eq!(decision.verdict, Verdict::Accept);
    assert_eq!(decision.order, Some(OrderId::new("O-1").unwrap()));
}

#[test]
fn a_rejected_command_stores_nothing() {
    let engine = Engine::in_memory();
    let err = engine.execute(place("O-1", 1), at(6, 9)).unwrap_err();
    assert!(matches!(err, EngineError::Rejected(_)), "{err}");
    assert_eq!(engine.store().head().unwrap(), GlobalPosition::START);
    engine.execute(register(), at(2, 9)).unwrap();
    let err = engine.execute(register(), at(2, 10)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rejected: customer ACME is already registered"
    );
    assert_eq!(engine.store().head().unwrap(), GlobalPosition(1));
}

#[test]
fn engines_sharing_a_store_catch_up_with_each_other() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let a = Engine::new(
        store.clone(),
        Policy::default_policy(),
        EngineConfig::default(),
    );
    let b = Engine::new(
        store.clone(),
        Policy::default_policy(),
        EngineConfig::default(),
    );
    a.execute(register(), at(2, 9)).unwrap();
    // b has never seen the customer; a has it cached.
    b.execute(place("O-1", 2), at(6, 9)).unwrap();
    // a's cache is behind by two events: it catches up before deciding.
    a.execute(deliver("D-1", "O-1", 2), at(6, 11)).unwrap();
    assert_eq!(
        a.account(&customer()).unwrap(),
        b.account(&customer()).unwrap()
    );
    assert_eq!(
        store
            .stream_version(&StreamId::for_customer(&customer()))
            .unwrap(),
        StreamVersion(4)
    );
}

#[test]
fn a_cold_start_from_snapshots_equals_the_full_fold() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let config = EngineConfig {
        snapshot_every: 4,
        ..EngineConfig::default()
    };
    let engine = Engine::new(store.clone(), Policy::default_policy(), config.clone());
    engine.execute(register(), at(2, 9)).unwrap();
    for n in 0..6 {
        let order = format!("O-{n}");
        engine.execute(place(&order, 1), at(3, 9 + n)).unwrap();
        engine
            .execute(deliver(&format!("D-{n}"), &order, 1), at(3, 9 + n))
            .unwrap();
    }
    let warm = engine.account(&customer()).unwrap();
    // Snapshots are saved on the engine's snapshot thread; once flushed,
    // the latest is at the last multiple of 4 events.
    engine.flush_snapshots();
    let key = credence::store::SnapshotKey::for_code(
        "account",
        concat!("account-v2-credence-", env!("CARGO_PKG_VERSION")),
    )
    .unwrap();
    let latest = store
        .load_snapshot(
            &StreamId::for_customer(&customer()),
            &key,
            StreamVersion(u64::MAX),
        )
        .unwrap()
        .expect("a snapshot was saved");
    assert_eq!(latest.version.0, warm.version().0 / 4 * 4);
    let cold = Engine::new(store.clone(), Policy::default_policy(), config);
    assert_eq!(cold.account(&customer()).unwrap(), warm);
    let folded = CustomerAccountFromStore::fold(&*store);
    assert_eq!(folded, warm);
}

/// An engine on `store` that snapshots its account after every event.
fn snapshotting_every_event(store: &Arc<RacyStore>) -> Engine {
    let config = EngineConfig {
        snapshot_every: 1,
        ..EngineConfig::default()
    };
    Engine::new(store.clone(), Policy::default_policy(), config)
}

/// A snapshot thread slower than the commands saves the latest snapshot of
/// each stream, not every one queued: a newer one replaces one it has not
/// reached.
#[test]
fn a_busy_snapshot_thread_saves_the_latest_snapshot_only() {
    let store = Arc::new(RacyStore::default());
    let engine = snapshotting_every_event(&store);
    store.hold_snapshots(true);
    engine.execute(register(), at(2, 9)).unwrap();
    for n in 0..8 {
        let order = format!("O-{n}");
        engine.execute(place(&order, 1), at(3, 9 + n)).unwrap();
    }
    let version = engine.account(&customer()).unwrap().version();
    assert!(version.0 >= 17, "{version:?}");
    store.hold_snapshots(false);
    engine.flush_snapshots();
    let saved = store.snapshots_saved.lock().unwrap().clone();
    // At most the one the thread had taken when the saves were held, then
    // the latest.
    assert!(
        (1..=2).contains(&saved.len()),
        "{} snapshots saved: {saved:?}",
        saved.len()
    );
    assert_eq!(saved.last(), Some(&version));
    // Snapshots queued after a flush start the thread again.
    engine.execute(place("O-9", 1), at(3, 20)).unwrap();
    engine.flush_snapshots();
    let latest = engine.account(&customer()).unwrap().version();
    assert_eq!(store.snapshots_saved.lock().unwrap().last(), Some(&latest));
}

/// A snapshot thread that panicked is replaced by the next snapshot: later
/// snapshots are saved without waiting for a flush.
#[test]
fn a_snapshot_thread_that_panicked_is_started_again() {
    let store = Arc::new(RacyStore::default());
    *store.snapshot_panics.lock().unwrap() = 1;
    let engine = snapshotting_every_event(&store);
    engine.execute(register(), at(2, 9)).unwrap();
    // Each order queues a snapshot; once the first thread is gone, one of
    // them starts another, which saves what is pending. At most ~30 s.
    for n in 0..6_000 {
        if !store.snapshots_saved.lock().unwrap().is_empty() {
            break;
        }
        engine
            .execute(place(&format!("O-{n}"), 1), at(3, 9))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        !store.snapshots_saved.lock().unwrap().is_empty(),
        "no snapshot saved after the thread panicked"
    );
    assert_eq!(
        *store.snapshot_panics.lock().unwrap(),
        0,
        "the first save panicked"
    );
}

struct CustomerAccountFromStore;

impl CustomerAccountFromStore {
    fn fold(store: &dyn EventStore) -> credence::aggregates::CustomerAccount {
        let events = store
            .read_stream(
                &StreamId::for_customer(&customer()),
                StreamVersion(1),
                usize::MAX,
            )
            .unwrap();
        credence::aggregates::CustomerAccount::from_history(&events)
    }
}

#[test]
fn evaluating_twice_at_the_same_time_records_nothing_new() {
    let engine = Engine::in_memory();
    engine.execute(register(), at(2, 9)).unwrap();
    engine.execute(place("O-1", 5), at(6, 9)).unwrap();
    engine.execute(deliver("D-1", "O-1", 5), at(6, 10)).unwrap();
    // Due Wednesday 11 Nov; Thursday 12 Nov it is one business day late.
    let first = engine.evaluate(&customer(), at(12, 9)).unwrap();
    assert!(!first.events.is_empty());
    let second = engine.evaluate(&customer(), at(12, 9)).unwrap();
    assert_eq!(second.events, vec![]);
    assert_eq!(second.version, first.version);
    let err = engine
        .evaluate(&CustomerId::new("NOBODY").unwrap(), at(12, 9))
        .unwrap_err();
    assert!(matches!(err, EngineError::UnknownCustomer(_)), "{err}");
}

#[test]
fn as_of_business_time_and_as_known_differ_for_a_late_recorded_payment() {
    let engine = Engine::in_memory();
    engine.execute(register(), at(2, 9)).unwrap();
    engine.execute(place("O-1", 5), at(2, 10)).unwrap();
    engine.execute(deliver("D-1", "O-1", 5), at(2, 11)).unwrap();
    // Money that arrived on 5 Nov is recorded on 9 Nov.
    engine
        .execute(pay("P-1", dec!(95), Some(at(5, 9))), at(9, 9))
        .unwrap();
    let business = engine
        .account_as_of(&customer(), AsOf::Business(at(6, 12)))
        .unwrap();
    let known = engine
        .account_as_of(&customer(), AsOf::Known(at(6, 12)))
        .unwrap();
    assert_eq!(business.debt(), money(dec!(0)));
    assert_eq!(known.debt(), money(dec!(95)));
    assert_eq!(engine.account(&customer()).unwrap().debt(), money(dec!(0)));
}

#[test]
fn the_file_store_keeps_everything_across_restarts() {
    let dir = std::env::temp_dir().join(format!("credence-engine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let engine =
            Engine::open_file(&dir, Policy::default_policy(), EngineConfig::default()).unwrap();
        engine.execute(register(), at(2, 9)).unwrap();
        engine.execute(place("O-1", 5), at(2, 10)).unwrap();
        // A second writer on the same directory is refused.
        let err =
            Engine::open_file(&dir, Policy::default_policy(), EngineConfig::default()).unwrap_err();
        assert!(err.to_string().contains("locked"), "{err}");
    }
    let engine =
        Engine::open_file(&dir, Policy::default_policy(), EngineConfig::default()).unwrap();
    assert_eq!(
        engine.account(&customer()).unwrap().exposure(),
        money(dec!(95))
    );
    assert_eq!(engine.store().verify().unwrap().events, 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<EngineError>();
}

#[test]
fn a_held_order_is_released_by_the_evaluation_after_payment() {
    let engine = Engine::in_memory();
    engine.execute(register(), at(2, 9)).unwrap();
    // 45 cartridges at 20 less 5 %: 855 of the 1,000 limit.
    engine.execute(place("O-1", 45), at(2, 10)).unwrap();
    engine
        .execute(deliver("D-1", "O-1", 45), at(2, 11))
        .unwrap();
    // Another 10 (190) would take exposure to 1,045: held.
    let placed = engine.execute(place("O-2", 10), at(3, 9)).unwrap();
    let Event::CreditDecided(held) = &placed.events[1].event else {
        unreachable!()
    };
    assert_eq!(held.verdict, Verdict::Hold, "{}", held.explanation.summary);
    let err = engine
        .execute(deliver("D-2", "O-2", 10), at(3, 10))
        .unwrap_err();
    assert!(err.to_string().contains("cannot be delivered"), "{err}");
    engine
        .execute(pay("P-1", dec!(855), None), at(4, 9))
        .unwrap();
    let evaluated = engine.evaluate(&customer(), at(4, 10)).unwrap();
    let released: Vec<_> = evaluated
        .events
        .iter()
        .filter_map(|e| match &e.event {
            Event::CreditDecided(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].order, Some(OrderId::new("O-2").unwrap()));
    assert_eq!(released[0].verdict, Verdict::Accept);
    engine
        .execute(deliver("D-2", "O-2", 10), at(4, 11))
        .unwrap();
    // The replay check reproduces the hold and the release.
    let reports = engine.replay_check().unwrap();
    assert!(reports.iter().all(|(_, r)| r.is_clean()), "{reports:?}");
}

/// A store where another writer appends to the stream just before the
/// engine's next `n` appends: each of those appends meets a conflict. Its
/// snapshot saves can be held (they wait until released) and are counted.
#[derive(Debug, Default)]
struct RacyStore {
    inner: MemoryStore,
    races_left: std::sync::Mutex<u32>,
    /// True while snapshot saves must wait.
    snapshots_held: std::sync::Mutex<bool>,
    released: std::sync::Condvar,
    /// The versions saved, in order.
    snapshots_saved: std::sync::Mutex<Vec<StreamVersion>>,
    /// How many of the next snapshot saves panic.
    snapshot_panics: std::sync::Mutex<u32>,
}

impl RacyStore {
    fn hold_snapshots(&self, held: bool) {
        *self.snapshots_held.lock().unwrap() = held;
        self.released.notify_all();
    }
}

impl EventStore for RacyStore {
    fn append(
        &self,
        stream: &StreamId,
        expected: credence::store::ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<credence::store::AppendOutcome, credence::store::StoreError> {
        let mut left = self.races_left.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            // The other writer: a person sends a reminder meanwhile.
            let n = 100 + *left;
            let other = NewEvent::new(
                EventId::from_u128(u128::from(n)),
                at(6, 9),
                ReminderSent {
                    reminder: ReminderId::new(format!("manual-{n}")).unwrap(),
                    kind: ReminderKind::Overdue,
                    recipient: Recipient::Manager,
                    level: 9,
                    receivables: vec![],
                    message: "call them".into(),
                    explanation: None,
                },
            );
            self.inner
                .append(stream, credence::store::ExpectedVersion::Any, &[other])?;
        }
        drop(left);
        self.inner.append(stream, expected, events)
    }
    fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, credence::store::StoreError> {
        self.inner.read_stream(stream, from, max)
    }
    fn read_all(
        &self,
        after: GlobalPosition,
        max: usize,
    ) -> Result<Vec<EventEnvelope>, credence::store::StoreError> {
        self.inner.read_all(after, max)
    }
    fn stream_version(
        &self,
        stream: &StreamId,
    ) -> Result<StreamVersion, credence::store::StoreError> {
        self.inner.stream_version(stream)
    }
    fn head(&self) -> Result<GlobalPosition, credence::store::StoreError> {
        self.inner.head()
    }
    fn save_snapshot(
        &self,
        snapshot: &credence::store::Snapshot,
    ) -> Result<(), credence::store::StoreError> {
        let mut held = self.snapshots_held.lock().unwrap();
        while *held {
            held = self.released.wait(held).unwrap();
        }
        drop(held);
        {
            let mut panics = self.snapshot_panics.lock().unwrap();
            if *panics > 0 {
                *panics -= 1;
                drop(panics);
                panic!("a snapshot save that panics (test)");
            }
        }
        self.snapshots_saved.lock().unwrap().push(snapshot.version);
        self.inner.save_snapshot(snapshot)
    }
    fn load_snapshot(
        &self,
        stream: &StreamId,
        key: &credence::store::SnapshotKey,
        at_or_before: StreamVersion,
    ) -> Result<Option<credence::store::Snapshot>, credence::store::StoreError> {
        self.inner.load_snapshot(stream, key, at_or_before)
    }
    fn verify(&self) -> Result<credence::store::VerifyReport, credence::store::StoreError> {
        self.inner.verify()
    }
}

fn racy_engine(races: u32, max_retries: u32) -> (Engine, Arc<RacyStore>) {
    let store = Arc::new(RacyStore::default());
    let engine = Engine::new(
        store.clone(),
        Policy::default_policy(),
        EngineConfig {
            max_retries,
            ..EngineConfig::default()
        },
    );
    engine.execute(register(), at(2, 9)).unwrap();
    *store.races_left.lock().unwrap() = races;
    (engine, store)
}

#[test]
fn a_conflict_is_caught_up_and_decided_again() {
    let (engine, store) = racy_engine(2, 5);
    // Two other writers get in first; the third attempt wins.
    let placed = engine.execute(place("O-1", 5), at(6, 9)).unwrap();
    assert_eq!(placed.version, StreamVersion(5));
    let history = engine.history(&customer()).unwrap();
    let types: Vec<_> = history.iter().map(|e| e.event.type_name()).collect();
    assert_eq!(
        types,
        [
            "CustomerRegistered",
            "ReminderSent",
            "ReminderSent",
            "OrderPlaced",
            "CreditDecided"
        ]
    );
    // The cached account is the store's: nothing staged by a losing attempt
    // survives.
    let folded = credence::aggregates::CustomerAccount::from_history(&history);
    assert_eq!(engine.account(&customer()).unwrap(), folded);
    assert_eq!(*store.races_left.lock().unwrap(), 0);
}

#[test]
fn conflicts_beyond_the_retries_give_up_and_store_nothing_of_the_command() {
    let (engine, _store) = racy_engine(3, 2);
    let err = engine.execute(place("O-1", 5), at(6, 9)).unwrap_err();
    assert!(
        matches!(err, EngineError::Conflict { attempts: 3, .. }),
        "{err}"
    );
    let history = engine.history(&customer()).unwrap();
    assert!(
        history
            .iter()
            .all(|e| !matches!(e.event, Event::OrderPlaced(_)))
    );
    assert_eq!(
        engine.account(&customer()).unwrap(),
        credence::aggregates::CustomerAccount::from_history(&history)
    );
}
