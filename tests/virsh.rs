//! Against real `virsh` output: libvirt's in-process test driver (`test:///default`, no
//! daemon needed) defines our fixture and dumps it back as libvirt writes it; virt-lint
//! reads that from standard input, and libvirt accepts the fixed definition again.

mod common;

use std::process::{Command, Stdio};

use common::{have_tool, root, run_in};

/// Run virsh commands (`;`-separated) in one test-driver session; its stdout.
fn virsh(commands: &str) -> String {
    let out = Command::new("virsh")
        .args(["-q", "-c", "test:///default", commands])
        .current_dir(root())
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

#[test]
fn virsh_dumpxml_piped_into_virt_lint() {
    if !have_tool("virsh") {
        return;
    }
    let dumped = virsh("define fixtures/win10-hpet-off.xml; dumpxml win10-office");
    assert!(
        dumped.contains("<timer name='hpet' present='no'/>"),
        "{dumped}"
    );

    let r = run_in(
        &root(),
        &[
            "--format",
            "concise",
            "--stdin-filename",
            "win10-office",
            "-",
        ],
        Some(dumped.as_bytes()),
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    let hpet_line = dumped
        .lines()
        .position(|l| l.contains("<timer name='hpet'"))
        .unwrap()
        + 1;
    let expected =
        format!("win10-office:{hpet_line}:5: warning[windows/hpet-disabled-without-stimer] ");
    assert!(
        r.stdout.lines().any(|l| l.starts_with(&expected)),
        "{}",
        r.stdout
    );

    // Fix through stdin, then let libvirt parse the result: it defines, and keeps stimer.
    let fixed = run_in(
        &root(),
        &["--fix", "--unsafe-fixes", "-"],
        Some(dumped.as_bytes()),
    );
    assert_eq!(fixed.code, 0, "{}", fixed.transcript());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fixed.xml");
    std::fs::write(&file, &fixed.stdout).unwrap();
    let redumped = virsh(&format!("define {}; dumpxml win10-office", file.display()));
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
    let again = run_in(&root(), &["-"], Some(redumped.as_bytes()));
    assert_eq!(
        again.code,
        0,
        "libvirt's rendering of the fixed domain is clean:\n{}",
        again.transcript()
    );
}
