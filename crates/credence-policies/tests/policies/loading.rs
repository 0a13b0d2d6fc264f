//! Loading policy documents: the default policy, hashes, and bad documents
//! rejected with the place of the problem.

use credence_policies::{DEFAULT_POLICY_JSON, FACTS, Policy, PolicyError};
use serde_json::{Value, json};

fn default_doc() -> Value {
    serde_json::from_str(DEFAULT_POLICY_JSON).unwrap()
}

/// A small valid document to mutate.
fn small_doc() -> Value {
    json!({
        "id": "small",
        "version": 1,
        "rules": [
            {"id": "overdue", "when": {"all": [
                {"fact": "overdue_debt", "op": "gt", "value": 0},
                {"fact": "max_days_past_due", "op": "gt", "value": 3}
            ]},
             "then": {"verdict": "hold", "fulfilment": "deferred", "priority": 5}},
            {"id": "ok", "then": {"verdict": "accept", "fulfilment": "full", "priority": 3}}
        ]
    })
}

#[track_caller]
fn check_rejects(doc: Value, expected: &str) {
    match Policy::from_json(&doc.to_string()) {
        Ok(_) => panic!("expected {expected:?}, the document loaded"),
        Err(e) => assert_eq!(e.to_string(), expected),
    }
}

/// Sets the value at `pointer`, adding the last key to its object if needed.
#[track_caller]
fn edit(mut doc: Value, pointer: &str, value: Value) -> Value {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
        return doc;
    }
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    doc.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no {parent}"))
        .insert(key.to_owned(), value);
    doc
}

#[test]
fn default_policy_loads_with_a_stable_hash() {
    let policy = Policy::default_policy();
    let r = policy.reference();
    assert_eq!((r.id.as_str(), r.version), ("default", 1));
    assert_eq!(r.hash.len(), 64);
    assert_eq!(policy.rules().len(), 13);
    assert_eq!(policy.rules()[12].id().as_str(), "good-standing");
    // Whitespace and key order do not change the content hash.
    let reformatted = serde_json::to_string_pretty(&default_doc()).unwrap();
    assert_eq!(Policy::from_json(&reformatted).unwrap().reference(), r);
    // A changed threshold does.
    let changed = edit(default_doc(), "/rules/6/when/value", json!(2));
    assert_ne!(
        Policy::from_json(&changed.to_string())
            .unwrap()
            .reference()
            .hash,
        r.hash
    );
}

#[test]
fn every_fact_in_the_catalogue_can_be_named() {
    for spec in FACTS {
        let value = match spec.fact_type {
            credence_policies::FactType::Bool => json!(true),
            credence_policies::FactType::Integer => json!(1),
            credence_policies::FactType::Decimal | credence_policies::FactType::Money => {
                json!("1.5")
            }
            credence_policies::FactType::Text => json!("x"),
            credence_policies::FactType::Tags => json!("x"),
        };
        let op = match spec.fact_type {
            credence_policies::FactType::Tags => "contains",
            _ => "eq",
        };
        let doc = edit(
            small_doc(),
            "/rules/0/when",
            json!({"fact": spec.name, "op": op, "value": value}),
        );
        Policy::from_json(&doc.to_string()).unwrap_or_else(|e| panic!("fact {}: {e}", spec.name));
    }
}

#[test]
fn bad_documents_name_the_place() {
    let cases: Vec<(Value, &str)> = vec![
        (
            edit(
                small_doc(),
                "/rules/0/when/all/1/fact",
                json!("overdue_dayz"),
            ),
            "rules[0].when.all[1].fact: unknown fact \"overdue_dayz\"",
        ),
        (
            edit(small_doc(), "/rules/0/when/all/1/value", json!("three")),
            "rules[0].when.all[1].value: fact \"max_days_past_due\" is integer, the value \"three\" is not",
        ),
        (
            edit(small_doc(), "/rules/0/when/all/0/value", json!(true)),
            "rules[0].when.all[0].value: fact \"overdue_debt\" is money, the value true is not",
        ),
        (
            edit(small_doc(), "/rules/0/when/all/0/op", json!("contains")),
            "rules[0].when.all[0].op: operator contains does not apply to money fact \"overdue_debt\"",
        ),
        (
            edit(small_doc(), "/rules/0/when/all/0/op", json!("greater")),
            "rules[0].when.all[0].op: unknown operator \"greater\" (expected lt, le, eq, ne, ge, gt or contains)",
        ),
        (
            edit(small_doc(), "/rules/1/id", json!("overdue")),
            "rules[1].id: duplicate rule id \"overdue\"",
        ),
        (
            edit(small_doc(), "/rules/0/then/verdict", json!("refuse")),
            "rules[0].then: contradictory outcome: verdict refuse with fulfilment deferred until payment (refuse goes with refused, hold with deferred, accept with full, partial, residual or cash_on_delivery)",
        ),
        (
            edit(small_doc(), "/rules/1/then/fulfilment", json!("refused")),
            "rules[1].then: contradictory outcome: verdict accept with fulfilment refused (refuse goes with refused, hold with deferred, accept with full, partial, residual or cash_on_delivery)",
        ),
        (
            edit(small_doc(), "/rules/1/then/priority", json!(0)),
            "rules[1].then.priority: priority rank 0 does not exist; 1 is served first",
        ),
        (
            edit(small_doc(), "/rules/1/then/fulfilment", json!("fast")),
            "rules[1].then.fulfilment: unknown variant `fast`, expected one of `full`, `partial`, `residual`, `cash_on_delivery`, `deferred`, `refused`",
        ),
        (
            edit(small_doc(), "/rules/1/then/markup_percent", json!("-1")),
            "rules[1].then.markup_percent: rate -1% is negative",
        ),
        (
            edit(small_doc(), "/rules/1/then/priority", json!("high")),
            "rules[1].then.priority: invalid type: string \"high\", expected u8",
        ),
        (
            edit(small_doc(), "/rules/1/then/hold", json!(true)),
            "rules[1].then.hold: unknown field",
        ),
        (
            edit(small_doc(), "/rules", json!([])),
            "rules: a policy needs at least one rule (the last one a catch-all)",
        ),
        (
            edit(
                small_doc(),
                "/rules/1/when",
                json!({"fact": "debt", "op": "eq", "value": 0}),
            ),
            "rules[1].when: the last rule must be a catch-all without `when`",
        ),
        (
            edit(small_doc(), "/rules/0/when", json!({"all": [], "any": []})),
            "rules[0].when: expected exactly one of fact, all, any or not",
        ),
        (
            edit(
                small_doc(),
                "/rules/0/when",
                json!({"not": {"fact": "debt", "op": "gt"}}),
            ),
            "rules[0].when.not.value: missing",
        ),
        (
            edit(small_doc(), "/version", json!("one")),
            "version: invalid type: string \"one\", expected u32",
        ),
        (
            edit(small_doc(), "/id", json!("")),
            "id: policy id is empty",
        ),
    ];
    for (doc, expected) in cases {
        check_rejects(doc, expected);
    }
    let mut doc = small_doc();
    doc.as_object_mut()
        .unwrap()
        .insert("rulez".into(), json!([]));
    check_rejects(doc, "rulez: unknown field");
    let mut doc = small_doc();
    doc["rules"][1]["then"]
        .as_object_mut()
        .unwrap()
        .remove("verdict");
    check_rejects(doc, "rules[1].then.verdict: missing");
    let mut doc = small_doc();
    doc["rules"][0].as_object_mut().unwrap().remove("when");
    check_rejects(
        doc,
        "rules[0].when: missing (only the last rule may be a catch-all)",
    );
    let doc = edit(
        default_doc(),
        "/reminders/follow_up/1/delay_days",
        json!(-5),
    );
    check_rejects(
        doc,
        "reminders.follow_up[1].delay_days: delays must increase strictly",
    );
    assert!(matches!(
        Policy::from_json("{\"id\": "),
        Err(PolicyError::Json(_))
    ));
}

/// docs/default-policy.md lists every rule in order with its outcome.
#[test]
fn the_documented_table_matches_the_default_policy() {
    let doc = include_str!("../../../../docs/default-policy.md");
    let rows: Vec<Vec<String>> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("| `"))
        .map(|l| l.split('|').map(|c| c.trim().to_owned()).collect())
        .collect();
    let policy = Policy::default_policy();
    assert_eq!(rows.len(), policy.rules().len());
    for (i, (row, rule)) in rows.iter().zip(policy.rules()).enumerate() {
        let o = rule.outcome();
        let fulfilment = o.fulfilment.to_string();
        let fulfilment = fulfilment.trim_end_matches(" until payment");
        assert_eq!(row[1], (i + 1).to_string());
        assert_eq!(row[2], format!("`{}`", rule.id()), "row {}", i + 1);
        assert_eq!(
            row[4],
            format!("{:?}", o.verdict).to_lowercase(),
            "verdict of {}",
            rule.id()
        );
        assert_eq!(row[5], fulfilment, "fulfilment of {}", rule.id());
        assert_eq!(
            row[6],
            o.priority.0.to_string(),
            "priority of {}",
            rule.id()
        );
        assert_eq!(
            row[7],
            format!("{:?}", o.discount).to_lowercase(),
            "discount of {}",
            rule.id()
        );
        assert_eq!(
            row[11] == "yes",
            o.service_warning,
            "warning of {}",
            rule.id()
        );
    }
}
