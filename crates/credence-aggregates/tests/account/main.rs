//! Scenario and property tests of the customer account.

mod allocation;
mod commands;
mod fixtures;
mod properties;
mod sharing;
