//! Interruption: `virt-lint --fix` over 1,000 files, killed (SIGKILL, nothing to clean up
//! with) after random short delays, leaves every file either byte-identical to its
//! original or exactly as a complete run fixes it: writes are atomic (a temporary file,
//! fsync, rename), so no file is ever empty, truncated or half-fixed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::root;
use virt_lint::pipeline;
use virt_lint::rules::Safety;

const FILES: usize = 1000;
const ROUNDS: usize = 8;

/// The originals: every fixture of `fixtures/fix` and the motivating guest, varied by
/// name so that no two files are the same.
fn originals() -> Vec<(String, Vec<u8>)> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/fix"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    sources.push(root().join("fixtures/win10-hpet-off.xml"));
    sources.push(root().join("fixtures/linux-clean.xml"));
    sources.sort();
    let texts: Vec<String> = sources
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    (0..FILES)
        .map(|i| {
            let text = &texts[i % texts.len()];
            // A comment after the root keeps every file distinct without touching what
            // the rules look at.
            let varied = format!("{text}<!-- copy {i} -->\n");
            (format!("vm-{i:04}.xml"), varied.into_bytes())
        })
        .collect()
}

fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn fix_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_virt-lint"));
    cmd.args(["--fix", "--unsafe-fixes", "--format", "concise", "."])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// A small xorshift generator: no dependency, and the seed is printed to replay a run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn killed_fix_runs_leave_every_file_original_or_fully_fixed() {
    let originals = originals();

    // What a complete run makes of each file: the library's pipeline, which the binary
    // runs (checked below against one complete run of the binary on a sample).
    let rules = virt_lint::rules::load_builtin().unwrap();
    let fixed: BTreeMap<&str, Vec<u8>> = originals
        .iter()
        .map(|(name, bytes)| {
            let options = pipeline::Options::fix(Safety::Unsafe);
            let after = match pipeline::check_bytes(bytes, &rules, options) {
                pipeline::Outcome::Linted(linted) => linted.final_text().as_bytes().to_vec(),
                _ => bytes.clone(),
            };
            (name.as_str(), after)
        })
        .collect();
    let sample = tempfile::tempdir().unwrap();
    write_all(sample.path(), &originals[..40]);
    let started = Instant::now();
    let status = fix_command(sample.path()).status().unwrap();
    let per_file = started.elapsed() / 40;
    assert_ne!(status.code(), Some(2), "the complete run failed");
    for (name, _) in &originals[..40] {
        assert_eq!(
            std::fs::read(sample.path().join(name)).unwrap(),
            fixed[name.as_str()],
            "{name}: the binary and the library disagree"
        );
    }
    let changed = originals
        .iter()
        .filter(|(name, bytes)| fixed[name.as_str()] != *bytes)
        .count();
    assert!(
        changed > FILES / 2,
        "only {changed} of {FILES} files are changed by fixing"
    );

    let seed = std::env::var("VIRT_LINT_INTERRUPT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    // Kill within the first part of a run (every write is alike; the start, with the
    // thread pool spinning up, is the least exercised), at most 1.5 s.
    let window = (per_file * FILES as u32).min(Duration::from_millis(1500));
    eprintln!(
        "interrupt: about {per_file:?} per file; killing within {window:?}; seed {seed} (VIRT_LINT_INTERRUPT_SEED replays it)"
    );
    let mut rng = Rng(seed);
    let window = window.as_micros() as u64;
    let mut partial_rounds = 0;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &originals);
        let delay = Duration::from_micros(rng.below(window));
        let mut child = fix_command(dir.path()).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();

        let (mut untouched, mut done) = (0, 0);
        for (name, original) in &originals {
            let now = std::fs::read(dir.path().join(name))
                .unwrap_or_else(|e| panic!("round {round}: {name} is gone: {e}"));
            if now == *original {
                untouched += 1;
            } else if now == fixed[name.as_str()] {
                done += 1;
            } else {
                panic!(
                    "round {round} (killed after {delay:?}, seed {seed}): {name} is neither its original nor fully fixed ({} bytes)",
                    now.len()
                );
            }
        }
        // Temporary files a SIGKILL left behind are never taken for domain XML.
        let extra: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !originals.iter().any(|(o, _)| o == n))
            .collect();
        for name in &extra {
            assert!(
                name.starts_with(".virt-lint-") && name.ends_with(".tmp"),
                "round {round}: unexpected file {name}"
            );
        }
        if done > 0 && done < changed {
            partial_rounds += 1;
        }
        eprintln!(
            "interrupt: round {round}: killed after {delay:?}: {done} fixed, {untouched} untouched, {} temporary files left",
            extra.len()
        );
    }
    eprintln!("interrupt: {partial_rounds} of {ROUNDS} rounds were killed mid-run");
}
