//! Helpers shared by the unit tests of several modules.

/// A deterministic chooser for generated test documents: each call returns one of
/// `choices`, picked by an xorshift sequence started from `seed`.
pub(crate) fn picker(seed: u64) -> impl FnMut(&[&'static str]) -> &'static str {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    move |choices: &[&'static str]| -> &'static str {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        choices[(state % choices.len() as u64) as usize]
    }
}
