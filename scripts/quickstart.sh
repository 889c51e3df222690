#!/usr/bin/env bash
# The quickstart: prepares the machine, then runs the example app's pipeline end to end with
# `slipway run` (its tests in containers; build and deploy jobs are reported as skipped for now).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
printf '\033[1m[quickstart]\033[0m slipway validate examples/hello-web/slipway.yaml\n'
node bin/slipway.js validate examples/hello-web/slipway.yaml
printf '\033[1m[quickstart]\033[0m slipway run (in examples/hello-web)\n'
cd examples/hello-web
exec node ../../bin/slipway.js run
