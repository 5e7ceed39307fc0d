#!/usr/bin/env bash
# Install everything and start the portal (production build) on http://127.0.0.1:3000
# with a seeded demo population and live simulated traffic, on the embedded SQLite store.
#   MTS_SEED_LINES   population size on first start (default 3000)
#   MTS_DEMO_TRAFFIC simulated events per second (default 20; 0 = none)
#   MTS_DB_URL       another store (default: data/mts_portal.db)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh
source scripts/env.sh
export MTS_DEMO=${MTS_DEMO:-1}
export MTS_DEMO_TRAFFIC=${MTS_DEMO_TRAFFIC:-20}
PORT=${PORT:-3000}
export REFLEX_FRONTEND_PORT=$PORT

# seed once: an existing population is kept (idempotent)
lines=$(python - <<'PY'
from sqlalchemy import func, select
from mts_portal.core import runtime
from mts_portal.core.models import Line
from sqlmodel import Session
with Session(runtime.engine()) as s:
    print(s.exec(select(func.count()).select_from(Line)).scalar_one())
PY
)
if [[ "$lines" == "0" ]]; then
  python -m simulator seed --lines "${MTS_SEED_LINES:-3000}" --seed "${MTS_SEED:-42}"
else
  echo "store already has $lines lines; keeping them (delete data/mts_portal.db to start over)"
  python -m simulator demo-logins
fi
echo
if [[ "$MTS_DEMO" == "1" ]]; then
  echo "Control room (one-time link, valid 12 h): $(python -m simulator console-link --url "http://127.0.0.1:$PORT")"
fi
echo "Starting the portal on http://127.0.0.1:$PORT  (Ctrl+C stops it)"
exec reflex run --env prod --backend-host 127.0.0.1 --frontend-port "$PORT"
