#!/usr/bin/env bash
# Startup benchmark: the whole process for one file, side by side with `virt-lint --version`,
# with the built-in rule pack and with a pack grown by generated rules.
#
#   scripts/startup-bench.sh [RUNS] [EXTRA_RULES]
#
# RUNS (default 300) processes of each command are started in turn (interleaved, so a
# change of clock speed hits them alike), and the mean and median wall time per process are
# printed. The packs: the 9 rules virt-lint started with (`--select` of the built-in
# set), the whole built-in pack, and a second binary with EXTRA_RULES (default 141)
# generated rules embedded as built-in rules (VIRT_LINT_EXTRA_BUILTIN_RULES, built in
# target/startup-bench), run with the 9 rules and the generated ones selected (150 rules
# with the default) and with everything. The generated rules name elements every domain has, so they are
# evaluated, not skipped: that case shows the cost of rules that run, not of start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-300}"
extra="${2:-141}"

cargo build --release --quiet
base=target/release/virt-lint
gen_dir="$PWD/target/startup-bench/generated-rules"
rm -rf "$gen_dir"
cargo run --release --quiet --example gen_rules -- "$extra" "$gen_dir"
VIRT_LINT_EXTRA_BUILTIN_RULES="$gen_dir" CARGO_TARGET_DIR=target/startup-bench \
  cargo build --release --quiet
big=target/startup-bench/release/virt-lint

file=fixtures/win10-hpet-off.xml
python3 - "$runs" "$base" "$big" "$file" <<'PY'
import statistics, subprocess, sys, time

runs, base, big, file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def count_rules(binary):
    out = subprocess.run([binary, "rules"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if "/" in line.split(" ")[0])

seed = ",".join([
    "windows/hpet-disabled-without-stimer", "windows/hypervclock-missing",
    "hyperv/synic-requires-vpindex", "hyperv/stimer-requires-synic",
    "hyperv/stimer-requires-hypervclock", "hyperv/stimer-direct-requires-stimer",
    "hyperv/tlbflush-requires-vpindex", "hyperv/ipi-requires-vpindex",
    "hyperv/evmcs-requires-vapic",
])
cases = [
    (f"{base} --version", [base, "--version"]),
    (f"{base} --select (9 rules) FILE", [base, "--select", seed, file]),
    (f"{base} FILE ({count_rules(base)} rules)", [base, file]),
    (f"{big} --version", [big, "--version"]),
    (f"{big} --select (9 + generated = 150 rules) FILE", [big, "--select", seed + ",bench", file]),
    (f"{big} FILE ({count_rules(big)} rules)", [big, file]),
]
times = {name: [] for name, _ in cases}
for _ in range(runs):
    for name, argv in cases:
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - start)

print(f"startup: {runs} runs each, interleaved; FILE = {file}")
print()
print("| command | mean | median |")
print("|---|---:|---:|")
for name, _ in cases:
    t = times[name]
    print(f"| `{name}` | {statistics.mean(t)*1e3:.2f} ms | {statistics.median(t)*1e3:.2f} ms |")
print()
for binary, prefix, label in [
    (base, f"{base} --select", "9 rules"),
    (base, f"{base} FILE", "built-in pack"),
    (big, f"{big} --select", "150 rules (9 + generated)"),
    (big, f"{big} FILE", "grown pack"),
]:
    version = statistics.median(times[f"{binary} --version"])
    lint = statistics.median(next(v for k, v in times.items() if k.startswith(prefix)))
    print(f"{label}: one file costs {(lint - version)*1e3:+.2f} ms over --version (median)")
PY
