#!/usr/bin/env bash
# Install the exact dependency tree from package-lock.json (dev dependencies included: the build needs
# TypeScript, esbuild, postject and the Node 24 binary the single executable is made from).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
