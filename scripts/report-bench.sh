#!/usr/bin/env bash
# Reporting benchmark: the whole process in every output format, for one guest with many
# findings and (when ../shared/corpus exists) for a corpus of many files.
#
#   scripts/report-bench.sh [RUNS] [DISKS]
#
# The guest is generated (target/report-bench/many-disks.xml): DISKS (default 2000)
# virtio disks with `io='native'` and `cache='writeback'`, one error with a fix each. A
# format whose cost per finding grows with the file shows here first. Each command runs
# RUNS times (default 5), interleaved, standard output to /dev/null; medians are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
disks="${2:-2000}"

cargo build --release --quiet
mkdir -p target/report-bench
guest=target/report-bench/many-disks.xml
python3 - "$disks" "$guest" <<'PY'
import sys

count, path = int(sys.argv[1]), sys.argv[2]

def letters(i):
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(97 + r) + out
    return out

disks = "".join(
    f"    <disk type='file' device='disk'>\n"
    f"      <driver name='qemu' type='qcow2' cache='writeback' io='native'/>\n"
    f"      <source file='/var/lib/libvirt/images/d{i}.qcow2'/>\n"
    f"      <target dev='vd{letters(i)}' bus='virtio'/>\n"
    f"    </disk>\n"
    for i in range(count)
)
with open(path, "w") as f:
    f.write(
        "<domain type='kvm'>\n  <name>many-disks</name>\n"
        "  <memory unit='KiB'>4194304</memory>\n  <vcpu>2</vcpu>\n"
        "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n"
        f"  <devices>\n{disks}  </devices>\n</domain>\n"
    )
PY

inputs=("$guest")
if [ -d ../shared/corpus ]; then
  inputs+=(../shared/corpus)
fi
python3 - "$runs" target/release/virt-lint "${inputs[@]}" <<'PY'
import statistics, subprocess, sys, time

runs, binary, inputs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
formats = ["text", "concise", "json", "sarif", "github", "gitlab", "junit"]
for target in inputs:
    commands = [[binary, "--format", f, target] for f in formats]
    commands.append([binary, "--diff", "--unsafe-fixes", target])
    times = {i: [] for i in range(len(commands))}
    for _ in range(runs):
        for i, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[i].append(time.perf_counter() - start)
    print(f"{target} (median of {runs}):")
    for i, command in enumerate(commands):
        print(f"  {' '.join(command[1:-1]):<24} {statistics.median(times[i]) * 1000:8.1f} ms")
PY
