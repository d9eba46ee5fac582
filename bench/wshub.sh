#!/usr/bin/env bash
# WSHub: CLIENTS WebSocket dashboards on the hub while RATE events/s go through the gateway for
# DURATION s, with the whole pipeline (Redis, aggregator, gateway, hub) on this machine. Prints the
# delivery latency (the gateway's 201 → a dashboard), the hub's CPU and peak RSS, the messages each
# client receives, and what was dropped (events, clients; STALL extra clients stop reading).
#   bench/wshub.sh                          # 10,000 clients, 1,000 events/s
#   CLIENTS=1000 RATE=5000 bench/wshub.sh   # fewer clients, more events
# Also DURATION (30 s), SAMPLED (200 clients that parse everything), STALL (10), CONNECT_RATE (2000/s),
# CLIENT_NICE (0), WSLOAD_ARGS (more ws-load options, e.g. "--trace /tmp/trace.txt").
# DASHBOARD=1: the gateway's dashboard also runs in headless Chromium during the load; the delays from
# each event's time at the gateway to its arrival in the page and to its item in the live feed are
# reported beside the clients'.
source "$(dirname "$0")/lib.sh"
CLIENTS=${CLIENTS:-10000}
RATE=${RATE:-1000}
DURATION=${DURATION:-30}
SAMPLED=${SAMPLED:-200}
STALL=${STALL:-10}
CONNECT_RATE=${CONNECT_RATE:-2000}
# Niceness of the WebSocket load client (e.g. -10: it drains its sockets before the hub runs, so
# that the backlog measured is the hub's, as with dashboards on other machines).
CLIENT_NICE=${CLIENT_NICE:-0}
[ "$SAMPLED" -ge 1 ] || { echo "SAMPLED must be at least 1 (the latency comes from the sampled clients)" >&2; exit 1; }
# The hub and the load client each hold more than 10,000 sockets; the services inherit the limit.
# Without CAP_SYS_RESOURCE (a container) the hard limit caps it.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((CLIENTS + STALL + 200)) ]; then
  echo "open files limited to $(ulimit -n), too few for $((CLIENTS + STALL)) connections" >&2; exit 1
fi

build_release
WS_PORT=$(free_port)
export ANALYTICS_WS_PORT=$WS_PORT # the dashboard's pages name the hub's port
start_pipeline
# Every client comes from this machine's one address: the per-address cap is raised above them.
start_service wshub ANALYTICS_WS_PORT="$WS_PORT" ANALYTICS_WS_MAX_CONNECTIONS=$((CLIENTS + STALL + 1000)) \
  ANALYTICS_WS_MAX_CONNECTIONS_PER_ADDRESS=$((CLIENTS + STALL + 1000))
HUB_PID=$LAST_PID
wait_http "http://127.0.0.1:$WS_PORT/healthz"

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
hub_rss_idle=$(status_kb "$HUB_PID" VmRSS)

echo "== $CLIENTS clients (+$STALL that stop reading) on the hub, then $RATE events/s for $DURATION s"
nice -n "$CLIENT_NICE" "$BIN/analytics-bench" ws-load --url "ws://127.0.0.1:$WS_PORT/ws/analytics" --clients "$CLIENTS" \
  --sampled "$SAMPLED" --stall "$STALL" --connect-rate "$CONNECT_RATE" --duration $((DURATION + 6)) \
  --ready-file "$WORK/ws.ready" ${WSLOAD_ARGS:-} >"$WORK/ws-load.out" 2>"$WORK/ws-load.err" &
WSLOAD_PID=$!
PIDS+=("$WSLOAD_PID")
for _ in $(seq $(((CLIENTS + STALL) * 10 / CONNECT_RATE + 300))); do
  [ -f "$WORK/ws.ready" ] && break
  kill -0 "$WSLOAD_PID" 2>/dev/null || { cat "$WORK/ws-load.out" "$WORK/ws-load.err" >&2; echo "ws-load died" >&2; exit 1; }
  sleep 0.1
done
[ -f "$WORK/ws.ready" ] || { echo "the clients did not connect in time" >&2; exit 1; }
grep '^ready' "$WORK/ws-load.out"
hub_rss_connected=$(status_kb "$HUB_PID" VmRSS)
sleep 2  # initial_stats and refresh_stats answered before the load
if [ "${DASHBOARD:-0}" = 1 ]; then
  start_browser
  # Before the page's scripts: every message of the page's WebSockets is timed as it reaches the
  # page (each event against its time at the gateway), and each item of the live feed as it is shown.
  browser_preload 'window.received = []; window.shown = [];
    const Native = WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (message) => {
          const now = Date.now();
          let parsed; try { parsed = JSON.parse(message.data); } catch { return; }
          const events = parsed.type === "events" ? parsed.data : parsed.type === "event" ? [parsed.data] : [];
          for (const event of events) window.received.push(now - event.timestamp);
        });
      }
    };
    document.addEventListener("DOMContentLoaded", () => new MutationObserver((records) => {
      const now = Date.now();
      for (const record of records) for (const node of record.addedNodes) {
        const time = node.querySelector && node.querySelector("time");
        if (time) window.shown.push(now - Date.parse(time.dateTime));
      }
    }).observe(document.getElementById("live-feed"), { childList: true }));'
  browser_open "http://127.0.0.1:$HTTP_PORT/"
  for _ in $(seq 300); do [ "$(browser_eval 'return document.getElementById("live-status").dataset.state')" = live ] && break; sleep 0.1; done
  browser_eval 'return document.getElementById("live-status").dataset.state' >"$WORK/dashboard.state"
  echo "dashboard page open ($(cat "$WORK/dashboard.state"))"
fi

procs=(hub:$HUB_PID gateway:$GATEWAY_PID aggregator:$AGGREGATOR_PID redis:$REDIS_PID ws-load:$WSLOAD_PID)
declare -A cpu_before
for p in "${procs[@]}"; do cpu_before[${p%%:*}]=$(cpu_seconds "${p#*:}"); done
machine_before=$(head -1 /proc/stat)
t0=$(now)
/usr/bin/time -f '%U %S' -o "$WORK/load.time" "$BIN/analytics-bench" load --url "http://127.0.0.1:$HTTP_PORT" --rate "$RATE" --duration "$DURATION" >"$WORK/load.out"
t1=$(now)
machine_after=$(head -1 /proc/stat)
declare -A cpu
for p in "${procs[@]}"; do
  cpu[${p%%:*}]=$(awk -v a="${cpu_before[${p%%:*}]}" -v b="$(cpu_seconds "${p#*:}")" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    'BEGIN { printf "%.0f", (b - a) / s * 100 }')
done
grep '^load:' "$WORK/load.out"
cpu[load]=$(awk -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '{ printf "%.0f", ($1 + $2) / s * 100 }' "$WORK/load.time")
curl -s "http://127.0.0.1:$WS_PORT/metrics" >"$WORK/hub.metrics" || true

if ! wait "$WSLOAD_PID"; then cat "$WORK/ws-load.out" "$WORK/ws-load.err" >&2; echo "ws-load failed" >&2; exit 1; fi
hub_hwm=$(status_kb "$HUB_PID" VmHWM)
grep -v '^summary:' "$WORK/ws-load.out" | grep -v '^ready'

summary=$(grep '^summary:' "$WORK/ws-load.out")
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" ${summary#summary: }"; }
accepted=$(sed -n 's/^accepted=//p' "$WORK/load.out")
echo "== results ($CLIENTS clients, $RATE events/s, $DURATION s)"
p99=$(field p99_ms)
printf 'delivery latency (201 → dashboard): p50 %s ms, p99 %s ms, max %s ms   (target p99 ≤ 250 ms: %s)\n' \
  "$(field p50_ms)" "$p99" "$(field max_ms)" "$(awk -v p="$p99" 'BEGIN { print (p != "nan" && p <= 250) ? "ok" : "MISSED" }')"
printf 'hub CPU %s%% of one core during the load (gateway %s%%, aggregator %s%%, redis %s%%, ws-load client %s%%, event load generator %s%%)\n' \
  "${cpu[hub]}" "${cpu[gateway]}" "${cpu[aggregator]}" "${cpu[redis]}" "${cpu[ws-load]}" "${cpu[load]}"
# /proc/stat "cpu" line: user nice system idle iowait irq softirq steal…
awk -v a="$machine_before" -v b="$machine_after" -v n="$(nproc)" 'BEGIN {
  split(a, x); split(b, y); total = 0; for (i = 2; i <= 9; i++) total += y[i] - x[i]
  idle = (y[5] - x[5]) + (y[6] - x[6]); soft = y[8] - x[8]
  printf "machine: %.0f%% busy over %d cores during the load (softirq %.0f%%)\n", 100 * (total - idle) / total, n, 100 * soft / total }'
printf 'hub memory: RSS %d MB idle, %d MB once connected, peak (VmHWM) %d MB   (target ≤ 300 MB: %s)\n' \
  $((hub_rss_idle / 1024)) $((hub_rss_connected / 1024)) $((hub_hwm / 1024)) "$([ $((hub_hwm / 1024)) -le 300 ] && echo ok || echo MISSED)"
printf 'per client: %s event messages/s while events flowed, %s messages/s in all over the hold; at most %s messages (%s with events) in any sliding 1 s window; client-seconds with more than 10 event messages: %s\n' \
  "$(field event_msgs_per_client_s)" "$(field msgs_per_client_s)" "$(field max_msgs_1s)" "$(field max_event_msgs_1s)" "$(field seconds_over_10)"
printf 'drops: %s events accepted by the gateway, received by each sampled client min %s / median %s (missing at worst %s); %s of %s clients closed by the hub, %s failed to connect\n' \
  "$accepted" "$(field events_min)" "$(field events_median)" $((accepted - $(field events_min))) \
  "$(field closed_by_server)" "$CLIENTS" "$(field failed)"
echo "privacy: $(field privacy)"
if [ "${DASHBOARD:-0}" = 1 ]; then
  browser_eval 'const summary = (list) => {
      const l = list.slice().sort((a, b) => a - b);
      const at = (q) => l.length ? l[Math.min(l.length - 1, Math.ceil(q * l.length) - 1)] : NaN;
      return `${l.length} events, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (target p99 ≤ 250 ms: ${at(0.99) <= 250 ? "ok" : "MISSED"})`;
    };
    return `dashboard page (Chromium), from the gateway'"'"'s time of each event: received by the page ${summary(window.received)}; shown in its feed (the newest 50 of each message) ${summary(window.shown)}`'
fi
metrics=$(grep -v '^#' "$WORK/hub.metrics" | grep -E 'wshub_' | grep -v -E '_bucket|_sum|_count' | head -20 || true)
[ -z "$metrics" ] || { echo "hub /metrics at the end of the load:"; sed 's/^/  /' <<<"$metrics"; }
if grep -q -i -E 'error|fatal' "$WORK/wshub.log"; then echo "hub log:"; grep -i -E 'error|fatal' "$WORK/wshub.log" | head -5 | sed 's/^/  /'; fi
[ "$(field privacy)" = ok ]
