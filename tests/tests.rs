//! Cross-crate tests of Credence (one integration-test binary).

mod account_properties;
mod audits;
mod engine;
