-- Visitor writes that do not slow down with the size of the tables (measured on 1M events with 10M
-- stored: the foreign key's per-event check and the visitors' non-HOT updates took a third of the
-- archiver's time in PostgreSQL).
--
-- The foreign key checked every event's visitor row (and share-locked it) one event at a time. The
-- archiver and the importer write an event's visitor in the same transaction as the event
-- (EventStore), so the key held by construction; retention forgets visitors only once their
-- events' partitions are dropped, so nothing relied on the cascade either.
ALTER TABLE analytics_events DROP CONSTRAINT IF EXISTS analytics_events_visitor_id_fkey;

-- last_seen moves forward on every visit: without an index on it, and with room left in each page,
-- that update is HOT (no index entry written). The daily retention pass scans visitors instead.
DROP INDEX IF EXISTS idx_visitors_last_seen;
ALTER TABLE visitors SET (fillfactor = 85);
