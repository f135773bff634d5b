#!/usr/bin/env bash
# The main job: installs, builds and runs the local demo on the embedded store.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
exec node scripts/demo.mjs "$@"
