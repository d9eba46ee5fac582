DROP FUNCTION IF EXISTS analytics_rebuild_rollups(date, date);
ALTER FUNCTION analytics_rebuild_day_rollups(date, date) RENAME TO analytics_rebuild_rollups;
DROP FUNCTION IF EXISTS analytics_close_weeks();
DROP INDEX IF EXISTS idx_analytics_rollup_days_day;
DROP TABLE IF EXISTS analytics_rollup_closed_weeks;
DROP TABLE IF EXISTS analytics_rollup_weeks;
