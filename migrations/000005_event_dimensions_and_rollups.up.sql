-- History and breakdowns: the dimensions the gateway derives when it accepts an event become
-- columns of the raw events, and the archiver keeps rollups of them in the same transaction as it
-- stores the events.

-- Mergeable visitor sketches (HyperLogLog): a day's, a week's or a filter's unique visitors are the
-- union of stored sketches. The extension is not "trusted": when the service's role is not a
-- superuser, an administrator runs `CREATE EXTENSION hll;` once in the database before migrating.
CREATE EXTENSION IF NOT EXISTS hll;

-- The one way a visitor id enters a sketch, for the rollups and for queries over raw events alike,
-- so that both give the same answer.
CREATE FUNCTION analytics_visitor_hash(visitor uuid) RETURNS hll_hashval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT hll_hash_bytea(uuid_send(visitor)) $$;

-- Empty means unknown or absent (events stored before this migration have every dimension empty).
-- Adding columns with a constant default rewrites nothing.
ALTER TABLE analytics_events
    ADD COLUMN host            text NOT NULL DEFAULT '',
    ADD COLUMN path            text NOT NULL DEFAULT '',
    ADD COLUMN referrer_source text NOT NULL DEFAULT '',
    ADD COLUMN utm_source      text NOT NULL DEFAULT '',
    ADD COLUMN utm_medium      text NOT NULL DEFAULT '',
    ADD COLUMN utm_campaign    text NOT NULL DEFAULT '',
    ADD COLUMN browser         text NOT NULL DEFAULT '',
    ADD COLUMN browser_version text NOT NULL DEFAULT '',
    ADD COLUMN os              text NOT NULL DEFAULT '',
    ADD COLUMN device          text NOT NULL DEFAULT '',
    ADD COLUMN country         text NOT NULL DEFAULT '';

-- Every hour's totals: the hourly timeseries.
CREATE TABLE analytics_rollup_hours (
    hour      timestamptz PRIMARY KEY,
    events    bigint NOT NULL,
    pageviews bigint NOT NULL,
    visitors  hll    NOT NULL
);

-- Every day's counts per dimension value (dimension '' and value '': the day's totals): the daily,
-- weekly and monthly timeseries and the breakdowns without filters.
CREATE TABLE analytics_rollup_days (
    day       date   NOT NULL,
    dimension text   NOT NULL,
    value     text   NOT NULL,
    events    bigint NOT NULL,
    pageviews bigint NOT NULL,
    visitors  hll    NOT NULL,
    PRIMARY KEY (dimension, day, value)
);

-- Once the retention pass has archived a day and dropped its raw events, what remains of it for
-- filtered questions: counts per hour and per combination of every dimension. Filtered answers
-- read the raw events of the days still held raw and these rows for the others.
CREATE TABLE analytics_rollup_archived_hours (
    hour            timestamptz NOT NULL,
    event_type      varchar(50) NOT NULL,
    host            text NOT NULL,
    path            text NOT NULL,
    referrer_source text NOT NULL,
    utm_source      text NOT NULL,
    utm_medium      text NOT NULL,
    utm_campaign    text NOT NULL,
    browser         text NOT NULL,
    browser_version text NOT NULL,
    os              text NOT NULL,
    device          text NOT NULL,
    country         text NOT NULL,
    events          bigint NOT NULL,
    pageviews       bigint NOT NULL,
    visitors        hll    NOT NULL
);
CREATE INDEX idx_analytics_rollup_archived_hours_hour ON analytics_rollup_archived_hours (hour);

-- Recomputes the hourly and daily rollups of the days from first_day to last_day from their raw
-- events, leaving alone the days the retention pass has archived (their raw events are gone or,
-- after an import, already counted). Used below for the events stored before this migration, and by
-- `analytics-archiver rebuild --rollups` to repair them. The rollup tables are locked first: an
-- archiver storing a batch meanwhile waits, then adds its batch to the recomputed rows, so nothing
-- is counted twice or missed. Returns the number of raw events counted.
CREATE FUNCTION analytics_rebuild_rollups(first_day date, last_day date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    start_at timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
    end_at   timestamptz := (last_day + 1)::timestamp AT TIME ZONE 'UTC';
    counted  bigint;
BEGIN
    LOCK TABLE analytics_rollup_hours, analytics_rollup_days IN EXCLUSIVE MODE;
    DELETE FROM analytics_rollup_days r
    WHERE r.day BETWEEN first_day AND last_day
      AND NOT EXISTS (SELECT 1 FROM analytics_archive_files a WHERE a.day = r.day);
    DELETE FROM analytics_rollup_hours r
    WHERE r.hour >= start_at AND r.hour < end_at
      AND NOT EXISTS (SELECT 1 FROM analytics_archive_files a WHERE a.day = (r.hour AT TIME ZONE 'UTC')::date);

    CREATE TEMP TABLE analytics_rebuilt_events ON COMMIT DROP AS
    SELECT (e.created_at AT TIME ZONE 'UTC')::date AS day, date_trunc('hour', e.created_at, 'UTC') AS hour,
           analytics_visitor_hash(e.visitor_id) AS visitor, (e.event_type = 'pageview')::int AS pageview,
           e.event_type, e.host, e.path, e.referrer_source, e.utm_source, e.utm_medium, e.utm_campaign,
           e.browser, e.browser_version, e.os, e.device, e.country
    FROM analytics_events e
    WHERE e.created_at >= start_at AND e.created_at < end_at
      AND NOT EXISTS (SELECT 1 FROM analytics_archive_files a WHERE a.day = (e.created_at AT TIME ZONE 'UTC')::date);
    GET DIAGNOSTICS counted = ROW_COUNT;

    INSERT INTO analytics_rollup_hours (hour, events, pageviews, visitors)
    SELECT hour, count(*), sum(pageview), hll_add_agg(visitor) FROM analytics_rebuilt_events GROUP BY hour;

    INSERT INTO analytics_rollup_days (day, dimension, value, events, pageviews, visitors)
    SELECT day, d.dimension, d.value, count(*), sum(pageview), hll_add_agg(visitor)
    FROM analytics_rebuilt_events
    CROSS JOIN LATERAL (VALUES
        ('', ''), ('event_type', event_type::text), ('host', host), ('path', path), ('referrer_source', referrer_source),
        ('utm_source', utm_source), ('utm_medium', utm_medium), ('utm_campaign', utm_campaign), ('browser', browser),
        ('browser_version', browser_version), ('os', os), ('device', device), ('country', country)
    ) AS d(dimension, value)
    GROUP BY day, d.dimension, d.value;

    DROP TABLE analytics_rebuilt_events;
    RETURN counted;
END
$$;

-- The events stored before this migration: every dimension empty but the event type.
SELECT analytics_rebuild_rollups(
    coalesce((SELECT (min(created_at) AT TIME ZONE 'UTC')::date FROM analytics_events), current_date),
    coalesce((SELECT (max(created_at) AT TIME ZONE 'UTC')::date FROM analytics_events), current_date));
