//! Helpers both benchmarks use (`#[path]`-included by `throughput.rs` and `repo.rs`).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// A positive integer from the environment, or `default` when unset.
pub fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => panic!("{name} must be a positive integer, not `{value}`"),
        },
        Err(_) => default,
    }
}

/// How long `f` takes, and what it returns (kept from being optimised away).
pub fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = black_box(f());
    (start.elapsed(), out)
}

/// SplitMix64: a few multiplications and shifts that turn an index into well-mixed bits,
/// so that generated variants do not all change in lock-step with `i % k`.
pub fn mix(seed: u64) -> u64 {
    let mut x = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
