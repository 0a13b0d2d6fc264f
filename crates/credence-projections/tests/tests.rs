//! Integration tests of the read models: the DOMAIN.md scenarios with
//! expected values written out, checkpoints, and property tests.

mod checkpoints;
mod fixtures;
mod properties;
mod scenarios;
