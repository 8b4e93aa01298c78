//! Shell completions and the man page, generated from the clap definition.

mod common;

use common::run;

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_virt__lint()"),
        ("zsh", "#compdef virt-lint"),
        ("fish", "complete -c virt-lint"),
        ("elvish", "edit:completion:arg-completer[virt-lint]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains(marker), "{shell}:\n{}", r.stdout);
        // fish writes `-l select`, the others `--select`.
        assert!(
            r.stdout.contains("--select") || r.stdout.contains("-l select"),
            "{shell} completes --select"
        );
    }
    let r = run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2);
}

#[test]
fn bash_completion_script_parses() {
    let r = run(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("virt-lint.bash");
    std::fs::write(&script, r.stdout).unwrap();
    match std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
    {
        Ok(status) => assert!(status.success(), "bash -n rejects the script"),
        Err(_) => eprintln!("skipped: bash is not installed"),
    }
}

#[test]
fn man_page() {
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    assert!(r.stdout.contains(".TH virt-lint 1"), "{}", r.stdout);
    for option in ["\\-\\-select", "\\-\\-add\\-ignore", "\\-\\-format"] {
        assert!(r.stdout.contains(option), "man page lacks {option}");
    }
}
