#!/usr/bin/env bash
# Development helper: start the prod-mode app in the background on PORT (default 3000), log to /tmp/rx-$PORT.log
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-3000}
export PATH=$PWD/tools/node_modules/.bin:$PATH REFLEX_CHECK_LATEST_VERSION=false NPM_CONFIG_REGISTRY=https://registry.npmjs.org
pkill -f "reflex run.*--frontend-port $PORT" 2>/dev/null || true
sleep 1
(setsid .venv/bin/reflex run --env prod --backend-host 127.0.0.1 --frontend-port "$PORT" > "/tmp/rx-$PORT.log" 2>&1 &)
for i in $(seq 120); do sleep 1; curl -sf "127.0.0.1:$PORT/ping" >/dev/null && { echo "up after ${i}s"; exit 0; }; done
tail -40 "/tmp/rx-$PORT.log"; exit 1
