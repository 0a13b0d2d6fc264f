//! Extending a policy from Rust: a custom rule and a custom fact.

use std::sync::Arc;

use credence_aggregates::CustomerAccount;
use credence_events::{
    Comparison, ConditionTrace, DiscountOutcome, FactValue, FulfilmentMode, Priority, Rate, RuleId,
    Urgency, Verdict,
};
use credence_policies::{
    FactProvider, FactType, Facts, Observed, Outcome, Policy, PolicyError, Rule, RuleCheck,
};
use serde_json::{Value, json};

use crate::fixtures::*;

/// Refuses customers tagged `blocked`, whatever their debt.
#[derive(Debug)]
struct Blocked {
    id: RuleId,
    outcome: Outcome,
}

impl Blocked {
    fn new() -> Self {
        Self {
            id: RuleId::new("blocked-tag").unwrap(),
            outcome: Outcome {
                verdict: Verdict::Refuse,
                fulfilment: FulfilmentMode::Refused,
                priority: Priority(9),
                discount: DiscountOutcome::Suspended,
                bonus: DiscountOutcome::Suspended,
                markup_percent: Rate::ZERO,
                interest_daily_percent: Rate::ZERO,
                service_warning: false,
            },
        }
    }
}

impl Rule for Blocked {
    fn id(&self) -> &RuleId {
        &self.id
    }
    fn outcome(&self) -> &Outcome {
        &self.outcome
    }
    fn check(&self, facts: &Facts) -> RuleCheck {
        let tags = facts.get("tags").unwrap();
        let holds = tags.labels.contains("blocked");
        RuleCheck {
            holds,
            conditions: vec![ConditionTrace {
                fact: "tags".into(),
                comparison: Comparison::Contains,
                threshold: FactValue::Text("blocked".into()),
                observed: tags.value.clone(),
                holds,
                sources: tags.sources.clone(),
            }],
        }
    }
    fn fingerprint(&self) -> Value {
        json!({"rule": "blocked-tag", "tag": "blocked"})
    }
}

/// The number of orders the customer ever placed.
#[derive(Debug)]
struct OrderCount;

impl FactProvider for OrderCount {
    fn facts(&self) -> Vec<(String, FactType)> {
        vec![("orders_placed".into(), FactType::Integer)]
    }
    fn provide(&self, account: &CustomerAccount, facts: &mut Facts) {
        let sources = account.orders().map(|o| o.source).collect();
        let count = i64::try_from(account.orders().count()).unwrap_or(i64::MAX);
        facts.insert(
            "orders_placed",
            Observed::new(FactValue::Integer(count), sources),
        );
    }
    fn fingerprint(&self) -> String {
        "orders_placed v1".into()
    }
}

#[test]
fn a_rust_rule_decides_and_changes_the_hash() {
    let default = Policy::default_policy();
    let policy = Policy::default_policy()
        .with_rule(0, Arc::new(Blocked::new()))
        .unwrap();
    assert_ne!(policy.reference().hash, default.reference().hash);
    assert_eq!(policy.rules()[0].id().as_str(), "blocked-tag");

    let mut register = cartridge_customer();
    register.tags.insert("blocked".into());
    let (_, decision) = Timeline::new(policy)
        .at(at(2026, 11, 6))
        .run(register)
        .place(place("O-1", &[("cartridge", 1, "25")], Urgency::Normal));
    assert_eq!(decision.event.verdict, Verdict::Refuse);
    assert_eq!(decision.decision.rule.as_str(), "blocked-tag");
    assert_eq!(
        decision.decision.conditions[0].observed,
        FactValue::Text("blocked,wholesale".into())
    );

    // Ids stay unique and a rule cannot go after the catch-all.
    let err = Policy::default_policy()
        .with_rule(0, Arc::new(Blocked::new()))
        .unwrap()
        .with_rule(1, Arc::new(Blocked::new()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rules[1].id: duplicate rule id \"blocked-tag\""
    );
    let err = Policy::default_policy()
        .with_rule(13, Arc::new(Blocked::new()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rules[13]: a rule cannot be added after the catch-all"
    );
}

#[test]
fn a_fact_provider_feeds_json_conditions() {
    let doc = json!({
        "id": "loyalty",
        "version": 1,
        "rules": [
            {"id": "loyal", "when": {"fact": "orders_placed", "op": "ge", "value": 2},
             "then": {"verdict": "accept", "fulfilment": "full", "priority": 1}},
            {"id": "new", "then": {"verdict": "accept", "fulfilment": "full", "priority": 3}}
        ]
    })
    .to_string();
    assert_eq!(
        Policy::from_json(&doc).unwrap_err(),
        PolicyError::Invalid {
            path: "rules[0].when.fact".into(),
            message: "unknown fact \"orders_placed\"".into()
        }
    );
    let policy = Policy::from_json_with(&doc, vec![Arc::new(OrderCount)]).unwrap();
    let t = Timeline::new(policy)
        .at(at(2026, 11, 6))
        .run(cartridge_customer());
    let (t, first) = t.place(place("O-1", &[("cartridge", 1, "25")], Urgency::Normal));
    assert_eq!(first.decision.rule.as_str(), "new");
    let (t, second) = t.place(place("O-2", &[("cartridge", 1, "25")], Urgency::Normal));
    assert_eq!(second.decision.rule.as_str(), "loyal");
    assert_eq!(
        second.decision.conditions[0].sources,
        vec![
            event_id_of(&t, "OrderPlaced", 0),
            event_id_of(&t, "OrderPlaced", 1)
        ]
    );
}

#[test]
fn decisions_render_as_json() {
    let (_, decision) = Timeline::default_policy()
        .at(at(2026, 11, 6))
        .run(cartridge_customer())
        .place(place("O-1", &[("cartridge", 1, "25")], Urgency::Normal));
    let json = decision.decision.to_json();
    assert_eq!(json["rule"], "no-debt");
    assert_eq!(json["order"], "O-1");
    assert_eq!(json["policy"]["id"], "default");
    assert_eq!(json["outcome"]["verdict"], "accept");
    assert_eq!(json["outcome"]["priority"], 2);
    assert_eq!(json["conditions"][0]["fact"], "debt");
    let back: credence_policies::Decision = serde_json::from_value(json).unwrap();
    assert_eq!(back, decision.decision);
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<credence_policies::Decision>();
    assert_send_sync::<credence_policies::Evaluation>();
    assert_send_sync::<credence_policies::PolicyRegistry>();
    assert_send_sync::<PolicyError>();
    assert_send_sync::<Facts>();
}

/// The engine's path: the `OrderPlaced` about to be appended and the state
/// before it.
#[test]
fn order_placed_decides_on_the_new_event() {
    use credence_events::{BusinessCalendar, Event, EventId, NewEvent};
    use credence_policies::order_placed;

    let t = Timeline::default_policy()
        .at(at(2026, 11, 6))
        .run(cartridge_customer());
    let account = t.state();
    let command = place("O-1", &[("cartridge", 4, "25")], Urgency::SameDay);
    let events = account
        .decide(
            &command.clone().into(),
            at(2026, 11, 6),
            &BusinessCalendar::default(),
        )
        .unwrap();
    let placed = NewEvent::new(EventId::from_u128(77), at(2026, 11, 6), events[0].clone());
    let policy = Policy::default_policy();
    let decision = order_placed(&policy, &account, &placed, &BusinessCalendar::default()).unwrap();
    assert_eq!(decision.event.decision.as_str(), "credit:O-1");
    assert_eq!(decision.decision.rule.as_str(), "no-debt");
    // Same as deciding on the account that holds the order.
    let (_, via_timeline) = t.place(command);
    assert_eq!(decision.event.verdict, via_timeline.event.verdict);
    assert_eq!(decision.decision.outcome, via_timeline.decision.outcome);

    let not_an_order = NewEvent::new(EventId::from_u128(78), at(2026, 11, 6), events[0].clone());
    let mut not_an_order = not_an_order;
    not_an_order.event = Event::from(credence_events::ManagerAssigned {
        manager: credence_events::ManagerId::new("petro").unwrap(),
    });
    assert_eq!(
        order_placed(
            &policy,
            &account,
            &not_an_order,
            &BusinessCalendar::default()
        )
        .unwrap_err()
        .to_string(),
        "expected an OrderPlaced event, got ManagerAssigned"
    );
    assert_eq!(
        credence_policies::evaluate_customer(
            &policy,
            &credence_aggregates::CustomerAccount::new(),
            at(2026, 11, 6),
            &BusinessCalendar::default()
        )
        .unwrap_err(),
        PolicyError::UnknownCustomer
    );
}
