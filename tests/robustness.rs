//! No input makes virt-lint panic: truncated, corrupted and arbitrary texts go through
//! decoding, parsing, linting and fixing, and either work or give an error. The inputs the
//! fuzzer (`fuzz/`) found crashing are kept in `tests/regressions/` and replayed here.
//! (Well-formed mutations that reach the linter are in `tests/mutations.rs`.)

mod common;

use std::sync::OnceLock;

use common::pipeline;
use proptest::prelude::*;
use virt_lint::rules::RuleSet;

fn rule_sets() -> &'static [RuleSet; 2] {
    static SETS: OnceLock<[RuleSet; 2]> = OnceLock::new();
    SETS.get_or_init(|| pipeline::rule_sets(&common::root()))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::root().join("fixtures").join(name)).unwrap()
}

/// The whole pipeline with the built-in rules and the every-edit pack; see
/// `common/pipeline.rs` for the invariants it checks.
fn pipeline(bytes: Vec<u8>) {
    pipeline::check_bytes(&bytes, rule_sets());
}

const FIXTURES: &[&str] = &[
    "win10-hpet-off.xml",
    "fix/crlf.xml",
    "fix/comments.xml",
    "fix/self-closing-hyperv.xml",
    "fix/stimer-direct-without-stimer.xml",
];

proptest! {
    #![proptest_config(common::proptest_config(300))]

    #[test]
    fn truncated_fixtures(index in 0..FIXTURES.len(), cut in 0.0f64..1.0) {
        let bytes = fixture(FIXTURES[index]);
        let at = (bytes.len() as f64 * cut) as usize;
        pipeline(bytes[..at].to_vec());
    }

    #[test]
    fn corrupted_fixtures(index in 0..FIXTURES.len(), edits in prop::collection::vec((0.0f64..1.0, any::<u8>()), 1..4)) {
        let mut bytes = fixture(FIXTURES[index]);
        for (pos, byte) in edits {
            let at = ((bytes.len() - 1) as f64 * pos) as usize;
            bytes[at] = byte;
        }
        pipeline(bytes);
    }

    #[test]
    fn arbitrary_xmlish_text(text in "(<domain>|</domain>|<features>|</features>|<hyperv/>|<hyperv>|</hyperv>|<stimer state='on'/>|<synic state='on'/>|<clock offset='utc'>|</clock>|<timer name='hpet' present='no'/>|<!-- c -->|\r\n|\n|  |\t|&amp;|<|>|x){0,40}") {
        pipeline(text.into_bytes());
    }
}

/// Every input in `tests/regressions/` (crashes found by the fuzzer or the property tests)
/// goes through the pipeline; each rule pack there (`*.yaml`) is loaded and run over every
/// input and fixture.
#[test]
fn regressions_pass_the_pipeline() {
    let dir = common::root().join("tests/regressions");
    let mut inputs: Vec<std::path::PathBuf> = Vec::new();
    let mut packs: Vec<std::path::PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml") => packs.push(path),
            Some("md") => {}
            _ => inputs.push(path),
        }
    }
    inputs.sort();
    packs.sort();
    assert!(
        !inputs.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    for path in &inputs {
        eprintln!("{}", path.display());
        let bytes = std::fs::read(path).unwrap();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for rules in rule_sets() {
                pipeline::render_sarif(text, rules);
            }
        }
        pipeline(bytes);
    }
    let mut texts: Vec<Vec<u8>> = inputs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    texts.extend(FIXTURES.iter().map(|f| fixture(f)));
    for pack in &packs {
        eprintln!("{}", pack.display());
        // A pack may fail to load (that is an error for the user, not a crash);
        // `rejected-*.yaml` must.
        let loaded = virt_lint::rules::load_rule_sets(std::slice::from_ref(pack));
        let rejected = pack
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("rejected-");
        assert_eq!(loaded.is_err(), rejected, "{}", pack.display());
        let Ok(rules) = loaded else { continue };
        for text in &texts {
            pipeline::check_bytes(text, std::slice::from_ref(&rules));
        }
    }
}

/// A user rule that adds to every element multiplied the file at each fix pass (the run
/// hung); the fixer now refuses once the file has grown by more than its own length.
#[test]
fn fixes_that_keep_growing_the_file_are_refused() {
    let pack = common::root().join("tests/regressions/exponential-growth.yaml");
    let mut rules = virt_lint::rules::load_rule_sets(&[pack]).unwrap();
    // The pack's rule alone: built-in rules would also fire on what it adds.
    rules.select(|rule, _| rule.id.starts_with("gen/"));
    let err = virt_lint::fix::fix_text(
        pipeline::RICH_DOMAIN,
        &rules,
        virt_lint::rules::Safety::Unsafe,
    )
    .unwrap_err();
    assert!(
        err.message.starts_with("fixes keep growing the file (")
            && err
                .message
                .ends_with("rules: gen/grow-everywhere); nothing was written"),
        "{err}"
    );
}
