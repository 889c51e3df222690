# Sourced by scripts/test.sh: the Kubernetes cluster the kubernetes tests run against, in KUBECONFIG.
#   KUBECONFIG set         → that cluster, as it is (started and stopped by you)
#   SLIPWAY_K8S=double     → none: the tests start the in-repo API double
#   otherwise              → the real single-node cluster of ../shared/k8s (SLIPWAY_K8S_DIR moves it),
#                            started on loopback now and stopped when the tests end (unless it was
#                            already up: then it is reused and left running)
# Its state directory is SLIPWAY_K8S_HOME, default ${TMPDIR:-/tmp}/slipway-k8s (the one `up` uses by
# hand too), kept between runs so the next start takes seconds.

k8s_say() { printf '\033[1m[k8s]\033[0m %s\n' "$*"; }

k8s_find_dir() {
  local repo
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for dir in "${SLIPWAY_K8S_DIR:-}" "$repo/../shared/k8s" "/work/shared/k8s"; do
    if [ -n "$dir" ] && [ -f "$dir/up" ] && [ -f "$dir/down" ]; then (cd "$dir" && pwd); return 0; fi
  done
  return 1
}

k8s_start() {
  if [ -n "${KUBECONFIG:-}" ]; then
    k8s_say "kubernetes tests run against your cluster (KUBECONFIG=$KUBECONFIG)"
    return 0
  fi
  if [ "${SLIPWAY_K8S:-}" = double ]; then
    k8s_say "SLIPWAY_K8S=double: kubernetes tests run against the in-repo API double only"
    return 0
  fi
  local dir
  if ! dir="$(k8s_find_dir)"; then
    echo "no real cluster to test against: ../shared/k8s is not beside this checkout (set SLIPWAY_K8S_DIR to it, KUBECONFIG to a cluster of yours, or SLIPWAY_K8S=double)" >&2
    return 1
  fi
  export SLIPWAY_K8S_HOME="${SLIPWAY_K8S_HOME:-${TMPDIR:-/tmp}/slipway-k8s}"
  k8s_say "starting the single-node cluster of $dir on loopback (state in $SLIPWAY_K8S_HOME, log of the start in $SLIPWAY_K8S_HOME.up.log)"
  local started=$SECONDS out
  mkdir -p "$(dirname "$SLIPWAY_K8S_HOME")"
  if ! out="$(bash "$dir/up" 2>"$SLIPWAY_K8S_HOME.up.log")"; then
    # a cluster left half-running by a killed run: stop what is left and start once more
    k8s_say "it did not start ($(tail -n 1 "$SLIPWAY_K8S_HOME.up.log")); stopping what is left and trying once more"
    bash "$dir/down" >>"$SLIPWAY_K8S_HOME.up.log" 2>&1 || true
    if ! out="$(bash "$dir/up" 2>>"$SLIPWAY_K8S_HOME.up.log")"; then
      tail -n 20 "$SLIPWAY_K8S_HOME.up.log" >&2
      echo "the kubernetes cluster did not start; see $SLIPWAY_K8S_HOME.up.log" >&2
      return 1
    fi
  fi
  eval "$out"
  export KUBECONFIG
  if grep -q 'reusing it' "$SLIPWAY_K8S_HOME.up.log"; then
    k8s_say "it was already running: reused, and left running after the tests"
  else
    K8S_STOP_DIR="$dir"
    k8s_say "up in $((SECONDS - started)) s (KUBECONFIG=$KUBECONFIG)"
  fi
}

k8s_stop() {
  [ -n "${K8S_STOP_DIR:-}" ] || return 0
  k8s_say "stopping the cluster"
  bash "$K8S_STOP_DIR/down" >>"$SLIPWAY_K8S_HOME.up.log" 2>&1 || k8s_say "down failed; see $SLIPWAY_K8S_HOME.up.log"
  K8S_STOP_DIR=
}
