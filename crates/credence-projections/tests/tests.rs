//! Integration tests of the read models.
