#!/usr/bin/env bash
# Compile src/ to dist/ with tsc (the npm package's JavaScript and type declarations).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
