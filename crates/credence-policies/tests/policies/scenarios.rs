//! The seven DOMAIN.md scenarios.
