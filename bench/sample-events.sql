-- Sample events with realistic dimensions (skewed pages, referrers, browsers, countries, campaigns),
-- :events of them spread evenly over the :days × 24 hours up to now, into analytics_events
-- and its daily partitions. Rollups are not written: call analytics_rebuild_rollups afterwards.
--   psql -v events=1000000 -v days=365 -f bench/sample-events.sql
-- Used by bench/history.sh and scripts/screenshot-dashboard.
SELECT setseed(0.2026);
SELECT count(analytics_ensure_partition(current_date - d)) FROM generate_series(0, :days) d;
INSERT INTO analytics_events (id, visitor_id, event_type, event_data, page_url, referrer, created_at, host, path,
    referrer_source, utm_source, utm_medium, utm_campaign, browser, browser_version, os, device, country)
SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       md5('v' || visitor)::uuid, event_type, '{}', 'https://example.test' || path, NULL, ts, 'example.test', path,
       source, coalesce((ARRAY['newsletter', 'twitter', 'google', 'partner'])[campaign], ''),
       coalesce((ARRAY['email', 'social', 'cpc', 'referral'])[campaign], ''), coalesce((ARRAY['winter', 'launch', 'brand', 'spring'])[campaign], ''), browser, browser || ' ' || (100 + (visitor % 40)), os, device, country
FROM (
    SELECT i, md5(i::text) AS h, ts,
           -- a visitor every four events, a third of the events from returning visitors
           CASE WHEN random() < 0.33 THEN (random() * 200000)::int ELSE 200000 + i / 4 END AS visitor,
           CASE WHEN random() < 0.85 THEN 'pageview' ELSE (ARRAY['signup', 'outbound_click', 'file_download', 'cv_theme_view'])[1 + floor(random() * 4)::int] END AS event_type,
           CASE WHEN r_page < 0.15 THEN '/' ELSE '/page/' || floor(500 * power(random(), 3))::int END AS path,
           CASE WHEN r_source < 0.45 THEN '' ELSE (ARRAY['Google', 'Bing', 'DuckDuckGo', 'Hacker News', 'Reddit', 'X', 'LinkedIn', 'GitHub', 'Facebook', 'news.example.org', 'blog.example.com', 'Ecosia'])[1 + floor(12 * power(random(), 2))::int] END AS source,
           -- 0: no campaign; 1-4: one of four campaigns
           CASE WHEN random() < 0.85 THEN 0 ELSE 1 + floor(random() * 4)::int END AS campaign,
           (ARRAY['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet', 'Opera', 'Android WebView', 'Instagram'])[1 + floor(8 * power(random(), 2))::int] AS browser,
           (ARRAY['Windows', 'iOS', 'Android', 'macOS', 'Linux', 'ChromeOS'])[1 + floor(6 * power(random(), 1.5))::int] AS os,
           (ARRAY['desktop', 'mobile', 'tablet'])[1 + floor(3 * power(random(), 1.7))::int] AS device,
           (ARRAY['US', 'DE', 'FR', 'GB', 'IN', 'CA', 'NL', 'BR', 'JP', 'ES', 'IT', 'PL', 'SE', 'AU', 'CH', ''])[1 + floor(16 * power(random(), 2))::int] AS country
    FROM (SELECT i, random() AS r_page, random() AS r_source,
                 now() - interval '1 day' * :days + i * (interval '1 day' * :days / :events) AS ts
          FROM generate_series(0, :events - 1) i) g
) s;
VACUUM (ANALYZE);
