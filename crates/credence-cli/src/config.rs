//! The data directory: its configuration file, policies and event log.
//!
//! ```text
//! DIR/credence.json     {"format": 1, "calendar": {...}, "policy": "policies/default-v1.json"}
//! DIR/policies/*.json   every policy version used here (for replay and audit)
//! DIR/log/              the embedded file log
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use credence::events::BusinessCalendar;
use credence::policies::Policy;
use credence::{Engine, EngineConfig};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Exit};

/// The data directory layout version this build reads and writes.
pub const FORMAT: u32 = 1;

const CONFIG_FILE: &str = "credence.json";

/// The contents of `credence.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Layout version.
    pub format: u32,
    /// The supplier's calendar.
    pub calendar: BusinessCalendar,
    /// The policy in force, relative to the data directory.
    pub policy: PathBuf,
}

/// Reads a policy document.
pub fn read_policy(path: &Path) -> Result<Policy, CliError> {
    let text = fs::read_to_string(path).map_err(|e| {
        CliError::new(
            Exit::BadInput,
            format!("cannot read policy {}: {e}", path.display()),
        )
    })?;
    Policy::from_json(&text).map_err(|e| {
        CliError::new(
            Exit::BadInput,
            format!("invalid policy {}: {e}", path.display()),
        )
    })
}

/// Creates a data directory.
pub fn init(
    dir: &Path,
    calendar: BusinessCalendar,
    policy: Option<&Path>,
) -> Result<Config, CliError> {
    if dir.join(CONFIG_FILE).exists() {
        return Err(CliError::new(
            Exit::BadInput,
            format!("{} is already a credence data directory", dir.display()),
        ));
    }
    let (policy, text) = match policy {
        Some(path) => {
            let policy = read_policy(path)?;
            let text = fs::read_to_string(path).map_err(CliError::io)?;
            (policy, text)
        }
        None => {
            let policy = Policy::default_policy();
            let text = serde_json::to_string_pretty(policy.document()).map_err(CliError::io)?;
            (policy, text)
        }
    };
    let reference = policy.reference();
    let relative =
        PathBuf::from("policies").join(format!("{}-v{}.json", reference.id, reference.version));
    fs::create_dir_all(dir.join("policies")).map_err(CliError::io)?;
    fs::write(dir.join(&relative), text).map_err(CliError::io)?;
    let config = Config {
        format: FORMAT,
        calendar,
        policy: relative,
    };
    let json = serde_json::to_string_pretty(&config).map_err(CliError::io)?;
    fs::write(dir.join(CONFIG_FILE), json).map_err(CliError::io)?;
    Ok(config)
}

/// Reads `credence.json`.
pub fn load(dir: &Path) -> Result<Config, CliError> {
    let path = dir.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).map_err(|_| {
        CliError::new(
            Exit::BadInput,
            format!(
                "{} is not a credence data directory (run `credence --data-dir {} init` first)",
                dir.display(),
                dir.display()
            ),
        )
    })?;
    let config: Config = serde_json::from_str(&text)
        .map_err(|e| CliError::new(Exit::BadInput, format!("{}: {e}", path.display())))?;
    if config.format != FORMAT {
        return Err(CliError::new(
            Exit::BadInput,
            format!(
                "{}: data directory format {} is not supported by this build (it reads format {FORMAT})",
                path.display(),
                config.format
            ),
        ));
    }
    Ok(config)
}

/// Opens the engine of a data directory, with every policy version kept in
/// it known for replay.
pub fn open(dir: &Path) -> Result<(Config, Engine), CliError> {
    let config = load(dir)?;
    let policy = read_policy(&dir.join(&config.policy))?;
    let mut past = Vec::new();
    let entries = fs::read_dir(dir.join("policies"))
        .with_context(|| format!("reading {}", dir.join("policies").display()))
        .map_err(|e| CliError::new(Exit::BadInput, format!("{e:#}")))?;
    for entry in entries {
        let path = entry.map_err(CliError::io)?.path();
        if path.extension().is_some_and(|e| e == "json") {
            past.push(read_policy(&path)?);
        }
    }
    let engine = Engine::open_file(
        dir.join("log"),
        policy,
        EngineConfig {
            calendar: config.calendar.clone(),
            ..EngineConfig::default()
        },
    )
    .map_err(|e| CliError::new(Exit::Failure, e.to_string()))?
    .with_past_policies(past);
    Ok((config, engine))
}
