#!/usr/bin/env bash
# Foundation benchmark: what Fengqiao's request pipeline (request id, span, metrics, rate limit,
# problem rendering) and a real authenticated database read cost, against a bare actix-web JSON
# handler measured in the same run on the same machine. Loopback only, bounded in time.
#
#   bash bench/foundation.sh            # 10 s per target, 2 threads, 32 connections
#   DURATION=30 bash bench/foundation.sh
#
# Needs wrk (installed from the distribution's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
FQ_PORT=18080
BARE_PORT=18081

source bench/lib.sh
start_against_bare

password=$(sed -n 's/^  password: //p' "$work/server.out")
token=$(curl -fs -X POST "http://127.0.0.1:$FQ_PORT/api/v1/admin/auth/login" \
  -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

echo "machine: $(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; server and load share the cores"
read -r bare_rps bare_p99 < <(measure "http://127.0.0.1:$BARE_PORT/health/live")
read -r live_rps live_p99 < <(measure "http://127.0.0.1:$FQ_PORT/health/live")
read -r list_rps list_p99 < <(measure -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$FQ_PORT/api/v1/admin/org-units?limit=20")

printf '%-46s %12s %10s %8s\n' target "req/s" "p99 ms" "ratio"
printf '%-46s %12s %10s %8s\n' "bare actix-web JSON handler" "$bare_rps" "$bare_p99" "1.00"
printf '%-46s %12s %10s %8.2f\n' "fengqiao GET /health/live (full middleware)" "$live_rps" "$live_p99" \
  "$(python3 -c "print($live_rps / $bare_rps)")"
printf '%-46s %12s %10s %8.2f\n' "fengqiao GET admin/org-units (JWT + SQLite)" "$list_rps" "$list_p99" \
  "$(python3 -c "print($list_rps / $bare_rps)")"
