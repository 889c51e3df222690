#!/usr/bin/env bash
# The quickstart: the whole factory on this machine. Starts `slipway server`, pushes the example
# app with git, follows its run (tests, image build, push to the built-in registry, image smoke
# test, deploy to staging), approves the production deploy it waits for (the same image digest),
# then pushes a change and follows the rolling update the same way. The server keeps running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/setup.sh

say() { printf '\033[1m[quickstart]\033[0m %s\n' "$*"; }
slipway() { node "$root/bin/slipway.js" "$@"; }
data=${SLIPWAY_QUICKSTART_DATA:-/tmp/slipway-quickstart}
port=${SLIPWAY_QUICKSTART_PORT:-7700}

if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
  say "a server already answers on port $port (data: $data)"
else
  say "starting slipway server on 127.0.0.1:$port (data: $data, log: $data/server.log)"
  mkdir -p "$data"
  nohup node "$root/bin/slipway.js" server --port "$port" --host 127.0.0.1 --data "$data" >"$data/server.log" 2>&1 &
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
fi
export SLIPWAY_URL="http://127.0.0.1:$port" SLIPWAY_TOKEN
SLIPWAY_TOKEN=$(cat "$data/admin-token")

work=$(mktemp -d /tmp/hello-web-XXXX)
cp -r examples/hello-web/. "$work"
cd "$work"
git init -q -b main
git add -A
git -c user.email=quickstart@slipway.local -c user.name=quickstart commit -qm "hello-web, first version"
remote="http://quickstart:$SLIPWAY_TOKEN@127.0.0.1:$port/git/hello-web.git"

# the newest run of hello-web, or nothing while the project does not exist yet
latest_run() {
  curl -sS -H "Authorization: Bearer $SLIPWAY_TOKEN" "$SLIPWAY_URL/api/runs?project=hello-web&limit=1" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const r=JSON.parse(s).runs?.[0];console.log(r?r.id:"")}catch{console.log("")}})'
}

run_status() {
  curl -sS -H "Authorization: Bearer $SLIPWAY_TOKEN" "$SLIPWAY_URL/api/runs/$1" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).status??"")}catch{console.log("")}})'
}

push_and_follow() {
  local before
  before=$(latest_run)
  say "git push (in $work)"
  # --force: a quickstart run again starts the example's history afresh on the same server
  git push -q --force "$remote" main
  local run=""
  for _ in $(seq 1 50); do run=$(latest_run); [ -n "$run" ] && [ "$run" != "$before" ] && break; sleep 0.2; done
  say "following run $run (slipway logs $run -f)"
  slipway logs "$run" -f &
  local follower=$!
  # production is protected: the run deploys to staging, then waits for a person
  local state=""
  for _ in $(seq 1 1500); do
    state=$(run_status "$run")
    case "$state" in queued | running | "") sleep 0.2 ;; *) break ;; esac
  done
  if [ "$state" = waiting ]; then
    say "run $run waits for approval of production (slipway status lists it); approving: slipway approve $run production"
    slipway approve "$run" production
  fi
  wait "$follower"
}

push_and_follow
say "deployed: slipway status (SLIPWAY_URL=$SLIPWAY_URL: the server's view)"
slipway status
endpoint=$(slipway status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const e=JSON.parse(s).find(x=>x.app==="hello-web"&&x.environment==="production");console.log(e?e.endpoint:"")})')
say "curl $endpoint/ → $(curl -fsS "$endpoint/")"

say "a change (the image now greets with hi), pushed again → rolling update"
sed -i 's/^ENV PORT=8080/ENV PORT=8080\nENV GREETING=hi/' Dockerfile
git -c user.email=quickstart@slipway.local -c user.name=quickstart commit -qam "say hi"
push_and_follow
say "curl $endpoint/ → $(curl -fsS "$endpoint/")"
say "history: slipway history hello-web"
slipway history hello-web
say "the web UI: http://127.0.0.1:$port/ — sign in with the admin token in $data/admin-token"
say "done. The server keeps running (pid $(pgrep -f "slipway.js server --port $port" | head -1)); the app answers on $endpoint"
