#!/usr/bin/env bash
# Archiver throughput: a stream pre-filled with N events (default 1M, 100k visitors) drained by the
# archiver into the partitioned, indexed table (with the visitors upsert), then the same rows loaded
# with `psql \copy` into the same (emptied) table in the same run. With STORED=10000000 the table
# first holds that many events spread over the previous 30 days.
#   bench/archiver.sh [events]          STORED=10000000 bench/archiver.sh
source "$(dirname "$0")/lib.sh"
COUNT=${1:-1000000}
STORED=${STORED:-0}
build_release
start_redis --appendonly yes --appendfsync everysec
# PROFILE=1: pg_stat_statements records where the archiver's time goes in PostgreSQL (printed after
# the drain).
if [ "${PROFILE:-0}" = 1 ]; then
  start_postgres -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all
  "${PSQL[@]}" -c "CREATE EXTENSION pg_stat_statements"
else
  start_postgres
fi
env ANALYTICS_DATABASE_URL="$DATABASE_URL" "$BIN/analytics-archiver" migrate >/dev/null 2>&1

if [ "$STORED" -gt 0 ]; then
  echo "== storing $STORED events over the previous 30 days (SQL)"
  t0=$(now)
  "${PSQL[@]}" <<SQL
INSERT INTO visitors (id, first_seen, last_seen)
SELECT md5('v' || i)::uuid, now() - interval '31 days', now() - interval '1 day' FROM generate_series(0, 99999) i;
SELECT analytics_ensure_partition(current_date - d) FROM generate_series(1, 31) d;
INSERT INTO analytics_events (id, visitor_id, event_type, event_data, page_url, referrer, created_at)
SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       md5('v' || (i % 100000))::uuid, 'pageview',
       jsonb_build_object('path', '/page/' || (i % 50), 'method', 'GET', 'user_agent', 'Mozilla/5.0 (X11; Linux x86_64) bench'),
       'https://example.test/page/' || (i % 50), NULL, ts
FROM (SELECT i, md5(i::text) AS h, (current_date - 30)::timestamptz + i * (interval '30 days' / $STORED) AS ts
      FROM generate_series(0, $STORED - 1) i) s;
-- Steady state, as after the autovacuum of a long-running database: not racing the run below.
VACUUM (ANALYZE);
CHECKPOINT;
SQL
  echo "   stored in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
fi

[ "${PROFILE:-0}" = 1 ] && "${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
"$BIN/analytics-bench" fill-stream --redis-url "$REDIS_URL" --count "$COUNT"
start_service archiver ANALYTICS_DATABASE_URL="$DATABASE_URL" ANALYTICS_ADMIN_PORT="$(free_port)" ANALYTICS_CONSUMER_NAME=bench \
  ANALYTICS_ARCHIVE_DIR="$WORK/archive"
drain=$("$BIN/analytics-bench" wait-drained --redis-url "$REDIS_URL" --group archiver --count "$COUNT" --timeout 900)
echo "archiver: $drain"
# CPU time is steadier than throughput on a shared machine: it shows whether the archiver changed.
echo "cpu seconds: archiver $(cpu_seconds "$LAST_PID")"
if [ "${PROFILE:-0}" = 1 ]; then
  echo "== PostgreSQL statements by total time during the drain (ms, calls, statement)"
  "${PSQL[@]}" -F ' | ' -c "SELECT round(total_exec_time), calls, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
    FROM pg_stat_statements WHERE query NOT LIKE '%generate_series%' ORDER BY total_exec_time DESC LIMIT 12"
fi
today="analytics_events_$(date -u +%Y%m%d)"
stored=$("${PSQL[@]}" -c "SELECT count(*) FROM $today")
echo "stored today: $stored of $COUNT"
[ "$stored" = "$COUNT" ] || { echo "MISMATCH" >&2; exit 1; }
kill "$LAST_PID"

echo "== psql \\copy of the same $COUNT rows into the same table"
"${PSQL[@]}" -c "\\copy (SELECT id, visitor_id, event_type, event_data, page_url, referrer, created_at FROM $today) TO '$WORK/rows.tsv'"
"${PSQL[@]}" -c "TRUNCATE $today; CHECKPOINT"
t0=$(now)
"${PSQL[@]}" -c "\\copy analytics_events (id, visitor_id, event_type, event_data, page_url, referrer, created_at) FROM '$WORK/rows.tsv'"
t1=$(now)
archiver_rate=$(echo "$drain" | sed -E 's/.*\(([0-9]+) events\/s; ([0-9]+) events\/s once reading\).*/\2/')
awk -v a="$t0" -v b="$t1" -v n="$COUNT" -v r="$archiver_rate" \
  'BEGIN { printf "psql \\copy: %d rows in %.2f s (%.0f rows/s)\nratio archiver / psql \\copy = %.2f\n", n, b - a, n / (b - a), r / (n / (b - a)) }'
