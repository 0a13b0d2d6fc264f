//! Integration tests of credence-store.
