ALTER TABLE visitors RESET (fillfactor);
CREATE INDEX IF NOT EXISTS idx_visitors_last_seen ON visitors (last_seen);
-- The key is checked again for every stored event: give any event stored without its visitor one
-- (from its events' times) rather than deleting anything.
INSERT INTO visitors (id, first_seen, last_seen)
SELECT e.visitor_id, min(e.created_at), max(e.created_at) FROM analytics_events e
WHERE NOT EXISTS (SELECT 1 FROM visitors v WHERE v.id = e.visitor_id)
GROUP BY e.visitor_id;
ALTER TABLE analytics_events
    ADD CONSTRAINT analytics_events_visitor_id_fkey FOREIGN KEY (visitor_id) REFERENCES visitors (id) ON DELETE CASCADE;
