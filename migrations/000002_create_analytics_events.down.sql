DROP FUNCTION IF EXISTS analytics_ensure_partition(date);
DROP TABLE IF EXISTS analytics_events;
