#!/usr/bin/env bash
# Freshness: time from a 201 to the change being visible on the REST API, at 5k events/s.
#   bench/freshness.sh [rate] [seconds]
source "$(dirname "$0")/lib.sh"
RATE=${1:-5000}
DURATION=${2:-20}
build_release
start_pipeline
"$BIN/analytics-bench" freshness --url "http://127.0.0.1:$HTTP_PORT" --rate "$RATE" --duration "$DURATION"
