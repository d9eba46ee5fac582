#!/usr/bin/env bash
# Ingest: wrk POSTs single events to the gateway and, in the same run, to nginx `return 204` twice
# (`nginx-auto`: worker_processes auto, one worker per core, as nginx ships and operators run it;
# `nginx-1`: one worker, the reference of earlier runs) and to a bare Hummingbird handler (Codable
# decode, 201, nothing else), all on the same machine. Prints requests/s, p99, non-2xx, the
# gateway's CPU and the ratios, headline gateway / nginx-auto; then checks that every accepted event
# was counted by the aggregator (which runs during the load, as in production). The events come as
# the tracker sends them (text/plain) with a realistic mix of user agents, one in twenty a crawler,
# through the gateway's bot filter (BOT_FILTER=off measures the gateway without it). Also prints the
# size of the tracker script as served (gzip).
#   bench/ingest.sh [seconds] [connections]
# The shared rate limit is on, at 10,000,000 events a minute per client: every event pays for it
# (its budget is taken in Redis), and the load, which comes from one address, never reaches it.
#   BOT_FILTER=off bench/ingest.sh            # the gateway's bot filter off
#   RATE_LIMIT=0 bench/ingest.sh              # the rate limit off
#   AGGREGATE_DURING_LOAD=0 bench/ingest.sh   # the aggregator counts after the load, not during it
#   BIN_DIR=.build/release bench/ingest.sh    # binaries already built there (no build)
source "$(dirname "$0")/lib.sh"
DURATION=${1:-15}
BOT_FILTER=${BOT_FILTER:-on}
RATE_LIMIT=${RATE_LIMIT:-10000000}
CONNECTIONS=${2:-64}
build_release

start_pipeline

# start_nginx LABEL WORKERS: nginx `return 204` with `worker_processes WORKERS` on a port of its
# own; sets NGINX_PORT[LABEL]. Both stay up for the whole run; an idle one costs nothing.
declare -A NGINX_PORT
start_nginx() {
  local label=$1 workers=$2 dir="$WORK/$1" port
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir;
  server { listen 127.0.0.1:$port; location / { return 204; } }
}
CONF
  nginx -c "$dir/nginx.conf" &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/"
  NGINX_PORT[$label]=$port
}
start_nginx nginx-1 1
start_nginx nginx-auto auto
BARE_PORT=$(free_port)
"$BIN/analytics-bench" bare-server --port "$BARE_PORT" >"$WORK/bare.log" 2>&1 &
PIDS+=($!)
wait_listening "http://127.0.0.1:$BARE_PORT/"

# CPU seconds of the service's processes, to see where the machine's two cores go.
service_cpu() {
  local out="gateway $(cpu_seconds "$GATEWAY_PID") redis $(cpu_seconds "$REDIS_PID")"
  [ -z "${AGGREGATOR_PID:-}" ] || out="$out aggregator $(cpu_seconds "$AGGREGATOR_PID")"
  echo "$out"
}

declare -A RPS
run_wrk() { # label url
  wrk -t2 -c"$CONNECTIONS" -d3s -s "$ROOT/bench/post-event.lua" "$2" >/dev/null  # warm-up
  local before; before=$(service_cpu)
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$ROOT/bench/post-event.lua" "$2" >"$WORK/$1.wrk"
  if [ "$1" = gateway ]; then
    paste <(echo "$before" | tr ' ' '\n' | paste - -) <(service_cpu | tr ' ' '\n' | paste - -) |
      awk -v d="$DURATION" '{printf "  %s %.0f %% of a core", $1, ($4 - $2) * 100 / d} END {print ""}' >"$WORK/cpu.txt"
  fi
  local rps p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/$1.wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/$1.wrk")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/$1.wrk"); non2xx=${non2xx:-0}
  printf '%-10s %10s req/s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p99" "$non2xx"
  [ "$1" != gateway ] || cat "$WORK/cpu.txt"
  RPS[$1]=$rps
}

echo "== wrk -t2 -c$CONNECTIONS -d${DURATION}s, POST of one event"
run_wrk nginx-1 "http://127.0.0.1:${NGINX_PORT[nginx-1]}/api/analytics/event"
run_wrk nginx-auto "http://127.0.0.1:${NGINX_PORT[nginx-auto]}/api/analytics/event"
run_wrk bare "http://127.0.0.1:$BARE_PORT/api/analytics/event"
run_wrk gateway "http://127.0.0.1:$HTTP_PORT/api/analytics/event"
awk -v g="${RPS[gateway]}" -v a="${RPS[nginx-auto]}" -v o="${RPS[nginx-1]}" -v b="${RPS[bare]}" 'BEGIN {
  printf "ratio    gateway / nginx (as shipped, worker_processes auto) = %.2f\n", g / a
  printf "ratios   gateway / nginx-1 = %.2f   bare / nginx-auto = %.2f   bare / nginx-1 = %.2f   gateway / bare = %.2f\n", g / o, b / a, b / o, g / b
}'

[ "${AGGREGATE_DURING_LOAD:-1}" = 1 ] || start_aggregator
echo "bot filter $BOT_FILTER: $(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^analytics_gateway_events_dropped_total\{reason="bot"\}/ {print $2}') events dropped as bots"
echo "tracker script: $(curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$HTTP_PORT/js/analytics.js" | wc -c) bytes gzip-encoded as served ($(curl -s "http://127.0.0.1:$HTTP_PORT/js/analytics.js" | wc -c) plain)"
accepted=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^analytics_gateway_events_accepted_total\{source="api"\}/ {print $2}')
for _ in $(seq 600); do [ "$(counted_events)" -ge "$accepted" ] && break; sleep 0.1; done
sleep 0.5
counted=$(counted_events)
echo "accepted $accepted (201 answers, warm-ups included), counted by the aggregator $counted"
[ "$accepted" = "$counted" ] || { echo "MISMATCH" >&2; exit 1; }
