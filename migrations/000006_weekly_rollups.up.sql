-- Weekly rollups: a breakdown over months reads one row per week and value instead of seven, which
-- is what makes it fast (the cost of a breakdown is the number of visitor sketches it merges).
--
-- A week (ISO: Monday to Sunday, UTC) is closed once it is over: its rows are then the union of its
-- seven days' rows in analytics_rollup_days, and stay equal to it:
-- * closing takes a lock on the day rows that waits for the archivers' transactions in flight and
--   holds new ones back, so a batch's days are either in the union or see the week closed;
-- * an archiver that adds events to a closed week's days (a late batch, an import) adds them to the
--   week's rows in the same transaction (EventStore+Rollups.swift);
-- * a rebuild of days reopens their weeks and closes them again from the rebuilt days;
-- * the retention pass deletes the weeks whose first day it deletes.
-- Queries read closed weeks from here and every other day from analytics_rollup_days.

CREATE TABLE analytics_rollup_weeks (
    week      date   NOT NULL, -- the Monday
    dimension text   NOT NULL,
    value     text   NOT NULL,
    events    bigint NOT NULL,
    pageviews bigint NOT NULL,
    visitors  hll    NOT NULL,
    PRIMARY KEY (dimension, week, value)
);

-- The closed weeks, whether or not they had events.
CREATE TABLE analytics_rollup_closed_weeks (
    week date PRIMARY KEY
);

-- Closing reads the rows of one week, all dimensions.
CREATE INDEX idx_analytics_rollup_days_day ON analytics_rollup_days (day);

-- Closes every week that is over and not closed yet, from its day rows; returns how many it closed.
-- Cheap when there is none (no lock is taken then): the archiver calls it every day.
CREATE FUNCTION analytics_close_weeks() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    this_week date := date_trunc('week', (now() AT TIME ZONE 'UTC')::date::timestamp)::date;
    first_day date;
    closing   date;
    closed    integer := 0;
BEGIN
    -- The earliest day with rollups; a week before it has nothing to close.
    SELECT min(day) INTO first_day FROM analytics_rollup_days WHERE dimension = '';
    IF first_day IS NULL THEN
        RETURN 0;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM generate_series(date_trunc('week', first_day::timestamp), (this_week - 7)::timestamp, interval '7 days') AS w(week)
        WHERE NOT EXISTS (SELECT 1 FROM analytics_rollup_closed_weeks c WHERE c.week = w.week::date)
    ) THEN
        RETURN 0;
    END IF;
    -- SHARE ROW EXCLUSIVE conflicts with the ROW EXCLUSIVE lock of the archivers' upserts: it waits
    -- for those in flight to commit and makes new ones wait until this transaction ends.
    LOCK TABLE analytics_rollup_days IN SHARE ROW EXCLUSIVE MODE;
    FOR closing IN
        SELECT w.week::date FROM generate_series(date_trunc('week', first_day::timestamp), (this_week - 7)::timestamp, interval '7 days') AS w(week)
        WHERE NOT EXISTS (SELECT 1 FROM analytics_rollup_closed_weeks c WHERE c.week = w.week::date)
        ORDER BY 1
    LOOP
        DELETE FROM analytics_rollup_weeks WHERE week = closing;
        INSERT INTO analytics_rollup_weeks (week, dimension, value, events, pageviews, visitors)
        SELECT closing, dimension, value, sum(events), sum(pageviews), hll_union_agg(visitors)
        FROM analytics_rollup_days
        WHERE day >= closing AND day < closing + 7
        GROUP BY dimension, value;
        INSERT INTO analytics_rollup_closed_weeks (week) VALUES (closing);
        closed := closed + 1;
    END LOOP;
    RETURN closed;
END
$$;

-- The rebuild of days now reopens their weeks and closes them again from the rebuilt days.
ALTER FUNCTION analytics_rebuild_rollups(date, date) RENAME TO analytics_rebuild_day_rollups;

CREATE FUNCTION analytics_rebuild_rollups(first_day date, last_day date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    counted bigint;
BEGIN
    counted := analytics_rebuild_day_rollups(first_day, last_day);
    DELETE FROM analytics_rollup_weeks WHERE week BETWEEN date_trunc('week', first_day::timestamp)::date AND last_day;
    DELETE FROM analytics_rollup_closed_weeks WHERE week BETWEEN date_trunc('week', first_day::timestamp)::date AND last_day;
    PERFORM analytics_close_weeks();
    RETURN counted;
END
$$;

SELECT analytics_close_weeks();
