//! The `credence` binary, run as a user would: every subcommand, and bad
//! input that must fail with one clear line, a non-zero exit and nothing
//! stored.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

const REGISTER: &str = r#"{"at":"2026-11-02T09:00:00Z","command":"register_customer","customer":"ACME","name":"Acme Printing","manager":"olena","currency":"EUR","terms":{"credit_limit":{"amount":"5000","currency":"EUR"},"deferral":{"days":3,"kind":"business"},"base_discount":"5","markup":"0","bonus":"0","service_level":"standard"}}"#;
const ORDER: &str = r#"{"at":"2026-11-06T09:00:00Z","command":"place_order","customer":"ACME","order":"O-1","lines":[{"item":"cartridge","quantity":"10","unit_price":{"amount":"30","currency":"EUR"}}],"requested_delivery":"2026-11-06T12:00:00Z"}"#;
const DELIVERY: &str = r#"{"at":"2026-11-06T15:00:00Z","command":"record_delivery","customer":"ACME","delivery":"D-1","order":"O-1","lines":[{"item":"cartridge","quantity":"10"}]}"#;
const EVALUATE: &str = r#"{"at":"2026-11-12T09:00:00Z","command":"evaluate","customer":"ACME"}"#;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

#[track_caller]
fn credence(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_credence"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

#[track_caller]
fn ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let run = credence(dir, args, stdin);
    assert_eq!(run.code, 0, "credence {args:?} failed: {}", run.stderr);
    run.stdout
}

/// Asserts a failure with `code` and one error line containing `message`.
#[track_caller]
fn fails(dir: &Path, args: &[&str], stdin: Option<&str>, code: i32, message: &str) {
    let run = credence(dir, args, stdin);
    assert_eq!(
        run.code, code,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains(message),
        "{:?} does not contain {message:?}",
        run.stderr
    );
}

fn initialised() -> TempDir {
    let dir = TempDir::new().unwrap();
    ok(dir.path(), &["init", "--time-zone", "Europe/Kyiv"], None);
    dir
}

fn event_count(dir: &Path) -> usize {
    ok(dir, &["export"], None).lines().count()
}

#[test]
fn a_working_day_through_the_cli() {
    let dir = initialised();
    let d = dir.path();
    let commands = [REGISTER, ORDER, DELIVERY, EVALUATE].join("\n");
    let out = ok(d, &["exec", "-"], Some(&commands));
    assert!(out.contains("order O-1 placed"), "{out}");
    assert!(
        out.contains("credit decision on order O-1: Accept"),
        "{out}"
    );
    assert!(out.contains("due Wed 11 Nov"), "{out}");
    assert!(out.contains("ServiceWarning"), "{out}");

    let state = ok(d, &["state", "ACME", "--at", "2026-11-12"], None);
    assert!(
        state.contains("debt       285.00 EUR  (overdue 285.00 EUR)"),
        "{state}"
    );
    assert!(state.contains("fulfilment residual"), "{state}");
    let before = ok(d, &["state", "ACME", "--known-at", "2026-11-05"], None);
    assert!(before.contains("debt       0.00 EUR"), "{before}");
    let json = ok(d, &["--json", "state", "ACME"], None);
    let value: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(value["debt"]["amount"], "285.00");

    let explain = ok(d, &["explain", "O-1"], None);
    assert!(explain.contains("rule       no-debt"), "{explain}");
    assert!(explain.contains("policy     default v1"), "{explain}");

    let verify = ok(d, &["verify"], None);
    assert!(verify.starts_with("ok: 15 events in 1 streams"), "{verify}");
    let replay = ok(d, &["replay", "--check"], None);
    assert!(
        replay.contains("ACME: 2 decision points checked, 0 mismatches"),
        "{replay}"
    );

    let strict = d.join("strict.json");
    let mut policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("policies/default-v1.json")).unwrap())
            .unwrap();
    policy["id"] = "strict".into();
    for rule in policy["rules"].as_array_mut().unwrap() {
        if rule["id"] == "residual-overdue-over-1-business-day" {
            rule["then"]["verdict"] = "refuse".into();
            rule["then"]["fulfilment"] = "refused".into();
        }
    }
    std::fs::write(&strict, policy.to_string()).unwrap();
    let what_if = ok(d, &["what-if", "--policy", strict.to_str().unwrap()], None);
    assert_eq!(what_if.lines().count(), 1, "{what_if}");
    assert!(what_if.contains("Accept/residual/P7"), "{what_if}");
    assert!(what_if.contains("-> Refuse/refused/P7"), "{what_if}");
    let none = ok(
        d,
        &[
            "what-if",
            "--policy",
            strict.to_str().unwrap(),
            "--to",
            "2026-11-10",
        ],
        None,
    );
    assert_eq!(none.trim(), "no decision would change");

    // Evaluating again at the same time records nothing.
    let again = ok(
        d,
        &["evaluate", "ACME", "--at", "2026-11-12T09:00:00Z"],
        None,
    );
    assert_eq!(again, "");
}

#[test]
fn export_and_import_round_trip() {
    let dir = initialised();
    ok(
        dir.path(),
        &["exec", "-"],
        Some(&[REGISTER, ORDER, DELIVERY].join("\n")),
    );
    let export = dir.path().join("events.jsonl");
    ok(dir.path(), &["export", export.to_str().unwrap()], None);
    let copy = initialised();
    let out = ok(copy.path(), &["import", export.to_str().unwrap()], None);
    assert_eq!(out.trim(), "imported 4 events");
    assert_eq!(
        ok(copy.path(), &["export"], None),
        std::fs::read_to_string(&export).unwrap()
    );
    // Importing the same events again conflicts with what is stored.
    fails(
        copy.path(),
        &["import", export.to_str().unwrap()],
        None,
        3,
        "expected 5",
    );
    assert_eq!(event_count(copy.path()), 4);
}

#[test]
fn malformed_json_names_the_line_and_stores_nothing() {
    let dir = initialised();
    let input = format!("{REGISTER}\n{{\"command\": \"place_order\",\n");
    fails(
        dir.path(),
        &["exec", "-"],
        Some(&input),
        3,
        "line 2: malformed JSON",
    );
    assert_eq!(event_count(dir.path()), 0);
}

#[test]
fn a_missing_field_names_the_line_and_the_field() {
    let dir = initialised();
    let input = format!("{REGISTER}\n{}", ORDER.replace(r#""order":"O-1","#, ""));
    fails(
        dir.path(),
        &["exec", "-"],
        Some(&input),
        3,
        "line 2: missing field `order`",
    );
    assert_eq!(event_count(dir.path()), 0);
}

#[test]
fn an_unknown_customer_is_rejected() {
    let dir = initialised();
    fails(
        dir.path(),
        &["exec", "-"],
        Some(ORDER),
        4,
        "line 1: rejected: unknown customer ACME (0 earlier commands were stored)",
    );
    assert_eq!(event_count(dir.path()), 0);
    fails(
        dir.path(),
        &["state", "NOBODY"],
        None,
        4,
        "unknown customer NOBODY",
    );
}

#[test]
fn a_wrong_currency_is_rejected_and_earlier_commands_stay() {
    let dir = initialised();
    let input = format!("{REGISTER}\n{}", ORDER.replace("\"EUR\"", "\"USD\""));
    fails(
        dir.path(),
        &["exec", "-"],
        Some(&input),
        4,
        "line 2: rejected: unit_price is in USD, the customer's currency is EUR (1 earlier commands were stored)",
    );
    assert_eq!(event_count(dir.path()), 1);
}

#[test]
fn not_a_data_directory() {
    let dir = TempDir::new().unwrap();
    fails(
        dir.path(),
        &["state", "ACME"],
        None,
        3,
        "is not a credence data directory",
    );
    fails(dir.path(), &["verify"], None, 3, "run `credence --data-dir");
}

#[test]
fn a_data_directory_of_another_format() {
    let dir = initialised();
    let config = dir.path().join("credence.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"format\": 1", "\"format\": 99")).unwrap();
    fails(
        dir.path(),
        &["verify"],
        None,
        3,
        "data directory format 99 is not supported",
    );
}

#[test]
fn a_locked_data_directory() {
    let dir = initialised();
    let _held = credence::store::FileStore::open(
        dir.path().join("log"),
        credence::store::FileOptions::default(),
    )
    .unwrap();
    fails(dir.path(), &["verify"], None, 1, "locked by another writer");
}

#[test]
fn unreadable_files() {
    let dir = initialised();
    fails(
        dir.path(),
        &["exec", "/nonexistent/commands.jsonl"],
        None,
        3,
        "cannot read /nonexistent/commands.jsonl",
    );
    fails(
        dir.path(),
        &["import", "/nonexistent/events.jsonl"],
        None,
        3,
        "cannot read /nonexistent/events.jsonl",
    );
    fails(
        dir.path(),
        &["what-if", "--policy", "/nonexistent/p.json"],
        None,
        3,
        "cannot read policy /nonexistent/p.json",
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"id":"x","version":1,"rules":[]}"#).unwrap();
    fails(
        dir.path(),
        &["what-if", "--policy", bad.to_str().unwrap()],
        None,
        3,
        "invalid policy",
    );
    fails(
        dir.path(),
        &["state", "ACME", "--at", "yesterday"],
        None,
        3,
        "neither an RFC 3339 time nor a YYYY-MM-DD date",
    );
}

#[test]
fn a_corrupt_import_stores_nothing() {
    let dir = initialised();
    ok(
        dir.path(),
        &["exec", "-"],
        Some(&[REGISTER, ORDER].join("\n")),
    );
    let export = ok(dir.path(), &["export"], None);
    let copy = initialised();
    let broken = export.replacen("\"OrderPlaced\"", "\"OrderPlacd\"", 1);
    fails(
        copy.path(),
        &["import", "-"],
        Some(&broken),
        3,
        "line 2: unknown event type \"OrderPlacd\"",
    );
    assert_eq!(event_count(copy.path()), 0);
}

#[test]
fn init_twice_is_refused() {
    let dir = initialised();
    fails(
        dir.path(),
        &["init"],
        None,
        3,
        "already a credence data directory",
    );
}

#[test]
fn explain_an_unknown_id() {
    let dir = initialised();
    fails(
        dir.path(),
        &["explain", "nothing"],
        None,
        3,
        "no decision, reminder or order decision with id \"nothing\"",
    );
}

#[test]
fn the_demo_tells_the_seven_scenarios() {
    let scratch = TempDir::new().unwrap();
    let demo_dir = scratch.path().join("demo");
    let out = ok(
        scratch.path(),
        &["demo", "--dir", demo_dir.to_str().unwrap()],
        None,
    );
    for key in [
        "== 1. Weekly cartridges",
        "receivable D-C-06 of 285.00 EUR due Wed 11 Nov",
        "Thu 12 Nov 09:00 CARTRIDGE  reminder to Customer (ServiceWarning, level 1)",
        "Thu 12 Nov 09:00 CARTRIDGE  reminder to Manager (ServiceWarning, level 1)",
        "credit decision on order C-13: Accept, fulfilment residual",
        "credit decision on order C-20: Accept, fulfilment full",
        "== 2. Same-day order from a poor payer",
        "credit decision on order Q-2: Accept, fulfilment cash on delivery",
        "== 3. Scarce fast-moving items",
        "1  GOODPAY      G-1        drum                4         4  served in queue order",
        "5  QUICKPRINT   Q-3        drum                4         1  residual mode: served from what was left (1)",
        "== 4. Payment order before money",
        "rule \"trust-payment-order\"",
        "payment order PO-T-1 expired",
        "== 5. Reminders",
        "(Advance, level 0)",
        "(DueToday, level 0)",
        "== 6. Delay reasons and promises",
        "promise PR-S-1 broken",
        "== 7. Audit",
        "0 mismatches",
        "-> Refuse/refused/P9",
        "hash chain intact",
    ] {
        assert!(out.contains(key), "the demo lacks {key:?}:\n{out}");
    }
    // The demo leaves a data directory that the other commands can read.
    assert!(demo_dir.join("log").exists());
    fails(
        scratch.path(),
        &["demo", "--dir", demo_dir.to_str().unwrap()],
        None,
        3,
        "already holds a demo",
    );
}

#[test]
fn queue_allocation_and_reminders() {
    let dir = initialised();
    let d = dir.path();
    let second = ORDER
        .replace("\"O-1\"", "\"O-2\"")
        .replace("2026-11-06T09:00:00Z", "2026-11-06T10:00:00Z");
    ok(
        d,
        &["exec", "-"],
        Some(&[REGISTER, ORDER, second.as_str()].join("\n")),
    );
    let queue = ok(d, &["queue", "--at", "2026-11-06T12:00:00Z"], None);
    assert!(
        queue.contains("1  ACME         O-1        no debt; priority P2"),
        "{queue}"
    );
    assert!(queue.contains("2  ACME         O-2"), "{queue}");
    let stock = d.join("stock.json");
    std::fs::write(&stock, r#"{"cartridge": "15"}"#).unwrap();
    let plan = ok(
        d,
        &[
            "allocate",
            "--stock",
            stock.to_str().unwrap(),
            "--at",
            "2026-11-06T12:00:00Z",
        ],
        None,
    );
    assert!(
        plan.contains("O-1        cartridge          10        10"),
        "{plan}"
    );
    assert!(
        plan.contains("O-2        cartridge          10         5"),
        "{plan}"
    );
    assert!(plan.contains("left: 0 cartridge"), "{plan}");
    std::fs::write(&stock, r#"{"cartridge": "-1"}"#).unwrap();
    fails(
        d,
        &["allocate", "--stock", stock.to_str().unwrap()],
        None,
        3,
        "negative",
    );
    std::fs::write(&stock, r#"["cartridge"]"#).unwrap();
    fails(
        d,
        &["allocate", "--stock", stock.to_str().unwrap()],
        None,
        3,
        "expected a JSON object of item to quantity",
    );

    ok(d, &["exec", "-"], Some(DELIVERY));
    let due = ok(d, &["reminders", "--at", "2026-11-11T09:00:00Z"], None);
    assert!(
        due.contains("Customer DueToday level 0: payment of 285.00 EUR for D-1 is due today"),
        "{due}"
    );
    // Listing does not send: evaluate does, and then nothing is due.
    ok(d, &["evaluate", "--at", "2026-11-11T09:00:00Z"], None);
    let after = ok(d, &["reminders", "--at", "2026-11-11T09:00:00Z"], None);
    assert_eq!(after.trim(), "no reminders due");
}
