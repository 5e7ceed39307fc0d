#!/usr/bin/env bash
# Install everything and start the portal (production build) on http://127.0.0.1:3000
# with a seeded demo population and live simulated traffic, on the embedded SQLite store.
#   MTS_SEED_LINES   population size on first start (default 3000)
#   MTS_DEMO_TRAFFIC simulated events per second (default 20; 0 = none)
#   MTS_DB_URL       another store (default: data/mts_portal.db)
#   MTS_VERBOSE=1    show Reflex's own output instead of writing it to data/reflex.log
# On a first start the population is seeded in the background while Reflex builds the frontend
# (the portal's start-up waits for the seed: mts_portal/core/seeding.py). Reflex's output goes to
# data/reflex.log, the seed's to data/seed.log; the terminal shows only where to open the portal,
# the demo logins and how to stop.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh
source scripts/env.sh
export MTS_DEMO=${MTS_DEMO:-1}
export MTS_DEMO_TRAFFIC=${MTS_DEMO_TRAFFIC:-20}
PORT=${PORT:-3000}
export REFLEX_FRONTEND_PORT=$PORT
mkdir -p data
say() { printf '\033[1;31m[run]\033[0m %s\n' "$*"; }

# the store is migrated here, once, before the seed and the portal open it
lines=$(python - <<'PY'
from sqlalchemy import func, select
from mts_portal.core import runtime
from mts_portal.core.models import Line
from sqlmodel import Session
with Session(runtime.engine()) as s:
    print(s.exec(select(func.count()).select_from(Line)).scalar_one())
PY
)

seed_pid=""
reflex_pid=""
stop() {
  trap - INT TERM EXIT
  [[ -n "$seed_pid" ]] && kill "$seed_pid" 2>/dev/null || true
  # SIGTERM (a background job of a script ignores SIGINT); Reflex stops its server with it
  if [[ -n "$reflex_pid" ]] && kill -0 "$reflex_pid" 2>/dev/null; then
    kill -TERM "$reflex_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$reflex_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$reflex_pid" 2>/dev/null || true
  fi
}
trap 'echo; say "stopping"; stop; exit 130' INT TERM
trap stop EXIT

if [[ "$lines" == "0" ]]; then
  say "first start: seeding ${MTS_SEED_LINES:-3000} subscribers while the portal is built (about a minute)"
  python -m simulator --quiet seed --lines "${MTS_SEED_LINES:-3000}" --seed "${MTS_SEED:-42}" >data/seed.log 2>&1 &
  seed_pid=$!
  # the marker is the seed's own (it writes its pid there too); writing it now closes the gap before
  # its imports finish, so the portal can never start on a half-made population
  echo "$seed_pid" > data/seeding.lock
else
  say "store already has $lines lines; keeping them (delete data/mts_portal.db* to start over)"
fi

say "building and starting the portal (Reflex's output: data/reflex.log)"
if [[ "${MTS_VERBOSE:-0}" == "1" ]]; then
  reflex run --env prod --backend-host 127.0.0.1 --frontend-port "$PORT" &
else
  reflex run --env prod --backend-host 127.0.0.1 --frontend-port "$PORT" --loglevel warning >data/reflex.log 2>&1 &
fi
reflex_pid=$!

if [[ -n "$seed_pid" ]]; then
  if ! wait "$seed_pid"; then
    seed_pid=""
    say "seeding failed; its output (data/seed.log):"; tail -n 30 data/seed.log >&2; exit 1
  fi
  seed_pid=""
fi

# the portal answers once the frontend is built and the backend's start-up (migrations, services) is done
until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/v1/health" 2>/dev/null; do
  if ! kill -0 "$reflex_pid" 2>/dev/null; then
    say "the portal did not start; the end of data/reflex.log:"; tail -n 40 data/reflex.log >&2; exit 1
  fi
  sleep 0.5
done

echo
echo "  Open the portal:  http://127.0.0.1:$PORT"
echo
python -m simulator demo-logins | sed 's/^/  /'
if [[ "$MTS_DEMO" == "1" ]]; then
  echo
  echo "  Control room (one-time link, valid 12 h):"
  echo "    $(python -m simulator console-link --url "http://127.0.0.1:$PORT")"
fi
echo
echo "  Stop: Ctrl+C. Logs: data/reflex.log"
wait "$reflex_pid"
