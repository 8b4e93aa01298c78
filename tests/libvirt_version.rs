//! The libvirt version profile (`--libvirt-version`, the config file's `libvirt-version`):
//! a fix never adds an element the target libvirt lacks, and rules with a `libvirt:`
//! window run only for the releases in it.

mod common;

use common::{golden, root, run, run_in};

const HPET: &str = "windows/hpet-disabled-without-stimer";
const GUEST: &str = "fixtures/win10-hpet-off.xml";

/// The Hyper-V synthetic timer fix adds <vpindex>, <synic> and <stimer>, which libvirt
/// 1.3.3 introduced: for libvirt 1.2 it is refused, naming the element and both
/// versions; for 1.3.3 it applies.
#[test]
fn a_fix_is_refused_for_an_older_libvirt_and_applied_for_a_newer_one() {
    let old = ["--isolated", "--select", HPET, "--unsafe-fixes", "--diff"];
    let refused = run(&[&old[..], &["--libvirt-version", "1.2", GUEST]].concat());
    golden("libvirt-version/diff-1.2.txt", &refused.transcript());
    assert_eq!(refused.code, 0);
    assert_eq!(refused.stdout, "");
    assert!(
        refused.stderr.contains("(no fix: it would add <vpindex>, which needs libvirt 1.3.3 or later; the target is libvirt 1.2.0 (--libvirt-version))"),
        "{}",
        refused.stderr
    );

    let applied = run(&[&old[..], &["--libvirt-version", "1.3.3", GUEST]].concat());
    golden("libvirt-version/diff-1.3.3.txt", &applied.transcript());
    assert_eq!(applied.code, 1);
    assert!(applied.stdout.contains("+      <stimer state='on'/>\n"));

    // The default is the newest release the rules know: the fix applies.
    let default = run(&[&old[..], &[GUEST]].concat());
    assert_eq!(default.stdout, applied.stdout);

    // The text report says why, and still offers the alternative.
    let text = run(&[
        "--isolated",
        "--select",
        HPET,
        "--libvirt-version",
        "1.2",
        GUEST,
    ]);
    golden("libvirt-version/text-1.2.txt", &text.transcript());
    assert_eq!(text.code, 1);
}

/// `--fix` under the old profile leaves the file as it was.
#[test]
fn fixing_for_an_older_libvirt_writes_nothing_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(root().join(GUEST)).unwrap();
    std::fs::write(dir.path().join("g.xml"), &original).unwrap();
    let args = [
        "--isolated",
        "--select",
        HPET,
        "--fix",
        "--unsafe-fixes",
        "--libvirt-version",
        "1.2",
        "g.xml",
    ];
    let r = run_in(dir.path(), &args, None);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("g.xml")).unwrap(),
        original
    );
}

fn window_run(version: Option<&str>) -> String {
    let mut args = vec![
        "--isolated",
        "--rules",
        "tests/rule-files/libvirt-window.yaml",
        "--select",
        "acme/",
        "--format",
        "concise",
        "-q",
    ];
    if let Some(v) = version {
        args.extend(["--libvirt-version", v]);
    }
    args.push("-");
    let r = run_in(
        &root(),
        &args,
        Some(b"<domain type='kvm'>\n  <name>a</name>\n</domain>\n"),
    );
    assert_ne!(r.code, 2, "{}", r.transcript());
    r.stdout
}

/// `libvirt: {before: 9.0}`, `{since: 9.0, before: 10.0}` and `{since: 10.0}`: each rule
/// runs only for the releases in its window; the default is the newest release known.
#[test]
fn rules_run_only_inside_their_libvirt_window() {
    let old = "-:1:1: warning[acme/old-libvirt-only] no <title> (libvirt before 9.0 wants one)\n";
    let mid = "-:1:1: info[acme/window] no <uuid> (libvirt 9.x wants one)\n";
    let new = "-:1:1: warning[acme/new-libvirt-only] no <description> (libvirt 10.0 and later want one)\n";
    assert_eq!(window_run(Some("8.10")), old);
    assert_eq!(window_run(Some("9")), mid);
    assert_eq!(window_run(Some("9.9.9")), mid);
    assert_eq!(window_run(Some("10.0.0")), new);
    assert_eq!(window_run(None), new);
    // Each rule's examples run for a release inside its window.
    let r = run(&["test-rules", "tests/rule-files/libvirt-window.yaml"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stdout.ends_with("4 passed, 0 failed\n"), "{}", r.stdout);
    // The reference says it too.
    let r = run(&[
        "rules",
        "--format",
        "markdown",
        "--rules",
        "tests/rule-files/libvirt-window.yaml",
    ]);
    assert!(
        r.stdout.contains(
            "\n**libvirt**: applies to libvirt 9.0.0 and later, before 10.0.0 only (checked against `--libvirt-version`).\n"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(
        "\n**libvirt**: applies to libvirt before 9.0.0 only (checked against `--libvirt-version`).\n"
    ));
    // `virt-lint rule` says which releases a rule applies to.
    let r = run(&[
        "rule",
        "acme/window",
        "--rules",
        "tests/rule-files/libvirt-window.yaml",
    ]);
    assert!(
        r.stdout.contains(
            "\nApplies to libvirt 9.0.0 and later, before 10.0.0 only (checked against --libvirt-version).\n"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn the_config_file_sets_the_version_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".virt-lint.yaml"),
        "libvirt-version: \"1.2\"\n",
    )
    .unwrap();
    std::fs::copy(root().join(GUEST), dir.path().join("g.xml")).unwrap();
    let diff = |extra: &[&str]| {
        let args = [
            &["--select", HPET, "--unsafe-fixes", "--diff"],
            extra,
            &["g.xml"],
        ]
        .concat();
        run_in(dir.path(), &args, None)
    };
    let from_file = diff(&[]);
    assert_eq!(from_file.stdout, "", "{}", from_file.transcript());
    assert!(
        from_file
            .stderr
            .contains("the target is libvirt 1.2.0 (--libvirt-version)"),
        "{}",
        from_file.stderr
    );
    let overridden = diff(&["--libvirt-version", "11.3"]);
    assert!(overridden.stdout.contains("+      <stimer state='on'/>\n"));

    let config = |extra: &[&str]| {
        let args = [&["config", "g.xml"], extra].concat();
        run_in(dir.path(), &args, None).stdout
    };
    let shown = config(&[]);
    let path = dir.path().join(".virt-lint.yaml");
    assert!(
        shown.contains(&format!(
            "\nlibvirt-version: 1.2.0 ({}:1:18)\n",
            path.display()
        )),
        "{shown}"
    );
    assert!(
        config(&["--libvirt-version", "9.0"])
            .contains("\nlibvirt-version: 9.0.0 (command line --libvirt-version)\n")
    );
    let isolated = run_in(dir.path(), &["config", "--isolated", "g.xml"], None).stdout;
    assert!(
        isolated.contains("\nlibvirt-version: 11.3.0 (default: the newest the rules know)\n"),
        "{isolated}"
    );
}

#[test]
fn bad_versions_are_usage_and_rule_file_errors() {
    let r = run(&["--libvirt-version", "nine", GUEST]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "invalid value 'nine' for '--libvirt-version <X.Y>': expected a libvirt version like 9.0 or 10.2.0"
        ),
        "{}",
        r.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let head = "rules:\n  - id: acme/x\n    severity: info\n    summary: s\n    explanation: e\n    message: m\n    when: {absent: name}\n";
    for (window, error) in [
        (
            "    libvirt: {since: 9.x}\n",
            "r.yaml:8:22: `since` takes a libvirt version like 9.0 or 5.7.0, not `9.x`",
        ),
        (
            "    libvirt: {since: 10.0, before: 9.0}\n",
            "r.yaml:8:36: `libvirt`: `since: 10.0.0` must be older than `before: 9.0.0`",
        ),
        (
            // Written plain, 10.10 is release 10.10 (read as a number, it was 10.1).
            "    libvirt: {since: 10.10, before: 10.2}\n",
            "r.yaml:8:37: `libvirt`: `since: 10.10.0` must be older than `before: 10.2.0`",
        ),
        (
            "    libvirt: {}\n",
            "r.yaml:8:14: `libvirt` needs `since`, `before` or both (e.g. `libvirt: {since: 9.0}`)",
        ),
        (
            "    libvirt: {until: 9.0}\n",
            "r.yaml:8:15: unknown key until in `libvirt`; known keys: since, before",
        ),
    ] {
        std::fs::write(dir.path().join("r.yaml"), format!("{head}{window}")).unwrap();
        let r = run_in(dir.path(), &["--rules", "r.yaml", "-"], Some(b"<domain/>"));
        assert_eq!(r.code, 2, "{}", r.transcript());
        assert!(
            r.stderr.contains(&format!("error: {error}\n")),
            "{window}{}",
            r.stderr
        );
    }
}
