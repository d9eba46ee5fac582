// The dashboard: live figures and events pushed over the hub's WebSocket, and the history from the
// query API. Text from events and answers is always inserted as text, never as HTML; the hub sends
// no visitor id, so the page has none to show.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  // Attributes are set one by one, never `style` (the Content-Security-Policy forbids it; the
  // CSSOM, `node.style.width = …`, is allowed). "svg:line" makes an SVG element.
  function el(tag, attributes, ...children) {
    const node = tag.startsWith("svg:") ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    for (const child of children) if (child != null) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  const utcToday = () => new Date().toISOString().slice(0, 10);
  const addDays = (day, days) => new Date(Date.parse(day + "T00:00:00Z") + days * 864e5).toISOString().slice(0, 10);
  const pad = (n) => String(n).padStart(2, "0");

  // ---------------------------------------------------------------------------------------------
  // The hub's WebSocket.

  // The URL the server wrote into the page, else the hub's port on this page's host.
  function hubURL() {
    const meta = (name) => (document.querySelector(`meta[name="${name}"]`)?.content || "").trim();
    const configured = meta("analytics-ws-url");
    if (configured && !configured.startsWith("__")) return configured;
    const host = location.hostname.includes(":") && !location.hostname.startsWith("[") ? `[${location.hostname}]` : location.hostname;
    return (location.protocol === "https:" ? "wss:" : "ws:") + "//" + host + ":" + meta("analytics-ws-port") + "/ws/analytics";
  }

  // Keeps the WebSocket open and shows its state in #live-status. Reconnects with jittered
  // exponential backoff, so that dashboards do not all come back at the same instant after a hub
  // restart. The hub sends a heartbeat every 5 s: silence past 12 s is shown as stale, and past
  // 30 s the connection is taken for dead (a half-open TCP connection may never report a close).
  function connectLive(onMessage, onReconnect) {
    let socket = null;
    let attempt = 0;
    let lastMessage = 0;
    let everOpened = false;
    const show = (state, text) => {
      $("live-status").dataset.state = state;
      $("live-status").textContent = text;
    };

    function open() {
      show(everOpened ? "reconnecting" : "connecting", everOpened ? "Reconnecting…" : "Connecting…");
      try {
        socket = new WebSocket(hubURL());
      } catch {
        return retry();
      }
      socket.onopen = () => {
        lastMessage = Date.now();
        show("live", "Live");
        if (everOpened) onReconnect();
        everOpened = true;
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
        onMessage(message);
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
  }

  // ---------------------------------------------------------------------------------------------
  // The live strip.

  const WINDOW = 1800; // seconds in the live chart, one bin each
  const FEED_SIZE = 50;
  const live = {
    bins: new Uint32Array(WINDOW), // events received per second, a ring indexed by Unix second
    second: Math.floor(Date.now() / 1000), // the newest second the ring holds
    themes: new Map(), // theme → views: the all-time figures fetched, plus the views seen since
    letters: null, // today's letters fetched, plus those seen since; null while unknown
    day: utcToday(),
  };

  // Moves the ring on to the current second, emptying the bins of the seconds passed.
  function advance() {
    const now = Math.floor(Date.now() / 1000);
    for (let s = live.second + 1; s <= Math.min(now, live.second + WINDOW); s++) live.bins[s % WINDOW] = 0;
    live.second = Math.max(live.second, now);
  }

  function onLiveMessage(message) {
    if (message?.type === "initial_stats" || message?.type === "heartbeat") {
      for (const [id, key] of [["live-current", "current_visitors"], ["live-unique", "unique_today"]]) {
        if (Number.isFinite(message.data?.[key])) $(id).textContent = String(message.data[key]);
      }
    } else if (message?.type === "event") receive([message.data]);
    else if (message?.type === "events" && Array.isArray(message.data)) receive(message.data);
  }

  function receive(events) {
    events = events.filter((event) => typeof event?.event_type === "string");
    if (!events.length) return;
    advance();
    live.bins[live.second % WINDOW] += events.length;
    for (const event of events) {
      if (event.event_type === "cv_theme_view" && typeof event.theme === "string") {
        live.themes.set(event.theme, (live.themes.get(event.theme) || 0) + 1);
      }
      if (event.event_type === "letter_generated" && typeof event.letter_type === "string" && live.letters !== null) live.letters++;
    }
    addToFeed(events.slice(-FEED_SIZE));
    showThemesAndLetters();
    drawLiveChart();
  }

  // Newest first: each event of a batch goes on top of the one before it.
  function addToFeed(events) {
    const feed = $("live-feed");
    for (const event of events) {
      const when = new Date(Number.isFinite(event.timestamp) ? event.timestamp : Date.now());
      const item = el("li", { "data-event-type": event.event_type },
        el("time", { datetime: when.toISOString() }, `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`),
        " ", el("span", { class: "type" }, event.event_type));
      for (const field of ["page", "referrer", "country", "theme", "letter_type"]) {
        if (typeof event[field] === "string" && event[field]) item.append(" · ", el("span", { class: field }, event[field]));
      }
      feed.prepend(item);
    }
    while (feed.children.length > FEED_SIZE) feed.lastElementChild.remove();
    $("live-feed-empty").hidden = true;
  }

  function showThemesAndLetters() {
    const top = [...live.themes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
    $("live-themes").replaceChildren(...top.map(([theme, views]) =>
      el("li", { "data-theme": theme }, el("span", {}, theme), " ", el("span", { class: "count" }, views))));
    $("live-letters").textContent = live.letters === null ? "–" : String(live.letters);
  }

  // The counters' starting points, at load, after each reconnect and when the UTC day changes (not
  // polled). The realtime routes need no token. The aggregator counts an event before it publishes
  // it, so the events received before the answer are in it: increments start from the answer.
  async function loadLiveTotals() {
    const problems = [];
    const get = (path, what) => fetch(path).then((response) => response.json()).then((body) => {
      if (body.success !== true) throw new Error(body.error);
      return body.data;
    }).catch((error) => problems.push(`${what} (${error.message || "no answer"})`));
    const [themes, letters] = await Promise.all([get("/api/analytics/themes?limit=5", "top themes"), get("/api/analytics/letters?period=day", "letters")]);
    if (Array.isArray(themes)) live.themes = new Map(themes.map((row) => [row.theme, row.views]));
    if (Number.isFinite(letters?.letters_generated)) live.letters = letters.letters_generated;
    showThemesAndLetters();
    $("live-message").textContent = problems.length ? "Could not load " + problems.join(" or ") + "." : "";
  }

  // One bar per second, all in one path: 1800 elements redrawn every second would cost far more.
  function drawLiveChart() {
    const values = Array.from({ length: WINDOW }, (_, i) => live.bins[(live.second + 1 + i) % WINDOW]);
    const peak = Math.max(...values);
    const sum = (list) => list.reduce((total, value) => total + value, 0);
    $("live-bars").setAttribute("d", values.map((value, i) => (value ? `M${i} 60v-${((value / peak) * 58).toFixed(1)}h1V60z` : "")).join(""));
    $("live-events-30m").textContent = String(sum(values));
    const lastMinute = sum(values.slice(-60));
    const text = `${lastMinute} ${lastMinute === 1 ? "event" : "events"} in the last minute, peak ${peak}/s in the last 30 minutes.`;
    $("live-chart-text").textContent = text; // the chart's description (aria-describedby)
  }

  function tick() {
    advance();
    drawLiveChart();
    if (utcToday() !== live.day) {
      live.day = utcToday();
      loadLiveTotals(); // today's letters start again from zero
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The history. Its state lives in the URL: period, from and to (custom), metric, filter.

  // Each table's dimension: its title, and its name on a filter chip.
  const DIMENSIONS = {
    page: ["Pages", "Page"], referrer: ["Sources", "Source"], utm_source: ["UTM sources", "UTM source"],
    utm_medium: ["UTM mediums", "UTM medium"], utm_campaign: ["UTM campaigns", "UTM campaign"], browser: ["Browsers", "Browser"],
    os: ["Operating systems", "OS"], device: ["Devices", "Device"], country: ["Countries", "Country"], event_type: ["Event types", "Event type"],
  };
  // Every dimension the API filters on, two of them without a table (from a URL someone wrote).
  const FILTER = /^(page|host|referrer|utm_source|utm_medium|utm_campaign|browser|browser_version|os|device|country|event_type):/;
  const METRICS = { visitors: "Visitors", pageviews: "Pageviews", events: "Events" }; // the breakdowns' column order
  // 24h: the hourly points of yesterday and today (UTC), of which the 24 up to the current hour
  // are shown; the breakdowns and the export cover both days, as the API counts whole days.
  const PERIODS = {
    "24h": { days: 2, interval: "hour", last: 24 }, "7d": { days: 7, interval: "day" }, "30d": { days: 30, interval: "day" },
    "90d": { days: 90, interval: "day" }, "365d": { days: 365, interval: "week" },
  };
  const TOKEN_KEY = "analytics_stats_token";

  let state = readState(location.search);
  let inFlight = null; // aborts the requests of a state no longer shown
  let shown = null; // the timeseries drawn and its geometry, to redraw at another width and for the tip
  let token = ""; // the stats token; kept in localStorage, or for this page only when storage is off
  try {
    token = localStorage.getItem(TOKEN_KEY) || "";
  } catch {}

  function isDay(text) {
    const time = /^\d{4}-\d{2}-\d{2}$/.test(text || "") ? Date.parse(text + "T00:00:00Z") : NaN;
    return Number.isFinite(time) && new Date(time).toISOString().startsWith(text);
  }

  function readState(search) {
    const query = new URLSearchParams(search);
    const custom = query.get("period") === "custom" && isDay(query.get("from")) && isDay(query.get("to"));
    return {
      period: custom || PERIODS[query.get("period")] ? query.get("period") : "7d",
      from: custom ? query.get("from") : null,
      to: custom ? query.get("to") : null,
      metric: METRICS[query.get("metric")] ? query.get("metric") : "pageviews",
      filters: [...new Set(query.getAll("filter").filter((filter) => FILTER.test(filter)))].slice(0, 10),
    };
  }

  function pageQuery(next) {
    const query = new URLSearchParams({ period: next.period });
    if (next.period === "custom") {
      query.set("from", next.from);
      query.set("to", next.to);
    }
    query.set("metric", next.metric);
    for (const filter of next.filters) query.append("filter", filter);
    return query;
  }

  // The days and the point width a state asks for: a custom range gets hours up to two days, days
  // up to about a quarter, weeks beyond.
  function rangeOf(current) {
    if (current.period === "custom") {
      const days = (Date.parse(current.to) - Date.parse(current.from)) / 864e5 + 1;
      return { from: current.from, to: current.to, interval: days <= 2 ? "hour" : days <= 92 ? "day" : "week" };
    }
    const period = PERIODS[current.period];
    return { from: addDays(utcToday(), 1 - period.days), to: utcToday(), interval: period.interval, last: period.last };
  }

  function apiQuery(current, extra) {
    const range = rangeOf(current);
    const query = new URLSearchParams({ ...extra, metric: current.metric, from: range.from, to: range.to });
    for (const filter of current.filters) query.append("filter", filter);
    return query;
  }

  function navigate(next) {
    state = next;
    history.pushState(null, "", "?" + pageQuery(next));
    syncControls();
    loadHistory();
  }

  function keepToken(value) {
    token = value;
    try {
      if (value) localStorage.setItem(TOKEN_KEY, value);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {}
  }

  // The answer's data (or the response itself for the CSV), else an Error carrying the API's
  // message and the status (401: a token is needed).
  async function request(path, query, signal) {
    const response = await fetch(path + "?" + query, { headers: token ? { Authorization: "Bearer " + token } : {}, signal })
      .catch((error) => { throw error.name === "AbortError" ? error : new Error("the server could not be reached"); });
    if (response.ok && path.endsWith(".csv")) return response;
    const body = await response.json().catch(() => null);
    if (response.ok && body?.success === true) return body.data;
    throw Object.assign(new Error(body?.error || `the server answered ${response.status}`), { status: response.status });
  }

  function showStatus(text, isError) {
    $("history-status").textContent = text;
    $("history-status").classList.toggle("error", Boolean(isError));
  }

  // A 401: the token kept, if any, was refused, so it is forgotten and asked for.
  function askForToken() {
    showStatus(token ? "The stats token was refused; enter it again." : "The history needs the stats token.", true);
    keepToken("");
    $("token-form").hidden = false;
  }

  async function loadHistory() {
    inFlight?.abort();
    inFlight = new AbortController();
    const { signal } = inFlight;
    const current = state;
    const range = rangeOf(current);
    showStatus("Loading…");
    const results = await Promise.allSettled([
      request("/api/analytics/timeseries", apiQuery(current, { interval: range.interval }), signal)
        .then((data) => signal.aborted || showTimeseries(data.points, current, range)),
      ...Object.keys(DIMENSIONS).map((dimension) =>
        request("/api/analytics/breakdown", apiQuery(current, { dimension, limit: 10 }), signal)
          .then((data) => signal.aborted || showBreakdown(dimension, data.rows, current.metric))),
    ]);
    if (signal.aborted) return;
    const errors = results.filter((result) => result.status === "rejected").map((result) => result.reason);
    if (errors.some((error) => error.status === 401)) return askForToken();
    const messages = [...new Set(errors.map((error) => error.message))];
    showStatus(messages.length ? "Could not load the history: " + messages.join("; ") + "." : "", messages.length > 0);
  }

  // A point's start as the API gives it: a UTC hour (an instant, shown in local time), or a UTC
  // day (a week's Monday), shown as that day.
  function pointLabel(time, interval, long) {
    if (interval === "hour") {
      return new Date(time).toLocaleString(undefined, long ? { dateStyle: "medium", timeStyle: "short" } : { hour: "numeric", minute: "2-digit" });
    }
    const text = new Date(time + "T00:00:00Z").toLocaleDateString(undefined,
      { month: "short", day: "numeric", year: long ? "numeric" : undefined, timeZone: "UTC" });
    return long && interval === "week" ? "Week of " + text : text;
  }

  function showTimeseries(points, current, range) {
    if (range.last) points = points.filter((point) => Date.parse(point.time) <= Date.now()).slice(-range.last);
    const label = METRICS[current.metric];
    const span = range.last ? "the last 24 hours" : `${range.from} to ${range.to} (UTC)`;
    const total = points.reduce((sum, point) => sum + point.value, 0);
    // The distinct visitors of a range are not the sum of each interval's distinct visitors.
    $("history-total").textContent = current.metric === "visitors"
      ? `Unique visitors per ${range.interval}, ${span}` : `${total.toLocaleString()} ${label.toLowerCase()}, ${span}`;
    shown = { points, interval: range.interval, label, span };
    drawHistoryChart();
    $("history-metric-head").textContent = label;
    $("history-table").tBodies[0].replaceChildren(...points.map((point) =>
      el("tr", { "data-start": point.time }, el("td", {}, pointLabel(point.time, range.interval, true)), el("td", {}, point.value))));
  }

  // Round steps (1, 2 or 5 × 10ⁿ, whole numbers) for about four grid lines.
  function scale(max) {
    if (max <= 0) return { top: 4, step: 1 };
    const magnitude = 10 ** Math.floor(Math.log10(max / 4));
    const step = Math.max(1, [1, 2, 5, 10].find((factor) => factor * magnitude >= max / 4) * magnitude);
    return { top: Math.ceil(max / step) * step, step };
  }

  // Drawn at the container's width in pixels, so that the text keeps its size.
  function drawHistoryChart() {
    if (!shown) return;
    const chart = $("history-chart");
    const { points, interval, label, span } = shown;
    const width = Math.max(280, chart.parentElement.clientWidth - 2);
    const box = { left: 44, right: width - 12, top: 10, bottom: 194 };
    const max = Math.max(0, ...points.map((point) => point.value));
    const { top, step } = scale(max);
    const x = (i) => (points.length < 2 ? (box.left + box.right) / 2 : box.left + (i * (box.right - box.left)) / (points.length - 1));
    const y = (value) => box.bottom - (value / top) * (box.bottom - box.top);
    const parts = [];
    for (let value = 0; value <= top; value += step) {
      parts.push(el("svg:line", { class: "grid", x1: box.left, x2: box.right, y1: y(value), y2: y(value) }),
        el("svg:text", { class: "axis", x: box.left - 6, y: y(value) + 4, "text-anchor": "end" }, value));
    }
    const labels = Math.min(points.length, Math.max(1, Math.floor((box.right - box.left) / 90)));
    for (let k = 0; k < labels; k++) {
      const i = labels === 1 ? 0 : Math.round((k * (points.length - 1)) / (labels - 1));
      const anchor = labels > 1 && k === 0 ? "start" : labels > 1 && k === labels - 1 ? "end" : "middle";
      parts.push(el("svg:text", { class: "axis", x: x(i), y: 212, "text-anchor": anchor }, pointLabel(points[i].time, interval, false)));
    }
    if (points.length) {
      const line = points.map((point, i) => `${i ? "L" : "M"}${x(i).toFixed(1)} ${y(point.value).toFixed(1)}`).join("");
      parts.push(el("svg:path", { class: "area", d: `${line}L${x(points.length - 1)} ${box.bottom}L${x(0)} ${box.bottom}Z` }),
        el("svg:path", { class: "line", d: line }),
        el("svg:line", { id: "history-guide", class: "guide", y1: box.top, y2: box.bottom, visibility: "hidden" }));
    }
    chart.setAttribute("viewBox", `0 0 ${width} 220`);
    chart.replaceChildren(...parts);
    Object.assign(shown, { x, box, width });
    chart.setAttribute("aria-label", `${label} per ${interval}, ${span}, highest ${max}; the table below lists every point.`);
  }

  // The point under the pointer: a guide line, and its figure in a tip.
  function pointAt(event) {
    const guide = $("history-guide");
    if (!guide) return;
    const { points, interval, x, box, width } = shown;
    const rect = $("history-chart").getBoundingClientRect();
    const share = (((event.clientX - rect.left) * width) / rect.width - box.left) / (box.right - box.left);
    const i = Math.max(0, Math.min(points.length - 1, Math.round(share * (points.length - 1))));
    guide.setAttribute("x1", x(i));
    guide.setAttribute("x2", x(i));
    guide.setAttribute("visibility", "visible");
    const tip = $("history-tip");
    tip.textContent = `${pointLabel(points[i].time, interval, true)}: ${points[i].value}`;
    tip.hidden = false;
    const center = (x(i) * rect.width) / width - tip.offsetWidth / 2;
    tip.style.left = rect.left - tip.parentElement.getBoundingClientRect().left + Math.min(rect.width - tip.offsetWidth, Math.max(0, center)) + "px";
  }

  function hideTip() {
    $("history-tip").hidden = true;
    $("history-guide")?.setAttribute("visibility", "hidden");
  }

  // An empty value is an event without one: for the referrer, a direct visit.
  const valueLabel = (dimension, value) => value || (dimension === "referrer" ? "Direct" : "(none)");

  function buildBreakdowns() {
    for (const [dimension, [title, name]] of Object.entries(DIMENSIONS)) {
      const head = el("tr", {}, el("th", { scope: "col" }, name),
        ...Object.entries(METRICS).map(([metric, label]) => el("th", { scope: "col", class: "num", "data-metric": metric }, label)));
      const table = el("table", { id: "breakdown-" + dimension }, el("thead", {}, head), el("tbody"));
      // A click on a row, or on its button (Enter and Space included), filters the page on its value.
      table.tBodies[0].addEventListener("click", (event) => {
        const row = event.target.closest("tr[data-value]");
        if (row) addFilter(dimension, row.dataset.value);
      });
      const csv = el("button", { type: "button", class: "small", id: "export-" + dimension, title: "Up to 1000 rows as CSV" }, "CSV");
      csv.addEventListener("click", () => exportCSV(apiQuery(state, { dimension, limit: 1000 })));
      $("breakdowns").append(el("section", { class: "card", "aria-labelledby": "title-" + dimension },
        el("div", { class: "card-head" }, el("h3", { id: "title-" + dimension }, title), csv), table));
    }
  }

  function showBreakdown(dimension, rows, metric) {
    const table = $("breakdown-" + dimension);
    for (const cell of table.tHead.rows[0].cells) cell.classList.toggle("sorted", cell.dataset.metric === metric);
    const most = Math.max(1, ...rows.map((row) => row[metric]));
    table.tBodies[0].replaceChildren(...rows.map((row) => {
      const bar = el("span", { class: "bar" });
      bar.style.width = (100 * row[metric]) / most + "%";
      const label = valueLabel(dimension, row.value);
      return el("tr", { "data-value": row.value },
        el("td", { class: "value" }, bar, el("button", { type: "button", title: "Filter by " + label }, label)),
        ...Object.keys(METRICS).map((name) => el("td", { class: "num" }, row[name])));
    }));
    if (!rows.length) table.tBodies[0].append(el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No data")));
  }

  // One value per dimension: all filters must hold, so two values of one dimension match nothing.
  function addFilter(dimension, value) {
    const filters = state.filters.filter((filter) => !filter.startsWith(dimension + ":"));
    if (filters.length >= 10) return showStatus("At most 10 filters.", true);
    navigate({ ...state, filters: [...filters, dimension + ":" + value] });
  }

  function showFilters() {
    $("filters").replaceChildren(...state.filters.map((filter) => {
      const dimension = filter.slice(0, filter.indexOf(":"));
      const value = valueLabel(dimension, filter.slice(dimension.length + 1));
      const name = DIMENSIONS[dimension]?.[1] || dimension;
      const chip = el("button", { type: "button", class: "chip", "data-filter": filter, "aria-label": `Remove filter ${name}: ${value}` },
        el("span", { class: "muted" }, name + " "), value, el("span", { "aria-hidden": "true" }, " ×"));
      chip.addEventListener("click", () => navigate({ ...state, filters: state.filters.filter((other) => other !== filter) }));
      return chip;
    }));
  }

  function syncControls() {
    const range = rangeOf(state);
    $("period").value = state.period;
    $("custom-range").hidden = state.period !== "custom";
    $("from").value = range.from;
    $("to").value = range.to;
    $("from").max = $("to").max = utcToday();
    $("metric-" + state.metric).checked = true;
    showFilters();
  }

  // Fetched with the token (a plain link could not send it), then handed to the browser as a file.
  async function exportCSV(query) {
    try {
      const response = await request("/api/analytics/export.csv", query);
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || "analytics.csv";
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000); // once the download has started
    } catch (error) {
      if (error.status === 401) askForToken();
      else showStatus("Could not export the CSV: " + error.message + ".", true);
    }
  }

  function wireControls() {
    $("period").addEventListener("change", (event) => {
      const range = rangeOf(state); // a custom range starts as the range shown
      const custom = event.target.value === "custom";
      navigate({ ...state, period: event.target.value, from: custom ? range.from : null, to: custom ? range.to : null });
    });
    for (const id of ["from", "to"]) {
      $(id).addEventListener("change", () => {
        const from = $("from").value;
        const to = $("to").value;
        if (!isDay(from) || !isDay(to)) return;
        if (from > to) return showStatus("The range must not start after it ends.", true);
        navigate({ ...state, from, to });
      });
    }
    $("metric").addEventListener("change", (event) => navigate({ ...state, metric: event.target.value }));
    $("export-csv").addEventListener("click", () => exportCSV(apiQuery(state, { interval: rangeOf(state).interval })));
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault(); // form-action 'none': the page handles it
      if (!$("token-input").value.trim()) return;
      keepToken($("token-input").value.trim());
      $("token-input").value = "";
      $("token-form").hidden = true;
      loadHistory();
    });
    window.addEventListener("popstate", () => {
      state = readState(location.search);
      syncControls();
      loadHistory();
    });
    $("history-chart").addEventListener("pointermove", pointAt);
    $("history-chart").addEventListener("pointerleave", hideTip);
    let drawnWidth = 0;
    new ResizeObserver(() => {
      const width = $("history-chart").parentElement.clientWidth;
      if (width === drawnWidth) return;
      drawnWidth = width;
      drawHistoryChart();
    }).observe($("history-chart").parentElement);
  }

  buildBreakdowns();
  wireControls();
  syncControls();
  loadHistory();
  drawLiveChart();
  loadLiveTotals();
  connectLive(onLiveMessage, loadLiveTotals);
  setInterval(tick, 1000);
})();
