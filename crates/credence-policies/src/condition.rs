//! Conditions: comparisons of facts with thresholds, combined with
//! `all` / `any` / `not`, parsed from JSON with located errors and evaluated
//! with a trace of every comparison.
//!
//! ```json
//! {"all": [
//!   {"fact": "max_business_days_past_due", "op": "gt", "value": 0},
//!   {"not": {"fact": "tags", "op": "contains", "value": "key-account"}}
//! ]}
//! ```
//!
//! `{"all": []}` always holds and `{"any": []}` never does. Every leaf is
//! evaluated (no short-circuit) so an explanation lists every comparison the
//! rule made. A leaf under an odd number of `not`s is traced as
//! `not <fact>` with its own (un-negated) result. A fact that is not known at
//! this evaluation (an order fact outside order placement) makes its
//! comparison false and is traced with the observed value `absent`.

use std::str::FromStr;

use credence_events::{Comparison, ConditionTrace, FactValue, Money};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::error::PolicyError;
use crate::facts::{FactSet, FactType, Facts, Observed, builtin_index};

/// A threshold, typed by the fact it is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Threshold {
    /// For a bool fact.
    Bool(bool),
    /// For an integer fact.
    Integer(i64),
    /// For a decimal fact.
    Decimal(Decimal),
    /// For a money fact: an amount in the customer's currency.
    Money(Decimal),
    /// For a text fact, or the label a tags fact must contain.
    Text(String),
}

/// A condition of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `fact op value`.
    Compare {
        /// The fact's name.
        fact: String,
        /// The comparison.
        op: Comparison,
        /// The threshold.
        value: Threshold,
    },
    /// Every condition holds (true when empty).
    All(Vec<Condition>),
    /// At least one condition holds (false when empty).
    Any(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

fn op_name(op: Comparison) -> &'static str {
    match op {
        Comparison::Lt => "lt",
        Comparison::Le => "le",
        Comparison::Eq => "eq",
        Comparison::Ne => "ne",
        Comparison::Ge => "ge",
        Comparison::Gt => "gt",
        Comparison::Contains => "contains",
    }
}

fn parse_op(value: &Value, path: &str) -> Result<Comparison, PolicyError> {
    let text = value
        .as_str()
        .ok_or_else(|| PolicyError::invalid(path, "expected a string operator"))?;
    Ok(match text {
        "lt" => Comparison::Lt,
        "le" => Comparison::Le,
        "eq" => Comparison::Eq,
        "ne" => Comparison::Ne,
        "ge" => Comparison::Ge,
        "gt" => Comparison::Gt,
        "contains" => Comparison::Contains,
        other => {
            return Err(PolicyError::invalid(
                path,
                format!("unknown operator {other:?} (expected lt, le, eq, ne, ge, gt or contains)"),
            ));
        }
    })
}

fn parse_decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn parse_threshold(
    fact_type: FactType,
    fact: &str,
    value: &Value,
    path: &str,
) -> Result<Threshold, PolicyError> {
    let wrong = || {
        PolicyError::invalid(
            path,
            format!("fact {fact:?} is {fact_type}, the value {value} is not"),
        )
    };
    Ok(match fact_type {
        FactType::Bool => Threshold::Bool(value.as_bool().ok_or_else(wrong)?),
        FactType::Integer => Threshold::Integer(value.as_i64().ok_or_else(wrong)?),
        FactType::Decimal => Threshold::Decimal(parse_decimal(value).ok_or_else(wrong)?),
        FactType::Money => Threshold::Money(parse_decimal(value).ok_or_else(wrong)?),
        FactType::Text | FactType::Tags => {
            Threshold::Text(value.as_str().ok_or_else(wrong)?.to_owned())
        }
    })
}

fn allowed(fact_type: FactType, op: Comparison) -> bool {
    match fact_type {
        FactType::Bool | FactType::Text => matches!(op, Comparison::Eq | Comparison::Ne),
        FactType::Tags => op == Comparison::Contains,
        FactType::Integer | FactType::Decimal | FactType::Money => op != Comparison::Contains,
    }
}

impl Condition {
    /// Parses a condition at `path` of a document; `fact_type` names the type
    /// of every fact the policy knows.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Invalid`] naming the place of the first problem.
    pub fn parse(
        value: &Value,
        path: &str,
        fact_type: &dyn Fn(&str) -> Option<FactType>,
    ) -> Result<Condition, PolicyError> {
        let object = value.as_object().ok_or_else(|| {
            PolicyError::invalid(path, "expected an object with fact, all, any or not")
        })?;
        let kinds: Vec<&str> = ["fact", "all", "any", "not"]
            .into_iter()
            .filter(|k| object.contains_key(*k))
            .collect();
        let [kind] = kinds.as_slice() else {
            return Err(PolicyError::invalid(
                path,
                "expected exactly one of fact, all, any or not",
            ));
        };
        let allowed_keys: &[&str] = if *kind == "fact" {
            &["fact", "op", "value"]
        } else {
            &[kind]
        };
        if let Some(extra) = object.keys().find(|k| !allowed_keys.contains(&k.as_str())) {
            return Err(PolicyError::invalid(
                format!("{path}.{extra}"),
                "unknown field",
            ));
        }
        match *kind {
            "fact" => {
                let fact_path = format!("{path}.fact");
                let fact = object["fact"]
                    .as_str()
                    .ok_or_else(|| PolicyError::invalid(&fact_path, "expected a fact name"))?;
                let ty = fact_type(fact).ok_or_else(|| {
                    PolicyError::invalid(&fact_path, format!("unknown fact {fact:?}"))
                })?;
                let op_path = format!("{path}.op");
                let op = parse_op(
                    object
                        .get("op")
                        .ok_or_else(|| PolicyError::invalid(&op_path, "missing"))?,
                    &op_path,
                )?;
                if !allowed(ty, op) {
                    return Err(PolicyError::invalid(
                        &op_path,
                        format!(
                            "operator {} does not apply to {ty} fact {fact:?}",
                            op_name(op)
                        ),
                    ));
                }
                let value_path = format!("{path}.value");
                let value = parse_threshold(
                    ty,
                    fact,
                    object
                        .get("value")
                        .ok_or_else(|| PolicyError::invalid(&value_path, "missing"))?,
                    &value_path,
                )?;
                Ok(Condition::Compare {
                    fact: fact.to_owned(),
                    op,
                    value,
                })
            }
            "not" => Ok(Condition::Not(Box::new(Self::parse(
                &object["not"],
                &format!("{path}.not"),
                fact_type,
            )?))),
            list => {
                let items = object[list].as_array().ok_or_else(|| {
                    PolicyError::invalid(format!("{path}.{list}"), "expected a list of conditions")
                })?;
                let parsed = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::parse(item, &format!("{path}.{list}[{i}]"), fact_type))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if list == "all" {
                    Condition::All(parsed)
                } else {
                    Condition::Any(parsed)
                })
            }
        }
    }

    /// The condition as a JSON value, in the document format.
    pub fn to_json(&self) -> Value {
        match self {
            Condition::Compare { fact, op, value } => serde_json::json!({
                "fact": fact,
                "op": op_name(*op),
                "value": match value {
                    Threshold::Bool(b) => Value::Bool(*b),
                    Threshold::Integer(i) => Value::from(*i),
                    Threshold::Decimal(d) | Threshold::Money(d) => Value::String(d.to_string()),
                    Threshold::Text(t) => Value::String(t.clone()),
                },
            }),
            Condition::All(items) => {
                serde_json::json!({"all": items.iter().map(Self::to_json).collect::<Vec<_>>()})
            }
            Condition::Any(items) => {
                serde_json::json!({"any": items.iter().map(Self::to_json).collect::<Vec<_>>()})
            }
            Condition::Not(inner) => serde_json::json!({"not": inner.to_json()}),
        }
    }

    /// Evaluates the condition against `facts`, appending a trace of every
    /// comparison to `traces`.
    pub fn evaluate(&self, facts: &Facts, traces: &mut Vec<ConditionTrace>) -> bool {
        self.eval(facts, traces, false)
    }

    fn eval(&self, facts: &Facts, traces: &mut Vec<ConditionTrace>, negated: bool) -> bool {
        match self {
            Condition::Compare { fact, op, value } => {
                let trace = compare(facts, fact, *op, value, negated);
                let holds = trace.holds;
                traces.push(trace);
                holds
            }
            // Collect first: every leaf is traced, no short-circuit.
            Condition::All(items) => items
                .iter()
                .map(|c| c.eval(facts, traces, negated))
                .collect::<Vec<_>>()
                .into_iter()
                .all(|b| b),
            Condition::Any(items) => items
                .iter()
                .map(|c| c.eval(facts, traces, negated))
                .collect::<Vec<_>>()
                .into_iter()
                .any(|b| b),
            Condition::Not(inner) => !inner.eval(facts, traces, !negated),
        }
    }

    /// Whether the condition holds against `facts`, without tracing: the
    /// same answer as [`Condition::evaluate`], which a policy asks only of
    /// the rule that fires.
    pub fn holds(&self, facts: &Facts) -> bool {
        match self {
            Condition::Compare { fact, op, value } => facts
                .get(fact)
                .is_some_and(|o| comparison_holds(o, *op, value)),
            Condition::All(items) => items.iter().all(|c| c.holds(facts)),
            Condition::Any(items) => items.iter().any(|c| c.holds(facts)),
            Condition::Not(inner) => !inner.holds(facts),
        }
    }

    /// True for a condition that holds whatever the facts (`{"all": []}`).
    pub fn is_always(&self) -> bool {
        matches!(self, Condition::All(items) if items.is_empty())
    }
}

/// A condition whose built-in fact names are resolved to catalogue
/// positions once, when a policy is loaded: what a policy asks each rule in
/// turn (does it fire?) without comparing fact names. Answers exactly as
/// [`Condition::holds`].
#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    Compare {
        fact: FactRef,
        op: Comparison,
        value: Threshold,
    },
    All(Vec<Compiled>),
    Any(Vec<Compiled>),
    Not(Box<Compiled>),
}

/// A fact named by a condition: a built-in one by catalogue position, any
/// other (a Rust extension's) by name.
#[derive(Debug, Clone)]
pub(crate) enum FactRef {
    Builtin(usize),
    Named(String),
}

impl Compiled {
    pub(crate) fn new(condition: &Condition) -> Self {
        match condition {
            Condition::Compare { fact, op, value } => Compiled::Compare {
                fact: match builtin_index(fact) {
                    Some(index) => FactRef::Builtin(index),
                    None => FactRef::Named(fact.clone()),
                },
                op: *op,
                value: value.clone(),
            },
            Condition::All(items) => Compiled::All(items.iter().map(Compiled::new).collect()),
            Condition::Any(items) => Compiled::Any(items.iter().map(Compiled::new).collect()),
            Condition::Not(inner) => Compiled::Not(Box::new(Compiled::new(inner))),
        }
    }

    /// The built-in facts whose sources a trace of this condition shows.
    pub(crate) fn sources_wanted(&self, wanted: FactSet) -> FactSet {
        match self {
            Compiled::Compare {
                fact: FactRef::Builtin(index),
                ..
            } => wanted.with(*index),
            Compiled::Compare {
                fact: FactRef::Named(_),
                ..
            } => wanted,
            Compiled::All(items) | Compiled::Any(items) => items
                .iter()
                .fold(wanted, |wanted, c| c.sources_wanted(wanted)),
            Compiled::Not(inner) => inner.sources_wanted(wanted),
        }
    }

    pub(crate) fn holds(&self, facts: &Facts) -> bool {
        match self {
            Compiled::Compare { fact, op, value } => {
                let observed = match fact {
                    FactRef::Builtin(index) => facts.get_builtin(*index),
                    FactRef::Named(name) => facts.get(name),
                };
                observed.is_some_and(|o| comparison_holds(o, *op, value))
            }
            Compiled::All(items) => items.iter().all(|c| c.holds(facts)),
            Compiled::Any(items) => items.iter().any(|c| c.holds(facts)),
            Compiled::Not(inner) => !inner.holds(facts),
        }
    }
}

fn compare(
    facts: &Facts,
    fact: &str,
    op: Comparison,
    threshold: &Threshold,
    negated: bool,
) -> ConditionTrace {
    let name = if negated {
        format!("not {fact}")
    } else {
        fact.to_owned()
    };
    let Some(observed) = facts.get(fact) else {
        return ConditionTrace {
            fact: name,
            comparison: op,
            threshold: threshold_value(threshold, None),
            observed: FactValue::Text("absent".into()),
            holds: false,
            sources: Vec::new(),
        };
    };
    let holds = comparison_holds(observed, op, threshold);
    let currency = match &observed.value {
        FactValue::Money(m) => Some(m.currency()),
        _ => None,
    };
    ConditionTrace {
        fact: name,
        comparison: op,
        threshold: threshold_value(threshold, currency),
        observed: observed.value.clone(),
        holds,
        sources: observed.sources.clone(),
    }
}

/// Whether `observed op threshold` holds (false for mismatched types).
fn comparison_holds(observed: &Observed, op: Comparison, threshold: &Threshold) -> bool {
    let ordering = match (&observed.value, threshold) {
        (FactValue::Integer(o), Threshold::Integer(t)) => Some(o.cmp(t)),
        (FactValue::Decimal(o), Threshold::Decimal(t)) => Some(o.cmp(t)),
        (FactValue::Money(o), Threshold::Money(t)) => Some(o.amount().cmp(t)),
        (FactValue::Bool(o), Threshold::Bool(t)) => Some(o.cmp(t)),
        (FactValue::Text(o), Threshold::Text(t)) if op != Comparison::Contains => Some(o.cmp(t)),
        _ => None,
    };
    match (op, ordering) {
        (Comparison::Contains, _) => match threshold {
            Threshold::Text(t) => observed.labels.contains(t),
            _ => false,
        },
        (_, None) => false,
        (Comparison::Lt, Some(o)) => o.is_lt(),
        (Comparison::Le, Some(o)) => o.is_le(),
        (Comparison::Eq, Some(o)) => o.is_eq(),
        (Comparison::Ne, Some(o)) => o.is_ne(),
        (Comparison::Ge, Some(o)) => o.is_ge(),
        (Comparison::Gt, Some(o)) => o.is_gt(),
    }
}

fn threshold_value(
    threshold: &Threshold,
    currency: Option<credence_events::Currency>,
) -> FactValue {
    match threshold {
        Threshold::Bool(b) => FactValue::Bool(*b),
        Threshold::Integer(i) => FactValue::Integer(*i),
        Threshold::Decimal(d) => FactValue::Decimal(*d),
        Threshold::Money(d) => currency
            .and_then(|c| Money::new(*d, c).ok())
            .map(FactValue::Money)
            .unwrap_or(FactValue::Decimal(*d)),
        Threshold::Text(t) => FactValue::Text(t.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Observed, fact_spec};
    use chrono::{NaiveDate, TimeZone, Utc};
    use credence_events::{Currency, CustomerId, EventId};
    use serde_json::json;

    fn facts() -> Facts {
        let eur = Currency::new("EUR").unwrap();
        let json = json!({
            "customer": "ACME",
            "evaluated_at": Utc.with_ymd_and_hms(2026, 11, 12, 8, 0, 0).unwrap(),
            "today": NaiveDate::from_ymd_opt(2026, 11, 12).unwrap(),
            "order": null,
            "receivables": [],
            "values": {}
        });
        let mut facts: Facts = serde_json::from_value(json).unwrap();
        assert_eq!(facts.customer, CustomerId::new("ACME").unwrap());
        facts.insert(
            "max_days_past_due",
            Observed::new(FactValue::Integer(2), vec![EventId::from_u128(4)]),
        );
        facts.insert(
            "overdue_debt",
            Observed::new(
                FactValue::Money(Money::new(Decimal::new(9500, 2), eur).unwrap()),
                vec![EventId::from_u128(4)],
            ),
        );
        facts.insert(
            "tags",
            Observed::labels(["key-account".to_string()].into(), Vec::new()),
        );
        facts
    }

    fn parse(value: serde_json::Value) -> Result<Condition, PolicyError> {
        Condition::parse(&value, "when", &|name| fact_spec(name).map(|s| s.fact_type))
    }

    #[track_caller]
    fn check(condition: serde_json::Value, holds: bool, trace: &[&str]) {
        let c = parse(condition).unwrap();
        let mut traces = Vec::new();
        assert_eq!(c.evaluate(&facts(), &mut traces), holds);
        // The untraced answer is the same, compiled or not.
        assert_eq!(c.holds(&facts()), holds);
        assert_eq!(Compiled::new(&c).holds(&facts()), holds);
        let rendered: Vec<String> = traces
            .iter()
            .map(|t| {
                format!(
                    "{} {} {} {} {}",
                    t.fact,
                    t.observed,
                    t.comparison.symbol(),
                    t.threshold,
                    t.holds
                )
            })
            .collect();
        assert_eq!(rendered, trace);
        // The JSON form round-trips.
        assert_eq!(parse(c.to_json()).unwrap(), c);
    }

    #[test]
    fn evaluates_and_traces_every_leaf() {
        check(
            json!({"fact": "max_days_past_due", "op": "gt", "value": 1}),
            true,
            &["max_days_past_due 2 > 1 true"],
        );
        check(
            json!({"fact": "overdue_debt", "op": "ge", "value": "95.001"}),
            false,
            &["overdue_debt 95.00 EUR >= 95.001 false"],
        );
        check(
            json!({"any": [
                {"fact": "max_days_past_due", "op": "gt", "value": 5},
                {"fact": "overdue_debt", "op": "gt", "value": 0}
            ]}),
            true,
            &[
                "max_days_past_due 2 > 5 false",
                "overdue_debt 95.00 EUR > 0.00 EUR true",
            ],
        );
        check(
            json!({"not": {"fact": "tags", "op": "contains", "value": "key-account"}}),
            false,
            &["not tags key-account contains key-account true"],
        );
        check(json!({"all": []}), true, &[]);
        check(json!({"any": []}), false, &[]);
        // An order fact outside order placement is absent: false.
        check(
            json!({"fact": "order_same_day", "op": "eq", "value": true}),
            false,
            &["order_same_day absent = true false"],
        );
    }

    fn leaf() -> impl proptest::strategy::Strategy<Value = Condition> {
        use proptest::prelude::*;
        let op = prop_oneof![
            Just(Comparison::Lt),
            Just(Comparison::Le),
            Just(Comparison::Eq),
            Just(Comparison::Ne),
            Just(Comparison::Ge),
            Just(Comparison::Gt),
        ];
        (0..6usize, op, -3i64..120).prop_map(|(fact, op, n)| {
            let (fact, op, value) = match fact {
                0 => ("max_days_past_due", op, Threshold::Integer(n)),
                1 => ("overdue_debt", op, Threshold::Money(Decimal::new(n, 0))),
                2 => ("extension_count", op, Threshold::Integer(n)),
                3 => (
                    "order_same_day",
                    Comparison::Eq,
                    Threshold::Bool(n % 2 == 0),
                ),
                4 => ("debt", op, Threshold::Money(Decimal::new(n, 0))),
                _ => (
                    "tags",
                    Comparison::Contains,
                    Threshold::Text(if n % 2 == 0 { "key-account" } else { "x" }.into()),
                ),
            };
            Condition::Compare {
                fact: fact.into(),
                op,
                value,
            }
        })
    }

    proptest::proptest! {
        /// The compiled form a policy asks of each rule answers exactly as
        /// the condition, for built-in, extension and absent facts.
        #[test]
        fn compiled_conditions_answer_as_the_condition(
            condition in proptest::strategy::Strategy::prop_recursive(leaf(), 3, 16, 4, |inner| {
                use proptest::prelude::*;
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Condition::All),
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Condition::Any),
                    inner.prop_map(|c| Condition::Not(Box::new(c))),
                ]
            }),
            extension in proptest::option::of(0i64..100),
        ) {
            let mut facts = facts();
            if let Some(n) = extension {
                facts.insert(
                    "extension_count",
                    Observed::new(FactValue::Integer(n), Vec::new()),
                );
            }
            let mut traces = Vec::new();
            let traced = condition.evaluate(&facts, &mut traces);
            proptest::prop_assert_eq!(condition.holds(&facts), traced);
            proptest::prop_assert_eq!(Compiled::new(&condition).holds(&facts), traced);
        }
    }

    #[test]
    fn rejects_malformed_conditions() {
        for (value, message) in [
            (
                json!(3),
                "when: expected an object with fact, all, any or not",
            ),
            (
                json!({"all": {}}),
                "when.all: expected a list of conditions",
            ),
            (
                json!({"fact": "debt", "op": "gt", "value": 0, "unit": "eur"}),
                "when.unit: unknown field",
            ),
            (
                json!({"fact": 3, "op": "gt", "value": 0}),
                "when.fact: expected a fact name",
            ),
            (
                json!({"any": [{"fact": "tags", "op": "eq", "value": "x"}]}),
                "when.any[0].op: operator eq does not apply to tags fact \"tags\"",
            ),
        ] {
            assert_eq!(parse(value).unwrap_err().to_string(), message);
        }
    }
}
