# Shared helpers of the benchmark scripts: release build, throwaway Redis, the service's processes,
# and cleanup of everything they started. Sourced, not run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d /tmp/analytics-bench.XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ "${KEEP_BENCH_DIR:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Below the kernel's ephemeral range: a server restarted on its port (Redis, PostgreSQL in the chaos
# run) must not find it taken as the local port of some client connection.
free_port() {
  python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(2000):
    port = random.randrange(10000, low) if low > 12000 else 0
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        s.close()
PY
}

# BIN_DIR=… runs binaries from elsewhere (A/B comparisons of two builds) without building.
build_release() {
  if [ -n "${BIN_DIR:-}" ]; then BIN=$BIN_DIR; return; fi
  "$ROOT/scripts/install-deps"
  echo "== release build" >&2
  (cd "$ROOT" && swift build -c release 2>&1 | grep -E 'error|Compiling|Build' | tail -1 >&2)
  BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
}

# start_redis [extra redis-server args…]: sets REDIS_PORT and REDIS_URL.
start_redis() {
  REDIS_PORT=$(free_port)
  mkdir -p "$WORK/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" --daemonize no \
    --logfile "$WORK/redis/redis.log" "$@" &
  PIDS+=($!)
  REDIS_PID=$!
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "redis did not start" >&2; exit 1
}

# cpu_seconds PID: user + system CPU time the process has used so far (children excluded): fields
# 14 and 15 of /proc/PID/stat, counted after the command name (which may hold spaces).
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# start_service NAME [VAR=value…]: runs analytics-NAME with the bench environment.
start_service() {
  local name=$1; shift
  env ANALYTICS_REDIS_URL="$REDIS_URL" ANALYTICS_LOG_LEVEL=warning ANALYTICS_DATA_DIR="$WORK/data" "$@" "$BIN/analytics-$name" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  LAST_PID=$!
}

# Waits until something answers HTTP at the URL, whatever the status.
wait_listening() {
  for _ in $(seq 200); do curl -s -o /dev/null "$1" && return; sleep 0.05; done
  echo "$1 did not answer" >&2; exit 1
}

wait_http() {
  for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return; sleep 0.05; done
  echo "$1 did not answer" >&2; exit 1
}

# Sum of the day counters of total events.
counted_events() {
  local total=0 key
  for key in $(redis-cli -p "$REDIS_PORT" --scan --pattern 'analytics:stats:day:*:total_events'); do
    total=$((total + $(redis-cli -p "$REDIS_PORT" get "$key")))
  done
  echo "$total"
}

# Redis as in production (AOF, fsync every second), the aggregator, and the gateway without rate
# limit (the load comes from one address); sets HTTP_PORT. With AGGREGATE_DURING_LOAD=0 the
# aggregator is started later by start_aggregator (to measure the gateway alone).
start_pipeline() {
  start_redis --appendonly yes --appendfsync everysec
  HTTP_PORT=$(free_port)
  [ "${AGGREGATE_DURING_LOAD:-1}" = 0 ] || start_aggregator
  # The load generators send no browser's user agent: the bot filter is off unless BOT_FILTER=on
  # (ingest.sh sends a realistic mix of user agents and turns it on).
  # RATE_LIMIT: events per minute per client; 0 (the default here) turns the limit off.
  start_service gateway ANALYTICS_HTTP_PORT="$HTTP_PORT" ANALYTICS_RATE_LIMIT="${RATE_LIMIT:-0}" ANALYTICS_BOT_FILTER="${BOT_FILTER:-off}"
  GATEWAY_PID=$LAST_PID
  wait_http "http://127.0.0.1:$HTTP_PORT/healthz"
}

start_aggregator() {
  start_service aggregator ANALYTICS_ADMIN_PORT="$(free_port)" ANALYTICS_CONSUMER_NAME=bench
  AGGREGATOR_PID=$LAST_PID
}

# start_postgres [extra -c settings…]: a throwaway cluster in $WORK (as the postgres user when root),
# production durability (fsync, synchronous_commit), tuned for ingestion; sets PG_PORT, DATABASE_URL
# and the psql array PSQL.
start_postgres() {
  local pgbin; pgbin=$(pg_config --bindir)
  local as_pg=()
  if [ "$(id -u)" -eq 0 ]; then as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups --); fi
  mkdir -p "$WORK/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$WORK/pg" && chmod 755 "$WORK"
  "${as_pg[@]}" "$pgbin/initdb" -D "$WORK/pg/data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >"$WORK/pg/initdb.log" 2>&1
  PG_PORT=$(free_port)
  # shared_buffers=1GB, max_wal_size=8GB and checkpoint_timeout=30min keep checkpoints out of the
  # runs; fsync and synchronous_commit stay on: the figures are for durable commits.
  "${as_pg[@]}" "$pgbin/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pg" -c listen_addresses=127.0.0.1 \
    -c fsync=on -c synchronous_commit=on -c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min \
    -c maintenance_work_mem=256MB "$@" >"$WORK/pg/postgres.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 300); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres && break; sleep 0.1; done
  PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
  "${PSQL[@]}" -d postgres -c 'CREATE DATABASE analytics'
  PSQL+=(-d analytics)
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/analytics"
}

# Seconds since the epoch with nanoseconds.
now() { date +%s.%N; }

# start_browser [WIDTH]: headless Chromium (Debian's chromium and chromium-driver), driven over
# WebDriver by chromedriver on a free port; sets DRIVER and SESSION for `webdriver`. Chromium is
# killed on exit with the rest.
start_browser() {
  local port; port=$(free_port)
  chromedriver --port="$port" >"$WORK/chromedriver.log" 2>&1 &
  PIDS+=($!)
  trap 'pkill -f -- "--user-data-dir=$WORK/profile" || true; cleanup' EXIT INT TERM
  DRIVER="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -sf "$DRIVER/status" >/dev/null && break; sleep 0.1; done
  SESSION=""
  SESSION=$(webdriver POST /session "$(python3 -c 'import json, sys; print(json.dumps({"capabilities": {"alwaysMatch": {
    "browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": ["--headless=new", "--no-sandbox",
    "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + sys.argv[1], "--window-size=%s,900" % sys.argv[2]]}}}}))' \
    "$WORK/profile" "${1:-1280}")" | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["sessionId"])')
}

# browser_open URL: loads URL in the browser and waits for its load event.
browser_open() {
  webdriver POST /url "$(python3 -c 'import json, sys; print(json.dumps({"url": sys.argv[1]}))' "$1")" >/dev/null
}

# browser_preload SCRIPT: runs SCRIPT in every page the browser loads from now on, before the page's
# own scripts (Chromium's DevTools protocol).
browser_preload() {
  webdriver POST /goog/cdp/execute \
    "$(python3 -c 'import json, sys; print(json.dumps({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": sys.argv[1]}}))' "$1")" >/dev/null
}

# webdriver METHOD PATH [JSON]: one WebDriver command of the session (PATH relative to it; the
# session itself while SESSION is empty); prints its answer's value (JSON unless a string).
webdriver() {
  curl -sf -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "$DRIVER${SESSION:+/session/$SESSION}$2" |
    python3 -c 'import json, sys; value = json.load(sys.stdin)["value"]; print(value if isinstance(value, str) else json.dumps(value))'
}

# browser_eval SCRIPT: runs SCRIPT as a function body in the page; prints what it returns.
browser_eval() {
  webdriver POST /execute/sync "$(python3 -c 'import json, sys; print(json.dumps({"script": sys.argv[1], "args": []}))' "$1")"
}
