#!/usr/bin/env bash
# Chaos: the whole service under the supervisor, as production runs it, takes a steady load whose
# events carry their own ids and are sent again until acknowledged (as the tracker does), while:
# the gateway is SIGKILLed 7 times in 50 s, every other worker is SIGKILLed once, Redis is restarted
# and PostgreSQL is stopped for 15 s. Then: the supervisor must still be running every worker, and
# every acknowledged event must be stored in PostgreSQL and counted in Redis exactly once (none
# twice, whatever the retries). Prints the availability: the share of requests answered 201.
#   bench/chaos.sh [seconds] [events/s]          (at least 90 s; 120 s and 500/s by default)
source "$(dirname "$0")/lib.sh"
DURATION=${1:-120}
RATE=${2:-500}
[ "$DURATION" -ge 90 ] || { echo "chaos: at least 90 s" >&2; exit 64; }
build_release

start_redis --appendonly yes --appendfsync everysec
REDIS_ARGS=(--port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" --daemonize no --logfile "$WORK/redis/redis.log"
  --appendonly yes --appendfsync everysec)
start_postgres
PG_PID=${PIDS[-1]}

HTTP_PORT=$(free_port); WS_PORT=$(free_port); ADMIN_PORT=$(free_port)
env ANALYTICS_REDIS_URL="$REDIS_URL" ANALYTICS_DATABASE_URL="$DATABASE_URL" ANALYTICS_HTTP_PORT="$HTTP_PORT" \
  ANALYTICS_WS_PORT="$WS_PORT" ANALYTICS_ADMIN_PORT="$ADMIN_PORT" ANALYTICS_WSHUB_REPLICAS=2 ANALYTICS_RATE_LIMIT=0 ANALYTICS_BOT_FILTER=off \
  ANALYTICS_ARCHIVE_DIR="$WORK/archive" ANALYTICS_DATA_DIR="$WORK/data" ANALYTICS_MIGRATIONS_DIR="$ROOT/migrations" ANALYTICS_LOG_LEVEL=warning \
  "$BIN/analytics-supervisor" >"$WORK/supervisor.log" 2>&1 &
SUP=$!
PIDS+=("$SUP")
for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz" || { echo "supervisor not ready" >&2; tail "$WORK/supervisor.log"; exit 1; }
echo "== $DURATION s at $RATE events/s, retried until acknowledged: the gateway killed 7 times in 50 s, every other worker once, a Redis restart, PostgreSQL down 15 s"

"$BIN/analytics-bench" load --url "http://127.0.0.1:$HTTP_PORT" --rate "$RATE" --duration "$DURATION" --retry-until-acknowledged \
  >"$WORK/load.out" 2>&1 &
LOAD=$!

# A living worker of the supervisor whose executable name starts with $1 (comm is cut to 15 characters).
worker_pid() {
  for p in $(pgrep -P "$SUP"); do
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in "$1"*) echo "$p"; return ;; esac
  done
}
# The plan, in seconds from the start: the gateway every 7 s from t=4 (7 kills by t=46), then the
# archiver, the aggregator and both hubs; Redis restarted at t=30; PostgreSQL down from t=60 to 75.
PLAN="4:analytics-gatew 11:analytics-gatew 18:analytics-gatew 25:analytics-gatew 32:analytics-gatew 39:analytics-gatew 46:analytics-gatew 50:analytics-archi 54:analytics-aggre 57:analytics-wshub 63:analytics-wshub"
start=$(date +%s)
kills=0; redis_done=0; pg_done=0
while kill -0 "$LOAD" 2>/dev/null; do
  elapsed=$(($(date +%s) - start))
  if [ $redis_done = 0 ] && [ $elapsed -ge 30 ]; then
    echo "   t=${elapsed}s: restarting Redis"
    kill -TERM "$REDIS_PID"; while kill -0 "$REDIS_PID" 2>/dev/null; do sleep 0.05; done
    redis-server "${REDIS_ARGS[@]}" & REDIS_PID=$!; PIDS+=("$REDIS_PID")
    redis_done=1
  fi
  if [ $pg_done = 0 ] && [ $elapsed -ge 60 ]; then
    echo "   t=${elapsed}s: stopping PostgreSQL for 15 s"
    kill -INT "$PG_PID"; while kill -0 "$PG_PID" 2>/dev/null; do sleep 0.05; done
    ( sleep 15
      if [ "$(id -u)" -eq 0 ]; then as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups --); else as_pg=(); fi
      "${as_pg[@]}" "$(pg_config --bindir)/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pg" -c listen_addresses=127.0.0.1 \
        -c fsync=on -c synchronous_commit=on -c shared_buffers=1GB -c max_wal_size=8GB >>"$WORK/pg/postgres.log" 2>&1 &
      echo $! >"$WORK/pg.pid"; wait ) &
    pg_done=1
  fi
  next=${PLAN%% *}
  if [ -n "$PLAN" ] && [ "$elapsed" -ge "${next%%:*}" ]; then
    victim=$(worker_pid "${next#*:}")
    if [ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null; then
      kills=$((kills + 1)); echo "   t=${elapsed}s: killed ${next#*:} ($victim)"
      [ "$PLAN" = "$next" ] && PLAN="" || PLAN=${PLAN#* }
    fi
  fi
  sleep 0.1
done
wait "$LOAD" || true
[ -f "$WORK/pg.pid" ] && PIDS+=("$(cat "$WORK/pg.pid")")
grep -v '^[a-z_]*=' "$WORK/load.out"
accepted=$(awk -F= '/^accepted=/ {print $2}' "$WORK/load.out")
availability=$(awk -F= '/^availability=/ {print $2}' "$WORK/load.out")
given_up=$(awk -F= '/^given_up=/ {print $2}' "$WORK/load.out")

# Let the consumers catch up: both groups with nothing pending and nothing left to read.
stored=-1; counted=-2
for _ in $(seq 600); do
  stored=$("${PSQL[@]}" -c 'SELECT count(*) FROM analytics_events' 2>/dev/null || echo -1)
  counted=$(counted_events)
  lag=$(redis-cli -p "$REDIS_PORT" xinfo groups analytics:events 2>/dev/null | awk '/^(lag|pending)$/ { getline; s += $1 } END { print s + 0 }')
  [ "$stored" = "$counted" ] && [ "$lag" = 0 ] && break
  sleep 0.5
done
distinct=$("${PSQL[@]}" -c 'SELECT count(DISTINCT id) FROM analytics_events')
metrics=$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
restarts=$(awk '/^analytics_supervisor_worker_restarts_total/ { s += $2 } END { print s }' <<<"$metrics")
echo "kills $kills, supervisor restarts $restarts"
echo "worker exits by reason (supervisor /metrics):"
awk '/^analytics_supervisor_worker_exits_total/ && $2 > 0 { print "  " $0 }' <<<"$metrics"
echo "availability $availability (requests answered 201); events acknowledged $accepted, given up $given_up"
echo "stored in PostgreSQL $stored ($distinct distinct ids); counted in Redis $counted"
status=0
kill -0 "$SUP" 2>/dev/null && curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz" ||
  { echo "FAILED: the supervisor gave up or is not healthy" >&2; status=1; }
[ "$kills" = 11 ] || { echo "FAILED: $kills of the 11 planned kills happened" >&2; status=1; }
[ "$given_up" = 0 ] || { echo "FAILED: $given_up events were never acknowledged" >&2; status=1; }
[ "$stored" = "$accepted" ] && [ "$counted" = "$accepted" ] && [ "$distinct" = "$stored" ] ||
  { echo "MISMATCH: acknowledged, stored, distinct and counted differ" >&2; status=1; }
[ $status = 0 ] && echo "OK: the supervisor kept everything running; every acknowledged event stored and counted exactly once"
exit $status
