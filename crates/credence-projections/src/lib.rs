//! Read models of Credence (work in progress).

pub mod aging;
pub mod config;
pub mod credit;
pub mod error;
pub mod projection;
pub mod read_models;
pub mod stats;
