// The live badge: "N visitors online now", pushed over the hub's WebSocket. The connection code is
// a trimmed copy of the dashboard's, so that the badge loads one small file.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const theme = new URLSearchParams(location.search).get("theme");
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;

  // The configured URL when the server wrote one into the page, else the hub's port on this host.
  function hubURL() {
    const meta = (name) => (document.querySelector(`meta[name="${name}"]`)?.content || "").trim();
    const configured = meta("analytics-ws-url");
    if (configured && !configured.startsWith("__")) return configured;
    const host = location.hostname.includes(":") && !location.hostname.startsWith("[") ? `[${location.hostname}]` : location.hostname;
    return (location.protocol === "https:" ? "wss:" : "ws:") + "//" + host + ":" + meta("analytics-ws-port") + "/ws/analytics";
  }

  function show(state, text) {
    $("live-status").dataset.state = state;
    $("live-status").textContent = text;
    $("live-status").title = text;
  }

  function showCount(data) {
    if (!Number.isFinite(data?.current_visitors)) return;
    $("live-count").textContent = String(data.current_visitors);
    $("live-noun").textContent = data.current_visitors === 1 ? "visitor" : "visitors";
  }

  // Jittered exponential backoff (0.5 s doubling to 15 s), so that badges do not all come back at
  // once after a hub restart; a heartbeat comes every 5 s, so silence means stale, then dead.
  let socket = null;
  let attempt = 0;
  let lastMessage = 0;
  let everOpened = false;

  function open() {
    show(everOpened ? "reconnecting" : "connecting", everOpened ? "Reconnecting…" : "Connecting…");
    try {
      socket = new WebSocket(hubURL());
    } catch {
      return retry();
    }
    socket.onopen = () => {
      everOpened = true;
      lastMessage = Date.now();
      show("live", "Live");
    };
    socket.onmessage = (event) => {
      lastMessage = Date.now();
      attempt = 0; // only once the hub talks: one that accepts and closes at once keeps backing off
      if ($("live-status").dataset.state !== "live") show("live", "Live");
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not JSON: nothing the hub sends
      }
      if (message?.type === "initial_stats" || message?.type === "heartbeat") showCount(message.data);
    };
    socket.onclose = retry;
  }

  function retry() {
    if (socket) socket.onopen = socket.onmessage = socket.onclose = null;
    socket = null;
    show("reconnecting", "Reconnecting…");
    setTimeout(open, Math.min(15000, 500 * 2 ** attempt++) * (0.7 + Math.random() * 0.6));
  }

  setInterval(() => {
    if (socket?.readyState !== WebSocket.OPEN) return;
    const silence = Date.now() - lastMessage;
    if (silence > 30000) {
      const dead = socket;
      retry();
      dead.close();
    } else if (silence > 12000 && $("live-status").dataset.state !== "stale") {
      show("stale", "Stale: no update for over 12 s"); // once: #live-status is a live region
    }
  }, 1000);
  open();
})();
