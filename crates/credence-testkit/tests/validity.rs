//! Generated histories are valid by construction and cover the behaviours.

use credence_events::{CustomerId, Event};
use credence_policies::Policy;
use credence_testkit::plan::PlanConfig;
use credence_testkit::{PolicyRunConfig, interpret, interpret_with_policy, strategy};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

#[test]
fn thousands_of_histories_replay_with_zero_rejections() {
    let config = PlanConfig::default();
    let mut runner = TestRunner::new(Config {
        cases: 2_000,
        ..Config::default()
    });
    let customer = CustomerId::new("C-1").unwrap();
    let kinds = std::cell::RefCell::new(std::collections::BTreeSet::new());
    runner
        .run(&strategy::plans(config.clone()), |plan| {
            let history = interpret(&plan, customer.clone(), &config)
                .map_err(|e| TestCaseError::fail(format!("{e}\nplan: {plan:?}")))?;
            let replayed = history
                .replay()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(replayed.len(), history.events.len());
            if history
                .events
                .iter()
                .any(|e| matches!(e.event, Event::TermsChanged(_)))
            {
                credence_testkit::invariants::upcasting_preserves_events(&history)
                    .map_err(TestCaseError::fail)?;
            }
            for e in &history.events {
                kinds.borrow_mut().insert(e.event.type_name());
            }
            Ok(())
        })
        .unwrap();
    // Across 2,000 histories every kind of fact the generator can produce
    // shows up at least once.
    for expected in [
        "CustomerRegistered",
        "TermsChanged",
        "OrderPlaced",
        "OrderCancelled",
        "DeliveryRecorded",
        "PaymentReceived",
        "PaymentReversed",
        "PaymentOrderReceived",
        "PaymentOrderCleared",
        "PaymentOrderExpired",
        "PromiseToPayMade",
        "PromiseToPayBroken",
    ] {
        assert!(
            kinds.borrow().contains(expected),
            "no history produced {expected}"
        );
    }
}

#[test]
fn time_only_moves_forward() {
    let mut runner = TestRunner::new(Config {
        cases: 200,
        ..Config::default()
    });
    runner
        .run(&strategy::history(PlanConfig::default()), |history| {
            for pair in history.steps.windows(2) {
                prop_assert!(pair[0].at <= pair[1].at);
            }
            for e in &history.events {
                prop_assert!(e.occurred_at <= e.recorded_at);
                if let Event::OrderPlaced(_) = &e.event {
                    let day = history.calendar.local_date(e.occurred_at);
                    prop_assert!(history.calendar.is_business_day(day));
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn histories_with_a_policy_replay_with_zero_rejections() {
    let config = PlanConfig::default();
    let policy = Policy::default_policy();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    let customer = CustomerId::new("C-1").unwrap();
    let kinds = std::cell::RefCell::new(std::collections::BTreeSet::new());
    runner
        .run(&strategy::plans(config.clone()), |plan| {
            let history = interpret_with_policy(&plan, customer.clone(), &config, &policy)
                .map_err(|e| TestCaseError::fail(format!("{e}\nplan: {plan:?}")))?;
            let replayed = history
                .replay()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&replayed, &history.events);
            let mut held = std::collections::BTreeSet::new();
            for e in &history.events {
                let name = match &e.event {
                    Event::CreditDecided(d) => {
                        if d.verdict == credence_events::Verdict::Hold {
                            held.extend(d.order.clone());
                        }
                        format!("CreditDecided {:?}", d.verdict)
                    }
                    // A held order's delivery waited for its release.
                    Event::DeliveryRecorded(d) if held.contains(&d.order) => {
                        "delivered after a hold".to_owned()
                    }
                    other => other.type_name().to_owned(),
                };
                kinds.borrow_mut().insert(name);
            }
            Ok(())
        })
        .unwrap();
    for expected in [
        "CreditDecided Accept",
        "CreditDecided Hold",
        "delivered after a hold",
        "PriorityChanged",
        "FulfilmentModeChanged",
        "ReminderSent",
        "DeliveryRecorded",
    ] {
        assert!(
            kinds.borrow().contains(expected),
            "no history produced {expected}: {:?}",
            kinds.borrow()
        );
    }
}

#[test]
fn daily_evaluations_send_advance_reminders_and_keep_histories_valid() {
    let config = PlanConfig {
        cycles: 1..=6,
        ..PlanConfig::default()
    };
    let run = PolicyRunConfig {
        daily_evaluation: true,
    };
    let mut runner = TestRunner::new(Config {
        cases: 16,
        ..Config::default()
    });
    let advance = std::cell::Cell::new(0);
    runner
        .run(
            &strategy::histories_with(
                strategy::plans(config.clone()),
                config,
                Policy::default_policy(),
                run,
            ),
            |history| {
                let replayed = history
                    .replay()
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&replayed, &history.events);
                credence_testkit::invariants::policy_invariants(&history)
                    .map_err(TestCaseError::fail)?;
                for e in &history.events {
                    if let Event::ReminderSent(r) = &e.event {
                        if r.kind == credence_events::ReminderKind::Advance {
                            advance.set(advance.get() + 1);
                        }
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    assert!(advance.get() > 0, "no advance reminder in 16 histories");
}

/// Back-dated payments and orders left open: still valid, with and without
/// a policy, and each feature shows up.
#[test]
fn backdated_payments_and_open_orders_replay_with_zero_rejections() {
    let config = PlanConfig {
        backdating: true,
        open_orders: true,
        ..PlanConfig::default()
    };
    let policy = Policy::default_policy();
    // A fixed seed: the coverage asserted below does not depend on luck.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 2_000,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let customer = CustomerId::new("C-1").unwrap();
    let seen = std::cell::RefCell::new(std::collections::BTreeSet::new());
    runner
        .run(
            &(strategy::plans(config.clone()), prop::bool::weighted(0.2)),
            |(plan, with_policy)| {
                let history = if with_policy {
                    interpret_with_policy(&plan, customer.clone(), &config, &policy)
                } else {
                    interpret(&plan, customer.clone(), &config)
                }
                .map_err(|e| TestCaseError::fail(format!("{e}\nplan: {plan:?}")))?;
                let replayed = history
                    .replay()
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&replayed, &history.events);
                let mut delivered = std::collections::BTreeMap::new();
                for e in &history.events {
                    prop_assert!(e.occurred_at <= e.recorded_at);
                    match &e.event {
                        Event::DeliveryRecorded(d) => {
                            delivered.insert(d.receivable.clone(), e.occurred_at);
                        }
                        Event::PaymentReceived(p) => {
                            if e.occurred_at < e.recorded_at {
                                seen.borrow_mut().insert("back-dated payment");
                            }
                            // The money never settles, as of any business
                            // time, a receivable not yet delivered.
                            for a in &p.allocations {
                                prop_assert!(delivered[&a.receivable] <= e.occurred_at);
                            }
                        }
                        _ => {}
                    }
                }
                let account = history.account();
                for order in account.orders() {
                    if order.status == credence_aggregates::OrderStatus::Open {
                        let partly = order.lines.iter().any(|l| l.open_quantity() < l.ordered);
                        seen.borrow_mut().insert(if partly {
                            "partly delivered order left open"
                        } else {
                            "undelivered order left open"
                        });
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    for expected in [
        "back-dated payment",
        "partly delivered order left open",
        "undelivered order left open",
    ] {
        assert!(
            seen.borrow().contains(expected),
            "no history produced a {expected}"
        );
    }
}

/// A portfolio's log is every customer's events, in recorded order, with
/// gap-free global positions; the policy's decisions vary.
#[test]
fn portfolios_merge_valid_histories_into_one_log() {
    // A fixed seed: the coverage asserted below does not depend on luck.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 64,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let seen = std::cell::RefCell::new(std::collections::BTreeSet::new());
    runner
        .run(
            &strategy::portfolio(strategy::PortfolioConfig::default()),
            |portfolio| {
                let total: usize = portfolio.histories.iter().map(|h| h.events.len()).sum();
                prop_assert_eq!(portfolio.log.len(), total);
                for (n, e) in portfolio.log.iter().enumerate() {
                    prop_assert_eq!(e.position.0, n as u64 + 1);
                }
                // Merged by (recorded time, customer index, stream version).
                let index: std::collections::BTreeMap<_, _> = portfolio
                    .histories
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (h.events[0].stream.clone(), i))
                    .collect();
                let key = |e: &credence_events::EventEnvelope| {
                    (e.recorded_at, index[&e.stream], e.version)
                };
                prop_assert!(portfolio.log.windows(2).all(|w| key(&w[0]) < key(&w[1])));
                for (i, history) in portfolio.histories.iter().enumerate() {
                    prop_assert_eq!(&history.customer, &strategy::portfolio_customer(i));
                    let stream: Vec<_> = portfolio
                        .log
                        .iter()
                        .filter(|e| e.stream == history.events[0].stream)
                        .map(|e| (e.id, e.version, e.event.clone()))
                        .collect();
                    let own: Vec<_> = history
                        .events
                        .iter()
                        .map(|e| (e.id, e.version, e.event.clone()))
                        .collect();
                    prop_assert_eq!(stream, own);
                    let replayed = history
                        .replay()
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&replayed, &history.events);
                }
                for e in &portfolio.log {
                    let name = match &e.event {
                        Event::CreditDecided(d) => format!("verdict {:?}", d.verdict),
                        Event::FulfilmentModeChanged(c) => format!("mode {:?}", c.to),
                        other => other.type_name().to_owned(),
                    };
                    seen.borrow_mut().insert(name);
                }
                Ok(())
            },
        )
        .unwrap();
    for expected in [
        "verdict Accept",
        "verdict Hold",
        "mode Refused",
        "mode Residual",
        "mode Partial",
        "mode Deferred",
        "PriorityChanged",
    ] {
        assert!(
            seen.borrow().contains(expected),
            "no portfolio produced {expected}: {:?}",
            seen.borrow()
        );
    }
}

/// The policy's invariants (determinism, past only, explanations, replay,
/// money, JSON, snapshots) hold on portfolio histories too, back-dated
/// payments and open orders included.
#[test]
fn portfolio_histories_keep_the_policy_invariants() {
    let mut runner = TestRunner::new(Config {
        cases: 12,
        ..Config::default()
    });
    runner
        .run(
            &strategy::portfolio(strategy::PortfolioConfig::default()),
            |portfolio| {
                for history in &portfolio.histories {
                    credence_testkit::invariants::policy_invariants(history)
                        .map_err(TestCaseError::fail)?;
                }
                Ok(())
            },
        )
        .unwrap();
}
