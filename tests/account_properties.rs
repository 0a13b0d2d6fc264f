//! Properties of the customer account over generated histories (issue: the
//! aggregate's money rules hold for any valid sequence of commands).

use credence_testkit::invariants;
use credence_testkit::plan::PlanConfig;
use credence_testkit::strategy;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// debt = delivered value − allocated payments; no receivable goes
    /// negative; allocation conserves money.
    #[test]
    fn money_is_conserved(history in strategy::history(PlanConfig::default())) {
        invariants::money_is_conserved(&history).map_err(TestCaseError::fail)?;
    }

    /// Commands are pure: replaying them records the same events.
    #[test]
    fn decide_is_deterministic(history in strategy::history(PlanConfig::default())) {
        invariants::replay_reproduces_events(&history).map_err(TestCaseError::fail)?;
    }

    /// Every generated event survives the JSON codec.
    #[test]
    fn events_round_trip_through_json(history in strategy::history(PlanConfig::default())) {
        invariants::json_round_trip(&history).map_err(TestCaseError::fail)?;
    }

    /// Resuming from any prefix state gives the state of a full fold.
    #[test]
    fn snapshot_plus_tail_equals_full_replay(history in strategy::history(PlanConfig::default())) {
        invariants::snapshot_plus_tail_equals_full_replay(&history).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A transient account (closed items kept as values beside the open
    /// ones, not frozen into records) is, after every event, the account a
    /// new one folds: equal, with the same listings (open items apart from
    /// closed ones) and lookups and the same snapshot.
    #[test]
    fn a_transient_account_is_the_account(history in strategy::history(PlanConfig::default())) {
        use credence::aggregates::CustomerAccount;
        let mut normal = CustomerAccount::new();
        let mut transient = CustomerAccount::transient();
        for event in &history.events {
            normal.apply(event);
            transient.apply(event);
            prop_assert_eq!(&transient, &normal);
        }
        prop_assert!(transient.open_orders().eq(normal.open_orders()));
        prop_assert!(transient.open_receivables().eq(normal.open_receivables()));
        prop_assert!(transient.orders().eq(normal.orders()));
        prop_assert!(transient.receivables().eq(normal.receivables()));
        prop_assert!(transient.payments().eq(normal.payments()));
        for receivable in normal.receivables() {
            prop_assert_eq!(transient.receivable(&receivable.id), Some(receivable.clone()));
            prop_assert!(transient.has_receivable(&receivable.id));
        }
        for order in normal.orders() {
            prop_assert_eq!(transient.order(&order.id), Some(order.clone()));
        }
        for payment in normal.payments() {
            prop_assert_eq!(transient.payment(&payment.id), Some(payment.clone()));
        }
        let last_day = chrono::NaiveDate::MAX;
        prop_assert!(transient
            .closed_receivables_latest_first(last_day)
            .eq(normal.closed_receivables_latest_first(last_day)));
        prop_assert!(transient
            .closed_receivable_sources_latest_first(last_day)
            .eq(normal.closed_receivable_sources_latest_first(last_day)));
        prop_assert_eq!(
            serde_json::to_string(&transient).expect("serialises"),
            serde_json::to_string(&normal).expect("serialises")
        );
    }

    /// The account's indexes (open orders, open receivables with their
    /// amounts, closed receivables by closing date with their days late)
    /// agree with a scan of everything it holds.
    #[test]
    fn indexes_agree_with_a_full_scan(history in strategy::history(PlanConfig::default())) {
        let account = history.account();
        let open: Vec<_> = account.open_orders().map(|o| o.id.clone()).collect();
        let scanned: Vec<_> = account
            .orders()
            .filter(|o| o.status == credence::aggregates::OrderStatus::Open)
            .map(|o| o.id.clone())
            .collect();
        prop_assert_eq!(open, scanned);
        let last_day = chrono::NaiveDate::MAX;
        let latest: Vec<_> = account.closed_receivables_latest_first(last_day).map(|r| r.id.clone()).collect();
        let mut closed: Vec<_> = account.receivables().filter(|r| !r.is_open()).collect();
        closed.sort_by(|a, b| (b.closed_on, &b.id).cmp(&(a.closed_on, &a.id)));
        let late: Vec<_> = closed
            .iter()
            .map(|r| credence::aggregates::days_late(r.closed_on.expect("closed"), r.due_date))
            .collect();
        let closed: Vec<_> = closed.into_iter().map(|r| r.id.clone()).collect();
        prop_assert_eq!(latest, closed);
        prop_assert_eq!(account.closed_days_late_latest_first(last_day).collect::<Vec<_>>(), late);
        let mut open: Vec<_> = account.receivables().filter(|r| r.is_open()).collect();
        open.sort_by(|a, b| (a.due_date, a.issued_on, &a.id).cmp(&(b.due_date, b.issued_on, &b.id)));
        let open: Vec<_> = open.iter().map(|r| (&r.id, r.open, r.due_date)).collect();
        prop_assert_eq!(account.open_amounts().collect::<Vec<_>>(), open);
    }
}
