//! Readable failure reports: a history as a timeline, as a JSON lines file
//! that `credence import` reads, and a property runner ([`Check`]) that on
//! failure prints the shrunk history and saves it for the CLI.
//!
//! ```no_run
//! use credence_policies::Policy;
//! use credence_testkit::report::Check;
//! use credence_testkit::{PlanConfig, invariants, strategy};
//!
//! let config = PlanConfig::default();
//! let policy = Policy::default_policy();
//! Check::new("on-time payers are never refused").assert_histories(
//!     strategy::histories_of(strategy::on_time_plans(config.clone()), config, policy),
//!     invariants::never_refused,
//! );
//! ```
//!
//! On failure the panic message holds the property's message, the shrunk
//! history as a timeline and the path of the saved file:
//! `$CREDENCE_TESTKIT_OUT/<name>.jsonl`, by default
//! `<cargo target dir>/credence-testkit/<name>.jsonl`. Replay it with
//! `credence import <file>` and audit its decisions with `credence explain`.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use credence_events::codec;
use credence_policies::Policy;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};

use crate::history::{History, interpret_with_policy};
use crate::plan::{CustomerPlan, PlanConfig};

/// The environment variable naming the directory counterexamples are saved
/// to.
pub const OUT_DIR_VAR: &str = "CREDENCE_TESTKIT_OUT";

/// The history as a timeline, one event a line: day and time it was
/// recorded, stream version, type and what it says (amounts, due dates,
/// decisions with the rule that fired and the facts it read).
///
/// ```text
/// C-1: 3 steps, 5 events, policy flawed v1
/// Mon 05 Jan 2026 09:00   #1 CustomerRegistered     limit 1000.00 EUR, deferral 0 Calendar days, discount 0 %
/// Mon 05 Jan 2026 10:00   #2 OrderPlaced            order O-0: 1 x item-0 at 60.00 EUR
///                         #3 CreditDecided          order O-0: Accept, full, P2: rule "no-debt" …
/// ```
pub fn timeline(history: &History) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{}: {} steps, {} events",
        history.customer,
        history.steps.len(),
        history.events.len()
    );
    if let Some(policy) = &history.policy {
        let r = policy.reference();
        let _ = write!(out, ", policy {} v{}", r.id, r.version);
    }
    out.push('\n');
    let mut last = None;
    for envelope in &history.events {
        let when = envelope.recorded_at.format("%a %d %b %Y %H:%M").to_string();
        let shown = if last.as_ref() == Some(&when) {
            String::new()
        } else {
            when.clone()
        };
        last = Some(when);
        let _ = writeln!(
            out,
            "{shown:<22} #{:<3} {:<22} {}",
            envelope.version.0,
            envelope.event.type_name(),
            envelope.event.describe()
        );
    }
    out
}

/// The history's events as JSON lines, one envelope a line in the codec's
/// format (`credence_events::codec::encode`): what `credence import` reads.
pub fn to_jsonl(history: &History) -> String {
    let mut out = String::new();
    for envelope in &history.events {
        out.push_str(&codec::encode(envelope));
        out.push('\n');
    }
    out
}

/// Saves the history's events as a JSON lines file ([`to_jsonl`]) at
/// `path`, creating its directory.
///
/// # Errors
///
/// The IO error.
pub fn save_jsonl(history: &History, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, to_jsonl(history))
}

/// Saves `policy`'s JSON document at `path`, so that `credence replay` and
/// `what-if` can load it (copy it into the data directory's `policies/`).
/// A policy extended with Rust rules or fact providers saves its JSON part
/// only: the CLI cannot run the Rust code.
///
/// # Errors
///
/// The IO error.
pub fn save_policy(policy: &Policy, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(policy.document()).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

/// Where counterexamples go when [`OUT_DIR_VAR`] is unset:
/// `credence-testkit` in the cargo target directory of the running test
/// (found from the test binary's path), else `target/credence-testkit`.
pub fn default_out_dir() -> PathBuf {
    let target = std::env::current_exe().ok().and_then(|exe| {
        let parent = exe.parent()?;
        let name = parent.file_name()?.to_str()?;
        matches!(name, "deps" | "examples")
            .then(|| parent.parent()?.parent().map(Path::to_path_buf))
            .flatten()
    });
    target
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("credence-testkit")
}

/// For properties written with the `proptest!` macro: saves `history` as
/// the counterexample of the property `name` (as [`Check`] does, in
/// [`OUT_DIR_VAR`] or the default directory) and returns the failure to
/// return from the test case, its message holding `message`, the timeline
/// and the file's path. proptest calls the property on every case it tries
/// while shrinking; the file left is that of the last failing case, the
/// shrunk one it reports.
///
/// ```
/// use credence_testkit::{PlanConfig, invariants, report, strategy};
/// use proptest::prelude::*;
///
/// proptest!(ProptestConfig::with_cases(4), |(history in strategy::history(PlanConfig::default()))| {
///     invariants::money_is_conserved(&history)
///         .map_err(|e| report::failure("money is conserved", &history, e))?;
/// });
/// ```
pub fn failure(
    name: &str,
    history: &History,
    message: impl fmt::Display,
) -> proptest::test_runner::TestCaseError {
    let counterexample =
        Check::new(name).counterexample(message.to_string(), history.clone(), None);
    proptest::test_runner::TestCaseError::fail(counterexample.to_string())
}

/// A property that failed, with its shrunk history: proptest's smallest
/// case; for a property of histories, cut after the first step at which the
/// property fails.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// The property's name.
    pub name: String,
    /// What the property reported on the shrunk history.
    pub message: String,
    /// The shrunk history.
    pub history: History,
    /// The plan it was interpreted from, when the check ran over plans.
    pub plan: Option<CustomerPlan>,
    /// Where the history was saved as JSON lines (its policy's document
    /// beside it, `<name>.policy.json`), or why it could not be.
    pub file: Result<PathBuf, String>,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "property {:?} failed: {}", self.name, self.message)?;
        writeln!(f, "\nshrunk counterexample:\n{}", timeline(&self.history))?;
        if let Some(plan) = &self.plan {
            writeln!(f, "plan: {plan:?}\n")?;
        }
        match &self.file {
            Ok(path) => {
                write!(
                    f,
                    "saved as JSON lines: {}\nreplay it with: credence import {}",
                    path.display(),
                    path.display()
                )?;
                if self.history.policy.is_some() {
                    write!(
                        f,
                        "\nthe policy is saved beside it: {} (copy it into the data directory's policies/ for credence replay)",
                        path.with_extension("policy.json").display()
                    )?;
                }
                Ok(())
            }
            Err(e) => write!(f, "could not save the history: {e}"),
        }
    }
}

/// Runs a property over generated histories and, when it fails, reports the
/// shrunk counterexample ([`Counterexample`]): a timeline, and a JSON lines
/// file for `credence import`.
///
/// The number of cases is `PROPTEST_CASES` when set, else the one given
/// ([`Check::cases`], 64 by default).
#[derive(Debug, Clone)]
pub struct Check {
    name: String,
    cases: u32,
    out_dir: Option<PathBuf>,
    deterministic: bool,
}

impl Check {
    /// A check called `name` (it also names the saved file).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            cases: 64,
            out_dir: None,
            deterministic: false,
        }
    }

    /// Cases to run when `PROPTEST_CASES` is unset.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// Saves counterexamples in `dir` (unless [`OUT_DIR_VAR`] says
    /// otherwise).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Uses a fixed random seed: the same cases, the same shrunk
    /// counterexample on every run.
    pub fn deterministic(mut self) -> Self {
        self.deterministic = true;
        self
    }

    /// The file a counterexample of this check is saved to.
    pub fn file(&self) -> PathBuf {
        let dir = std::env::var_os(OUT_DIR_VAR)
            .map(PathBuf::from)
            .or_else(|| self.out_dir.clone())
            .unwrap_or_else(default_out_dir);
        let stem: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        dir.join(format!("{stem}.jsonl"))
    }

    fn runner(&self) -> TestRunner {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.cases);
        let config = Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        };
        if self.deterministic {
            TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
        } else {
            TestRunner::new(config)
        }
    }

    fn counterexample(
        &self,
        message: String,
        history: History,
        plan: Option<CustomerPlan>,
    ) -> Box<Counterexample> {
        let path = self.file();
        let mut file = save_jsonl(&history, &path)
            .map(|()| path.clone())
            .map_err(|e| format!("{}: {e}", path.display()));
        if let (Ok(_), Some(policy)) = (&file, &history.policy) {
            let policy_path = path.with_extension("policy.json");
            if let Err(e) = save_policy(policy, &policy_path) {
                file = Err(format!("{}: {e}", policy_path.display()));
            }
        }
        Box::new(Counterexample {
            name: self.name.clone(),
            message,
            history,
            plan,
            file,
        })
    }

    /// Runs `property` on histories of `strategy`.
    ///
    /// # Errors
    ///
    /// The shrunk [`Counterexample`] when the property fails (or panics).
    pub fn run_histories<S>(
        &self,
        strategy: S,
        property: impl Fn(&History) -> Result<(), String>,
    ) -> Result<(), Box<Counterexample>>
    where
        S: Strategy<Value = History>,
    {
        let result = self.runner().run(&strategy, |history| {
            property(&history).map_err(proptest::test_runner::TestCaseError::fail)
        });
        match result {
            Ok(()) => Ok(()),
            Err(TestError::Fail(reason, history)) => {
                let (message, history) =
                    shortest_prefix(reason.message().to_owned(), history, &property);
                Err(self.counterexample(message, history, None))
            }
            Err(TestError::Abort(reason)) => Err(self.counterexample(
                format!("aborted: {}", reason.message()),
                empty_history(),
                None,
            )),
        }
    }

    /// Runs `property` on the plans of `strategy`, each interpreted with
    /// `policy` ([`interpret_with_policy`]); the property sees the plan and
    /// its history (a monotonicity check interprets a variant of the plan).
    ///
    /// # Errors
    ///
    /// The shrunk [`Counterexample`] when the property fails; a plan the
    /// kit cannot interpret fails too.
    pub fn run_plans<S>(
        &self,
        strategy: S,
        config: &PlanConfig,
        policy: &Policy,
        property: impl Fn(&CustomerPlan, &History) -> Result<(), String>,
    ) -> Result<(), Box<Counterexample>>
    where
        S: Strategy<Value = CustomerPlan>,
    {
        let customer = crate::strategy::customer();
        let interpret = |plan: &CustomerPlan| {
            interpret_with_policy(plan, customer.clone(), config, policy)
                .map_err(|e| format!("the kit could not interpret the plan: {e}"))
        };
        let result = self.runner().run(&strategy, |plan| {
            let history = interpret(&plan).map_err(proptest::test_runner::TestCaseError::fail)?;
            property(&plan, &history).map_err(proptest::test_runner::TestCaseError::fail)
        });
        match result {
            Ok(()) => Ok(()),
            Err(TestError::Fail(reason, plan)) => {
                // The property reads the plan, so the history is not cut.
                let history = interpret(&plan).unwrap_or_else(|_| empty_history());
                let message = reason.message().to_owned();
                Err(self.counterexample(message, history, Some(plan)))
            }
            Err(TestError::Abort(reason)) => Err(self.counterexample(
                format!("aborted: {}", reason.message()),
                empty_history(),
                None,
            )),
        }
    }

    /// [`Check::run_histories`], panicking with the report on failure.
    ///
    /// # Panics
    ///
    /// When the property fails: the message holds the shrunk history's
    /// timeline and the path of its JSON lines file.
    #[track_caller]
    pub fn assert_histories<S>(
        &self,
        strategy: S,
        property: impl Fn(&History) -> Result<(), String>,
    ) where
        S: Strategy<Value = History>,
    {
        if let Err(counterexample) = self.run_histories(strategy, property) {
            panic!("{counterexample}");
        }
    }

    /// [`Check::run_plans`], panicking with the report on failure.
    ///
    /// # Panics
    ///
    /// As [`Check::assert_histories`].
    #[track_caller]
    pub fn assert_plans<S>(
        &self,
        strategy: S,
        config: &PlanConfig,
        policy: &Policy,
        property: impl Fn(&CustomerPlan, &History) -> Result<(), String>,
    ) where
        S: Strategy<Value = CustomerPlan>,
    {
        if let Err(counterexample) = self.run_plans(strategy, config, policy, property) {
            panic!("{counterexample}");
        }
    }
}

/// The shortest prefix of `history` (by steps) that still breaks
/// `property`, with its message: the steps after the failure add nothing to
/// the story.
fn shortest_prefix(
    message: String,
    history: History,
    property: impl Fn(&History) -> Result<(), String>,
) -> (String, History) {
    for steps in 1..history.steps.len() {
        let Ok(prefix) = history.prefix(steps) else {
            continue;
        };
        if let Err(message) = property(&prefix) {
            return (message, prefix);
        }
    }
    (message, history)
}

fn empty_history() -> History {
    History {
        customer: crate::strategy::customer(),
        calendar: Default::default(),
        steps: Vec::new(),
        events: Vec::new(),
        policy: None,
        evaluations: Vec::new(),
    }
}
