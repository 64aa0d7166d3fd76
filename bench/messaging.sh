#!/usr/bin/env bash
# Status-push benchmarks on PostgreSQL (loopback, bounded in time):
#  1. deliveries per second: COUNT outbox messages waiting (registrations of seeded
#     petitions), fanned out and delivered to a webhook receiver by one `fengqiao worker`,
#     timed from the worker's start to the last arrival;
#  2. the lag from state change to delivery (p50, p99) under a steady stream of submissions
#     (wrk, 4 clients, DURATION seconds), with the worker running beside the server.
#
#   bash bench/messaging.sh               # COUNT=5000 DURATION=10
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-5000}
DURATION=${DURATION:-10}
PORT=18094
SINK=18093
DB=fengqiao_bench_messaging
PG="postgres://postgres@127.0.0.1:5432"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p fengqiao-api --bin fengqiao --example webhook_sink

psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DB" >/dev/null

work=$(mktemp -d)
cleanup() {
  kill "${pid:-}" "${worker:-}" "${sink_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The server takes requests and dispatches nothing; the worker dispatches.
export FENGQIAO_DATABASE__URL="$PG/$DB" FENGQIAO_DATABASE__MAX_CONNECTIONS=16 \
  FENGQIAO_SERVER__PORT=$PORT FENGQIAO_LOG__FILTER=warn FENGQIAO_DATA_DIR="$work" \
  FENGQIAO_RATE_LIMIT__PER_IP_PER_MINUTE=0 FENGQIAO_PETITION__OVERDUE_CHECK_SECS=0 \
  FENGQIAO_MESSAGING__DISPATCHER=false
target/release/examples/webhook_sink 127.0.0.1:$SINK > /dev/null 2>&1 &
sink_pid=$!
target/release/fengqiao --demo > "$work/server.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
api="http://127.0.0.1:$PORT/api/v1"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
password=$(sed -n 's/^  password: //p' "$work/server.out")
admin=$(curl -fs -X POST "$api/admin/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" | json '["access_token"]')
client=$(curl -fs -X POST "$api/admin/api-clients" -H "authorization: Bearer $admin" \
  -H 'content-type: application/json' \
  -d '{"name":"bench","scopes":["webhooks:manage"],"rate_limit_per_minute":600}')
client_id=$(json '["client"]["client_id"]' <<<"$client")
client_secret=$(json '["client_secret"]' <<<"$client")
client_token=$(curl -fs -X POST "$api/oauth/token" -u "$client_id:$client_secret" \
  -d grant_type=client_credentials | json '["access_token"]')
curl -fs -X POST "$api/open/webhooks" -H "authorization: Bearer $client_token" \
  -H 'content-type: application/json' \
  -d "{\"url\":\"http://127.0.0.1:$SINK/hook\",\"event_types\":[\"petition.registered\"]}" >/dev/null

stat() { curl -fs "http://127.0.0.1:$SINK/stats" | json "[\"$1\"]"; }
echo "machine: $(nproc) cores; server, worker, receiver, PostgreSQL and wrk share them"

# 1. Throughput: a backlog of COUNT registrations, then one worker drains it.
FENGQIAO_LOG__FILTER=error target/release/fengqiao seed petitions --count "$COUNT" >/dev/null
psql -q -h 127.0.0.1 -U postgres -d $DB -c "
  INSERT INTO outbox (id, topic, petition_id, payload, created_at)
  SELECT gen_random_uuid(), 'petition.registered', id,
         json_build_object('petition_id', id, 'tracking_no', tracking_no, 'state', state)::text, now()
  FROM petitions WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.petition_id = petitions.id)" >/dev/null
backlog=$(psql -qtA -h 127.0.0.1 -U postgres -d $DB -c "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL")
curl -fs -X POST "http://127.0.0.1:$SINK/reset" >/dev/null
start=$(date +%s.%N)
FENGQIAO_MESSAGING__DISPATCHER=true target/release/fengqiao worker > "$work/worker.out" 2>&1 &
worker=$!
for _ in $(seq 1 1200); do
  [ "$(stat count)" -ge "$backlog" ] && break
  sleep 0.1
done
end=$(date +%s.%N)
delivered=$(stat count)
printf '\n%-56s %10s\n' "backlog of $backlog messages, one worker" "per s"
printf '%-56s %10.0f   (%s delivered in %.1f s)\n' "webhook deliveries (fan-out, signed POST, recorded)" \
  "$(python3 -c "print($delivered / ($end - $start))")" "$delivered" "$(python3 -c "print($end - $start)")"

# 2. Lag under a steady stream of submissions.
for i in $(seq 1 32); do
  curl -fs -X POST "$api/auth/dev-login" -H 'content-type: application/json' \
    -d "{\"openid\":\"lag-$i\"}" | json '["access_token"]'
done > "$work/tokens"
township=$(psql -qtA -h 127.0.0.1 -U postgres -d $DB -c "SELECT id FROM org_units WHERE code = '410122-101'")
body="{\"kind\":\"complaint\",\"category_code\":\"transport\",\"title\":\"村道路面破损请求维修\",\"content\":\"官渡桥村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。\",\"township_id\":\"$township\"}"
curl -fs -X POST "http://127.0.0.1:$SINK/reset" >/dev/null
out=$(TOKENS_FILE="$work/tokens" BODY="$body" wrk -t1 -c4 -d"${DURATION}s" -s bench/submit.lua "http://127.0.0.1:$PORT")
sleep 3
submitted=$(awk '/requests in/ {print $1}' <<<"$out")
printf '\n%-56s %8s %8s %8s\n' "state change to delivery" "count" "p50 ms" "p99 ms"
printf '%-56s %8s %8.0f %8.0f   (%s submissions)\n' "registrations, 4 clients submitting" "$(stat count)" \
  "$(stat lag_p50_ms)" "$(stat lag_p99_ms)" "$submitted"
