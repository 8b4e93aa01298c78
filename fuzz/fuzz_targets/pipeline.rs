//! parse → lint → report → fix → fix again, over arbitrary bytes, with the built-in rules
//! and with the built-in rules plus the every-edit pack. The checks are those of
//! `tests/common/pipeline.rs`, which `cargo test` runs over `tests/regressions/`.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use virt_lint::rules::RuleSet;

#[path = "../../tests/common/pipeline.rs"]
mod pipeline;

fn rule_sets() -> &'static [RuleSet; 2] {
    static SETS: OnceLock<[RuleSet; 2]> = OnceLock::new();
    SETS.get_or_init(|| pipeline::rule_sets(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")))
}

fuzz_target!(|data: &[u8]| {
    pipeline::check_bytes(data, rule_sets());
});
