//! Integration tests of credence-store: one binary (see `autotests = false`).

mod concurrency;
mod conformance;
mod corruption;
mod crash;
mod file;
mod fuzz_corpus;
#[cfg(feature = "postgres")]
mod postgres;
mod support;
