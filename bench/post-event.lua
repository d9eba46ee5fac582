-- wrk: POST one event per request, as a browser would.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"event_type":"click","event_data":{"button":"cta","position":3},"page_url":"https://example.test/cv"}'
