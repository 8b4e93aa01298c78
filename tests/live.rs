//! `--connect`, `--domain`, `--all-domains` against libvirt's own test driver, for real:
//! `test:///ABSOLUTE/PATH/fixtures/libvirt-test-node.xml` is a node with a Windows 10 guest
//! (HPET off, no stimer) and a clean Linux guest, served by virsh without any daemon.
//!
//! The test driver reads the node file afresh in every virsh process, so a `define` does
//! not outlive its process. To check what `--fix` defined, the tests run virt-lint with a
//! virsh wrapper (`VIRT_LINT_VIRSH`) that logs each call and keeps a copy of the defined
//! file, then have the real virsh define that copy and dump it back in one session.
//!
//! These tests need `virsh` (libvirt-clients): they skip with a note where it is absent,
//! and fail instead when VIRT_LINT_REQUIRE_TOOLS is set (as `.ci/run` does).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Run, have_tool, root};

fn node() -> PathBuf {
    root().join("fixtures/libvirt-test-node.xml")
}

fn uri() -> String {
    format!("test://{}", node().display())
}

/// Run virt-lint with `env` set, standard input closed (or fed `stdin`).
fn run_env(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_virt-lint"));
    // The test node's Windows guest also gets windows/hyperv-set-incomplete (info), whose
    // fix supersedes the stimer warning's; these tests follow the warning.
    if args.contains(&"--connect") {
        cmd.args(["--ignore", "windows/hyperv-set-incomplete"]);
    }
    cmd.args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .env_remove("VIRT_LINT_VIRSH")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn virt-lint");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout.clone()).unwrap(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Run the real virsh on the test node (`;`-separated commands in one session).
fn virsh(commands: &str) -> String {
    let out = Command::new("virsh")
        .args(["-c", &uri(), commands])
        .stdin(Stdio::null())
        .output()
        .expect("run virsh");
    assert!(
        out.status.success(),
        "virsh {commands}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The line of the first line of `text` containing `needle`, 1-based.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// A virsh wrapper in `dir`: logs its arguments to `dir/log` and copies a defined file to
/// `dir/defined.xml`, then runs the real virsh.
fn virsh_wrapper(dir: &Path) -> PathBuf {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v virsh"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = dir.join("virsh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{dir}/log'\nfor last; do :; done\ncase \" $* \" in *' define '*) cp \"$last\" '{dir}/defined.xml';; esac\nexec '{real}' \"$@\"\n",
            dir = dir.display(),
            real = real.trim()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn all_domains_are_linted_under_uri_slash_name() {
    if !have_tool("virsh") {
        return;
    }
    let uri = uri();
    let dumped = virsh("dumpxml --inactive win10-desk");
    let hpet = line_of(&dumped, "<timer name='hpet' present='no'/>");
    let r = run_env(
        &["--connect", &uri, "--all-domains", "--format", "concise"],
        &[],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(
        r.stdout,
        format!(
            "{uri}/win10-desk:{hpet}:5: warning[windows/hpet-disabled-without-stimer] HPET is off and the Hyper-V synthetic timer (stimer) is not enabled: Windows falls back to port-I/O timers and burns host CPU while idle\n\
             Found 1 warning in 1 domain (2 domains checked).\n\
             (1 hidden unsafe fix can be enabled with `--unsafe-fixes`.)\n"
        )
    );
    assert_eq!(r.stderr, "");

    // The default format names the domain the same way, and one --domain reads only it.
    let r = run_env(&["--connect", &uri, "--domain", "win10-desk"], &[], None);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout
            .contains(&format!("  --> {uri}/win10-desk:{hpet}:5\n")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("(1 domain checked)"), "{}", r.stdout);
    let r = run_env(&["--connect", &uri, "--domain", "linux-web"], &[], None);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.stdout, "No problems found (1 domain checked).\n");
}

#[test]
fn diff_shows_the_fix_of_a_live_definition() {
    if !have_tool("virsh") {
        return;
    }
    let uri = uri();
    let dumped = virsh("dumpxml --inactive win10-desk");
    let r = run_env(
        &[
            "--connect",
            &uri,
            "--all-domains",
            "--diff",
            "--unsafe-fixes",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    let at = line_of(&dumped, "<spinlocks state='on' retries='8191'/>");
    let context: Vec<&str> = dumped.lines().skip(at - 3).take(6).collect();
    assert_eq!(
        r.stdout,
        format!(
            "--- a/{uri}/win10-desk\n+++ b/{uri}/win10-desk\n@@ -{from},6 +{from},9 @@\n {}\n {}\n {}\n+      <vpindex state='on'/>\n+      <synic state='on'/>\n+      <stimer state='on'/>\n {}\n {}\n {}\n",
            context[0],
            context[1],
            context[2],
            context[3],
            context[4],
            context[5],
            from = at - 2,
        )
    );
    assert_eq!(r.stderr, "Would fix 1 finding in 1 domain.\n");
}

#[test]
fn fix_yes_redefines_the_domain_and_libvirt_accepts_it() {
    if !have_tool("virsh") {
        return;
    }
    let uri = uri();
    let dir = tempfile::tempdir().unwrap();
    let wrapper = virsh_wrapper(dir.path());
    let wrapper = wrapper.to_str().unwrap();
    let r = run_env(
        &[
            "--connect",
            &uri,
            "--all-domains",
            "--fix",
            "--unsafe-fixes",
            "--yes",
        ],
        &[("VIRT_LINT_VIRSH", wrapper)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.transcript());
    let (head, tail) = r
        .stdout
        .split_once(" defined from ")
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert_eq!(
        head,
        format!("Redefined {uri}/win10-desk (Domain 'win10-desk'")
    );
    assert!(
        tail.ends_with(
            "). The new definition takes effect at the domain's next cold boot: shut it down and start it (a reboot keeps the running configuration).\n\n\
             Fixed 1 finding in 1 domain.\n\
             No problems remain (2 domains checked).\n"
        ),
        "{tail}"
    );

    // virsh was called to list, to dump each domain, and to define the fixed one only.
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    let mut calls: Vec<&str> = log.lines().collect();
    calls.sort();
    assert_eq!(calls.len(), 4, "{log}");
    assert!(
        calls[0].starts_with(&format!("-c {uri} define -- /")),
        "{log}"
    );
    assert_eq!(
        &calls[1..],
        [
            format!("-c {uri} dumpxml --inactive -- linux-web"),
            format!("-c {uri} dumpxml --inactive -- win10-desk"),
            format!("-c {uri} list --all --name"),
        ]
    );

    // The defined file holds the stimer closure, and libvirt keeps it.
    let defined = dir.path().join("defined.xml");
    let redumped = virsh(&format!(
        "define {}; dumpxml --inactive win10-desk",
        defined.display()
    ));
    for line in [
        "<vpindex state='on'/>",
        "<synic state='on'/>",
        "<stimer state='on'/>",
    ] {
        assert!(
            redumped.contains(line),
            "libvirt dropped {line}:\n{redumped}"
        );
    }
    let xml = redumped.split_once('\n').unwrap().1;
    let again = run_env(&["-"], &[], Some(xml.as_bytes()));
    assert_eq!(again.code, 0, "{}", again.transcript());
}

#[test]
fn fix_without_yes_and_without_a_terminal_refuses() {
    if !have_tool("virsh") {
        return;
    }
    let uri = uri();
    let dir = tempfile::tempdir().unwrap();
    let wrapper = virsh_wrapper(dir.path());
    let r = run_env(
        &[
            "--connect",
            &uri,
            "--all-domains",
            "--fix",
            "--unsafe-fixes",
        ],
        &[("VIRT_LINT_VIRSH", wrapper.to_str().unwrap())],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert_eq!(
        r.stderr,
        format!(
            "error: {uri}/win10-desk: not redefined: changing a live domain needs --yes when there is no terminal to confirm on; its definition is unchanged\n"
        )
    );
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(!log.contains("define"), "{log}");
    assert!(!dir.path().join("defined.xml").exists());
}

#[test]
fn a_failing_uri_and_an_unknown_domain_are_errors_and_the_rest_is_linted() {
    if !have_tool("virsh") {
        return;
    }
    let uri = uri();
    let hpet = line_of(
        &virsh("dumpxml --inactive win10-desk"),
        "<timer name='hpet' present='no'/>",
    );
    let missing = root().join("fixtures/no-such-node.xml");
    let bad = format!("test://{}", missing.display());
    let r = run_env(
        &[
            "--connect",
            &bad,
            "--connect",
            &uri,
            "--domain",
            "win10-desk",
            "--domain",
            "no-such-guest",
            "--format",
            "concise",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.transcript());
    let errors: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{}", r.stderr);
    assert!(
        errors[0].starts_with(&format!("error: {bad}: cannot connect: ")),
        "{}",
        r.stderr
    );
    assert!(errors[0].contains(&missing.display().to_string()));
    assert_eq!(
        errors[1],
        format!("error: {uri}: no domain named `no-such-guest`")
    );
    assert!(
        r.stdout.starts_with(&format!(
            "{uri}/win10-desk:{hpet}:5: warning[windows/hpet-disabled-without-stimer] "
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .ends_with("Found 1 warning in 1 domain (1 domain checked); 2 inputs could not be checked.\n(1 hidden unsafe fix can be enabled with `--unsafe-fixes`.)\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_missing_virsh_is_named() {
    // No virsh needed: the point is its absence.
    let r = run_env(
        &["--connect", "test:///default", "--all-domains"],
        &[("VIRT_LINT_VIRSH", "/nonexistent/bin/virsh")],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert_eq!(
        r.stderr,
        "error: /nonexistent/bin/virsh: not installed or not on PATH; install libvirt-clients (Debian, Ubuntu) or libvirt-client (Fedora), or name the program in VIRT_LINT_VIRSH\n"
    );
    assert_eq!(
        r.stdout,
        "No findings (0 files checked); 1 input could not be checked.\n"
    );
}

#[test]
fn live_options_need_each_other() {
    let r = run_env(&["--domain", "x"], &[], None);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("--connect <URI>"), "{}", r.stderr);
    let r = run_env(&["--connect", "test:///default"], &[], None);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(
        r.stderr.contains("<--domain <NAME>|--all-domains>"),
        "{}",
        r.stderr
    );
    let r = run_env(
        &[
            "--connect",
            "test:///default",
            "--all-domains",
            "--domain",
            "x",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
}

#[test]
fn repository_rules_compare_live_domains_with_files() {
    if !have_tool("virsh") {
        return;
    }
    let uri = uri();
    // A file copy of the Windows guest, as a repository would hold it: same UUID, name
    // and MAC address as the live domain.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("win10-desk.xml");
    let dumped = virsh("dumpxml --inactive win10-desk");
    std::fs::write(&copy, &dumped).unwrap();
    let uuid = line_of(&dumped, "<uuid>");
    let disk = line_of(&dumped, "<source file='/srv/guests/win10-desk.qcow2'/>");
    let mac = line_of(&dumped, "<mac address=");
    let copy = copy.to_str().unwrap();
    let r = run_env(
        &[
            "--connect",
            &uri,
            "--domain",
            "win10-desk",
            "--format",
            "concise",
            "--fail-on",
            "error",
            copy,
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    let live = format!("{uri}/win10-desk");
    let repo: Vec<&str> = r.stdout.lines().filter(|l| l.contains("[repo/")).collect();
    assert_eq!(
        repo,
        [
            format!(
                "{copy}:{uuid}:3: error[repo/duplicate-uuid] UUID 6a1f0c3e-2d4b-4f8e-a917-5b0c9d7e3a21 is also used by another domain definition (also in {live}:{uuid}:3)"
            ),
            format!(
                "{copy}:{disk}:15: error[repo/shared-writable-disk] this disk's backing object is also used by another domain, and not every user is read-only or shareable (also in {live}:{disk}:15)"
            ),
            format!(
                "{copy}:{mac}:12: error[repo/duplicate-mac] MAC address 52:54:00:6a:1f:0c is also used by another domain (also in {live}:{mac}:12)"
            ),
            format!(
                "{live}:{uuid}:3: error[repo/duplicate-uuid] UUID 6a1f0c3e-2d4b-4f8e-a917-5b0c9d7e3a21 is also used by another domain definition (also in {copy}:{uuid}:3)"
            ),
            format!(
                "{live}:{disk}:15: error[repo/shared-writable-disk] this disk's backing object is also used by another domain, and not every user is read-only or shareable (also in {copy}:{disk}:15)"
            ),
            format!(
                "{live}:{mac}:12: error[repo/duplicate-mac] MAC address 52:54:00:6a:1f:0c is also used by another domain (also in {copy}:{mac}:12)"
            ),
        ],
        "{}",
        r.stdout
    );
    // Names collide per host: the file is not on the test node's host.
    assert!(!r.stdout.contains("repo/duplicate-name"), "{}", r.stdout);
    // The summary names the file and the live domain apart.
    assert!(
        r.stdout
            .contains(" in 1 file and 1 domain (1 file and 1 domain checked).\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn fix_on_a_terminal_asks_first() {
    // `script` runs virt-lint on a pseudo-terminal, fed the answer on its standard input.
    if !have_tool("virsh") || !have_tool("script") {
        return;
    }
    let uri = uri();
    let answer = |reply: &str| {
        let dir = tempfile::tempdir().unwrap();
        let wrapper = virsh_wrapper(dir.path());
        let mut child = Command::new("script")
            .args([
                "-qec",
                &format!(
                    "{} --color never --connect {uri} --domain win10-desk --fix --unsafe-fixes",
                    env!("CARGO_BIN_EXE_virt-lint")
                ),
                "/dev/null",
            ])
            .env("VIRT_LINT_VIRSH", &wrapper)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{reply}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        (String::from_utf8_lossy(&out.stdout).into_owned(), log)
    };
    let (shown, log) = answer("y");
    assert!(
        shown.contains("+      <stimer state='on'/>"),
        "the diff is shown before the question:\n{shown}"
    );
    assert!(
        shown.contains(&format!("Redefine {uri}/win10-desk with 1 fix? [y/N]")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "Redefined {uri}/win10-desk (Domain 'win10-desk' defined from "
        )),
        "{shown}"
    );
    assert!(log.contains(" define -- "), "{log}");

    let (shown, log) = answer("n");
    assert!(
        shown.contains(&format!(
            "error: {uri}/win10-desk: not redefined (declined); its definition is unchanged"
        )),
        "{shown}"
    );
    assert!(!log.contains(" define "), "{log}");
}
