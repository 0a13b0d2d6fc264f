//! Scenario tests of the customer account. Its property tests run over
//! the test kit's generated histories: `tests/account_properties.rs` at
//! the workspace root.

mod allocation;
mod closed;
mod commands;
mod fixtures;
mod sharing;
