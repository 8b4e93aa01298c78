//! Shared test helpers: running the binary and comparing against golden files.
#![allow(dead_code)]

pub mod domains;
pub mod pipeline;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Run {
    pub code: i32,
    /// Standard output as text (invalid UTF-8 replaced); `stdout_bytes` has it exactly.
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// The form stored in golden files.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run `virt-lint ARGS` in `dir` with `stdin`.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_virt-lint"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virt-lint");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Run `virt-lint ARGS` from the repository root.
pub fn run(args: &[&str]) -> Run {
    run_in(&root(), args, None)
}

/// Compare `actual` with `tests/golden/NAME`; `BLESS=1` rewrites the file instead.
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {} (run with BLESS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        panic!(
            "{} differs from the output (BLESS=1 rewrites it):\n{diff}",
            path.display()
        );
    }
}

/// Whether an external tool is usable; when it is not, tests skip with a printed reason,
/// unless VIRT_LINT_REQUIRE_TOOLS is set (as .ci/run does), where that is a failure.
pub fn have_tool(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        if std::env::var_os("VIRT_LINT_REQUIRE_TOOLS").is_some() {
            panic!("`{tool}` is required (VIRT_LINT_REQUIRE_TOOLS is set) but was not found");
        }
        eprintln!("skipped: `{tool}` is not installed");
    }
    ok
}

/// The libvirt schema used to validate fixed output.
pub fn domain_schema() -> Option<PathBuf> {
    let path = root().join("../shared/schemas/libvirt-11.3/domain.rng");
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("VIRT_LINT_REQUIRE_TOOLS").is_some() {
        panic!(
            "the libvirt schema {} is required but missing",
            path.display()
        );
    }
    eprintln!("skipped: libvirt schema not found at {}", path.display());
    None
}

/// Validate `file` against libvirt's domain schema with xmllint; Err(message) when invalid.
pub fn xmllint_validate(schema: &Path, file: &Path) -> Result<(), String> {
    let out = Command::new("xmllint")
        .args(["--noout", "--relaxng"])
        .arg(schema)
        .arg(file)
        .output()
        .expect("run xmllint");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The property tests' configuration: `default_cases` cases from a fixed seed, so a run
/// (and CI) is repeatable, failures reported rather than saved beside the tests.
/// `PROPTEST_CASES=N` runs a deeper search and `PROPTEST_RNG_SEED=S` another one; a
/// failure's message names the case, which then goes into a test of its own.
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    let defaults = Config::default(); // reads the PROPTEST_* variables
    let env = |name: &str| std::env::var_os(name).is_some();
    Config {
        cases: if env("PROPTEST_CASES") {
            defaults.cases
        } else {
            default_cases
        },
        rng_seed: if env("PROPTEST_RNG_SEED") {
            defaults.rng_seed
        } else {
            RngSeed::Fixed(0x7669_7274)
        },
        failure_persistence: None,
        ..defaults
    }
}
