#!/usr/bin/env bash
# The history API on a year of data: EVENTS events (default 10M) spread over the last 365 days with
# realistic dimensions (skewed pages, referrers, browsers, countries, campaigns) are loaded with SQL,
# rolled up (analytics_rebuild_rollups, what the archiver maintains continuously), then the retention
# pass archives everything older than 90 days as in production. The gateway then answers each
# question ROUNDS times (default 100); latencies are curl's time_total (connection to last byte).
# The reference, on the same data in the same run, is the raw-event query the rollups replace: a
# daily count of distinct visitors over 365 days, run once before the retention pass.
#   bench/history.sh            EVENTS=1000000 ROUNDS=50 bench/history.sh
source "$(dirname "$0")/lib.sh"
EVENTS=${EVENTS:-10000000}
ROUNDS=${ROUNDS:-100}
build_release
start_redis
start_postgres -c work_mem=64MB
env ANALYTICS_DATABASE_URL="$DATABASE_URL" "$BIN/analytics-archiver" migrate >/dev/null

seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

echo "== loading $EVENTS events over 365 days (SQL)"
t0=$(now)
"${PSQL[@]}" -v events="$EVENTS" -v days=365 -f "$ROOT/bench/sample-events.sql"
"${PSQL[@]}" -c CHECKPOINT
echo "   loaded in $(seconds_since "$t0") s"

echo "== reference: daily distinct visitors over 365 days from the raw events"
t0=$(now)
"${PSQL[@]}" -c "SELECT count(*) FROM (SELECT (created_at AT TIME ZONE 'UTC')::date, count(DISTINCT visitor_id) FROM analytics_events GROUP BY 1) d" >/dev/null
reference=$(seconds_since "$t0")
echo "   raw query: $reference s"

echo "== rollups of the year (analytics_rebuild_rollups)"
t0=$(now)
"${PSQL[@]}" -c "SELECT analytics_rebuild_rollups(current_date - 365, current_date)" >/dev/null
echo "   rolled up in $(seconds_since "$t0") s: $("${PSQL[@]}" -c "SELECT count(*) FROM analytics_rollup_days") day rows, $("${PSQL[@]}" -c "SELECT count(*) FROM analytics_rollup_hours") hour rows"

echo "== retention pass (raw events kept 90 days)"
t0=$(now)
env ANALYTICS_DATABASE_URL="$DATABASE_URL" ANALYTICS_REDIS_URL="$REDIS_URL" ANALYTICS_ARCHIVE_DIR="$WORK/archive" ANALYTICS_DATA_DIR="$WORK/data" \
  ANALYTICS_ADMIN_PORT="$(free_port)" "$BIN/analytics-archiver" retention
echo "   retention in $(seconds_since "$t0") s: $("${PSQL[@]}" -c "SELECT count(*) FROM analytics_events") raw events left, $("${PSQL[@]}" -c "SELECT count(*) FROM analytics_rollup_archived_hours") archived hour rows"
"${PSQL[@]}" -c "VACUUM (ANALYZE)"

HTTP_PORT=$(free_port)
start_service gateway ANALYTICS_HTTP_PORT="$HTTP_PORT" ANALYTICS_DATABASE_URL="$DATABASE_URL"
wait_http "http://127.0.0.1:$HTTP_PORT/healthz"
today=$(date -u +%F)
year=$(date -u -d "$today - 364 days" +%F)
quarter=$(date -u -d "$today - 89 days" +%F)
top_page=$("${PSQL[@]}" -c "SELECT value FROM analytics_rollup_days WHERE dimension = 'path' AND day >= '$quarter' GROUP BY value ORDER BY sum(events) DESC LIMIT 1")

# measure NAME PATH: ROUNDS requests after 3 warm-up ones; prints p50 and p99 in ms.
measure() {
  local url="http://127.0.0.1:$HTTP_PORT$2" status
  status=$(curl -s -o "$WORK/answer" -w '%{http_code}' "$url")
  [ "$status" = 200 ] || { echo "$1: HTTP $status $(head -c 300 "$WORK/answer")" >&2; exit 1; }
  for _ in 1 2; do curl -s -o /dev/null "$url"; done
  for _ in $(seq "$ROUNDS"); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | sort -n >"$WORK/times"
  awk -v name="$1" -v n="$ROUNDS" '{ t[NR] = $1 * 1000 } END {
    p50 = t[int((n + 1) * 0.50)]; p99 = t[int(n * 0.99 + 0.999)]
    printf "%-44s p50 %7.1f ms   p99 %7.1f ms\n", name, p50, p99 }' "$WORK/times"
}
echo "== answers ($ROUNDS rounds each; the top page of the quarter is $top_page)"
measure "timeseries, 365 days daily, visitors" "/api/analytics/timeseries?metric=visitors&interval=day&from=$year&to=$today"
measure "timeseries, 365 days weekly, pageviews" "/api/analytics/timeseries?metric=pageviews&interval=week&from=$year&to=$today"
measure "breakdown by page, 90 days" "/api/analytics/breakdown?dimension=page&from=$quarter&to=$today"
measure "breakdown by referrer, 90 days" "/api/analytics/breakdown?dimension=referrer&from=$quarter&to=$today"
measure "referrers of the top page, 90 days" "/api/analytics/breakdown?dimension=referrer&filter=page:$top_page&from=$quarter&to=$today"
measure "countries of mobile Chrome, 90 days" "/api/analytics/breakdown?dimension=country&filter=browser:Chrome&filter=device:mobile&from=$quarter&to=$today"
measure "timeseries of one country, 90 days daily" "/api/analytics/timeseries?metric=visitors&filter=country:FR&from=$quarter&to=$today"
measure "referrers of the top page, 365 days" "/api/analytics/breakdown?dimension=referrer&filter=page:$top_page&from=$year&to=$today"
echo "reference (raw daily distinct visitors, 365 days): $reference s"
# HOLD=SECONDS keeps PostgreSQL and the gateway up that long afterwards, to try queries by hand.
if [ -n "${HOLD:-}" ]; then echo "holding: DATABASE_URL=$DATABASE_URL gateway http://127.0.0.1:$HTTP_PORT"; sleep "$HOLD"; fi
