#!/usr/bin/env bash
# Build dist/peer-rendezvous, the single executable (see scripts/build-exe.mjs). Used by `npm run build:exe`,
# the Dockerfile's build stage and .ci/run. Extra arguments go to build-exe.mjs (e.g. --out FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/node scripts/build-exe.mjs "$@"
