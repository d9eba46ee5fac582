#!/usr/bin/env bash
# Aggregator throughput: a stream pre-filled with N events (default 1M, 100k visitors), then the
# aggregator started on it; prints the time to consume and acknowledge everything.
#   bench/aggregator.sh [events]
source "$(dirname "$0")/lib.sh"
COUNT=${1:-1000000}
build_release
start_redis --appendonly "${AOF:-yes}" --appendfsync everysec
"$BIN/analytics-bench" fill-stream --redis-url "$REDIS_URL" --count "$COUNT"
echo "redis used_memory: $(redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r')"
redis_cpu_before=$(cpu_seconds "$REDIS_PID")
start_service aggregator ANALYTICS_ADMIN_PORT="$(free_port)" ANALYTICS_CONSUMER_NAME=bench
"$BIN/analytics-bench" wait-drained --redis-url "$REDIS_URL" --group aggregator --count "$COUNT"
# CPU time is steadier than throughput on a shared machine: it shows which side changed.
echo "cpu seconds: aggregator $(cpu_seconds "$LAST_PID"), redis main process $(awk -v a="$(cpu_seconds "$REDIS_PID")" -v b="$redis_cpu_before" 'BEGIN {printf "%.2f", a - b}')"
counted=$(counted_events)
echo "counted $counted of $COUNT"
[ "$counted" = "$COUNT" ] || { echo "MISMATCH" >&2; exit 1; }
