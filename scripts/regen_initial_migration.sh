#!/usr/bin/env bash
# Development only, before the first release: rebuild alembic/versions/0001 from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f alembic/versions/0001_*.py
MTS_DB_URL="sqlite:///$tmp/gen.db" .venv/bin/alembic revision --autogenerate -m "initial store" --rev-id 0001 >/dev/null
rm -rf "$tmp"
.venv/bin/ruff format -q alembic/versions/0001_*.py || true
echo "regenerated: $(ls alembic/versions/0001_*.py)"
