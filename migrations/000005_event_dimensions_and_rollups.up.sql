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
