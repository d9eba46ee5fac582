#!/usr/bin/env bash
# Ingest: wrk POSTs single events to the gateway and, in the same run, to nginx `return 204` and to a
# bare Hummingbird handler (Codable decode, 201, nothing else) on the same machine; prints
# requests/s, p99, non-2xx and the ratios, then checks that every accepted event was counted by the
# aggregator (which runs during the load, as in production).
#   bench/ingest.sh [seconds] [connections]
#   AGGREGATE_DURING_LOAD=0 bench/ingest.sh   # the aggregator counts after the load, not during it
source "$(dirname "$0")/lib.sh"
DURATION=${1:-15}
CONNECTIONS=${2:-64}
build_release

start_pipeline

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$NGINX_PORT; location / { return 204; } }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/"
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
  printf '%-8s %10s req/s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p99" "$non2xx"
  [ "$1" != gateway ] || cat "$WORK/cpu.txt"
  eval "${1}_RPS=$rps"
}

echo "== wrk -t2 -c$CONNECTIONS -d${DURATION}s, POST of one event"
run_wrk nginx "http://127.0.0.1:$NGINX_PORT/api/analytics/event"
run_wrk bare "http://127.0.0.1:$BARE_PORT/api/analytics/event"
run_wrk gateway "http://127.0.0.1:$HTTP_PORT/api/analytics/event"
awk -v g="$gateway_RPS" -v n="$nginx_RPS" -v b="$bare_RPS" \
  'BEGIN { printf "ratios   gateway / nginx = %.2f   bare Hummingbird / nginx = %.2f   gateway / bare = %.2f\n", g / n, b / n, g / b }'

[ "${AGGREGATE_DURING_LOAD:-1}" = 1 ] || start_aggregator
accepted=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^analytics_gateway_events_accepted_total\{source="api"\}/ {print $2}')
for _ in $(seq 600); do [ "$(counted_events)" -ge "$accepted" ] && break; sleep 0.1; done
sleep 0.5
counted=$(counted_events)
echo "accepted $accepted (201 answers, warm-ups included), counted by the aggregator $counted"
[ "$accepted" = "$counted" ] || { echo "MISMATCH" >&2; exit 1; }
