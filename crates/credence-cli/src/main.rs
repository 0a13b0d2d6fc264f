//! `credence`: run credit-control commands, inspect and audit a data directory.
//!
//! Exit codes: 0 success; 1 failure (store, IO); 2 usage; 3 bad input
//! (nothing stored); 4 a command was rejected (nothing from it stored);
//! 5 a check failed. See `docs/commands.md`.

// The CLI is shell code: it reads the wall clock for commands without a time.
#![allow(clippy::disallowed_methods)]

mod config;
mod demo;
mod error;
mod render;
mod time;

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use credence::AsOf;
use credence::aggregates::Command;
use credence::events::{BusinessCalendar, CustomerId, EventEnvelope, StreamId, codec};
use credence::store::ExpectedVersion;
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{CliError, Exit};

/// Credit control between a supplier and its B2B customers, as an event log.
#[derive(Debug, Parser)]
#[command(name = "credence", version, about, after_help = EXIT_CODES)]
struct Cli {
    /// The data directory (configuration, policies, event log).
    #[arg(
        long,
        global = true,
        default_value = "credence-data",
        env = "CREDENCE_DATA_DIR"
    )]
    data_dir: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Sub,
}

const EXIT_CODES: &str = "Exit codes: 0 ok, 1 failure, 2 usage, 3 bad input (nothing stored), \
4 command rejected (nothing from it stored), 5 check failed.";

#[derive(Debug, Subcommand)]
enum Sub {
    /// Create a data directory.
    Init {
        /// The supplier's IANA time zone.
        #[arg(long, default_value = "UTC")]
        time_zone: chrono_tz::Tz,
        /// A public holiday (YYYY-MM-DD); repeat for more.
        #[arg(long = "holiday")]
        holidays: Vec<chrono::NaiveDate>,
        /// A policy document (JSON); the built-in default policy otherwise.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Run commands: JSON lines from a file, or standard input with `-`.
    Exec {
        /// The file of commands (one JSON object per line).
        #[arg(default_value = "-")]
        file: PathBuf,
        /// Business time for lines without an `at` field (default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Evaluate customers at a time: record policy changes and due reminders.
    Evaluate {
        /// The customer (all customers when omitted).
        customer: Option<String>,
        /// Business time (default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// A customer's credit state.
    State {
        /// The customer.
        customer: String,
        /// As of business time T (a date means the end of that day).
        #[arg(long, conflicts_with = "known_at")]
        at: Option<String>,
        /// As known at recorded time T.
        #[arg(long)]
        known_at: Option<String>,
    },
    /// The service queue: every open order in service order, with why.
    Queue {
        /// Business time (default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Allocate scarce stock over the open orders in service order.
    Allocate {
        /// A JSON object of stock on hand per item: {"drum": "5", ...}.
        #[arg(long)]
        stock: PathBuf,
        /// Business time (default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// The reminders due at a time and not yet sent (`evaluate` sends them).
    Reminders {
        /// Business time (default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Explain a decision (by decision, reminder or order id).
    Explain {
        /// The id.
        id: String,
    },
    /// Re-derive every recorded decision with the policy it names.
    Replay {
        /// Report decisions that do not reproduce (exit 5 if any).
        #[arg(long)]
        check: bool,
    },
    /// Verify the log's checksums and hash chain.
    Verify,
    /// List the decisions another policy would take differently.
    WhatIf {
        /// The candidate policy document.
        #[arg(long)]
        policy: PathBuf,
        /// Only decisions at or after this time.
        #[arg(long)]
        from: Option<String>,
        /// Only decisions before this time.
        #[arg(long)]
        to: Option<String>,
    },
    /// Write every event as JSON lines.
    Export {
        /// The output file (standard output when omitted).
        file: Option<PathBuf>,
    },
    /// Append events from JSON lines (an export); nothing is stored if any
    /// line is invalid.
    Import {
        /// The input file (`-` for standard input).
        file: PathBuf,
    },
    /// Run the seven DOMAIN.md scenarios in a fresh directory and print the
    /// timeline.
    Demo {
        /// Where to keep the demo's data (a fresh temporary directory when
        /// omitted).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            eprintln!("error: {e}");
            ExitCode::from(e.exit as u8)
        }
    }
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<(), CliError> {
    let dir = cli.data_dir.as_path();
    match cli.command {
        Sub::Init {
            time_zone,
            holidays,
            policy,
        } => {
            let calendar = BusinessCalendar::new(time_zone).with_holidays(holidays);
            let config = config::init(dir, calendar, policy.as_deref())?;
            config::open(dir)?;
            writeln!(
                out,
                "initialised {} (policy {}, time zone {})",
                dir.display(),
                config.policy.display(),
                config.calendar.time_zone
            )
            .map_err(CliError::io)
        }
        Sub::Exec { file, at } => exec(dir, &file, at.as_deref(), cli.json, out),
        Sub::Evaluate { customer, at } => {
            let (config, engine) = config::open(dir)?;
            let now = match at {
                Some(at) => time::parse(&at, &config.calendar, time::DateMeans::StartOfDay)?,
                None => time::now(),
            };
            let customers = match customer {
                Some(c) => vec![parse_customer(&c)?],
                None => engine.customers()?,
            };
            for customer in customers {
                let executed = engine.evaluate(&customer, now)?;
                render::events(out, &executed.events, cli.json, config.calendar.time_zone)?;
            }
            Ok(())
        }
        Sub::State {
            customer,
            at,
            known_at,
        } => {
            let (config, engine) = config::open(dir)?;
            let customer = parse_customer(&customer)?;
            let (as_of, today_at) = match (at, known_at) {
                (Some(t), _) => {
                    let t = time::parse(&t, &config.calendar, time::DateMeans::EndOfDay)?;
                    (AsOf::Business(t), t)
                }
                (None, Some(k)) => {
                    let k = time::parse(&k, &config.calendar, time::DateMeans::EndOfDay)?;
                    (AsOf::Known(k), k)
                }
                (None, None) => (AsOf::Now, time::now()),
            };
            let account = engine.account_as_of(&customer, as_of)?;
            let today = config.calendar.local_date(today_at);
            render::state(out, &account, as_of, today, cli.json)
        }
        Sub::Queue { at } => {
            let (config, engine) = config::open(dir)?;
            let now = time::parse_or_now(at.as_deref(), &config.calendar)?;
            engine.read_models(|read| {
                render::queue(out, &read.projections.service_queue(now), cli.json)
            })?
        }
        Sub::Allocate { stock, at } => {
            let (config, engine) = config::open(dir)?;
            let now = time::parse_or_now(at.as_deref(), &config.calendar)?;
            let stock = read_stock(&stock)?;
            engine.read_models(|read| match read.projections.allocate(&stock, now) {
                Ok(plan) => render::allocation(out, &plan, cli.json),
                Err(e) => Err(CliError::new(Exit::BadInput, e.to_string())),
            })?
        }
        Sub::Reminders { at } => {
            let (config, engine) = config::open(dir)?;
            let now = time::parse_or_now(at.as_deref(), &config.calendar)?;
            render::reminders(out, &engine.due_reminders(now)?, cli.json)
        }
        Sub::Explain { id } => {
            let (_, engine) = config::open(dir)?;
            match engine.explain(&id)? {
                Some(envelope) => render::explanation(out, &envelope, cli.json),
                None => Err(CliError::new(
                    Exit::BadInput,
                    format!("no decision, reminder or order decision with id {id:?}"),
                )),
            }
        }
        Sub::Replay { check } => {
            let (_, engine) = config::open(dir)?;
            let reports = with_spinner("replaying decisions", || engine.replay_check())?;
            let mismatches = render::replay(out, &reports, cli.json)?;
            if check && mismatches > 0 {
                return Err(CliError::new(
                    Exit::CheckFailed,
                    format!("{mismatches} recorded decisions do not reproduce"),
                ));
            }
            Ok(())
        }
        Sub::Verify => {
            let (_, engine) = config::open(dir)?;
            let report = engine
                .store()
                .verify()
                .map_err(|e| CliError::new(Exit::CheckFailed, e.to_string()))?;
            if cli.json {
                let json = serde_json::json!({
                    "events": report.events,
                    "streams": report.streams,
                    "head": report.head.0,
                    "segments": report.segments,
                    "head_hash": report.head_hash,
                });
                writeln!(out, "{json}").map_err(CliError::io)
            } else {
                writeln!(
                    out,
                    "ok: {} events in {} streams, {} segments, chain head {}",
                    report.events,
                    report.streams,
                    report.segments,
                    report.head_hash.as_deref().unwrap_or("-")
                )
                .map_err(CliError::io)
            }
        }
        Sub::WhatIf { policy, from, to } => {
            let (config, engine) = config::open(dir)?;
            let candidate = config::read_policy(&policy)?;
            let parse = |t: &str| time::parse(t, &config.calendar, time::DateMeans::StartOfDay);
            let range = match (from, to) {
                (None, None) => None,
                (from, to) => Some((
                    from.as_deref()
                        .map(parse)
                        .transpose()?
                        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC),
                    to.as_deref()
                        .map(parse)
                        .transpose()?
                        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
                )),
            };
            let differences = engine.what_if(&candidate, range)?;
            render::what_if(out, &differences, cli.json)
        }
        Sub::Export { file } => {
            let (_, engine) = config::open(dir)?;
            let events = engine.global_log()?;
            let mut sink: Box<dyn Write> = match file {
                Some(path) => Box::new(io::BufWriter::new(File::create(&path).map_err(|e| {
                    CliError::new(
                        Exit::BadInput,
                        format!("cannot write {}: {e}", path.display()),
                    )
                })?)),
                None => Box::new(&mut *out),
            };
            for envelope in &events {
                writeln!(sink, "{}", codec::encode(envelope)).map_err(CliError::io)?;
            }
            sink.flush().map_err(CliError::io)
        }
        Sub::Import { file } => import(dir, &file, out),
        Sub::Demo { dir: demo_dir } => demo::run(demo_dir.as_deref(), out),
    }
}

/// Reads a stock file: a JSON object of item id to quantity.
fn read_stock(
    path: &Path,
) -> Result<std::collections::BTreeMap<credence::events::ItemId, rust_decimal::Decimal>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::new(
            Exit::BadInput,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::new(
            Exit::BadInput,
            format!(
                "{}: expected a JSON object of item to quantity: {e}",
                path.display()
            ),
        )
    })
}

fn parse_customer(text: &str) -> Result<CustomerId, CliError> {
    CustomerId::new(text).map_err(|e| CliError::new(Exit::BadInput, e.to_string()))
}

fn open_input(path: &Path) -> Result<Box<dyn BufRead>, CliError> {
    if path == Path::new("-") {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text).map_err(|e| {
            CliError::new(Exit::BadInput, format!("cannot read standard input: {e}"))
        })?;
        return Ok(Box::new(io::Cursor::new(text)));
    }
    let file = File::open(path).map_err(|e| {
        CliError::new(
            Exit::BadInput,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    Ok(Box::new(BufReader::new(file)))
}

/// Non-empty lines with their 1-based numbers.
fn lines(input: Box<dyn BufRead>) -> Result<Vec<(usize, String)>, CliError> {
    let mut lines = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line =
            line.map_err(|e| CliError::new(Exit::BadInput, format!("line {}: {e}", index + 1)))?;
        if !line.trim().is_empty() {
            lines.push((index + 1, line));
        }
    }
    Ok(lines)
}

/// One parsed line of `exec` input.
enum Line {
    Command(Box<Command>),
    Evaluate(CustomerId),
}

fn exec(
    dir: &Path,
    file: &Path,
    at: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let (config, engine) = config::open(dir)?;
    let default_at = match at {
        Some(at) => time::parse(at, &config.calendar, time::DateMeans::StartOfDay)?,
        None => time::now(),
    };
    // Parse everything first: a malformed line stores nothing at all.
    let mut parsed = Vec::new();
    for (number, text) in lines(open_input(file)?)? {
        let bad =
            |message: String| CliError::new(Exit::BadInput, format!("line {number}: {message}"));
        let mut value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("malformed JSON: {e}")))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| bad("expected a JSON object".into()))?;
        let at = match object.remove("at") {
            None => default_at,
            Some(serde_json::Value::String(t)) => {
                time::parse(&t, &config.calendar, time::DateMeans::StartOfDay)
                    .map_err(|e| bad(format!("field `at`: {e}")))?
            }
            Some(_) => return Err(bad("field `at`: expected an RFC 3339 time string".into())),
        };
        let line = if object.get("command").and_then(|c| c.as_str()) == Some("evaluate") {
            let customer = object
                .get("customer")
                .and_then(|c| c.as_str())
                .ok_or_else(|| bad("field `customer`: missing".into()))?;
            Line::Evaluate(
                CustomerId::new(customer).map_err(|e| bad(format!("field `customer`: {e}")))?,
            )
        } else {
            let command: Command = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
            Line::Command(Box::new(command))
        };
        parsed.push((number, at, line));
    }
    for (done, (number, at, line)) in parsed.into_iter().enumerate() {
        let executed = match line {
            Line::Command(command) => engine.execute(*command, at),
            Line::Evaluate(customer) => engine.evaluate(&customer, at),
        }
        .map_err(|e| {
            let e = CliError::from(e);
            CliError::new(
                e.exit,
                format!(
                    "line {number}: {} ({done} earlier commands were stored)",
                    e.message
                ),
            )
        })?;
        render::events(out, &executed.events, json, config.calendar.time_zone)?;
    }
    Ok(())
}

fn import(dir: &Path, file: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let (_, engine) = config::open(dir)?;
    let mut events: Vec<EventEnvelope> = Vec::new();
    for (number, text) in lines(open_input(file)?)? {
        let envelope = codec::decode(&text)
            .map_err(|e| CliError::new(Exit::BadInput, format!("line {number}: {e}")))?;
        events.push(envelope);
    }
    events.sort_by_key(|e| e.position);
    // Check every stream's versions run 1, 2, 3, … after what is stored,
    // before storing anything.
    let mut expected: std::collections::BTreeMap<StreamId, u64> = Default::default();
    for e in &events {
        let next = match expected.get(&e.stream) {
            Some(v) => *v,
            None => engine.store().stream_version(&e.stream)?.0,
        } + 1;
        if e.version.0 != next {
            return Err(CliError::new(
                Exit::BadInput,
                format!(
                    "event {} of stream {} has version {}, expected {next}",
                    e.id, e.stream, e.version
                ),
            ));
        }
        expected.insert(e.stream.clone(), next);
    }
    let bar = progress(events.len() as u64, "importing");
    let mut imported = 0;
    let mut start = 0;
    while start < events.len() {
        // Consecutive events of one stream go in one append.
        let stream = events[start].stream.clone();
        let mut end = start + 1;
        while end < events.len() && events[end].stream == stream {
            end += 1;
        }
        let batch: Vec<_> = events[start..end]
            .iter()
            .map(|e| e.to_new_event())
            .collect();
        let before = credence::events::StreamVersion(events[start].version.0 - 1);
        engine
            .store()
            .append(&stream, ExpectedVersion::Exact(before), &batch)
            .map_err(|e| CliError::new(Exit::Failure, e.to_string()))?;
        imported += batch.len();
        bar.set_position(imported as u64);
        start = end;
    }
    bar.finish_and_clear();
    writeln!(out, "imported {imported} events").map_err(CliError::io)
}

fn progress(len: u64, message: &'static str) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len}") {
        bar.set_style(style);
    }
    bar
}

fn with_spinner<T>(message: &'static str, work: impl FnOnce() -> T) -> T {
    let spinner = if io::stderr().is_terminal() {
        let s = ProgressBar::new_spinner().with_message(message);
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    } else {
        ProgressBar::hidden()
    };
    let result = work();
    spinner.finish_and_clear();
    result
}
