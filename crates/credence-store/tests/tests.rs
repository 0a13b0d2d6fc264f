//! Integration tests of credence-store: one binary (see `autotests = false`).

// Tests are shell code: they time waits and seed the crash test from the clock.
#![allow(clippy::disallowed_methods)]

mod concurrency;
mod conformance;
mod corruption;
mod crash;
mod file;
mod formats;
mod fuzz_corpus;
#[cfg(feature = "postgres")]
mod postgres;
mod support;
