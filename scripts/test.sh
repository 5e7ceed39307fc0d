#!/usr/bin/env bash
# Install everything (Chromium included) and run the whole test suite:
# lint, unit and store tests (SQLite, and PostgreSQL at 127.0.0.1:5432 when reachable),
# integration tests (crash, concurrency, load smoke) and browser tests in Chromium.
#   extra arguments go to pytest, e.g. scripts/test.sh -k login
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh --test
source scripts/env.sh
if [[ $# -gt 0 ]]; then
  exec python -m pytest -p no:cacheprovider "$@"
fi
start=$(date +%s)
ruff check .
# 1. unit, store and integration tests, two workers (each has its own store / PostgreSQL schema)
python -m pytest -p no:cacheprovider -m "not e2e" -n 2 tests/unit tests/integration
# 2. browser tests: one production build of the app, driven by Chromium
python -m pytest -p no:cacheprovider -m "e2e and not scaleout" tests/e2e
# 3. the scale-out shape: PostgreSQL + Redis + several backend workers (skipped when either is unreachable)
python -m pytest -p no:cacheprovider -m scaleout tests/e2e/test_scaleout.py
echo "all tests passed in $(( $(date +%s) - start )) s"
