#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up (Docker engine, base images, npm ci, build), then
# every test, against the real Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
printf '\033[1m[test]\033[0m running the test suite\n'
exec node scripts/test.mjs "$@"
