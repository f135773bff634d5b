#!/usr/bin/env bash
# The whole test suite: installs the real peers and npm packages, builds, typechecks, lints, then runs unit and
# integration tests. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
npm ci --no-audit --no-fund
npm run build
# npm ci cannot link the workspace CLIs (energyrecorder, energyrecorder-api, ...) before their dist/ exists.
npm rebuild --ignore-scripts >/dev/null
npm run typecheck
npm run lint
npm run check:pkg
npm test
npm run test:int
