#!/usr/bin/env bash
# Freshness: time from a 201 to the change being visible on the REST API, at 5k events/s.
#   bench/freshness.sh [rate] [seconds]
source "$(dirname "$0")/lib.sh"
RATE=${1:-5000}
DURATION=${2:-20}
build_release
start_redis --appendonly yes --appendfsync everysec
HTTP_PORT=$(free_port)
start_service aggregator ANALYTICS_ADMIN_PORT="$(free_port)" ANALYTICS_CONSUMER_NAME=bench
start_service gateway ANALYTICS_HTTP_PORT="$HTTP_PORT" ANALYTICS_RATE_LIMIT=0
wait_http "http://127.0.0.1:$HTTP_PORT/healthz"
"$BIN/analytics-bench" freshness --url "http://127.0.0.1:$HTTP_PORT" --rate "$RATE" --duration "$DURATION"
