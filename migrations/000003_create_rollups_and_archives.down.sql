DROP TABLE IF EXISTS analytics_retention_runs;
DROP TABLE IF EXISTS analytics_archive_files;
DROP TABLE IF EXISTS analytics_daily_visitors;
DROP TABLE IF EXISTS analytics_daily_rollups;
