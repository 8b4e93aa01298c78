//! Generated rule packs for the benchmarks: `generated_rules(n)` writes `n` rules in the
//! shapes the built-in rules use (document-wide `present`/`absent` combinations, `for-each`
//! over devices with value tests, numeric comparisons, regular expressions, rules with
//! fixes), over the paths real rules look at. None is tailored to the benchmark corpus:
//! most of them find nothing, which is what a large rule pack does on a healthy guest, and
//! a rule that finds nothing still has to evaluate its condition.
//!
//! Shared by `benches/throughput.rs` (lint cost with a large pack) and
//! `examples/gen_rules.rs` (the files `scripts/startup-bench.sh` embeds in a binary).

use std::fmt::Write;

/// One YAML rule file holding `n` generated rules with ids `bench/generated-NNN`.
pub fn generated_rules(n: usize) -> String {
    let mut out = String::from("rules:\n");
    for i in 0..n {
        let id = format!("bench/generated-{i:03}");
        let body = match i % 8 {
            0 => format!(
                "    when:\n      all:\n        - present: \"devices/disk[@device='disk']/target[@bus='bus{i}']\"\n        - absent: \"features/acpi\"\n"
            ),
            1 => {
                format!("    when:\n      value: \"name\"\n      matches: \"^bench-{i}-[a-z]+$\"\n")
            }
            2 => format!(
                "    for-each: \"devices/interface\"\n    when:\n      value: \"model/@type\"\n      equals: \"model{i}\"\n    report-at: \"model\"\n"
            ),
            3 => format!(
                "    for-each: \"devices/disk\"\n    when:\n      all:\n        - value: \"driver/@cache\"\n          in: [\"mode{i}a\", \"mode{i}b\"]\n        - absent: \"shareable\"\n    report-at: \"driver\"\n"
            ),
            4 => format!(
                "    when:\n      value: \"vcpu\"\n      greater-than: {}\n",
                4096 + i
            ),
            5 => format!(
                "    when:\n      any:\n        - present: \"clock/timer[@name='timer{i}'][@present='yes']\"\n        - present: \"features/hyperv/feature{i}[@state='on']\"\n"
            ),
            6 => format!(
                "    for-each: \"clock/timer[@name='timer{i}']\"\n    when:\n      present: \".[@present='no']\"\n    fix:\n      safety: unsafe\n      title: turn timer{i} on\n      edits:\n        - set: \"@present\"\n          to: 'yes'\n"
            ),
            _ => format!(
                "    when:\n      all:\n        - present: \"os/type[@machine='machine{i}']\"\n        - not:\n            present: \"devices/controller[@type='usb'][@model='model{i}']\"\n"
            ),
        };
        let _ = write!(
            out,
            "  - id: {id}\n    severity: info\n    summary: generated rule {i}\n    explanation: A generated rule for the benchmarks.\n{body}    message: \"generated rule {i} matched\"\n"
        );
    }
    out
}
