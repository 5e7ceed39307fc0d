#!/usr/bin/env bash
# Run every benchmark REPEAT times (default 3); one JSON line each, to stdout.
# docs/PERFORMANCE.md quotes the medians. Needs PostgreSQL at 127.0.0.1:5432 for bench 3.
set -euo pipefail
cd "$(dirname "$0")"
PY=../.venv/bin/python
REPEAT=${REPEAT:-3}
for i in $(seq "$REPEAT"); do
  $PY bench_rating.py
  $PY bench_generate.py
  $PY bench_ingest.py --store sqlite --batch 10000
  $PY bench_ingest.py --store sqlite --batch 2000
  $PY bench_http.py --concurrency 4
  $PY bench_http.py --concurrency 1
  $PY bench_live.py
  $PY bench_detail.py
  $PY bench_ingest.py --store postgres --batch 10000 2>/dev/null || echo '{"bench": "ingest_postgres", "error": "PostgreSQL unreachable"}'
  $PY bench_nodes.py 2>/dev/null || echo '{"bench": "ingest_nodes_postgres", "error": "PostgreSQL unreachable"}'
done
