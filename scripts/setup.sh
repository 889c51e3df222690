#!/usr/bin/env bash
# Prepares a fresh machine for Slipway: Node dependencies, a running Docker engine and the local
# base images that tests and examples use (nothing can be pulled here, so they are made locally).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then say "apt-get update"; as_root apt-get update -qq >/dev/null; apt_updated=1; fi
  say "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# --- Docker engine --------------------------------------------------------------------------
docker_answers() { timeout 5 docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }
if ! docker_answers; then
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  if ! docker_answers; then
    say "starting dockerd (log: /var/log/slipway-dockerd.log)"
    as_root sh -c 'nohup dockerd >/var/log/slipway-dockerd.log 2>&1 &'
    for _ in $(seq 1 120); do docker_answers && break; sleep 0.5; done
    docker_answers || { echo "dockerd did not answer within 60 s; see /var/log/slipway-dockerd.log" >&2; exit 1; }
  fi
fi
say "Docker engine answers (API $(docker version --format '{{.Server.APIVersion}}'))"

# --- Base images ------------------------------------------------------------------------------
# busybox:latest from Debian's static busybox: a shell and the usual tools in ~2 MB.
if ! docker image inspect busybox:latest >/dev/null 2>&1; then
  [ -x /bin/busybox ] || apt_install busybox-static
  say "making busybox:latest from /bin/busybox"
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/usr/bin" "$root/usr/sbin" "$root/sbin"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c . | docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'CMD ["sh"]' - busybox:latest >/dev/null
  rm -rf "$root"
fi
say "image busybox:latest ready"

# node:20-slipway: the host's node binary and the libraries it links, on top of busybox.
if ! docker image inspect node:20-slipway >/dev/null 2>&1; then
  say "making node:20-slipway from the host's $(command -v node) ($(node --version))"
  root=$(mktemp -d)
  node_bin=$(readlink -f "$(command -v node)")
  mkdir -p "$root/usr/local/bin"
  cp "$node_bin" "$root/usr/local/bin/node"
  for lib in $(ldd "$node_bin" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  # the dynamic loader, at the path the binary asks for
  loader=$(ldd "$node_bin" | awk '/ld-linux/ {print $1}')
  mkdir -p "$root$(dirname "$loader")"; cp -L "$loader" "$root$loader"
  tar -C "$root" -c . | docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' - slipway-node-layer:tmp >/dev/null
  ctx=$(mktemp -d)
  printf 'FROM busybox:latest\nCOPY --from=slipway-node-layer:tmp / /\nCMD ["node"]\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t node:20-slipway "$ctx" >/dev/null
  docker rmi slipway-node-layer:tmp >/dev/null
  rm -rf "$root" "$ctx"
fi
say "image node:20-slipway ready"

# --- Registry clients and peer -----------------------------------------------------------------
# skopeo for the registry tests and bench; Debian's docker-registry (CNCF distribution) is the
# bench's peer, started by the bench itself on a loopback port (never as a system service).
command -v skopeo >/dev/null 2>&1 || apt_install skopeo
command -v docker-registry >/dev/null 2>&1 || apt_install docker-registry
say "skopeo and docker-registry ready"

# --- PostgreSQL (store tests) -----------------------------------------------------------------
# The store's tests run the same suite on SQLite and on a real PostgreSQL: they initdb a throwaway
# cluster in a temp dir themselves, so only the server binaries are needed here (no system
# cluster is started; Debian's package may create one, which the tests never use).
pg_installed() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; }
if ! pg_installed; then
  # policy-rc.d answering 101 is Debian's way to keep a package from starting its service
  pg_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    pg_policy=1
  fi
  apt_install postgresql
  if [ "$pg_policy" = 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi
pg_installed || { echo "PostgreSQL server binaries missing after installing postgresql" >&2; exit 1; }
say "PostgreSQL ready ($(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1))"

# --- Browser (web UI tests and bench) -----------------------------------------------------------
# Debian's chromium, driven by playwright-core with executablePath: no browser is downloaded.
command -v chromium >/dev/null 2>&1 || apt_install chromium
say "chromium ready ($(chromium --version 2>/dev/null | head -1))"

# --- Node dependencies and build --------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "building (tsc, and the web UI with vite)"
npm run -s build
say "ready"
