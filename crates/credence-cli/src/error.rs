//! Errors of the command-line tool and their exit codes.

use std::fmt;

/// Exit codes (documented in `docs/commands.md` and `credence --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 1: the store or the machine failed.
    Failure = 1,
    /// 3: bad input (malformed JSON, an invalid field, an unreadable file,
    /// not a data directory). Nothing was stored.
    BadInput = 3,
    /// 4: a command was rejected by the account's rules. Nothing from it was
    /// stored.
    Rejected = 4,
    /// 5: a check failed (replay mismatch, broken hash chain).
    CheckFailed = 5,
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// One line for the user.
    pub message: String,
}

impl CliError {
    /// An error with a message.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// An IO or serialisation failure.
    pub fn io(e: impl fmt::Display) -> Self {
        Self::new(Exit::Failure, e.to_string())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<credence::EngineError> for CliError {
    fn from(e: credence::EngineError) -> Self {
        let exit = match &e {
            credence::EngineError::Rejected(_) | credence::EngineError::UnknownCustomer(_) => {
                Exit::Rejected
            }
            _ => Exit::Failure,
        };
        Self::new(exit, e.to_string())
    }
}

impl From<credence::store::StoreError> for CliError {
    fn from(e: credence::store::StoreError) -> Self {
        let exit = if e.is_bad_input() {
            Exit::BadInput
        } else {
            Exit::Failure
        };
        Self::new(exit, e.to_string())
    }
}
