#!/usr/bin/env bash
# Public reads benchmark: the cached article list, an article and the reception schedule, as the
# mini-program reads them anonymously, against a bare actix-web JSON handler measured in the
# same run on the same machine (embedded default: SQLite, in-process cache). Loopback only.
#
#   bash bench/public.sh                # 10 s per target, 2 threads, 32 connections
#   DURATION=30 bash bench/public.sh
#
# Needs wrk (installed from the distribution's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
FQ_PORT=18082
BARE_PORT=18083

source bench/lib.sh
start_against_bare

api="http://127.0.0.1:$FQ_PORT/api/v1"
article=$(curl -fs "$api/channels/guide-laws/articles" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')

echo "machine: $(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; server and load share the cores"
read -r bare_rps bare_p99 < <(measure "http://127.0.0.1:$BARE_PORT/health/live")
read -r list_rps list_p99 < <(measure "$api/channels/guide-laws/articles")
read -r art_rps art_p99 < <(measure "$api/articles/$article")
read -r sched_rps sched_p99 < <(measure "$api/reception/schedule")

row() { printf '%-46s %12s %10s %8.2f\n' "$1" "$2" "$3" "$(python3 -c "print($2 / $bare_rps)")"; }
printf '%-46s %12s %10s %8s\n' target "req/s" "p99 ms" "ratio"
printf '%-46s %12s %10s %8s\n' "bare actix-web JSON handler" "$bare_rps" "$bare_p99" "1.00"
row "GET /channels/{code}/articles (cached)" "$list_rps" "$list_p99"
row "GET /articles/{id} (cached, view counted)" "$art_rps" "$art_p99"
row "GET /reception/schedule (cached rules)" "$sched_rps" "$sched_p99"
