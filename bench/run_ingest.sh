#!/usr/bin/env bash
# Webhook-ingest benchmark: `modelgate serve` as users run it (durable dedupe on, SQLite in WAL mode,
# run workers on; on this 2-core machine: 2 intake processes and a background process for the run
# workers and the acknowledger, under serve's supervisor) against the Probot peer, interleaved in one run by ../shared/bench/bench_compare.sh.
# Needs: wrk (apt-get install wrk), node + npm, openssl, the project installed in .venv.
# Env: REPS (default 3), PORT (default 9000), SHARED (default ../shared next to the repo),
#      WORKERS (run workers; default: serve's own default, 2; 0 = an intake-only replica),
#      NAME (the receiver's name in the table; default modelgate).
# Or receivers as arguments, NAME=SERVER,WORKERS[,PROCESSES] each (WORKERS may be empty: serve's
# default; PROCESSES: `serve --processes`, intake processes, 1 = everything in one process), e.g.
#   REPS=3 bench/run_ingest.sh default=uvicorn, one-process=uvicorn,,1 intake-only=uvicorn,0
# SERVER uvicorn is `modelgate serve`. SERVER granian is the one-process App (bot.server:app_from_environment,
# its lifespan starting writer, acknowledger and workers) under granian 2.8.7's own CLI (single-threaded
# runtime, uvloop, HTTP/1, backpressure 100; installed into .venv on first use): measured and not adopted,
# see bench/README.md. GRANIAN_ARGS adds options (e.g. "--runtime-mode mt --runtime-threads 2").
# With workers the App needs GitHub: `modelgate sandbox` (the stand-in) on GH_PORT (default 8901) is
# GitHub here. The benchmark's repository is not on it, so a worker's run ends at its first GitHub call.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-${MODELGATE_SHARED_DIR:-$REPO/../shared}}"
PORT="${PORT:-9000}"
GH_PORT="${GH_PORT:-8901}"
NAME="${NAME:-modelgate}"
HARNESS="${BENCH_HARNESS:-/tmp/modelgate-bench-harness}"
DATA="$(mktemp -d /tmp/modelgate-bench-data.XXXXXX)"

# The shared harness is read-only; npm ci needs a writable copy for node_modules.
if [ ! -d "$HARNESS/probot-peer/node_modules/probot" ]; then
  rm -rf "$HARNESS" && mkdir -p "$HARNESS" && cp -r "$SHARED/bench/." "$HARNESS/" && chmod -R u+w "$HARNESS"
  (cd "$HARNESS/probot-peer" && npm ci --no-audit --no-fund --silent)
fi

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# Receivers: NAME=SERVER,WORKERS arguments (default: one, "modelgate" as users run it, serve's defaults);
# each is its own `modelgate serve` on PORT, PORT+1, ..., all measured in the same interleaved run.
[ $# -gt 0 ] || set -- "$NAME=${SERVER:-},${WORKERS:-}"
GH_STARTED=""
SPECS=(); DATAS=()
i=0
for spec in "$@"; do
  [[ "$spec" =~ ^([A-Za-z0-9_.-]+)=(uvicorn|granian)?,([0-9]*)(,([0-9]+))?$ ]] \
    || { echo "bad receiver '$spec' (NAME=SERVER,WORKERS[,PROCESSES])" >&2; exit 2; }
  name="${BASH_REMATCH[1]}"; server="${BASH_REMATCH[2]}"; workers="${BASH_REMATCH[3]}"
  processes="${BASH_REMATCH[5]}"
  port=$((PORT + i)); dir="$DATA/$name"; mkdir -p "$dir"
  ENV=(MODELGATE_WEBHOOK_SECRET=bench-secret MODELGATE_DATA_DIR="$dir" MODELGATE_PORT="$port"
       MODELGATE_LOG_LEVEL=WARNING)
  [ -n "$workers" ] && ENV+=(MODELGATE_WORKERS="$workers")
  [ -n "$processes" ] && ENV+=(MODELGATE_PROCESSES="$processes")
  if [ "${workers:-2}" != 0 ]; then
    if [ -z "$GH_STARTED" ]; then
      openssl genrsa -out "$DATA/app-key.pem" 2048 2>/dev/null
      "$REPO/.venv/bin/modelgate" sandbox --port "$GH_PORT" --app-private-key "$DATA/app-key.pem" \
        > "$DATA/sandbox.log" 2>&1 &
      GH_PID=$!; PIDS+=("$GH_PID"); GH_STARTED=1
    fi
    ENV+=(MODELGATE_APP_ID=1 MODELGATE_PRIVATE_KEY_PATH="$DATA/app-key.pem"
          MODELGATE_GITHUB_API_URL="http://127.0.0.1:$GH_PORT")
  fi
  COMMAND=("$REPO/.venv/bin/modelgate" serve)
  if [ "$server" = granian ]; then
    [ -x "$REPO/.venv/bin/granian" ] || "$REPO/.venv/bin/uv" pip install -q --python "$REPO/.venv/bin/python" granian==2.8.7
    # shellcheck disable=SC2206
    COMMAND=("$REPO/.venv/bin/granian" --interface asgi --factory --host 127.0.0.1 --port "$port" --workers 1
             --runtime-mode st --loop uvloop --http 1 --no-ws --backpressure 100 --log-level warning
             ${GRANIAN_ARGS:-} bot.server:app_from_environment)
  fi
  (cd "$REPO" && exec env "${ENV[@]}" "${COMMAND[@]}") > "$dir/serve.log" 2>&1 &
  pid=$!; PIDS=("$pid" "${PIDS[@]}")
  for _ in $(seq 300); do
    health="$(curl -s "http://127.0.0.1:$port/healthz" || true)"
    # with workers, wait until they run (MLflow's store prepared): they are part of what is measured
    [[ "$health" == *'"status":"ok"'* && "$health" != *'"workers":"starting"'* ]] && break
    sleep 0.2
  done
  echo "$name (${server:-default server}, workers ${workers:-default}): $health" >&2
  SPECS+=("$name=http://127.0.0.1:$port/api/github/webhooks,$pid"); DATAS+=("$name:$dir")
  i=$((i + 1))
done

PROBOT_INFO=0 REPS="${REPS:-3}" "$HARNESS/bench_compare.sh" "${SPECS[@]}"

count() { "$REPO/.venv/bin/python" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" \
  "$1/modelgate.db" "$2"; }
for item in "${DATAS[@]}"; do
  name="${item%%:*}"; dir="${item#*:}"
  echo "$name: deliveries stored durably: $(count "$dir" 'select count(*) from deliveries');" \
    "runs: $(count "$dir" "select group_concat(state || '=' || n) from (select state, count(*) n from runs group by state)")"
done
if [ -n "${GH_PID:-}" ]; then
  echo "GitHub stand-in CPU time (not in server_cpu_pct): $(ps -o times= -p "$GH_PID" | tr -d ' ') s"
fi
