#!/usr/bin/env bash
# The playground in one command: installs what is missing, builds the wasm into pkg/
# (incrementally) and serves the page on 127.0.0.1, printing the URL.
# Usage: scripts/run.sh [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "run.sh needs Node.js >= 18 (apt-get install nodejs npm)" >&2; exit 1; }
scripts/build-wasm.sh
exec node scripts/serve.mjs "$@"
