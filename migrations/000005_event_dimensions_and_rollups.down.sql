DROP TABLE IF EXISTS analytics_rollup_archived_hours;
DROP TABLE IF EXISTS analytics_rollup_days;
DROP TABLE IF EXISTS analytics_rollup_hours;
ALTER TABLE analytics_events
    DROP COLUMN IF EXISTS host, DROP COLUMN IF EXISTS path, DROP COLUMN IF EXISTS referrer_source,
    DROP COLUMN IF EXISTS utm_source, DROP COLUMN IF EXISTS utm_medium, DROP COLUMN IF EXISTS utm_campaign,
    DROP COLUMN IF EXISTS browser, DROP COLUMN IF EXISTS browser_version, DROP COLUMN IF EXISTS os,
    DROP COLUMN IF EXISTS device, DROP COLUMN IF EXISTS country;
DROP FUNCTION IF EXISTS analytics_rebuild_rollups(date, date);
DROP FUNCTION IF EXISTS analytics_visitor_hash(uuid);
-- The extension stays: other objects of the database may use it.
