//! A user rule file over arbitrary bytes: loading it must not panic (errors are fine), and
//! a file that loads runs through the pipeline of `tests/common/pipeline.rs` over a domain
//! with every kind of target (elements, attributes, text, comments, the root).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use virt_lint::rules::load_rule_sets;

#[path = "../../tests/common/pipeline.rs"]
mod pipeline;

/// The file the input is written to (rules are loaded from files, as users' are).
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("virt-lint-fuzz-{}.yaml", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    if std::str::from_utf8(data).is_err() {
        return;
    }
    std::fs::write(path(), data).expect("write the rule file");
    if let Ok(rules) = load_rule_sets(std::slice::from_ref(path())) {
        pipeline::check_text(pipeline::RICH_DOMAIN, &rules);
    }
});
