#!/bin/sh
# Instructions each built-in rule costs over the benchmark's generated corpus, from one
# callgrind run (steady on a busy machine, unlike times). Usage:
#   scripts/rule-costs.sh [FILES]      (default 200 documents; prints the costliest first)
# Needs valgrind. Each rule's count is its pass alone over the parsed documents, less the
# pass with no rule (the per-document overhead, printed first).
set -eu
files=${1:-200}
cd "$(dirname "$0")/.."
cargo bench --bench throughput --no-run 2>/dev/null
bench=$(ls -t target/release/deps/throughput-* | grep -v '\.d$' | head -n 1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
VIRT_LINT_BENCH_FILES=$files VIRT_LINT_BENCH_EACH_RULE=1 \
    valgrind --tool=callgrind --dump-before='*pass_boundary*' \
    --callgrind-out-file="$out/cg" "$bench" >"$out/passes" 2>/dev/null
# Part 1 is everything before the first pass; part k+1 is pass k.
for f in "$out"/cg.*; do
    part=${f##*.}
    total=$(sed -n 's/^summary: //p' "$f")
    echo "$part $total"
done | sort -n >"$out/parts"
sed -n 's/^pass //p' "$out/passes" | awk -v files="$files" -v parts="$out/parts" '
    BEGIN { while ((getline line < parts) > 0) { split(line, a, " "); cost[a[1]] = a[2] } }
    { id[NR] = $0 }
    END {
        base = cost[2]
        printf "%12.0f  per document with no rule (%s documents)\n", base / files, files
        for (i = 2; i <= NR; i++) printf "%12.0f  %s\n", (cost[i + 1] - base) / files, id[i]
    }' | { read -r first; echo "$first"; sort -rn; }
