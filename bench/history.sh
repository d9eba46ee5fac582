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
"${PSQL[@]}" <<SQL
SELECT setseed(0.2026);
SELECT count(analytics_ensure_partition(current_date - d)) FROM generate_series(0, 364) d;
INSERT INTO analytics_events (id, visitor_id, event_type, event_data, page_url, referrer, created_at, host, path,
    referrer_source, utm_source, utm_medium, utm_campaign, browser, browser_version, os, device, country)
SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       md5('v' || visitor)::uuid, event_type, '{}', 'https://example.test' || path, NULL, ts, 'example.test', path,
       source, coalesce((ARRAY['newsletter', 'twitter', 'google', 'partner'])[campaign], ''),
       coalesce((ARRAY['email', 'social', 'cpc', 'referral'])[campaign], ''), coalesce((ARRAY['winter', 'launch', 'brand', 'spring'])[campaign], ''), browser, browser || ' ' || (100 + (visitor % 40)), os, device, country
FROM (
    SELECT i, md5(i::text) AS h, ts,
           -- about 8,000 visitors a day, a third of them back from other days
           CASE WHEN random() < 0.33 THEN (random() * 200000)::int ELSE 200000 + i / 4 END AS visitor,
           CASE WHEN random() < 0.85 THEN 'pageview' ELSE (ARRAY['signup', 'outbound_click', 'file_download', 'cv_theme_view'])[1 + floor(random() * 4)::int] END AS event_type,
           CASE WHEN r_page < 0.15 THEN '/' ELSE '/page/' || floor(500 * power(random(), 3))::int END AS path,
           CASE WHEN r_source < 0.45 THEN '' ELSE (ARRAY['Google', 'Bing', 'DuckDuckGo', 'Hacker News', 'Reddit', 'X', 'LinkedIn', 'GitHub', 'Facebook', 'news.example.org', 'blog.example.com', 'Ecosia'])[1 + floor(12 * power(random(), 2))::int] END AS source,
           -- 0: no campaign; 1-4: one of four campaigns
           CASE WHEN random() < 0.85 THEN 0 ELSE 1 + floor(random() * 4)::int END AS campaign,
           (ARRAY['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet', 'Opera', 'Android WebView', 'Instagram'])[1 + floor(8 * power(random(), 2))::int] AS browser,
           (ARRAY['Windows', 'iOS', 'Android', 'macOS', 'Linux', 'ChromeOS'])[1 + floor(6 * power(random(), 1.5))::int] AS os,
           (ARRAY['desktop', 'mobile', 'tablet'])[1 + floor(3 * power(random(), 1.7))::int] AS device,
           (ARRAY['US', 'DE', 'FR', 'GB', 'IN', 'CA', 'NL', 'BR', 'JP', 'ES', 'IT', 'PL', 'SE', 'AU', 'CH', ''])[1 + floor(16 * power(random(), 2))::int] AS country
    FROM (SELECT i, random() AS r_page, random() AS r_source,
                 (current_date - 364)::timestamptz + i * (interval '365 days' / $EVENTS) AS ts
          FROM generate_series(0, $EVENTS - 1) i) g
) s;
VACUUM (ANALYZE);
CHECKPOINT;
SQL
echo "   loaded in $(seconds_since "$t0") s"

echo "== reference: daily distinct visitors over 365 days from the raw events"
t0=$(now)
"${PSQL[@]}" -c "SELECT count(*) FROM (SELECT (created_at AT TIME ZONE 'UTC')::date, count(DISTINCT visitor_id) FROM analytics_events GROUP BY 1) d" >/dev/null
reference=$(seconds_since "$t0")
echo "   raw query: $reference s"

echo "== rollups of the year (analytics_rebuild_rollups)"
t0=$(now)
"${PSQL[@]}" -c "SELECT analytics_rebuild_rollups(current_date - 364, current_date)" >/dev/null
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
