#!/usr/bin/env bash
# Petition benchmarks on PostgreSQL (loopback, bounded in time):
#  1. sustained submissions per second through the API with 32 concurrent clients, against the
#     same transaction's rate in bare SQL through pgbench, in the same run;
#  2. a staff work-list page over a register of COUNT petitions (default one million), seeded
#     with `fengqiao seed petitions`.
#
#   bash bench/petitions.sh               # DURATION=10 COUNT=1000000 POOL=6
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth), wrk and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
COUNT=${COUNT:-1000000}
PORT=18090
DB=fengqiao_bench
PG="postgres://postgres@127.0.0.1:5432"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p fengqiao-api --bin fengqiao

psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DB" >/dev/null

work=$(mktemp -d)
cleanup() {
  kill "${pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A pool near PostgreSQL's rule of thumb of (cores x 2) + spindles on the database server: more
# connections than that only queue inside PostgreSQL (16 gave a p99 a third higher here).
export FENGQIAO_DATABASE__URL="$PG/$DB" FENGQIAO_DATABASE__MAX_CONNECTIONS=${POOL:-$(( $(nproc) * 2 + 2 ))} \
  FENGQIAO_SERVER__PORT=$PORT FENGQIAO_LOG__FILTER=warn FENGQIAO_DATA_DIR="$work" \
  FENGQIAO_RATE_LIMIT__PER_IP_PER_MINUTE=0 FENGQIAO_PETITION__OVERDUE_CHECK_SECS=0 \
  FENGQIAO_MESSAGING__DISPATCHER=false
# The dispatcher is off: this measures the submission, as pgbench does; bench/messaging.sh
# measures what the dispatcher then delivers.
target/release/fengqiao --demo > "$work/server.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
api="http://127.0.0.1:$PORT/api/v1"
password=$(sed -n 's/^  password: //p' "$work/server.out")
admin=$(curl -fs -X POST "$api/admin/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# 2,000 citizens: submissions come from many people, as they do in the county (one citizen
# sending thousands would make each submission a repeat check over fifty earlier ones).
python3 - "$api" > "$work/tokens" <<'PY'
import json, sys, urllib.request
api = sys.argv[1]
out = []
for i in range(2000):
    req = urllib.request.Request(f"{api}/auth/dev-login", data=json.dumps({"openid": f"bench-{i}"}).encode(),
                                 headers={"content-type": "application/json"})
    out.append(json.load(urllib.request.urlopen(req))["access_token"])
print(" ".join(out))
PY
township=$(psql -qtA -h 127.0.0.1 -U postgres -d $DB -c "SELECT id FROM org_units WHERE code = '410122-101'")

# p99 in milliseconds from wrk's --latency output.
p99() { awk '$1 == "99%" {print $2}' | python3 -c "
import sys
v = sys.stdin.read().strip()
for unit, f in (('us', 0.001), ('ms', 1.0), ('s', 1000.0)):
    if v.endswith(unit):
        print(round(float(v[:-len(unit)]) * f, 2)); break"; }

echo "machine: $(nproc) cores; server, PostgreSQL and load generators share them; ${DURATION}s per run"

body="{\"kind\":\"complaint\",\"category_code\":\"transport\",\"title\":\"村道路面破损请求维修\",\"content\":\"官渡桥村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。\",\"township_id\":\"$township\"}"
out=$(TOKENS_FILE="$work/tokens" BODY="$body" wrk -t2 -c32 -d"${DURATION}s" --latency -s bench/submit.lua "http://127.0.0.1:$PORT")
api_rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
api_p99=$(p99 <<<"$out")
non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")

pg=$(pgbench -h 127.0.0.1 -U postgres -n -c 32 -j 2 -T "$DURATION" -f bench/submission.sql $DB 2>/dev/null)
pg_tps=$(awk '/^tps/ {print $3}' <<<"$pg")

printf '\n%-52s %10s %8s\n' "submissions (32 concurrent clients)" "per s" "p99 ms"
printf '%-52s %10.0f %8s\n' "bare SQL transaction (pgbench)" "$pg_tps" "-"
printf '%-52s %10.0f %8s   ratio %.2f%s\n' "POST /api/v1/petitions" "$api_rps" "$api_p99" \
  "$(python3 -c "print($api_rps / $pg_tps)")" "${non2xx:+  (non-2xx: $non2xx)}"

echo
FENGQIAO_LOG__FILTER=error target/release/fengqiao seed petitions --count "$COUNT"
psql -q -h 127.0.0.1 -U postgres -d $DB -c "ANALYZE" >/dev/null
total=$(psql -qtA -h 127.0.0.1 -U postgres -d $DB -c "SELECT count(*) FROM petitions")
out=$(wrk -t2 -c8 -d"${DURATION}s" --latency -H "Authorization: Bearer $admin" "$api/admin/petitions?limit=20")
printf '\n%-52s %10s %8s\n' "work list over $total petitions" "per s" "p99 ms"
printf '%-52s %10s %8s\n' "GET /api/v1/admin/petitions?limit=20 (8 clients)" "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" "$(p99 <<<"$out")"
