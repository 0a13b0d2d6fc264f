//! Tests of credence-policies: loading and validation, the seven DOMAIN.md
//! scenarios through the aggregate and the default policy, replay and
//! what-if, and properties.

mod extensions;
mod facts;
mod fixtures;
mod loading;
mod properties;
mod scenarios;
