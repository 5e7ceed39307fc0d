# Sourced by the run and test scripts: the environment Reflex needs on this network.
export PATH="$ROOT/.venv/bin:$ROOT/tools/node_modules/.bin:$PATH"
export REFLEX_CHECK_LATEST_VERSION=false
export REFLEX_TELEMETRY_ENABLED=false
export NPM_CONFIG_REGISTRY=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}
export PYTHONUNBUFFERED=1
