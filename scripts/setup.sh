#!/usr/bin/env bash
# Install everything the portal needs, idempotently and fast when already installed.
#   scripts/setup.sh          Python venv + packages; Node 22 and bun (from npm) for Reflex's frontend build
#   scripts/setup.sh --test   also Chromium from Debian for the browser tests
# Needs: Debian 12, Python 3.11, npm (Node 22 itself comes from npm); root for apt-get (only with --test).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1
mkdir -p .stamps data

log() { printf '\033[1;31m[setup]\033[0m %s\n' "$*"; }

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"' || {
  echo "Python 3.11 is required (found $("$PY" --version 2>&1))" >&2; exit 1; }

# 1. Python packages, pinned in pyproject.toml (re-installed only when it changes)
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv"
  "$PY" -m venv .venv
fi
extras="."
[[ $WITH_TEST == 1 ]] && extras=".[test]"
want="$(sha256sum pyproject.toml | cut -c1-16)-$extras"
if [[ "$(cat .stamps/pip 2>/dev/null)" != "$want" ]] || ! .venv/bin/python -c 'import reflex, mts_portal' 2>/dev/null; then
  log "installing Python packages ($extras)"
  # pip's own output (build warnings) goes to data/setup.log; shown only when it fails
  if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"; } >data/setup.log 2>&1; then
    tail -n 40 data/setup.log >&2; exit 1
  fi
  echo "$want" > .stamps/pip
fi

# 2. bun from the npm registry (Reflex would download it from GitHub, which this network refuses)
want_bun="$(sha256sum tools/package.json | cut -c1-16)"
if [[ ! -x tools/node_modules/.bin/bun || "$(cat .stamps/bun 2>/dev/null)" != "$want_bun" ]]; then
  log "installing Node 22, bun, axe-core and the Inter font from npm (tools/package.json)"
  npm install --prefix tools --no-audit --no-fund --loglevel=error >>data/setup.log 2>&1 || {
    tail -n 40 data/setup.log >&2; exit 1; }
  echo "$want_bun" > .stamps/bun
fi

# 3. Chromium from Debian for the Playwright tests (Playwright's own download is refused here)
if [[ $WITH_TEST == 1 && ! -x /usr/bin/chromium ]]; then
  log "installing Chromium from Debian"
  SUDO=""; [[ $(id -u) != 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
log "ready"
