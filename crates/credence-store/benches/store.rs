//! Criterion benchmarks of the stores.

fn main() {}
