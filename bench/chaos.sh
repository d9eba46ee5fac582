#!/usr/bin/env bash
# Chaos: the whole service under the supervisor takes a steady load while random workers are
# SIGKILLed (KILLS times), Redis is restarted once and PostgreSQL is stopped for 15 s; then the
# counts are compared: events accepted (201), stored in PostgreSQL, counted in Redis.
#   bench/chaos.sh [seconds] [events/s]          KILLS=20 by default
# A gateway killed in the middle of a request may have put the event on the stream without having
# answered 201: those requests are counted apart ("answer lost"), so accepted ≤ stored ≤ accepted +
# answer lost. Stored and counted must be equal exactly.
source "$(dirname "$0")/lib.sh"
DURATION=${1:-120}
RATE=${2:-500}
KILLS=${KILLS:-20}
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
echo "== $DURATION s at $RATE events/s; $KILLS worker kills, a Redis restart, PostgreSQL down 15 s"

"$BIN/analytics-bench" load --url "http://127.0.0.1:$HTTP_PORT" --rate "$RATE" --duration "$DURATION" >"$WORK/load.out" 2>&1 &
LOAD=$!

workers() { # living children of the supervisor that are workers
  for p in $(pgrep -P "$SUP"); do
    name=$(cat "/proc/$p/comm" 2>/dev/null || true)
    case "$name" in analytics-*) echo "$p:$name" ;; esac
  done
}
start=$(date +%s)
kills=0; redis_done=0; pg_done=0
interval=$(awk -v d="$DURATION" -v k="$KILLS" 'BEGIN { printf "%.2f", (d - 25) / k }')
# printf, not print: awk would print epoch seconds as 1.76428e+09 and every check would pass at once.
next_kill=$(awk -v s="$start" 'BEGIN { printf "%.2f", s + 3 }')
while kill -0 "$LOAD" 2>/dev/null; do
  now=$(date +%s)
  elapsed=$((now - start))
  if [ $redis_done = 0 ] && [ $elapsed -ge $((DURATION / 4)) ]; then
    echo "   t=${elapsed}s: restarting Redis"
    kill -TERM "$REDIS_PID"; while kill -0 "$REDIS_PID" 2>/dev/null; do sleep 0.05; done
    redis-server "${REDIS_ARGS[@]}" & REDIS_PID=$!; PIDS+=("$REDIS_PID")
    redis_done=1
  fi
  if [ $pg_done = 0 ] && [ $elapsed -ge $((DURATION / 2)) ]; then
    echo "   t=${elapsed}s: stopping PostgreSQL for 15 s"
    kill -INT "$PG_PID"; while kill -0 "$PG_PID" 2>/dev/null; do sleep 0.05; done
    ( sleep 15
      if [ "$(id -u)" -eq 0 ]; then as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups --); else as_pg=(); fi
      "${as_pg[@]}" "$(pg_config --bindir)/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pg" -c listen_addresses=127.0.0.1 \
        -c fsync=on -c synchronous_commit=on -c shared_buffers=1GB -c max_wal_size=8GB >>"$WORK/pg/postgres.log" 2>&1 &
      echo $! >"$WORK/pg.pid"; wait ) &
    pg_done=1
  fi
  if [ $kills -lt "$KILLS" ] && awk -v n="$(date +%s.%N)" -v k="$next_kill" 'BEGIN { exit !(n >= k) }'; then
    victim=$(workers | shuf -n 1)
    if [ -n "$victim" ]; then
      kill -KILL "${victim%%:*}" 2>/dev/null && kills=$((kills + 1)) && echo "   t=${elapsed}s: killed ${victim#*:}"
    fi
    next_kill=$(awk -v k="$next_kill" -v i="$interval" 'BEGIN { printf "%.2f", k + i }')
  fi
  sleep 0.2
done
wait "$LOAD" || true
[ -f "$WORK/pg.pid" ] && PIDS+=("$(cat "$WORK/pg.pid")")
cat "$WORK/load.out" | grep -v '^accepted='
accepted=$(awk -F= '/^accepted=/ {print $2}' "$WORK/load.out")
failed=$(grep -o '[0-9]* failed' "$WORK/load.out" | awk '{print $1}')
other=$(grep -o '[0-9]* other status' "$WORK/load.out" | awk '{print $1}')

# Let the consumers catch up: both groups with nothing pending and nothing left to read.
stored=-1; counted=-2
for _ in $(seq 600); do
  stored=$("${PSQL[@]}" -c 'SELECT count(*) FROM analytics_events' 2>/dev/null || echo -1)
  counted=$(counted_events)
  lag=$(redis-cli -p "$REDIS_PORT" xinfo groups analytics:events 2>/dev/null | awk '/^(lag|pending)$/ { getline; s += $1 } END { print s + 0 }')
  [ "$stored" = "$counted" ] && [ "$lag" = 0 ] && break
  sleep 0.5
done
restarts=$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^analytics_supervisor_worker_restarts_total/ { s += $2 } END { print s }')
echo "kills $kills, supervisor restarts $restarts"
echo "worker exits by reason (supervisor /metrics):"
curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^analytics_supervisor_worker_exits_total/ && $2 > 0 { print "  " $0 }'
echo "accepted (201) $accepted; no answer (connection broken by a kill, or refused while the gateway restarted) $failed; other status (503 during the Redis restart) $other"
echo "stored in PostgreSQL $stored; counted in Redis $counted"
[ "$stored" = "$counted" ] || { echo "MISMATCH: stored != counted" >&2; exit 1; }
[ "$stored" -ge "$accepted" ] && [ "$stored" -le $((accepted + failed + other)) ] ||
  { echo "MISMATCH: stored outside [accepted, accepted + in doubt]" >&2; exit 1; }
echo "OK: every accepted event stored and counted exactly once"
