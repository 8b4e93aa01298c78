//! The binary, end to end: exact output (golden files) and exit codes on the fixtures.

mod common;

use common::{golden, root, run, run_in};

/// `virt-lint ARGS` from the repository root, checked against `tests/golden/cli/NAME.txt`
/// and the expected exit code.
fn case(name: &str, args: &[&str], code: i32) {
    let r = run(args);
    golden(&format!("cli/{name}.txt"), &r.transcript());
    assert_eq!(
        r.code,
        code,
        "exit code of `virt-lint {}`\n{}",
        args.join(" "),
        r.transcript()
    );
}

#[test]
fn motivating_windows_guest_warns_at_the_hpet_timer() {
    case("win10-hpet-off", &["fixtures/win10-hpet-off.xml"], 1);
    let r = run(&["--format", "concise", "fixtures/win10-hpet-off.xml"]);
    // The catalog's expectation for the motivating case: W1 (this warning) and, as info,
    // W4 (windows/hyperv-set-incomplete).
    assert!(
        r.stdout.lines().any(|l| l.starts_with("fixtures/win10-hpet-off.xml:32:5: warning[windows/hpet-disabled-without-stimer] HPET is off")),
        "{}",
        r.stdout
    );
}

#[test]
fn concise_format() {
    case(
        "concise-fix-folder",
        &["--format", "concise", "fixtures/fix"],
        1,
    );
}

#[test]
fn healthy_guests_exit_zero() {
    case("win10-healthy", &["fixtures/win10-healthy.xml"], 0);
    case("linux-clean", &["fixtures/linux-clean.xml"], 0);
}

#[test]
fn readme_first_command() {
    // What README.md's first set-up command runs (the shell expands the glob).
    let mut files: Vec<String> = std::fs::read_dir(root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| format!("fixtures/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    case("fixtures-top-level", &args, 1);
}

#[test]
fn not_a_domain_is_skipped_with_a_note() {
    case("network-skipped", &["fixtures/network-default.xml"], 0);
}

#[test]
fn bad_inputs_are_errors_with_positions() {
    case("malformed", &["fixtures/invalid/malformed.xml"], 2);
    case(
        "malformed-concise",
        &["--format", "concise", "fixtures/invalid/malformed.xml"],
        2,
    );
    case("empty", &["fixtures/invalid/empty.xml"], 2);
    case("doctype", &["fixtures/invalid/doctype.xml"], 2);
    case("invalid-utf8", &["fixtures/invalid/invalid-utf8.xml"], 2);
    case("not-xml", &["fixtures/invalid/not-xml.xml"], 2);
    case("missing-path", &["fixtures/does-not-exist.xml"], 2);
}

#[test]
fn other_files_are_still_linted_after_an_error() {
    case(
        "invalid-folder-and-guest",
        &["fixtures/invalid", "fixtures/win10-hpet-off.xml"],
        2,
    );
}

#[test]
fn stdin_gives_the_same_findings() {
    let text = std::fs::read(root().join("fixtures/win10-hpet-off.xml")).unwrap();
    let piped = run_in(&root(), &["--format", "concise", "-"], Some(&text));
    let file = run(&["--format", "concise", "fixtures/win10-hpet-off.xml"]);
    assert_eq!(piped.code, 1);
    assert_eq!(
        piped.stdout.replace("-:", "fixtures/win10-hpet-off.xml:"),
        file.stdout
    );
    let named = run_in(
        &root(),
        &["--stdin-filename", "win10.xml", "-"],
        Some(&text),
    );
    golden("cli/stdin-named.txt", &named.transcript());
    assert_eq!(named.code, 1);
}

#[test]
fn glob_patterns_are_expanded_by_the_tool() {
    case(
        "glob",
        &["--format", "concise", "fixtures/fix/*-without-vpindex.xml"],
        1,
    );
    case("glob-no-match", &["fixtures/*.nothing"], 2);
}

#[test]
fn fail_on_and_exit_zero() {
    let r = run(&["--fail-on", "error", "fixtures/win10-hpet-off.xml"]);
    assert_eq!(r.code, 0, "a warning is below --fail-on error");
    let r = run(&[
        "--fail-on",
        "error",
        "fixtures/fix/synic-without-vpindex.xml",
    ]);
    assert_eq!(r.code, 1, "an error is at --fail-on error");
    let r = run(&["--exit-zero", "fixtures/win10-hpet-off.xml"]);
    assert_eq!(r.code, 0);
    let r = run(&["--exit-zero", "fixtures/invalid/malformed.xml"]);
    assert_eq!(r.code, 2, "--exit-zero still reports errors");
    let r = run(&["--fail-on", "bogus", "fixtures/win10-hpet-off.xml"]);
    assert_eq!(r.code, 2, "usage errors exit 2");
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    // `script` gives the binary a pseudo-terminal as standard output.
    if !common::have_tool("script") {
        return;
    }
    let on_tty = |no_color: Option<&str>| {
        let mut cmd = std::process::Command::new("script");
        cmd.args([
            "-qec",
            &format!(
                "{} fixtures/win10-hpet-off.xml",
                env!("CARGO_BIN_EXE_virt-lint")
            ),
            "/dev/null",
        ])
        .current_dir(root())
        .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    assert!(on_tty(None).contains("\u{1b}["), "a terminal gets colour");
    assert!(
        !on_tty(Some("1")).contains('\u{1b}'),
        "NO_COLOR turns it off"
    );
}

#[test]
fn colour_only_when_asked() {
    let plain = run(&["fixtures/win10-hpet-off.xml"]);
    assert!(!plain.stdout.contains('\u{1b}'));
    let coloured = run(&["--color", "always", "fixtures/win10-hpet-off.xml"]);
    assert!(coloured.stdout.contains("\u{1b}["));
}

#[test]
fn rules_listing_and_explanation() {
    case("rules", &["rules"], 0);
    case(
        "rule-w1",
        &["rule", "windows/hpet-disabled-without-stimer"],
        0,
    );
    case("rule-unknown", &["rule", "windows/hpet"], 2);
}

#[test]
fn broken_rule_files_name_file_line_and_column() {
    for name in [
        "unknown-key",
        "duplicate-id",
        "bad-severity",
        "bad-selector",
        "unknown-definition",
        "bad-ensure",
        "not-yaml",
    ] {
        let path = format!("tests/rule-files/{name}.yaml");
        case(
            &format!("rule-error-{name}"),
            &["--rules", &path, "fixtures/linux-clean.xml"],
            2,
        );
    }
}

#[test]
fn user_rules_run_beside_builtin_ones() {
    case(
        "user-rule",
        &[
            "--rules",
            "tests/rule-files/good.yaml",
            "--format",
            "concise",
            "fixtures/linux-clean.xml",
            "fixtures/win10-healthy.xml",
        ],
        1,
    );
}

#[test]
fn test_rules_command() {
    case(
        "test-rules-good",
        &["test-rules", "tests/rule-files/good.yaml"],
        0,
    );
    case(
        "test-rules-failing",
        &["test-rules", "tests/rule-files/failing-examples.yaml"],
        1,
    );
    case(
        "test-rules-broken",
        &["test-rules", "tests/rule-files/bad-selector.yaml"],
        2,
    );
}

#[test]
fn readme_rule_example_passes_its_own_examples() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("### Writing a rule")
        .nth(1)
        .expect("README has the section");
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("readme-rule.yaml");
    std::fs::write(&file, yaml).unwrap();
    let r = run(&["test-rules", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stdout.ends_with("2 passed, 0 failed\n"), "{}", r.stdout);
}
