//! No input makes virt-lint panic: truncated, corrupted and arbitrary texts go through
//! decoding, parsing, linting and fixing, and either work or give an error.

use proptest::prelude::*;

use virt_lint::pipeline::{self, FixResult, Options, Outcome};
use virt_lint::rules::{RuleSet, Safety, load_builtin};

fn rules() -> &'static RuleSet {
    static RULES: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
    RULES.get_or_init(|| load_builtin().unwrap())
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .unwrap()
}

/// Run the whole pipeline; a fixed text must parse and be stable.
fn pipeline(bytes: Vec<u8>) {
    let Outcome::Linted(linted) =
        pipeline::check_bytes(&bytes, rules(), Options::fix(Safety::Unsafe))
    else {
        return;
    };
    let text = &linted.text;
    for f in &linted.findings {
        assert!(f.range.end <= text.len() && text.is_char_boundary(f.range.start));
    }
    if let FixResult::Fixed(fixed) = &linted.fix {
        match pipeline::check_text(&fixed.text, rules(), Options::fix(Safety::Unsafe)) {
            Outcome::Linted(again) => assert!(
                matches!(again.fix, FixResult::NotFixed),
                "fixing twice changed the text again: {:?}",
                again.fix
            ),
            other => panic!("the fixed text does not lint: {other:?}"),
        }
    }
}

const FIXTURES: &[&str] = &[
    "win10-hpet-off.xml",
    "fix/crlf.xml",
    "fix/comments.xml",
    "fix/self-closing-hyperv.xml",
    "fix/stimer-direct-without-stimer.xml",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

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
