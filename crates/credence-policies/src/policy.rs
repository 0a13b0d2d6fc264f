//! Policies: versioned, hashed, ordered rule lists loaded from JSON and
//! extensible from Rust.
//!
//! # Evaluation order and conflict resolution
//!
//! A policy is an ordered list of rules, written from the **most to the least
//! severe**, like Kill Bill's overdue states. Evaluation checks the rules in
//! order and the **first rule whose condition holds decides the whole
//! outcome** (verdict, fulfilment mode, priority, discount, bonus, markup,
//! interest, service warnings). Outcomes are never merged, so there is no
//! conflict to resolve: reordering the rules is how a credit controller
//! changes precedence. The last rule has no `when` and always holds (the
//! catch-all "good standing"); only the last rule may omit `when`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_aggregates::CustomerAccount;
use credence_events::{
    BusinessCalendar, ConditionTrace, FulfilmentMode, Money, OrderId, PolicyId, PolicyRef, RuleId,
    Verdict,
};
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::condition::{Compiled, Condition};
use crate::decision::{Decision, InterestCharge, InterestLine, Outcome};
use crate::error::PolicyError;
use crate::facts::{FactSet, FactType, Facts, FactsConfig, Wanted, fact_spec};
use crate::reminders::ReminderSchedule;

/// What a rule's condition found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCheck {
    /// Whether the rule fires.
    pub holds: bool,
    /// Every comparison it made, for the explanation.
    pub conditions: Vec<ConditionTrace>,
}

/// A rule of a policy. Rules from JSON documents implement it; Rust code can
/// implement it for conditions JSON cannot express and insert the rule with
/// [`Policy::with_rule`].
pub trait Rule: fmt::Debug + Send + Sync {
    /// The rule's id, unique within its policy.
    fn id(&self) -> &RuleId;
    /// What the rule decides when it fires.
    fn outcome(&self) -> &Outcome;
    /// Checks the rule against the facts. Must be deterministic and read
    /// nothing but `facts`.
    fn check(&self, facts: &Facts) -> RuleCheck;
    /// Whether the rule fires on `facts`: `check(facts).holds`, which is
    /// the default. A policy asks this of each rule in turn and traces
    /// ([`Rule::check`]) only the one that fires, so a rule whose trace is
    /// costly may answer it more cheaply; the answer must be the same.
    fn holds(&self, facts: &Facts) -> bool {
        self.check(facts).holds
    }
    /// A stable description of the rule's content, hashed into the policy's
    /// content hash so that changing the rule changes the hash.
    fn fingerprint(&self) -> Value;
}

/// Computes extra facts from Rust, for conditions over things the built-in
/// catalogue lacks. Register providers with [`Policy::from_json_with`] before
/// a document names their facts.
pub trait FactProvider: fmt::Debug + Send + Sync {
    /// The facts this provider computes, with their types.
    fn facts(&self) -> Vec<(String, FactType)>;
    /// Adds its facts to `facts` (computed from `account` at
    /// `facts.evaluated_at`). Must be deterministic.
    fn provide(&self, account: &CustomerAccount, facts: &mut Facts);
    /// A stable description, hashed into the policy's content hash.
    fn fingerprint(&self) -> String;
}

/// A rule from a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRule {
    /// Its id.
    pub id: RuleId,
    /// What it is for, in words.
    pub description: String,
    /// When it fires; `None` for the catch-all.
    pub when: Option<Condition>,
    /// What it decides.
    pub then: Outcome,
}

impl Rule for JsonRule {
    fn id(&self) -> &RuleId {
        &self.id
    }

    fn outcome(&self) -> &Outcome {
        &self.then
    }

    fn check(&self, facts: &Facts) -> RuleCheck {
        let mut conditions = Vec::new();
        let holds = match &self.when {
            Some(c) => c.evaluate(facts, &mut conditions),
            None => true,
        };
        RuleCheck { holds, conditions }
    }

    fn holds(&self, facts: &Facts) -> bool {
        self.when.as_ref().is_none_or(|c| c.holds(facts))
    }

    fn fingerprint(&self) -> Value {
        serde_json::json!({
            "id": self.id.as_str(),
            "when": self.when.as_ref().map(Condition::to_json),
            "then": serde_json::to_value(self.then).unwrap_or(Value::Null),
        })
    }
}

/// A rule as a policy document defines it, with its condition compiled for
/// [`Rule::holds`] (fact names resolved once, at load). Behaves, prints and
/// fingerprints exactly as its [`JsonRule`].
struct ParsedRule {
    rule: JsonRule,
    compiled: Option<Compiled>,
}

impl ParsedRule {
    fn new(rule: JsonRule) -> Self {
        let compiled = rule.when.as_ref().map(Compiled::new);
        Self { rule, compiled }
    }
}

impl fmt::Debug for ParsedRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.rule.fmt(f)
    }
}

impl Rule for ParsedRule {
    fn id(&self) -> &RuleId {
        self.rule.id()
    }

    fn outcome(&self) -> &Outcome {
        self.rule.outcome()
    }

    fn check(&self, facts: &Facts) -> RuleCheck {
        self.rule.check(facts)
    }

    fn holds(&self, facts: &Facts) -> bool {
        self.compiled.as_ref().is_none_or(|c| c.holds(facts))
    }

    fn fingerprint(&self) -> Value {
        self.rule.fingerprint()
    }
}

/// A versioned credit policy: facts settings, ordered rules, a reminder
/// schedule, an id, a version and a content hash.
#[derive(Debug, Clone)]
pub struct Policy {
    reference: PolicyRef,
    description: String,
    facts_config: FactsConfig,
    rules: Vec<Arc<dyn Rule>>,
    reminders: ReminderSchedule,
    providers: Vec<Arc<dyn FactProvider>>,
    /// True once a Rust rule was added ([`Policy::with_rule`]): such a rule
    /// may read facts' sources to decide, so its policy is never evaluated
    /// on values-only facts.
    rust_rules: bool,
    /// For each document rule, in order, the facts whose sources its trace
    /// shows (meaningful while `rust_rules` is false).
    rule_sources: Vec<FactSet>,
    /// For each rule, in order, the document rule it is (the same `Arc`
    /// as in `rules`), `None` for a Rust rule: whose conditions
    /// [`Policy::same_conditions`] compares.
    document_rules: Vec<Option<Arc<ParsedRule>>>,
    document: Value,
}

struct Header {
    id: PolicyId,
    version: u32,
    description: String,
    facts: FactsConfig,
    reminders: ReminderSchedule,
}

fn field<T: serde::de::DeserializeOwned>(value: &Value, path: &str) -> Result<T, PolicyError> {
    serde_json::from_value(value.clone()).map_err(|e| PolicyError::invalid(path, e.to_string()))
}

/// The canonical form of a JSON value: object keys sorted, no whitespace.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b"\n");
        }
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses the reminder schedule, naming the element of the first problem.
fn parse_schedule(value: &Value, path: &str) -> Result<ReminderSchedule, PolicyError> {
    let object = value
        .as_object()
        .ok_or_else(|| PolicyError::invalid(path, "expected a reminder schedule object"))?;
    fn each<T: serde::de::DeserializeOwned>(v: &Value, path: &str) -> Result<(), PolicyError> {
        let items = v
            .as_array()
            .ok_or_else(|| PolicyError::invalid(path, "expected a list"))?;
        for (i, item) in items.iter().enumerate() {
            field::<T>(item, &format!("{path}[{i}]"))?;
        }
        Ok(())
    }
    for (key, v) in object {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "days" => field::<credence_events::DayKind>(v, &here).map(drop)?,
            "follow_up" => each::<crate::reminders::FollowUpStep>(v, &here)?,
            "limit_warnings" => each::<crate::reminders::LimitWarning>(v, &here)?,
            "change_notices" | "service_warnings" | "deadline_notices" => {
                each::<credence_events::Recipient>(v, &here)?
            }
            _ => return Err(PolicyError::invalid(here, "unknown field")),
        }
    }
    field(value, path)
}

/// Parses a rule's `then`, naming the field of the first problem.
fn parse_outcome(value: &Value, path: &str) -> Result<Outcome, PolicyError> {
    let object = value
        .as_object()
        .ok_or_else(|| PolicyError::invalid(path, "expected an outcome object"))?;
    for (key, v) in object {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "verdict" => field::<Verdict>(v, &here).map(drop)?,
            "fulfilment" => field::<FulfilmentMode>(v, &here).map(drop)?,
            "priority" => field::<credence_events::Priority>(v, &here).map(drop)?,
            "discount" | "bonus" => {
                field::<credence_events::DiscountOutcome>(v, &here).map(drop)?
            }
            "markup_percent" | "interest_daily_percent" => {
                field::<credence_events::Rate>(v, &here).map(drop)?
            }
            "service_warning" => field::<bool>(v, &here).map(drop)?,
            _ => return Err(PolicyError::invalid(here, "unknown field")),
        }
    }
    for required in ["verdict", "fulfilment", "priority"] {
        if !object.contains_key(required) {
            return Err(PolicyError::invalid(
                format!("{path}.{required}"),
                "missing",
            ));
        }
    }
    field(value, path)
}

fn check_outcome(outcome: &Outcome, path: &str) -> Result<(), PolicyError> {
    let contradiction = |message: String| Err(PolicyError::invalid(path, message));
    if outcome.priority.0 == 0 {
        return contradiction("priority must be 1 or more (1 is served first)".into());
    }
    match (outcome.verdict, outcome.fulfilment) {
        (Verdict::Refuse, FulfilmentMode::Refused)
        | (Verdict::Hold, FulfilmentMode::Deferred)
        | (
            Verdict::Accept,
            FulfilmentMode::Full
            | FulfilmentMode::Partial
            | FulfilmentMode::Residual
            | FulfilmentMode::CashOnDelivery,
        ) => Ok(()),
        (verdict, mode) => contradiction(format!(
            "contradictory outcome: verdict {} with fulfilment {mode} (refuse goes with refused, hold with deferred, accept with full, partial, residual or cash_on_delivery)",
            match verdict {
                Verdict::Accept => "accept",
                Verdict::Hold => "hold",
                Verdict::Refuse => "refuse",
            }
        )),
    }
}

impl Policy {
    /// Loads a policy document.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Json`] for malformed JSON; [`PolicyError::Invalid`]
    /// naming the place for an unknown fact, a value of the wrong type, a
    /// duplicate rule id, a contradictory outcome, no rules, or a missing or
    /// misplaced catch-all.
    pub fn from_json(json: &str) -> Result<Policy, PolicyError> {
        Self::from_json_with(json, Vec::new())
    }

    /// Loads a policy document whose conditions may also name the facts of
    /// `providers`.
    ///
    /// # Errors
    ///
    /// As [`Policy::from_json`].
    pub fn from_json_with(
        json: &str,
        providers: Vec<Arc<dyn FactProvider>>,
    ) -> Result<Policy, PolicyError> {
        let document: Value =
            serde_json::from_str(json).map_err(|e| PolicyError::Json(e.to_string()))?;
        Self::from_value(document, providers)
    }

    fn from_value(
        document: Value,
        providers: Vec<Arc<dyn FactProvider>>,
    ) -> Result<Policy, PolicyError> {
        let object = document
            .as_object()
            .ok_or_else(|| PolicyError::invalid("$", "expected a json object"))?;
        for key in ["id", "version", "rules"] {
            if !object.contains_key(key) {
                return Err(PolicyError::invalid(key, "missing"));
            }
        }
        if let Some(extra) = object.keys().find(|k| {
            ![
                "id",
                "version",
                "description",
                "facts",
                "reminders",
                "rules",
            ]
            .contains(&k.as_str())
        }) {
            return Err(PolicyError::invalid(extra.as_str(), "unknown field"));
        }
        let id: PolicyId = field(&object["id"], "id")?;
        let version: u32 = field(&object["version"], "version")?;
        let header = Header {
            id,
            version,
            description: match object.get("description") {
                Some(v) => field(v, "description")?,
                None => String::new(),
            },
            facts: match object.get("facts") {
                Some(v) => field(v, "facts")?,
                None => FactsConfig::default(),
            },
            reminders: match object.get("reminders") {
                Some(v) => parse_schedule(v, "reminders")?,
                None => ReminderSchedule::default(),
            },
        };
        header.reminders.validate("reminders")?;
        let extra_facts: Vec<(String, FactType)> =
            providers.iter().flat_map(|p| p.facts()).collect();
        let fact_type = |name: &str| {
            fact_spec(name)
                .map(|s| s.fact_type)
                .or_else(|| extra_facts.iter().find(|(n, _)| n == name).map(|(_, t)| *t))
        };
        let rules_value = object["rules"]
            .as_array()
            .ok_or_else(|| PolicyError::invalid("rules", "expected a list of rules"))?;
        if rules_value.is_empty() {
            return Err(PolicyError::invalid(
                "rules",
                "a policy needs at least one rule (the last one a catch-all)",
            ));
        }
        let mut rules: Vec<Arc<dyn Rule>> = Vec::new();
        let mut rule_sources = Vec::new();
        let mut document_rules = Vec::new();
        let mut ids = BTreeSet::new();
        let last = rules_value.len() - 1;
        for (i, rule) in rules_value.iter().enumerate() {
            let path = format!("rules[{i}]");
            let r = rule
                .as_object()
                .ok_or_else(|| PolicyError::invalid(&path, "expected a rule object"))?;
            if let Some(extra) = r
                .keys()
                .find(|k| !["id", "description", "when", "then"].contains(&k.as_str()))
            {
                return Err(PolicyError::invalid(
                    format!("{path}.{extra}"),
                    "unknown field",
                ));
            }
            let id_path = format!("{path}.id");
            let id: RuleId = field(
                r.get("id")
                    .ok_or_else(|| PolicyError::invalid(&id_path, "missing"))?,
                &id_path,
            )?;
            if !ids.insert(id.clone()) {
                return Err(PolicyError::invalid(
                    &id_path,
                    format!("duplicate rule id {:?}", id.as_str()),
                ));
            }
            let description = match r.get("description") {
                Some(v) => field(v, &format!("{path}.description"))?,
                None => String::new(),
            };
            let when_path = format!("{path}.when");
            let when = match r.get("when") {
                Some(v) => Some(Condition::parse(v, &when_path, &fact_type)?),
                None if i == last => None,
                None => {
                    return Err(PolicyError::invalid(
                        &when_path,
                        "missing (only the last rule may be a catch-all)",
                    ));
                }
            };
            if i == last && when.is_some() {
                return Err(PolicyError::invalid(
                    &when_path,
                    "the last rule must be a catch-all without `when`",
                ));
            }
            let then_path = format!("{path}.then");
            let then = parse_outcome(
                r.get("then")
                    .ok_or_else(|| PolicyError::invalid(&then_path, "missing"))?,
                &then_path,
            )?;
            check_outcome(&then, &then_path)?;
            let rule = ParsedRule::new(JsonRule {
                id,
                description,
                when,
                then,
            });
            rule_sources.push(
                rule.compiled
                    .as_ref()
                    .map_or(FactSet::NONE, |c| c.sources_wanted(FactSet::NONE)),
            );
            let rule = Arc::new(rule);
            document_rules.push(Some(rule.clone()));
            rules.push(rule);
        }
        let mut policy = Policy {
            reference: PolicyRef {
                id: header.id,
                version: header.version,
                hash: String::new(),
            },
            description: header.description,
            facts_config: header.facts,
            rules,
            reminders: header.reminders,
            providers,
            rust_rules: false,
            rule_sources,
            document_rules,
            document,
        };
        policy.rehash();
        Ok(policy)
    }

    fn rehash(&mut self) {
        let document = canonical_json(&self.document);
        let mut parts = vec![document];
        // Rust extensions are part of the content: a policy with a custom
        // rule is not the same policy as its document alone.
        for rule in &self.rules {
            if self.document_rule(rule.id()).is_some() {
                continue;
            }
            parts.push(format!("rule:{}", canonical_json(&rule.fingerprint())));
        }
        for provider in &self.providers {
            parts.push(format!("facts:{}", provider.fingerprint()));
        }
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        self.reference.hash = sha256_hex(&refs);
    }

    fn document_rule(&self, id: &RuleId) -> Option<&Value> {
        self.document["rules"]
            .as_array()?
            .iter()
            .find(|r| r["id"].as_str() == Some(id.as_str()))
    }

    /// Inserts a Rust rule at `index` (0 is checked first). The catch-all
    /// stays last.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Invalid`] for a duplicate rule id, an index after the
    /// catch-all, or a contradictory outcome.
    pub fn with_rule(mut self, index: usize, rule: Arc<dyn Rule>) -> Result<Policy, PolicyError> {
        let path = format!("rules[{index}]");
        if index >= self.rules.len() {
            return Err(PolicyError::invalid(
                path,
                "a rule cannot be added after the catch-all",
            ));
        }
        if self.rules.iter().any(|r| r.id() == rule.id()) {
            return Err(PolicyError::invalid(
                format!("{path}.id"),
                format!("duplicate rule id {:?}", rule.id().as_str()),
            ));
        }
        check_outcome(rule.outcome(), &format!("{path}.then"))?;
        self.rules.insert(index, rule);
        self.rule_sources.insert(index, FactSet::ALL);
        self.document_rules.insert(index, None);
        self.rust_rules = true;
        self.rehash();
        Ok(self)
    }

    /// The default policy, encoding DOMAIN.md (see `docs/default-policy.md`).
    ///
    /// # Panics
    ///
    /// Never: the embedded document is valid, which a unit test checks.
    pub fn default_policy() -> Policy {
        Self::from_json(DEFAULT_POLICY_JSON).unwrap_or_else(|e| {
            // The embedded document is checked by a test; this cannot happen.
            unreachable!("the embedded default policy is invalid: {e}")
        })
    }

    /// Id, version and content hash.
    pub fn reference(&self) -> &PolicyRef {
        &self.reference
    }

    /// The description from the document.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The rules in evaluation order.
    pub fn rules(&self) -> &[Arc<dyn Rule>] {
        &self.rules
    }

    /// Fact computation settings.
    pub fn facts_config(&self) -> &FactsConfig {
        &self.facts_config
    }

    /// The reminder schedule.
    pub fn reminders(&self) -> &ReminderSchedule {
        &self.reminders
    }

    /// The document as loaded.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Computes the facts of `account` at `now`, including those of the
    /// policy's fact providers.
    ///
    /// # Errors
    ///
    /// [`PolicyError::UnknownCustomer`] for an unregistered account.
    pub fn facts(
        &self,
        account: &CustomerAccount,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
    ) -> Result<Facts, PolicyError> {
        let mut facts = Facts::compute(account, now, calendar, &self.facts_config)?;
        for p in &self.providers {
            p.provide(account, &mut facts);
        }
        Ok(facts)
    }

    /// Whether the rule that fires depends on fact values alone: true for a
    /// policy of document rules and built-in facts. Rust rules and fact
    /// providers may read sources, so a policy with either says false.
    pub(crate) fn decides_on_values(&self) -> bool {
        !self.rust_rules && self.providers.is_empty()
    }

    /// [`Policy::facts`] or [`Policy::order_facts`] (with `order`), with
    /// the values and sources `wanted`.
    pub(crate) fn facts_with(
        &self,
        account: &CustomerAccount,
        order: Option<&OrderId>,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
        wanted: Wanted,
    ) -> Result<Facts, PolicyError> {
        let mut facts = match order {
            Some(order) => {
                Facts::for_order_with(account, order, now, calendar, &self.facts_config, wanted)?
            }
            None => Facts::compute_with(account, now, calendar, &self.facts_config, wanted)?,
        };
        for p in &self.providers {
            p.provide(account, &mut facts);
        }
        Ok(facts)
    }

    /// Computes the facts for deciding on `order` (already in the account).
    ///
    /// # Errors
    ///
    /// [`PolicyError::UnknownCustomer`] or [`PolicyError::UnknownOrder`].
    pub fn order_facts(
        &self,
        account: &CustomerAccount,
        order: &OrderId,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
    ) -> Result<Facts, PolicyError> {
        let mut facts = Facts::for_order(account, order, now, calendar, &self.facts_config)?;
        for p in &self.providers {
            p.provide(account, &mut facts);
        }
        Ok(facts)
    }

    /// Whether this policy computes the same facts as `other` from the
    /// same state: the same fact settings and the same Rust fact providers
    /// (the same instances, in the same order). What-if uses it to compute
    /// the facts of a decision point once for both policies.
    pub(crate) fn computes_facts_like(&self, other: &Policy) -> bool {
        self.facts_config == other.facts_config
            && self.providers.len() == other.providers.len()
            && self
                .providers
                .iter()
                .zip(&other.providers)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }

    /// How many of the first rules of this policy and of `other` fire on
    /// exactly the same facts: document rules with equal conditions, or the
    /// same Rust rule (the same instance). On facts computed alike (see
    /// [`Policy::computes_facts_like`]), a rule within that prefix holds
    /// for one policy exactly when it holds for the other, so what-if
    /// checks the prefix once for both.
    pub(crate) fn same_conditions(&self, other: &Policy) -> usize {
        self.rules
            .iter()
            .zip(&self.document_rules)
            .zip(other.rules.iter().zip(&other.document_rules))
            .take_while(|((a, da), (b, db))| {
                // A document rule's condition reads facts' values alone
                // (`None` for the catch-all).
                Arc::ptr_eq(a, b)
                    || matches!((da, db), (Some(x), Some(y)) if x.rule.when == y.rule.when)
            })
            .count()
    }

    /// The rule that fires on `facts`: the first that holds.
    fn firing_rule(&self, facts: &Facts) -> &Arc<dyn Rule> {
        &self.rules[self.firing_index(facts)]
    }

    /// The position of the rule that fires on `facts`.
    pub(crate) fn firing_index(&self, facts: &Facts) -> usize {
        self.firing_index_from(facts, 0)
    }

    /// The position of the rule that fires on `facts` when the rules
    /// before `start` are known not to hold.
    pub(crate) fn firing_index_from(&self, facts: &Facts, start: usize) -> usize {
        self.rules
            .iter()
            .skip(start)
            .position(|r| r.holds(facts))
            .map(|i| start + i)
            // Loading guarantees a catch-all last rule; a Rust rule cannot
            // be placed after it. Fall back to the last rule.
            .unwrap_or(self.rules.len() - 1)
    }

    /// The outcome of the rule at `index` (a position
    /// [`Policy::firing_index`] gave).
    pub(crate) fn outcome_of(&self, index: usize) -> &Outcome {
        self.rules[index].outcome()
    }

    /// [`Policy::evaluate`] on the facts `facts_of` computes, asking it for
    /// as little as the decision shows: when the policy decides on values
    /// alone, the rule that fires is found on the values of the facts its
    /// rules read, without sources, and the facts are computed again with
    /// the sources of the facts its conditions name (not at all for a rule
    /// without conditions). The decision is the one [`Policy::evaluate`]
    /// takes on every fact with every source.
    pub(crate) fn decide_with(
        &self,
        facts_of: impl Fn(Wanted) -> Result<Facts, PolicyError>,
    ) -> Result<Decision, PolicyError> {
        if !self.decides_on_values() {
            return Ok(self.evaluate(&facts_of(Wanted::ALL)?));
        }
        let read = Wanted::values(self.reads());
        let values = facts_of(read)?;
        let sources = self.rule_sources(self.firing_index(&values));
        let decision = if sources.is_none() {
            self.evaluate(&values)
        } else {
            self.evaluate(&facts_of(read.with_sources(sources))?)
        };
        debug_assert_eq!(
            Some(&decision),
            facts_of(Wanted::ALL)
                .ok()
                .map(|facts| self.evaluate(&facts))
                .as_ref(),
            "a decision on the facts it reads is the decision on every fact"
        );
        Ok(decision)
    }

    /// The built-in facts whose values the rules read: those their
    /// conditions name, or every fact when a Rust rule or fact provider may
    /// read any.
    pub(crate) fn reads(&self) -> FactSet {
        if !self.decides_on_values() {
            return FactSet::ALL;
        }
        self.rule_sources
            .iter()
            .fold(FactSet::NONE, |read, named| read.union(*named))
    }

    /// The built-in facts whose sources the trace of the rule at `index`
    /// shows (every fact for a Rust rule).
    pub(crate) fn rule_sources(&self, index: usize) -> FactSet {
        self.rule_sources[index]
    }

    /// Evaluates the rules in order against `facts`; the first that holds
    /// decides. Deterministic: the same facts always give the same decision.
    pub fn evaluate(&self, facts: &Facts) -> Decision {
        // Only the rule that fires is traced: the others' traces would be
        // thrown away.
        let rule = self.firing_rule(facts);
        let check = rule.check(facts);
        let outcome = *rule.outcome();
        Decision {
            customer: facts.customer.clone(),
            order: facts.order.clone(),
            policy: self.reference.clone(),
            rule: rule.id().clone(),
            evaluated_at: facts.evaluated_at,
            outcome,
            interest: interest(facts, &outcome),
            conditions: check.conditions,
        }
    }
}

/// Simple daily interest on arrears (see [`InterestCharge`]).
fn interest(facts: &Facts, outcome: &Outcome) -> Option<InterestCharge> {
    let rate = outcome.interest_daily_percent;
    if rate.is_zero() {
        return None;
    }
    let overdue: Vec<_> = facts
        .receivables
        .iter()
        .filter(|r| r.is_overdue())
        .collect();
    let currency = overdue.first()?.open.currency();
    let lines: Vec<InterestLine> = overdue
        .iter()
        .map(|r| InterestLine {
            receivable: r.id.clone(),
            open: r.open,
            days_past_due: r.days_past_due,
            amount: r
                .open
                .amount()
                .saturating_mul(rate.as_fraction())
                .saturating_mul(Decimal::from(r.days_past_due)),
        })
        .collect();
    let total = lines
        .iter()
        .fold(Decimal::ZERO, |acc, l| acc.saturating_add(l.amount));
    Some(InterestCharge {
        daily_rate: rate,
        lines,
        total: Money::rounded(total, currency),
    })
}

/// Evaluates `policy` against `facts` (see [`Policy::evaluate`]).
pub fn evaluate(policy: &Policy, facts: &Facts) -> Decision {
    policy.evaluate(facts)
}

/// The default policy's document, as shipped.
pub const DEFAULT_POLICY_JSON: &str = include_str!("../policies/default.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let a: Value =
            serde_json::from_str(r#"{"b": [1, {"d": 2, "c": "x"}], "a": true}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":true,"b":[1,{"c":"x","d":2}]}"#);
    }

    #[test]
    fn the_embedded_default_policy_is_valid() {
        let policy = Policy::from_json(DEFAULT_POLICY_JSON).unwrap();
        assert_eq!(policy.reference().id.as_str(), "default");
        assert!(!policy.description().is_empty());
        assert_eq!(policy.facts_config(), &FactsConfig::default());
    }

    /// A Rust rule that never fires.
    #[derive(Debug)]
    struct Never {
        id: RuleId,
        outcome: Outcome,
    }

    impl Rule for Never {
        fn id(&self) -> &RuleId {
            &self.id
        }
        fn outcome(&self) -> &Outcome {
            &self.outcome
        }
        fn check(&self, _: &Facts) -> RuleCheck {
            RuleCheck {
                holds: false,
                conditions: Vec::new(),
            }
        }
        fn fingerprint(&self) -> Value {
            serde_json::json!({"rule": "never"})
        }
    }

    /// The default policy with `change` applied to its rule `rule`.
    fn changed(rule: &str, change: impl Fn(&mut Value)) -> Policy {
        let mut document = Policy::default_policy().document().clone();
        document["id"] = "changed".into();
        for r in document["rules"].as_array_mut().unwrap() {
            if r["id"] == rule {
                change(r);
            }
        }
        Policy::from_json(&document.to_string()).unwrap()
    }

    #[test]
    fn shared_conditions_are_the_head_of_rules_that_fire_alike() {
        let default = Policy::default_policy();
        let n = default.rules().len();
        let position = |id: &str| {
            default
                .rules()
                .iter()
                .position(|r| r.id().as_str() == id)
                .unwrap()
        };
        assert_eq!(default.same_conditions(&default), n);
        // Another outcome, or another id, fires on the same facts.
        let then = changed("overdue-grace", |r| r["then"]["priority"] = 1.into());
        assert_eq!(default.same_conditions(&then), n);
        assert_eq!(then.same_conditions(&default), n);
        // Another condition: the shared head stops before it.
        let when = changed("partial-limit-nearly-used", |r| {
            r["when"]["value"] = 10.into();
        });
        let at = position("partial-limit-nearly-used");
        assert!(at > 0);
        assert_eq!(default.same_conditions(&when), at);
        assert_eq!(when.same_conditions(&default), at);
        // A Rust rule is shared only as the same instance.
        let never = || -> Arc<dyn Rule> {
            Arc::new(Never {
                id: RuleId::new("never").unwrap(),
                outcome: *default.rules()[0].outcome(),
            })
        };
        let one = default.clone().with_rule(2, never()).unwrap();
        let other = default.clone().with_rule(2, never()).unwrap();
        assert_eq!(default.same_conditions(&one), 2);
        assert_eq!(one.same_conditions(&other), 2);
        let rule = never();
        let one = default.clone().with_rule(2, rule.clone()).unwrap();
        let same = default.clone().with_rule(2, rule).unwrap();
        assert_eq!(one.same_conditions(&same), n + 1);
    }
}
