#!/usr/bin/env bash
# The main job: installs, builds and runs the local demo on the embedded store.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e "const [major] = process.versions.node.split('.').map(Number); if (major < 20) { console.error('demo: Node >= 20 is needed, this is ' + process.version); process.exit(1); }"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
# npm ci cannot link the workspace CLIs (energyrecorder, energyrecorder-api, ...) before their dist/ exists.
npm rebuild --ignore-scripts >/dev/null
exec node scripts/demo.mjs "$@"
