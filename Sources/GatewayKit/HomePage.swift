/// A page showing how a site sends events, served at ``path``: unlike the dashboard, a visit to it
/// is a pageview (the tracking middleware records it).
enum HomePage {
    static let path = "/demo"
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Real-time analytics</title>
        <style>
          body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
          code, pre { background: #f4f4f4; padding: .1rem .3rem; border-radius: 3px; }
          pre { padding: .8rem; overflow-x: auto; }
          button { font: inherit; margin-right: .5rem; }
        </style>
        </head>
        <body>
        <h1>Real-time analytics</h1>
        <p>This visit was recorded as a <code>pageview</code>. Send your own events:</p>
        <pre>fetch("/api/analytics/event", {
          method: "POST",
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify({event_type: "cv_theme_view", event_data: {theme: "backend"}})
        })</pre>
        <p>
          <button data-theme="backend">View theme "backend"</button>
          <button data-theme="frontend">View theme "frontend"</button>
          <button id="letter">Generate a letter</button>
        </p>
        <p id="sent" aria-live="polite"></p>
        <p>Watch them arrive on the <a href="/">dashboard</a>.</p>
        <script>
        async function send(body) {
          const answer = await fetch("/api/analytics/event", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
          document.getElementById("sent").textContent = `${body.event_type}: HTTP ${answer.status}`;
        }
        document.querySelectorAll("[data-theme]").forEach(b =>
          b.onclick = () => send({event_type: "cv_theme_view", event_data: {theme: b.dataset.theme}}));
        document.getElementById("letter").onclick = () =>
          send({event_type: "letter_generated", event_data: {type: "motivation"}});
        </script>
        </body>
        </html>
        """
}
