-- What remains of a day once its raw events are archived and dropped: counts per event type, page
-- and dimension (the theme of a cv_theme_view, the type of a letter_generated) ...
CREATE TABLE analytics_daily_rollups (
    day        date        NOT NULL,
    event_type varchar(50) NOT NULL,
    page_url   text        NOT NULL DEFAULT '',
    dimension  text        NOT NULL DEFAULT '',
    events     bigint      NOT NULL,
    PRIMARY KEY (day, event_type, page_url, dimension)
);

-- ... and the day's unique visitors in a mergeable form: the bytes of a Redis HyperLogLog of the
-- day's visitor ids, so that week and month uniques can be rebuilt with PFMERGE.
CREATE TABLE analytics_daily_visitors (
    day             date   PRIMARY KEY,
    unique_visitors bigint NOT NULL,
    visitors_hll    bytea  NOT NULL
);

-- The archive file of each archived day (gzip NDJSON in ANALYTICS_ARCHIVE_DIR).
CREATE TABLE analytics_archive_files (
    day         date        PRIMARY KEY,
    path        text        NOT NULL,
    events      bigint      NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now()
);

-- One row per daily retention pass, so that several archivers run it once a day.
CREATE TABLE analytics_retention_runs (
    run_day     date PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
