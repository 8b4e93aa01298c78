//! The fixer through the binary: golden diffs for every fixable rule on fixtures of
//! different styles, `git apply` accepting them, in-place fixing (idempotent, atomic,
//! schema-valid), standard input, and the exit codes of the fix modes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{golden, have_tool, root, run, run_in};

fn fix_fixtures() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root().join("fixtures/fix"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    names
}

/// A scratch copy of `fixtures/` in a temporary git-less folder.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    copy_dir(&root().join("fixtures"), &fixtures);
    (dir, fixtures)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn golden_diffs_for_every_fixture() {
    for name in fix_fixtures() {
        let path = format!("fixtures/fix/{name}");
        let unsafe_run = run(&["--diff", "--unsafe-fixes", &path]);
        golden(&format!("fix/{name}.unsafe.diff"), &unsafe_run.transcript());
        let safe_run = run(&["--diff", &path]);
        golden(&format!("fix/{name}.safe.diff"), &safe_run.transcript());
        for r in [&unsafe_run, &safe_run] {
            assert_eq!(
                r.code,
                if r.stdout.is_empty() { 0 } else { 1 },
                "{path}: --diff exits 1 exactly when there is a diff"
            );
        }
    }
}

#[test]
fn motivating_case_diff_completes_the_enlightenment_set() {
    // windows/hyperv-set-incomplete (info) comes first in the file and its fix adds the
    // whole recommended set, stimer's closure included, so the stimer warning is gone too.
    // (The warning's own fix, vpindex + synic + stimer alone, is its rule example's
    // `fixed:` text.)
    let r = run(&["--diff", "--unsafe-fixes", "fixtures/win10-hpet-off.xml"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        "--- a/fixtures/win10-hpet-off.xml\n+++ b/fixtures/win10-hpet-off.xml\n@@ -20,6 +20,13 @@\n       <relaxed state='on'/>\n       <vapic state='on'/>\n       <spinlocks state='on' retries='8191'/>\n+      <vpindex state='on'/>\n+      <runtime state='on'/>\n+      <synic state='on'/>\n+      <stimer state='on'/>\n+      <frequencies state='on'/>\n+      <tlbflush state='on'/>\n+      <ipi state='on'/>\n     </hyperv>\n     <vmport state='off'/>\n   </features>\n"
    );
    assert_eq!(r.stderr, "Would fix 1 finding in 1 file.\n");
}

#[test]
fn diffs_apply_with_git_and_patch() {
    if !have_tool("git") || !have_tool("patch") {
        return;
    }
    let r = run(&["--diff", "--unsafe-fixes", "fixtures/"]);
    assert_eq!(r.code, 2, "fixtures/ includes the invalid inputs");
    let diff = r.stdout;
    assert!(diff.contains("+++ b/fixtures/win10-hpet-off.xml"));
    for tool in ["git", "patch"] {
        let (dir, _) = scratch();
        let patch_file = dir.path().join("fixes.diff");
        fs::write(&patch_file, &diff).unwrap();
        let status = if tool == "git" {
            Command::new("git")
                .args(["apply", "--whitespace=nowarn"])
                .arg(&patch_file)
                .current_dir(dir.path())
                .status()
        } else {
            Command::new("patch")
                .args(["-p1", "-s", "-i"])
                .arg(&patch_file)
                .current_dir(dir.path())
                .status()
        };
        assert!(status.unwrap().success(), "{tool} rejected the diff");
        // The patched tree is what --fix --unsafe-fixes writes.
        let (fixed_dir, _) = scratch();
        let r = run_in(
            fixed_dir.path(),
            &["--fix", "--unsafe-fixes", "fixtures/"],
            None,
        );
        assert_eq!(r.code, 2);
        for name in fix_fixtures() {
            let a = fs::read(dir.path().join("fixtures/fix").join(&name)).unwrap();
            let b = fs::read(fixed_dir.path().join("fixtures/fix").join(&name)).unwrap();
            assert!(
                a == b,
                "{tool}-patched {name} differs from the --fix output"
            );
        }
    }
}

#[test]
fn fix_in_place_is_idempotent_and_keeps_schema_validity() {
    let (_dir, fixtures) = scratch();
    let r = run_in(
        &fixtures,
        &["--fix", "--unsafe-fixes", "--format", "concise", "fix"],
        None,
    );
    golden("fix/fix-folder-unsafe.txt", &r.transcript());
    assert_eq!(r.code, 1, "vpindex-off.xml keeps findings that have no fix");
    let again = run_in(
        &fixtures,
        &[
            "--fix",
            "--unsafe-fixes",
            "--exit-non-zero-on-fix",
            "--format",
            "concise",
            "fix",
        ],
        None,
    );
    assert!(
        again
            .stdout
            .ends_with("Found 1 error, 1 warning and 6 infos in 5 files (14 files checked).\n"),
        "{}",
        again.stdout
    );
    assert_eq!(again.code, 1);
    for name in fix_fixtures() {
        let fixed = fs::read(fixtures.join("fix").join(&name)).unwrap();
        let original = fs::read(root().join("fixtures/fix").join(&name)).unwrap();
        assert_eq!(
            fixed != original,
            name != "vpindex-off.xml",
            "{name}: changed exactly when a fix applies"
        );
    }
    let Some(schema) = common::domain_schema() else {
        return;
    };
    if !have_tool("xmllint") {
        return;
    }
    for name in fix_fixtures() {
        let file = fixtures.join("fix").join(&name);
        common::xmllint_validate(&schema, &file)
            .unwrap_or_else(|e| panic!("fixed {name} fails libvirt's schema:\n{e}"));
    }
    let (_dir, fixtures) = scratch();
    let r = run_in(
        &fixtures,
        &["--fix", "--unsafe-fixes", "win10-hpet-off.xml"],
        None,
    );
    assert_eq!(r.code, 0);
    common::xmllint_validate(&schema, &fixtures.join("win10-hpet-off.xml")).unwrap();
}

#[test]
fn safe_fix_leaves_the_motivating_case_and_names_the_unsafe_fix() {
    let (_dir, fixtures) = scratch();
    let before = fs::read(fixtures.join("win10-hpet-off.xml")).unwrap();
    let r = run_in(
        &fixtures,
        &["--fix", "--format", "concise", "win10-hpet-off.xml"],
        None,
    );
    assert_eq!(
        fs::read(fixtures.join("win10-hpet-off.xml")).unwrap(),
        before
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        "win10-hpet-off.xml:19:5: info[windows/hyperv-set-incomplete] Windows guest with an incomplete Hyper-V enlightenment set: some of relaxed, vapic, spinlocks, vpindex, runtime, synic, stimer, frequencies, tlbflush and ipi are missing\n\
         win10-hpet-off.xml:32:5: warning[windows/hpet-disabled-without-stimer] HPET is off and the Hyper-V synthetic timer (stimer) is not enabled: Windows falls back to port-I/O timers and burns host CPU while idle\n\
         Found 1 warning and 1 info in 1 file (1 file checked).\n\
         (2 hidden unsafe fixes can be enabled with `--unsafe-fixes`.)\n"
    );
    let r = run_in(
        &fixtures,
        &["--fix", "--unsafe-fixes", "win10-hpet-off.xml"],
        None,
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        "Fixed 1 finding in 1 file.\nNo problems remain (1 file checked).\n"
    );
    let once = fs::read(fixtures.join("win10-hpet-off.xml")).unwrap();
    let r = run_in(
        &fixtures,
        &[
            "--fix",
            "--unsafe-fixes",
            "--exit-non-zero-on-fix",
            "win10-hpet-off.xml",
        ],
        None,
    );
    assert_eq!(r.code, 0, "nothing left to change");
    assert_eq!(fs::read(fixtures.join("win10-hpet-off.xml")).unwrap(), once);
}

#[test]
fn crlf_and_missing_final_newline_survive() {
    let (_dir, fixtures) = scratch();
    let file = fixtures.join("fix/crlf.xml");
    run_in(
        &fixtures,
        &["--fix", "--unsafe-fixes", "fix/crlf.xml"],
        None,
    );
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains("<stimer state='on'/>\r\n"));
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "every line ends in CRLF"
    );

    let no_newline = fixtures.join("no-newline.xml");
    let source = fs::read_to_string(fixtures.join("fix/synic-without-vpindex.xml")).unwrap();
    fs::write(&no_newline, source.trim_end()).unwrap();
    let r = run_in(&fixtures, &["--fix", "no-newline.xml"], None);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let text = fs::read_to_string(&no_newline).unwrap();
    assert!(text.ends_with("</domain>"), "no final newline was added");
    assert!(text.contains("<vpindex state='on'/>"));
}

#[test]
fn bom_and_xml_declaration_survive() {
    let (_dir, fixtures) = scratch();
    let file = fixtures.join("bom.xml");
    let source = fs::read(fixtures.join("fix/crlf.xml")).unwrap();
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(&source);
    fs::write(&file, &with_bom).unwrap();
    let r = run_in(&fixtures, &["--fix", "--unsafe-fixes", "bom.xml"], None);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let fixed = fs::read(&file).unwrap();
    assert!(fixed.starts_with(b"\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>\r\n"));
    // The same bytes as fixing the file without its BOM.
    run_in(
        &fixtures,
        &["--fix", "--unsafe-fixes", "fix/crlf.xml"],
        None,
    );
    assert_eq!(
        &fixed[3..],
        &fs::read(fixtures.join("fix/crlf.xml")).unwrap()[..]
    );
}

#[test]
fn stdin_fix_writes_the_document_to_stdout() {
    let input = fs::read(root().join("fixtures/win10-hpet-off.xml")).unwrap();
    let r = run_in(&root(), &["--fix", "--unsafe-fixes", "-"], Some(&input));
    assert_eq!(r.code, 0);
    let expected = String::from_utf8(input.clone()).unwrap().replace(
        "      <spinlocks state='on' retries='8191'/>\n",
        "      <spinlocks state='on' retries='8191'/>\n      <vpindex state='on'/>\n      <runtime state='on'/>\n      <synic state='on'/>\n      <stimer state='on'/>\n      <frequencies state='on'/>\n      <tlbflush state='on'/>\n      <ipi state='on'/>\n",
    );
    assert_eq!(r.stdout, expected);
    assert_eq!(
        r.stderr,
        "Fixed 1 finding in 1 file.\nNo problems remain (1 file checked).\n"
    );

    // Nothing to fix: the document still comes back whole, findings on stderr.
    let r = run_in(
        &root(),
        &["--fix", "--stdin-filename", "win10.xml", "-"],
        Some(&input),
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout.as_bytes(), &input[..]);
    assert!(r.stderr.contains("--> win10.xml:32:5"), "{}", r.stderr);

    let r = run_in(
        &root(),
        &[
            "--diff",
            "--unsafe-fixes",
            "--stdin-filename",
            "win10.xml",
            "-",
        ],
        Some(&input),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .starts_with("--- a/win10.xml\n+++ b/win10.xml\n@@ -20,6 +20,13 @@\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn unwritable_file_is_an_error_and_stays_untouched() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, fixtures) = scratch();
        let file = fixtures.join("fix/synic-without-vpindex.xml");
        let before = fs::read(&file).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o444)).unwrap();
        let r = run_in(
            &fixtures,
            &[
                "--fix",
                "--format",
                "concise",
                "fix/synic-without-vpindex.xml",
            ],
            None,
        );
        assert_eq!(r.code, 2, "{}", r.transcript());
        assert!(r.stderr.starts_with("error: fix/synic-without-vpindex.xml: cannot write the fixed file: the file is read-only"), "{}", r.stderr);
        assert_eq!(fs::read(&file).unwrap(), before);
        let leftovers: Vec<_> = fs::read_dir(fixtures.join("fix"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".virt-lint")
            })
            .collect();
        assert!(leftovers.is_empty());
    }
}

#[test]
fn symlink_target_is_fixed_and_link_kept() {
    #[cfg(unix)]
    {
        let (_dir, fixtures) = scratch();
        let link = fixtures.join("link.xml");
        std::os::unix::fs::symlink(fixtures.join("fix/ipi-without-vpindex.xml"), &link).unwrap();
        let r = run_in(&fixtures, &["--fix", "link.xml"], None);
        assert_eq!(r.code, 0, "{}", r.transcript());
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::read_to_string(fixtures.join("fix/ipi-without-vpindex.xml"))
                .unwrap()
                .contains("<vpindex state='on'/>")
        );
    }
}

#[test]
fn text_output_shows_fixes_as_help_patches() {
    let r = run(&[
        "fixtures/fix/self-closing-hyperv.xml",
        "fixtures/fix/vpindex-off.xml",
        "fixtures/fix/no-clock.xml",
    ]);
    golden("fix/help-patches.txt", &r.transcript());
    assert_eq!(r.code, 1);
}

/// A domain for the fix-loop failure tests, with a comment inside <pm>.
const LOOP_DOMAIN: &str = "<domain type='kvm'>\n  <name>loop</name>\n  <description>d</description>\n  <vcpu placement='auto'>2</vcpu>\n  <pm>\n    <!-- keep suspend off -->\n    <suspend-to-mem enabled='no'/>\n  </pm>\n</domain>\n";

fn fix_with_rules(rules: &str) -> (common::Run, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("loop.xml");
    fs::write(&file, LOOP_DOMAIN).unwrap();
    let rules_path = root().join("tests/rule-files").join(rules);
    let r = run_in(
        dir.path(),
        &[
            "--rules",
            rules_path.to_str().unwrap(),
            "--fix",
            "--format",
            "concise",
            "loop.xml",
        ],
        None,
    );
    let after = fs::read_to_string(&file).unwrap();
    (r, after, LOOP_DOMAIN.to_string())
}

#[test]
fn fixes_that_undo_each_other_are_reported_and_nothing_is_written() {
    let (r, after, before) = fix_with_rules("fix-cycle.yaml");
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert_eq!(after, before);
    assert!(
        r.stderr.starts_with("error: loop.xml: fixes undo each other (rules test/vcpu-one, test/vcpu-two); the text repeats after pass 2; nothing was written"),
        "{}",
        r.stderr
    );
}

#[test]
fn fixes_that_never_converge_stop_at_the_cap() {
    let (r, after, before) = fix_with_rules("fix-runaway.yaml");
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert_eq!(after, before);
    assert!(
        r.stderr.starts_with("error: loop.xml: fixes did not converge after 10 passes (rules still fixing: test/nest-forever); nothing was written"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_fix_that_would_drop_a_comment_is_refused() {
    let (r, after, before) = fix_with_rules("fix-drops-comment.yaml");
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert_eq!(after, before);
    assert!(
        r.stderr.starts_with("error: loop.xml: a fix would drop the comment <!-- keep suspend off -->; nothing was written"),
        "{}",
        r.stderr
    );
    // The finding itself is still reported.
    assert!(
        r.stdout
            .lines()
            .any(|l| l == "loop.xml:5:3: warning[test/no-pm] pm block present"),
        "{}",
        r.stdout
    );
}
