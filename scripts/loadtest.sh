#!/usr/bin/env bash
# One bounded load run with Locust against the portal's real websocket and API, with a report and a gate:
#   bash scripts/loadtest.sh smoke|standard|capacity [--host http://127.0.0.1:PORT [--log PORTAL_LOG]]
# Without --host it starts a fresh demo portal (production build, SQLite) on a free 127.0.0.1 port and
# stops it afterwards. Reports under reports/<profile>-<time>/ (report.html, locust_*.csv, summary.json).
# Exit status 1 when a gate is breached (handler p95 ≤ 300 ms, event→screen p95 ≤ 1 s, failures ≤ 0.1 %,
# no server error in the portal's log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh --test >/dev/null
source scripts/env.sh
exec python -m loadtests.run "$@"
