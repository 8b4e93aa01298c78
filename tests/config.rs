//! Config files and rule selection, end to end: discovery from sub-folders, `--isolated`,
//! `--config`, errors with file:line:col, `virt-lint config`, `--select`/`--ignore`,
//! `--exclude`, `--quiet`, `--statistics`.

mod common;

use std::path::Path;

use common::{root, run, run_in};

const HPET: &str = "windows/hpet-disabled-without-stimer";

/// A repository with `.virt-lint.yaml` (`config`) at its root; `vms/sub/` holds the
/// Windows 10 guest and a guest with a hyperv finding.
fn repo(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("vms/sub");
    std::fs::create_dir_all(&sub).unwrap();
    for (from, to) in [
        ("fixtures/win10-hpet-off.xml", "win10.xml"),
        ("fixtures/fix/synic-without-vpindex.xml", "synic.xml"),
    ] {
        std::fs::copy(root().join(from), sub.join(to)).unwrap();
    }
    std::fs::write(dir.path().join(".virt-lint.yaml"), config).unwrap();
    dir
}

/// Ignores `windows/` and lowers one hyperv rule (an error) to info.
const CONFIG: &str = "# repository settings\nignore: [windows/]\nper-rule:\n  hyperv/synic-requires-vpindex:\n    severity: info\n";

fn concise(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut all = vec!["--format", "concise", "--quiet"];
    all.extend_from_slice(args);
    let r = run_in(dir, &all, None);
    (r.code, r.stdout)
}

#[test]
fn the_config_applies_from_any_sub_folder() {
    let dir = repo(CONFIG);
    for cwd in [
        dir.path().to_path_buf(),
        dir.path().join("vms"),
        dir.path().join("vms/sub"),
    ] {
        let (code, out) = concise(&cwd, &["."]);
        assert_eq!(
            code, 0,
            "only info findings are left (fail-on warning)\n{out}"
        );
        // The fixture is a Windows guest with virtio devices: leave that info rule aside.
        let out: String = out
            .lines()
            .filter(|l| !l.contains("[net/virtio-on-windows-needs-drivers]"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(out.lines().count(), 1, "{out}");
        let line = out.lines().next().unwrap();
        assert!(line.contains("synic.xml:"), "{out}");
        assert!(
            line.contains(": info[hyperv/synic-requires-vpindex] "),
            "{out}"
        );
        assert!(!out.contains(HPET), "{out}");
    }
    // From outside the repository, naming the file: its config still applies.
    let (code, out) = concise(
        &root(),
        &[dir.path().join("vms/sub/win10.xml").to_str().unwrap()],
    );
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn isolated_ignores_the_config_and_config_names_one() {
    let dir = repo(CONFIG);
    let (code, out) = concise(dir.path(), &["--isolated", "."]);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("warning[{HPET}]")), "{out}");
    assert!(
        out.contains("error[hyperv/synic-requires-vpindex]"),
        "{out}"
    );
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, "select: [hyperv/]\nfail-on: error\n").unwrap();
    let (code, out) = concise(dir.path(), &["--config", other.to_str().unwrap(), "."]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains(HPET), "{out}");
    assert!(
        out.contains("error[hyperv/synic-requires-vpindex]"),
        "{out}"
    );
}

#[test]
fn the_closest_config_wins() {
    let dir = repo(CONFIG);
    std::fs::write(
        dir.path().join("vms/sub/virt-lint.yaml"),
        "select: [windows/]\n",
    )
    .unwrap();
    let (code, out) = concise(dir.path(), &["vms"]);
    assert_eq!(code, 1);
    assert!(out.contains(HPET), "{out}");
    assert!(!out.contains("hyperv/"), "{out}");
}

#[test]
fn command_line_selection_overrides_the_config() {
    let dir = repo(CONFIG);
    let (code, out) = concise(dir.path(), &["--extend-select", HPET, "."]);
    assert_eq!(code, 1);
    assert!(out.contains(HPET), "{out}");
    let (code, out) = concise(
        dir.path(),
        &["--select", "hyperv", "--fail-on", "info", "."],
    );
    assert_eq!(code, 1, "--fail-on info wins over the config\n{out}");
    assert!(!out.contains("windows/"), "{out}");
}

#[test]
fn config_errors_exit_2_with_position_and_suggestion() {
    let dir = repo(
        "ignore: [windows/]\nper-rule:\n  hyperv/synic-requires-vpindex:\n    severty: info\n",
    );
    let r = run_in(dir.path(), &["."], None);
    assert_eq!(r.code, 2);
    let path = dir.path().join(".virt-lint.yaml");
    assert_eq!(
        r.stderr,
        format!(
            "error: {}:4:5: unknown key `severty`; expected one of severity, unsafe-fixes, fix; did you mean `severity`?\n  |\n4 |     severty: info\n  |     ^\n1 error in config files; nothing was checked.\n",
            path.display()
        )
    );
    assert_eq!(r.stdout, "");
    std::fs::write(&path, "ignore: [windws/]\n").unwrap();
    let r = run_in(dir.path(), &["."], None);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with(&format!(
            "error: {}:1:10: unknown rule, group or tag `windws/`; did you mean `windows/`?",
            path.display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn unknown_command_line_selectors_exit_2() {
    let r = run(&[
        "--ignore",
        "windows/hpet-disabled",
        "fixtures/win10-hpet-off.xml",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: --ignore: unknown rule, group or tag `windows/hpet-disabled`; did you mean `windows/hpet-disabled-without-stimer`?\n"
    );
}

#[test]
fn config_subcommand_shows_sources() {
    let dir = repo(CONFIG);
    let r = run_in(
        &dir.path().join("vms/sub"),
        &[
            "config",
            "synic.xml",
            "--ignore",
            "hyperv/ipi-requires-vpindex",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let path = dir.path().join(".virt-lint.yaml");
    let p = path.display();
    let head = format!(
        "config file: {p}\nfail-on: warning (default)\nlibvirt-version: 11.3.0 (default: the newest the rules know)\nignore: windows/ ({p})\nignore: hyperv/ipi-requires-vpindex (command line)\nper-rule: hyperv/synic-requires-vpindex: severity info ({p}:5:15)\nenabled rules ("
    );
    assert!(r.stdout.starts_with(&head), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("\n  hyperv/synic-requires-vpindex (info, safe fix: "),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("  windows/"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("  hyperv/ipi-requires-vpindex"),
        "{}",
        r.stdout
    );
}

#[test]
fn exclude_from_the_command_line_and_the_config() {
    let dir = repo("exclude: [synic.xml]\n");
    let (code, out) = concise(
        dir.path(),
        &["--isolated", "--exclude", "vms/sub/win10.xml", "."],
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("synic.xml") && !out.contains("win10.xml"),
        "{out}"
    );
    let (code, out) = concise(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert!(
        !out.contains("synic.xml") && out.contains("win10.xml"),
        "{out}"
    );
    // Explicitly named files are excluded too (pre-commit passes every staged file).
    let (code, out) = concise(dir.path(), &["vms/sub/synic.xml"]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn quiet_and_statistics() {
    let r = run(&[
        "--quiet",
        "--format",
        "concise",
        "fixtures/network-default.xml",
        "fixtures/win10-healthy.xml",
    ]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (0, "", ""));
    // The seed rules only: the catalog's other hyperv/windows rules also fire on these
    // fixtures and would change the counts and column widths.
    let r = run(&[
        "--statistics",
        "--select",
        "hyperv/,windows/hpet-disabled-without-stimer",
        "--ignore",
        "hyperv/evmcs-intel-only",
        "fixtures/fix",
    ]);
    assert_eq!(r.code, 1);
    let first = r.stdout.lines().next().unwrap();
    assert_eq!(
        first,
        "6  windows/hpet-disabled-without-stimer      warning"
    );
    assert!(
        r.stdout
            .contains("\n1  hyperv/ipi-requires-vpindex           [*] error\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Found "), "{}", r.stdout);
}

#[test]
fn unsafe_fix_opt_in_and_fix_choice() {
    let dir = repo(
        "per-rule:\n  windows/hpet-disabled-without-stimer:\n    fix: 1\n    unsafe-fixes: true\n",
    );
    let r = run_in(dir.path(), &["--diff", "vms/sub/win10.xml"], None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "-    <timer name='hpet' present='no'/>\n+    <timer name='hpet' present='yes'/>"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("stimer"), "{}", r.stdout);
}

#[test]
fn a_severity_raised_to_error() {
    let dir = repo(
        "per-rule:\n  windows/hpet-disabled-without-stimer: {severity: error}\nfail-on: error\n",
    );
    let (code, out) = concise(dir.path(), &["vms/sub/win10.xml"]);
    assert_eq!(code, 1);
    assert!(out.contains(&format!(": error[{HPET}] ")), "{out}");
    let (code, out) = concise(
        dir.path(),
        &["--isolated", "--fail-on", "error", "vms/sub/win10.xml"],
    );
    assert_eq!(code, 0, "a warning does not fail with --fail-on error");
    assert!(out.contains(&format!(": warning[{HPET}] ")), "{out}");
}
