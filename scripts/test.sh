#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up (Docker engine, base images, npm ci, build), a
# real single-node Kubernetes cluster on loopback (scripts/k8s-cluster.sh says which and how), then
# every test, against the real Docker engine and that cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/k8s-cluster.sh
trap k8s_stop EXIT
k8s_start
printf '\033[1m[test]\033[0m running the test suite\n'
status=0
node scripts/test.mjs "$@" || status=$?
exit "$status"
