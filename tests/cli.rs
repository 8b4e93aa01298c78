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
    // Scope and default are stated: a repository rule, an opinionated rule that is off.
    case("rule-repo", &["rule", "repo/duplicate-uuid"], 0);
    case("rule-default-off", &["rule", "domain/libosinfo-missing"], 0);
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

/// A domain whose fixes the rules of `tests/rule-files/fix-cycle.yaml` undo: fixing it is
/// refused.
const CYCLE_DOMAIN: &str =
    "<domain type='kvm'>\n  <name>loop</name>\n  <vcpu placement='auto'>2</vcpu>\n</domain>\n";

#[test]
fn stdin_fix_always_prints_the_whole_document() {
    let read = |p: &str| std::fs::read(root().join(p)).unwrap();
    let cycle = "tests/rule-files/fix-cycle.yaml";
    // (input, extra arguments, exit code, the reason on stderr)
    let cases: Vec<(Vec<u8>, Vec<&str>, i32, &str)> = vec![
        (
            read("fixtures/network-default.xml"),
            vec![],
            0,
            "note: -: not a libvirt domain (root element is <network>); skipped",
        ),
        (
            read("fixtures/invalid/malformed.xml"),
            vec![],
            2,
            "error: -:8:29: malformed XML: expected 'vcpu' tag, not 'vcpus'",
        ),
        (
            read("fixtures/invalid/invalid-utf8.xml"),
            vec![],
            2,
            "error: -:4:41: invalid UTF-8",
        ),
        (
            read("fixtures/invalid/not-xml.xml"),
            vec![],
            2,
            "error: -:1:1: malformed XML",
        ),
        (
            CYCLE_DOMAIN.as_bytes().to_vec(),
            vec!["--rules", cycle],
            2,
            "error: -: fixes undo each other",
        ),
        (read("fixtures/linux-clean.xml"), vec![], 0, ""),
        (
            read("fixtures/win10-hpet-off.xml"),
            vec![],
            1,
            "-:32:5: warning[windows/hpet-disabled-without-stimer]",
        ),
    ];
    for (input, extra, code, reason) in cases {
        let mut args = vec!["--fix", "--format", "concise"];
        args.extend(extra);
        args.push("-");
        let r = run_in(&root(), &args, Some(&input));
        assert_eq!(
            r.stdout_bytes,
            input,
            "`virt-lint {}` must print its input unchanged\n{}",
            args.join(" "),
            r.transcript()
        );
        assert_eq!(r.code, code, "{}", r.transcript());
        assert!(r.stderr.contains(reason), "{}", r.transcript());
    }
}

#[test]
fn a_doctype_outside_libvirt_is_skipped_and_a_domain_one_is_located() {
    case(
        "doctype-other-xml",
        &[
            "fixtures/other/dbus-policy.xml",
            "fixtures/other/fontconfig.xml",
        ],
        0,
    );
    case(
        "doctype-after-comment",
        &["fixtures/invalid/doctype-after-comment.xml"],
        2,
    );
}

/// A scratch folder holding a fixable domain, one whose fix is refused (with
/// fix-cycle.yaml), a network and a malformed file.
fn diff_scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(root().join(from), dir.path().join(to)).unwrap();
    };
    let fixable = std::fs::read_to_string(root().join("fixtures/fix/synic-without-vpindex.xml"))
        .unwrap()
        .replace("<vcpu placement='static'>", "<vcpu>");
    std::fs::write(dir.path().join("fixable.xml"), fixable).unwrap();
    copy("fixtures/network-default.xml", "net.xml");
    copy("fixtures/invalid/malformed.xml", "broken.xml");
    std::fs::write(dir.path().join("loop.xml"), CYCLE_DOMAIN).unwrap();
    dir
}

#[test]
fn diff_prints_patches_only_on_stdout() {
    let dir = diff_scratch();
    let cycle = root().join("tests/rule-files/fix-cycle.yaml");
    let r = run_in(
        dir.path(),
        &[
            "--rules",
            cycle.to_str().unwrap(),
            "--diff",
            "--format",
            "concise",
            ".",
        ],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(
        r.stdout
            .starts_with("--- a/fixable.xml\n+++ b/fixable.xml\n@@ "),
        "{}",
        r.transcript()
    );
    assert_eq!(
        r.stdout.matches("\n--- ").count() + 1,
        1,
        "one patch, nothing else: {}",
        r.stdout
    );
    for line in r.stdout.lines() {
        assert!(
            line.starts_with(['-', '+', ' ', '@', '\\']),
            "not a patch line on stdout: {line:?}"
        );
    }
    assert!(r.stderr.contains("error: loop.xml: fixes undo each other"));
    assert!(r.stderr.contains("loop.xml:3:3"), "{}", r.stderr);
    assert!(r.stderr.contains("note: net.xml: not a libvirt domain"));
    assert!(r.stderr.contains("broken.xml:8:29"));
    assert!(
        r.stderr.contains("Would fix 1 finding in 1 file.\n"),
        "{}",
        r.stderr
    );
    if common::have_tool("git") {
        let mut apply = std::process::Command::new("git")
            .args(["apply", "--check", "-"])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        apply
            .stdin
            .take()
            .unwrap()
            .write_all(r.stdout.as_bytes())
            .unwrap();
        assert!(apply.wait().unwrap().success(), "git apply refused stdout");
    }
}

#[test]
fn diff_summary_names_the_findings_it_does_not_fix() {
    let r = run(&["--diff", "fixtures/fix/vpindex-off.xml"]);
    assert_eq!(r.stdout, "", "no patch");
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stderr,
        "No fixes to apply.\n3 findings remain without a fix:\n  fixtures/fix/vpindex-off.xml:19:5: info[windows/hyperv-set-incomplete] Windows guest with an incomplete Hyper-V enlightenment set: some of relaxed, vapic, spinlocks, vpindex, runtime, synic, stimer, frequencies, tlbflush and ipi are missing (no fix: `features/hyperv/vpindex` is explicitly state='off'; change it by hand if that is not intended)\n  fixtures/fix/vpindex-off.xml:24:7: error[hyperv/synic-requires-vpindex] Hyper-V synic requires vpindex: QEMU refuses to start this guest (no fix: `features/hyperv/vpindex` is explicitly state='off'; change it by hand if that is not intended)\n  fixtures/fix/vpindex-off.xml:34:5: warning[windows/hpet-disabled-without-stimer] HPET is off and the Hyper-V synthetic timer (stimer) is not enabled: Windows falls back to port-I/O timers and burns host CPU while idle (no fix: `features/hyperv/vpindex` is explicitly state='off'; change it by hand if that is not intended)\n"
    );
}

/// Feed `patch` to `tool ARGS` on stdin in `dir`; whether it succeeded.
fn apply_patch(dir: &std::path::Path, tool: &str, args: &[&str], patch: &str) -> bool {
    use std::io::Write as _;
    let mut child = std::process::Command::new(tool)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(patch.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

#[test]
fn diff_headers_apply_from_the_current_folder_or_from_the_root() {
    let dir = diff_scratch();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let fixable = dir.path().join("fixable.xml");
    let original = std::fs::read_to_string(&fixable).unwrap();

    // Below the current folder: a/ and b/ headers, for `git apply` (even from a
    // subfolder of a repository) and `patch -p1`.
    let r = run_in(dir.path(), &["--diff", "./fixable.xml"], None);
    assert!(
        r.stdout
            .starts_with("--- a/fixable.xml\n+++ b/fixable.xml\n"),
        "{}",
        r.stdout
    );

    // Outside the current folder, or by absolute path: the absolute path in both headers.
    let absolute = std::fs::canonicalize(&fixable).unwrap();
    let shown = absolute.display().to_string();
    for arg in ["../fixable.xml", shown.as_str()] {
        let r = run_in(&sub, &["--diff", arg], None);
        assert_eq!(r.code, 1, "{}", r.transcript());
        assert!(
            r.stdout
                .starts_with(&format!("--- {shown}\n+++ {shown}\n@@ ")),
            "{}",
            r.stdout
        );
    }
    if common::have_tool("patch") {
        let r = run_in(&sub, &["--diff", "../fixable.xml"], None);
        assert!(apply_patch(&sub, "patch", &["-p1", "-d", "/"], &r.stdout));
        let fixed = std::fs::read_to_string(&fixable).unwrap();
        assert_ne!(fixed, original);
        assert_eq!(run_in(dir.path(), &["fixable.xml"], None).code, 0);
        std::fs::write(&fixable, &original).unwrap();
        let r = run_in(dir.path(), &["--diff", "fixable.xml"], None);
        assert!(apply_patch(dir.path(), "patch", &["-p1"], &r.stdout));
        assert_eq!(std::fs::read_to_string(&fixable).unwrap(), fixed);
    }
}

/// Whether this process runs as root (which reads files and folders whatever their mode).
fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[cfg(unix)]
#[test]
fn a_walk_finds_hidden_and_linked_files_once_and_reports_what_it_cannot_read() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let win10 = std::fs::read(root().join("fixtures/win10-hpet-off.xml")).unwrap();
    let clean = std::fs::read(root().join("fixtures/linux-clean.xml")).unwrap();
    let mkdir = |p: &str| std::fs::create_dir_all(home.join(p)).unwrap();
    mkdir(".config/libvirt/qemu/autostart");
    mkdir(".git");
    mkdir("elsewhere");
    mkdir("vms");
    std::fs::write(home.join(".config/libvirt/qemu/win10.xml"), &win10).unwrap();
    // libvirt's autostart link: the same file, linted once, under its real path.
    symlink(
        "../win10.xml",
        home.join(".config/libvirt/qemu/autostart/win10.xml"),
    )
    .unwrap();
    std::fs::write(home.join(".git/stale.xml"), &win10).unwrap();
    std::fs::write(home.join("vms/ignored.xml"), &win10).unwrap();
    std::fs::write(home.join(".gitignore"), "ignored.xml\n").unwrap();
    std::fs::write(home.join("elsewhere/linux.xml"), &clean).unwrap();
    symlink("../elsewhere", home.join("vms/linked")).unwrap();
    symlink("..", home.join("vms/loop")).unwrap();
    symlink("missing.xml", home.join("vms/gone.xml")).unwrap();

    let r = run_in(home, &["--format", "concise", "."], None);
    assert_eq!(
        r.transcript(),
        "exit: 2\n--- stdout\n.config/libvirt/qemu/win10.xml:19:5: info[windows/hyperv-set-incomplete] Windows guest with an incomplete Hyper-V enlightenment set: some of relaxed, vapic, spinlocks, vpindex, runtime, synic, stimer, frequencies, tlbflush and ipi are missing\n\
         .config/libvirt/qemu/win10.xml:32:5: warning[windows/hpet-disabled-without-stimer] HPET is off and the Hyper-V synthetic timer (stimer) is not enabled: Windows falls back to port-I/O timers and burns host CPU while idle\n\
         Found 1 warning and 1 info in 1 file (2 files checked); 1 input could not be checked.\n(2 hidden unsafe fixes can be enabled with `--unsafe-fixes`.)\n\
         --- stderr\nnote: vms/loop: symlink loop (leads back to .); not followed\nerror: vms/gone.xml: broken symlink (its target does not exist)\n",
    );

    // A folder that cannot be read is reported; the rest is still linted. Root reads any
    // folder, so as root the binary runs as `nobody` through setpriv (util-linux).
    use std::os::unix::fs::PermissionsExt;
    std::fs::remove_file(home.join("vms/gone.xml")).unwrap();
    mkdir("locked");
    let as_root = running_as_root();
    if as_root && !common::have_tool("setpriv") {
        eprintln!(
            "skipped the unreadable-folder case: root reads any folder and setpriv is missing"
        );
        return;
    }
    for entry in walkdir(home) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        if !entry.is_symlink() {
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    std::fs::write(home.join("secret.xml"), &clean).unwrap();
    std::fs::set_permissions(home.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(
        home.join("secret.xml"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    // A copy of the binary `nobody` can run, wherever the build folder is.
    let bin_dir = tempfile::tempdir().unwrap();
    let binary = bin_dir.path().join("virt-lint");
    std::fs::copy(env!("CARGO_BIN_EXE_virt-lint"), &binary).unwrap();
    for p in [bin_dir.path(), binary.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut command = if as_root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary);
        c
    } else {
        std::process::Command::new(&binary)
    };
    command.args(["--format", "concise", "."]).current_dir(home);
    // The copy was just written: a child another test thread forked meanwhile may still
    // hold it open for writing until it execs, and executing it then fails with "Text
    // file busy" (ETXTBSY). That passes within moments; try again.
    let out = (0..50)
        .find_map(|_| match command.output() {
            Ok(out) if !String::from_utf8_lossy(&out.stderr).contains("Text file busy") => {
                Some(out)
            }
            Err(e) if e.kind() != std::io::ErrorKind::ExecutableFileBusy => {
                panic!("cannot run {}: {e}", binary.display())
            }
            _ => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                None
            }
        })
        .expect("the copied binary stays busy");
    std::fs::set_permissions(home.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "note: vms/loop: symlink loop (leads back to .); not followed\nerror: locked: cannot read folder: Permission denied (os error 13)\nerror: secret.xml: cannot read: Permission denied (os error 13)\n"
    );
    assert!(
        stdout.ends_with("Found 1 warning and 1 info in 1 file (2 files checked); 2 inputs could not be checked.\n(2 hidden unsafe fixes can be enabled with `--unsafe-fixes`.)\n"),
        "{stdout}"
    );
}

/// Every path below `dir` (not following links), `dir` included.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let p = out[i].clone();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                out.push(e.unwrap().path());
            }
        }
        i += 1;
    }
    out
}

#[test]
fn a_run_that_finds_no_domain_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let r = run_in(dir.path(), &["empty"], None);
    assert_eq!(
        r.transcript(),
        "exit: 0\n--- stdout\nNo problems found (0 files checked).\n--- stderr\nwarning: no libvirt domain XML found in empty\n"
    );
}

#[test]
fn help_patches_mark_inserted_lines_in_crlf_and_tab_files() {
    case(
        "help-patches-crlf-tabs",
        &[
            "fixtures/fix/crlf.xml",
            "fixtures/fix/tabs-double-quotes.xml",
        ],
        1,
    );
    let r = run(&[
        "fixtures/fix/crlf.xml",
        "fixtures/fix/tabs-double-quotes.xml",
    ]);
    // Each file: the stimer warning's patch and the fuller one of
    // windows/hyperv-set-incomplete both insert vpindex.
    assert_eq!(
        r.stdout.matches("<vpindex state").filter(|_| true).count(),
        4
    );
    for line in r.stdout.lines().filter(|l| l.contains("<vpindex state")) {
        assert!(
            line.contains(" + "),
            "an inserted line marked otherwise: {line}"
        );
    }
}

#[test]
fn summary_counts_a_file_whose_fix_was_refused_as_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("loop.xml"), CYCLE_DOMAIN).unwrap();
    let cycle = root().join("tests/rule-files/fix-cycle.yaml");
    let r = run_in(
        dir.path(),
        &[
            "--rules",
            cycle.to_str().unwrap(),
            "--fix",
            "--format",
            "concise",
            "loop.xml",
        ],
        None,
    );
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stdout,
        "loop.xml:3:3: warning[test/vcpu-one] placement is auto\nFound 1 warning in 1 file (1 file checked); 1 file could not be fixed.\n"
    );
}

#[test]
fn colour_always_reaches_concise_output_and_diffs() {
    let concise = run(&[
        "--color",
        "always",
        "--format",
        "concise",
        "fixtures/win10-hpet-off.xml",
    ]);
    assert!(
        concise.stdout.contains("\n\u{1b}[1mfixtures/win10-hpet-off.xml\u{1b}[0m:32:5: \u{1b}[1;33mwarning[windows/hpet-disabled-without-stimer]\u{1b}[0m HPET is off"),
        "{}",
        concise.stdout
    );
    let diff = run(&[
        "--color",
        "always",
        "--diff",
        "fixtures/fix/synic-without-vpindex.xml",
    ]);
    assert!(
        diff.stdout
            .starts_with("\u{1b}[1m--- a/fixtures/fix/synic-without-vpindex.xml\u{1b}[0m\n"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("\u{1b}[32m+      <vpindex state='on'/>\u{1b}[0m\n")
    );
    let plain = run(&["--diff", "fixtures/fix/synic-without-vpindex.xml"]);
    assert!(!plain.stdout.contains('\u{1b}'));
}

#[test]
fn paths_below_dot_have_no_dot_slash() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("fixtures/win10-hpet-off.xml"),
        dir.path().join("win10.xml"),
    )
    .unwrap();
    for args in [
        &["--format", "concise"][..],
        &["--format", "concise", "."],
        &["--format", "concise", "./win10.xml"],
        &["--format", "concise", "./*.xml"],
    ] {
        let r = run_in(dir.path(), args, None);
        assert!(
            r.stdout.starts_with("win10.xml:19:5: ") && r.stdout.contains("\nwin10.xml:32:5: "),
            "{args:?}: {}",
            r.transcript()
        );
    }
}

#[test]
fn a_quoted_glob_starting_with_dot_slash_matches() {
    let plain = run(&["--format", "concise", "fixtures/fix/*-without-vpindex.xml"]);
    let dotted = run(&[
        "--format",
        "concise",
        "./fixtures/fix/*-without-vpindex.xml",
    ]);
    assert_eq!(dotted.code, 1, "{}", dotted.transcript());
    assert_eq!(dotted.transcript(), plain.transcript());
}

#[test]
fn explaining_a_built_in_rule_says_built_in() {
    let r = run(&["rule", "windows/hpet-disabled-without-stimer"]);
    assert!(
        r.stdout
            .ends_with("\nBuilt-in rule (embedded in the virt-lint binary).\n"),
        "{}",
        r.stdout
    );
    let r = run(&[
        "rule",
        "acme/disk-cache-not-none",
        "--rules",
        "tests/rule-files/good.yaml",
    ]);
    assert!(
        r.stdout
            .ends_with("\nDefined in tests/rule-files/good.yaml:9.\n"),
        "{}",
        r.transcript()
    );
}

#[test]
fn stdin_filename_implies_standard_input() {
    let text = std::fs::read(root().join("fixtures/win10-hpet-off.xml")).unwrap();
    let r = run_in(
        &root(),
        &["--format", "concise", "--stdin-filename", "win10.xml"],
        Some(&text),
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout
            .contains("\nwin10.xml:32:5: warning[windows/hpet-disabled-without-stimer]"),
        "{}",
        r.stdout
    );
    let r = run_in(
        &root(),
        &[
            "--format",
            "concise",
            "--stdin-filename",
            "win10.xml",
            "fixtures/linux-clean.xml",
        ],
        Some(&text),
    );
    assert!(r.stdout.contains("\nwin10.xml:32:5: "), "{}", r.stdout);
    assert_eq!(
        r.stderr,
        "warning: ignoring fixtures/linux-clean.xml: --stdin-filename reads standard input\n"
    );
}

#[test]
fn test_rules_applies_every_fix_even_without_a_fixed_text() {
    case(
        "test-rules-unchecked-fixes",
        &["test-rules", "tests/rule-files/unchecked-fixes.yaml"],
        1,
    );
}

#[test]
fn an_empty_rule_folder_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule file").unwrap();
    let r = run_in(dir.path(), &["test-rules", "."], None);
    assert_eq!(
        r.transcript(),
        "exit: 0\n--- stdout\nwarning: .: no rule file (*.yaml, *.yml) in this folder\nwarning: no rule found in .; nothing was tested\n0 passed, 0 failed\n--- stderr\n"
    );
    let guest = root().join("fixtures/linux-clean.xml");
    let r = run_in(dir.path(), &["--rules", ".", guest.to_str().unwrap()], None);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stderr,
        "warning: .: no rule file (*.yaml, *.yml) in this folder\n"
    );
}
