#!/usr/bin/env bash
# The intake's CPU a request, for A/B steps of the ingest work (bench/README.md, third session's table):
# `modelgate serve` as bench/run_ingest.sh starts it (stand-in GitHub, default settings), wrk with the shared
# harness's script and settings (2 threads, 32 connections) straight at it for DURATION s after 2 s of
# warm-up, the CPU time of each of serve's processes from /proc over the measurement, and the host's.
# Variants alternate, REPS times each; a variant is a source tree to run (a `git worktree` of another
# commit, put first on PYTHONPATH) or "." for this checkout:
#   git worktree add /tmp/before HEAD~1 && REPS=4 bench/ingest_cpu.sh /tmp/before .
# Needs what run_ingest.sh needs (wrk, openssl, the harness copy it makes in /tmp/modelgate-bench-harness).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
HARNESS="${BENCH_HARNESS:-/tmp/modelgate-bench-harness}"
PORT="${PORT:-9100}"; GH_PORT="${GH_PORT:-8911}"; DURATION="${DURATION:-12}"
[ -d "$HARNESS/payloads" ] || { echo "run bench/run_ingest.sh once first (it copies the harness)" >&2; exit 2; }
[ $# -gt 0 ] || set -- .
PAYLOAD="$HARNESS/payloads/pull_request.opened.json"
export WEBHOOK_BODY_FILE="$PAYLOAD" WEBHOOK_EVENT=pull_request
WEBHOOK_SIGNATURE="sha256=$(openssl dgst -sha256 -hmac bench-secret -r < "$PAYLOAD" | cut -d' ' -f1)"
export WEBHOOK_SIGNATURE
URL="http://127.0.0.1:$PORT/api/github/webhooks"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
busy() { head -1 /proc/stat | awk '{print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}'; }

measure() { # tree -> one line
  local tree="$1" data sandbox server kids
  data="$(mktemp -d /tmp/modelgate-ingest-cpu.XXXXXX)"
  openssl genrsa -out "$data/key.pem" 2048 2>/dev/null
  "$REPO/.venv/bin/modelgate" sandbox --port "$GH_PORT" --app-private-key "$data/key.pem" > "$data/sandbox.log" 2>&1 &
  sandbox=$!
  local path=""; [ "$tree" = . ] || path="$(cd "$tree" && pwd)"
  (cd "$REPO" && exec env ${path:+PYTHONPATH="$path"} MODELGATE_WEBHOOK_SECRET=bench-secret \
    MODELGATE_DATA_DIR="$data" MODELGATE_PORT="$PORT" MODELGATE_LOG_LEVEL=WARNING MODELGATE_APP_ID=1 \
    MODELGATE_PRIVATE_KEY_PATH="$data/key.pem" MODELGATE_GITHUB_API_URL="http://127.0.0.1:$GH_PORT" \
    "$REPO/.venv/bin/modelgate" serve) > "$data/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 300); do
    health="$(curl -s "http://127.0.0.1:$PORT/healthz" || true)"
    [[ "$health" == *'"status":"ok"'* && "$health" != *starting* ]] && break
    sleep 0.2
  done
  wrk -t 2 -c 32 -d 2s -s "$HARNESS/webhook_ingest.lua" "$URL" > /dev/null
  kids="$(pgrep -P "$server" | tr '\n' ' ')"
  declare -A before; for p in $server $kids; do before[$p]=$(ticks "$p"); done
  read -r busy0 all0 < <(busy)
  rate="$(wrk -t 2 -c 32 -d "${DURATION}s" -s "$HARNESS/webhook_ingest.lua" "$URL" | awk '/Requests\/sec/{print $2}')"
  read -r busy1 all1 < <(busy)
  local line=""
  for p in $kids; do
    used=$(( $(ticks "$p") - before[$p] ))
    cmd="$(tr '\0' ' ' < "/proc/$p/cmdline")"
    [[ "$cmd" == *resource_tracker* ]] && continue
    line+=" $used"
  done
  kill "$server" "$sandbox"; wait "$server" "$sandbox" 2>/dev/null || true
  python3 - "$tree" "$rate" "$DURATION" "$((busy1 - busy0))" "$((all1 - all0))" $line <<'PY'
import sys
tree, rate, duration, busy, total, *ticks = sys.argv[1:]
ticks = [int(t) for t in ticks]
intake = sum(ticks[:-1])  # serve's children: the intake processes, then the background process
print(f"{tree}: {float(rate):,.0f} req/s, host {200 * int(busy) / int(total):.0f} % of 200, "
      f"intake CPU {intake * 10_000 / (float(rate) * int(duration)):.1f} us a request, "
      f"background {ticks[-1] / int(duration):.0f} %")
PY
  rm -rf "$data"
}

for _ in $(seq "${REPS:-3}"); do
  for tree in "$@"; do
    measure "$tree"
  done
done
