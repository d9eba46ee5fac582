ALTER TABLE visitors RESET (fillfactor);
CREATE INDEX IF NOT EXISTS idx_visitors_last_seen ON visitors (last_seen);
ALTER TABLE analytics_events
    ADD CONSTRAINT analytics_events_visitor_id_fkey FOREIGN KEY (visitor_id) REFERENCES visitors (id) ON DELETE CASCADE;
