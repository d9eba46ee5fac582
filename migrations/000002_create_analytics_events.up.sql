-- Raw events, partitioned by UTC day on created_at so that retention drops whole partitions
-- instead of deleting rows. The primary key includes the partition key (PostgreSQL requires it);
-- ids are time-ordered UUIDv7, so a re-delivered event has the same (id, created_at) and is skipped.
CREATE TABLE analytics_events (
    id         uuid        NOT NULL,
    visitor_id uuid        NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    event_type varchar(50) NOT NULL,
    event_data jsonb,
    page_url   text,
    referrer   text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- The seed's indexes, created on every partition.
CREATE INDEX idx_analytics_events_visitor_id ON analytics_events (visitor_id);
CREATE INDEX idx_analytics_events_type ON analytics_events (event_type);
CREATE INDEX idx_analytics_events_created_at ON analytics_events (created_at);
CREATE INDEX idx_analytics_events_type_created ON analytics_events (event_type, created_at);
CREATE INDEX idx_analytics_events_data ON analytics_events USING GIN (event_data);

-- Creates the partition of one UTC day if missing; true when it created it. Safe when several
-- archivers call it at once (the advisory lock serialises creation; the check is repeated under it).
CREATE FUNCTION analytics_ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    partition text := 'analytics_events_' || to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(partition) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('analytics_events_partitions'));
    IF to_regclass(partition) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF analytics_events FOR VALUES FROM (%L) TO (%L)',
        partition, day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
    RETURN true;
END
$$;
