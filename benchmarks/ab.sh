#!/usr/bin/env bash
# A/B on one noisy machine: alternate an older commit's benchmarks with the current tree's, so that
# the ratio between them means something even when the machine's speed drifts.
#   benchmarks/ab.sh 17596d6 [pairs]      one JSON line per run, prefixed "old " / "new "
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:?usage: benchmarks/ab.sh COMMIT [PAIRS]}
PAIRS=${2:-3}
PY=$PWD/.venv/bin/python
OLD=/tmp/mts_ab_$REF
[[ -d $OLD ]] || git worktree add -f "$OLD" "$REF" -q
for _ in $(seq "$PAIRS"); do
  for bench in "bench_rating.py" "bench_generate.py" "bench_ingest.py --store sqlite --batch 10000"; do
    # shellcheck disable=SC2086
    (cd "$OLD/benchmarks" && MTS_BENCH_CACHE=/tmp/mts_bench_$REF $PY $bench | sed 's/^/old /')
    # shellcheck disable=SC2086
    (cd benchmarks && $PY $bench | sed 's/^/new /')
  done
done
