#!/usr/bin/env bash
# Webhook-ingest benchmark: `modelgate serve` (durable dedupe on, SQLite in WAL mode, intake
# only) against the Probot peer, interleaved in one run by ../shared/bench/bench_compare.sh.
# Needs: wrk (apt-get install wrk), node + npm, the project installed in .venv.
# Env: REPS (default 3), PORT (default 9000), SHARED (default ../shared next to the repo).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-${MODELGATE_SHARED_DIR:-$REPO/../shared}}"
PORT="${PORT:-9000}"
HARNESS="${BENCH_HARNESS:-/tmp/modelgate-bench-harness}"
DATA="$(mktemp -d /tmp/modelgate-bench-data.XXXXXX)"

# The shared harness is read-only; npm ci needs a writable copy for node_modules.
if [ ! -d "$HARNESS/probot-peer/node_modules/probot" ]; then
  rm -rf "$HARNESS" && mkdir -p "$HARNESS" && cp -r "$SHARED/bench/." "$HARNESS/" && chmod -R u+w "$HARNESS"
  (cd "$HARNESS/probot-peer" && npm ci --no-audit --no-fund --silent)
fi

MODELGATE_WEBHOOK_SECRET=bench-secret MODELGATE_DATA_DIR="$DATA" MODELGATE_WORKERS=0 \
MODELGATE_PORT="$PORT" MODELGATE_LOG_LEVEL=WARNING \
  "$REPO/.venv/bin/modelgate" serve > "$DATA/serve.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

PROBOT_INFO=0 REPS="${REPS:-3}" "$HARNESS/bench_compare.sh" \
  "modelgate=http://127.0.0.1:$PORT/api/github/webhooks,$PID"

echo "deliveries stored durably: $(sqlite3 "$DATA/modelgate.db" 'select count(*) from deliveries' 2>/dev/null \
  || "$REPO/.venv/bin/python" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from deliveries').fetchone()[0])" "$DATA/modelgate.db")"
