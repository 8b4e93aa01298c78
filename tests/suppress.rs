//! Inline suppression comments, end to end.

mod common;

use common::{root, run_in};

const HPET: &str = "windows/hpet-disabled-without-stimer";

fn win10() -> String {
    std::fs::read_to_string(root().join("fixtures/win10-hpet-off.xml")).unwrap()
}

fn with_file(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vm.xml"), text).unwrap();
    dir
}

fn lint(dir: &tempfile::TempDir, args: &[&str]) -> (i32, String) {
    // The guest also gets windows/hyperv-set-incomplete (info), whose fix adds vpindex too;
    // these tests follow the stimer warning and the rules suppressed by name.
    let mut all = vec![
        "--isolated",
        "--format",
        "concise",
        "--quiet",
        "--ignore",
        "windows/hyperv-set-incomplete",
    ];
    all.extend_from_slice(args);
    all.push("vm.xml");
    let r = run_in(dir.path(), &all, None);
    assert_eq!(r.stderr, "", "{}", r.stderr);
    (r.code, r.stdout)
}

#[test]
fn a_suppression_with_a_reason_silences_exactly_one_finding() {
    let text = win10().replace(
        "    <timer name='hpet' present='no'/>",
        "    <!-- virt-lint: ignore windows/hpet-disabled-without-stimer - vendor image, see TICKET-12 -->\n    <timer name='hpet' present='no'/>",
    );
    let dir = with_file(&text);
    assert_eq!(lint(&dir, &[]), (0, String::new()));
    assert_eq!(lint(&dir, &["--require-reason"]), (0, String::new()));
    let (code, out) = lint(&dir, &["--no-inline-ignores"]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 1);
    assert!(
        out.starts_with(&format!("vm.xml:33:5: warning[{HPET}] ")),
        "{out}"
    );
}

#[test]
fn unused_invalid_and_reasonless_suppressions_are_findings() {
    let text = win10()
        .replace(
            "  <clock offset='localtime'>",
            "  <!-- virt-lint: ignore hyperv/synic-requires-vpindex - not here -->\n  <clock offset='localtime'>",
        )
        .replace(
            "    <timer name='hpet' present='no'/>",
            "    <!-- virt-lint: ignore windows/hpet-disabled-without-stimr -->\n    <timer name='hpet' present='no'/>",
        );
    let dir = with_file(&text);
    let (code, out) = lint(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "vm.xml:29:3: warning[virt-lint/unused-suppression] unused suppression: `hyperv/synic-requires-vpindex` reports nothing in the next element\n\
             vm.xml:33:5: warning[virt-lint/invalid-suppression] unknown rule, group or tag `windows/hpet-disabled-without-stimr`; did you mean `{HPET}`?\n\
             vm.xml:34:5: warning[{HPET}] HPET is off and the Hyper-V synthetic timer (stimer) is not enabled: Windows falls back to port-I/O timers and burns host CPU while idle\n"
        )
    );
    // The findings about suppressions are rules like any other.
    let (_, out) = lint(&dir, &["--ignore", "virt-lint/"]);
    assert!(!out.contains("virt-lint/"), "{out}");
    let (code, out) = lint(&dir, &["--no-inline-ignores"]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn ignore_file_before_the_root() {
    let text = format!(
        "<!-- virt-lint: ignore-file windows/ - lab machine -->\n{}",
        win10()
    );
    let dir = with_file(&text);
    assert_eq!(lint(&dir, &["--require-reason"]), (0, String::new()));
    let text = format!("<!-- virt-lint: ignore-file windows/ -->\n{}", win10());
    let dir = with_file(&text);
    let (code, out) = lint(&dir, &["--require-reason"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "vm.xml:1:1: warning[virt-lint/invalid-suppression] this suppression gives no reason (--require-reason); add one after ` - `\n"
    );
}

#[test]
fn fixes_keep_suppressions_and_skip_what_they_silence() {
    // A safe fix elsewhere in the file; the suppressed finding's unsafe fix is not applied.
    let text =
        std::fs::read_to_string(root().join("fixtures/fix/synic-without-vpindex.xml")).unwrap();
    let marked = text.replace(
        "<features>",
        "<!-- virt-lint: ignore hyperv/synic-requires-vpindex - testing the fix path -->\n  <features>",
    );
    assert_ne!(marked, text, "the fixture has <features>");
    let dir = with_file(&marked);
    let r = run_in(
        dir.path(),
        &[
            "--isolated",
            "--fix",
            "--unsafe-fixes",
            "--quiet",
            "--ignore",
            "windows/hyperv-set-incomplete",
            "vm.xml",
        ],
        None,
    );
    let after = std::fs::read_to_string(dir.path().join("vm.xml")).unwrap();
    assert!(after.contains("<!-- virt-lint: ignore hyperv/synic-requires-vpindex - testing the fix path -->\n  <features>"), "{after}");
    assert!(
        !after.contains("<vpindex"),
        "the silenced rule's fix was applied:\n{after}"
    );
    assert!(r.code <= 1, "{}", r.stderr);
}

#[test]
fn add_ignore_adopts_a_repository_in_one_step() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("fixtures/fix")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let before = run_in(
        dir.path(),
        &["--isolated", "--quiet", "--format", "concise", "."],
        None,
    );
    assert_eq!(before.code, 1);
    let r = run_in(dir.path(), &["--isolated", "--add-ignore", "."], None);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let files = before
        .stdout
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect::<std::collections::BTreeSet<_>>();
    // One comment per element with findings: fewer than or as many as the findings.
    let added: usize = r.stdout.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        added >= files.len() && added <= before.stdout.lines().count(),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout,
        format!(
            "Added {added} suppression comments to {} files.\nNo problems found (14 files checked).\n",
            files.len()
        )
    );
    let after = run_in(
        dir.path(),
        &["--isolated", "--format", "concise", "."],
        None,
    );
    assert_eq!(
        (after.code, after.stdout.as_str()),
        (0, "No problems found (14 files checked).\n"),
        "{}",
        after.stderr
    );
    // The comment sits on its own line above the element, indented like it.
    let tabs = std::fs::read_to_string(dir.path().join("tabs-double-quotes.xml")).unwrap();
    assert!(tabs.contains("\n\t\t<!-- virt-lint: ignore "), "{tabs}");
    let crlf = std::fs::read_to_string(dir.path().join("crlf.xml")).unwrap();
    assert!(!crlf.replace("\r\n", "").contains('\n'), "CRLF stays CRLF");
}
