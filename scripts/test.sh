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
mkdir -p reports
failed=()
step() {  # run every step even when one fails (a failing browser test must not hide the scale-out journey)
  local name=$1; shift
  echo "== $name"
  if ! "$@"; then failed+=("$name"); fi
}
step lint ruff check .
# 1. unit, store and integration tests, two workers (each has its own store / PostgreSQL schema)
step "unit, store and integration tests" python -m pytest -p no:cacheprovider -m "not e2e" -n 2 tests/unit tests/integration
# 1b. the load smoke: 20 portal sessions on the real websocket for 30 s, with its gate (reports/load-smoke/);
#     before the browser steps, so that nothing they leave behind shares the machine with what it measures
step "load smoke" python -m loadtests.run smoke --out reports/load-smoke
# 2. browser tests: one production build of the app, driven by Chromium. A failing test keeps its Playwright
#    trace and a screenshot (reports/playwright/), the run an HTML report (reports/e2e.html)
step "browser tests" python -m pytest -p no:cacheprovider -m "e2e and not scaleout and not ownportal" tests/e2e \
  --tracing retain-on-failure --screenshot only-on-failure --output reports/playwright \
  --html reports/e2e.html --self-contained-html
# 2b. journeys with a portal of their own (a full disk, the security headers): after the shared portal is gone
step "store-trouble journeys" python -m pytest -p no:cacheprovider -m "ownportal and not scaleout" tests/e2e \
  --tracing retain-on-failure --screenshot only-on-failure --output reports/playwright-ownportal
# 3. the scale-out shape: PostgreSQL + Redis + several backend workers (skipped when either is unreachable)
step "scale-out journey" python -m pytest -p no:cacheprovider -m scaleout tests/e2e/test_scaleout.py \
  --tracing retain-on-failure --screenshot only-on-failure --output reports/playwright-scaleout
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "FAILED: ${failed[*]} ($(( $(date +%s) - start )) s)"
  exit 1
fi
echo "all tests passed in $(( $(date +%s) - start )) s"
