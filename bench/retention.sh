#!/usr/bin/env bash
# Retention pass: DAYS days (default 30) of PER_DAY events (default 300k, 100k visitors) older than
# the raw retention are exported, rolled up and dropped by `analytics-archiver retention`; prints
# the time per day (it should not grow with the size of the table).
#   bench/retention.sh [days] [per_day]
source "$(dirname "$0")/lib.sh"
DAYS=${1:-30}
PER_DAY=${2:-300000}
build_release
start_redis
start_postgres
env ANALYTICS_DATABASE_URL="$DATABASE_URL" "$BIN/analytics-archiver" migrate >/dev/null 2>&1
echo "== storing $DAYS days x $PER_DAY events, 91 to $((90 + DAYS)) days old (SQL)"
"${PSQL[@]}" <<SQL
INSERT INTO visitors (id, first_seen, last_seen)
SELECT md5('v' || i)::uuid, now() - interval '200 days', now() FROM generate_series(0, 99999) i;
SELECT analytics_ensure_partition(current_date - d) FROM generate_series(91, 90 + $DAYS) d;
INSERT INTO analytics_events (id, visitor_id, event_type, event_data, page_url, referrer, created_at)
SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       md5('v' || (i % 100000))::uuid,
       CASE WHEN i % 10 = 0 THEN 'cv_theme_view' ELSE 'pageview' END,
       CASE WHEN i % 10 = 0 THEN jsonb_build_object('theme', 'theme-' || (i % 7))
            ELSE jsonb_build_object('path', '/page/' || (i % 50), 'method', 'GET') END,
       'https://example.test/page/' || (i % 50), NULL, ts
FROM (SELECT i, md5(i::text) AS h,
             (current_date - (90 + $DAYS))::timestamptz + i * (interval '1 day' * $DAYS / ($DAYS * $PER_DAY)) AS ts
      FROM generate_series(0, $DAYS * $PER_DAY - 1) i) s;
-- Steady state, as after the autovacuum of a long-running database: not racing the run below.
VACUUM (ANALYZE);
CHECKPOINT;
SQL
echo "stored: $("${PSQL[@]}" -c 'SELECT count(*) FROM analytics_events') events"
t0=$(now)
env ANALYTICS_DATABASE_URL="$DATABASE_URL" ANALYTICS_REDIS_URL="$REDIS_URL" ANALYTICS_ARCHIVE_DIR="$WORK/archive" \
  ANALYTICS_LOG_LEVEL=info "$BIN/analytics-archiver" retention 2>"$WORK/retention.log"
t1=$(now)
awk -v a="$t0" -v b="$t1" -v d="$DAYS" 'BEGIN { printf "retention pass: %.1f s for %d days\n", b - a, d }'
grep -o 'seconds=[0-9.]*' "$WORK/retention.log" | cut -d= -f2 | sort -n | awk '
  { v[NR] = $1 } END { if (NR) printf "per day: min %.2f s, median %.2f s, max %.2f s over %d days\n", v[1], v[int((NR + 1) / 2)], v[NR], NR }'
echo "per day, in the order dropped (oldest first):"
grep -o 'day=[0-9-]* .*seconds=[0-9.]*' "$WORK/retention.log" | sed -E 's/day=([0-9-]+).*seconds=([0-9.]+)/  \1 \2 s/' | paste -sd' ' | fold -w 120
find "$WORK/archive" -type f -printf '%s\n' | awk '{ n++; s += $1 } END { printf "archive files: %d, %.1f MB\n", n, s / 1048576 }'
