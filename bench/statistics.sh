#!/usr/bin/env bash
# Supervision figures on PostgreSQL over COUNT petitions (default one million) and their
# events (about 4.5 per petition), seeded in SQL by bench/statistics_seed.sql:
#  1. the monthly figures and ranking of all townships and streets: the month so far (computed
#     on every request), the comparison table of last month, and last month's first ranking
#     (computed and kept); each timed five times, median and slowest;
#  2. the dashboard (`GET /api/v1/admin/statistics/figures`) of one township and of the whole
#     county, with 1, 4 and 8 concurrent clients for DURATION seconds each: requests per
#     second and p99;
#  3. the reference in the same run: a bare SQL scan counting the petitions per township
#     (what any ranking must at least read), timed by pgbench.
#
#   bash bench/statistics.sh              # DURATION=10 COUNT=1000000
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth), wrk and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
COUNT=${COUNT:-1000000}
PORT=18092
DB=fengqiao_bench_stats
PG="postgres://postgres@127.0.0.1:5432"
psql_db() { psql -qtA -h 127.0.0.1 -U postgres -d $DB "$@"; }

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

export FENGQIAO_DATABASE__URL="$PG/$DB" FENGQIAO_DATABASE__MAX_CONNECTIONS=${POOL:-$(( $(nproc) * 2 + 2 ))} \
  FENGQIAO_SERVER__PORT=$PORT FENGQIAO_LOG__FILTER=warn FENGQIAO_DATA_DIR="$work" \
  FENGQIAO_RATE_LIMIT__PER_IP_PER_MINUTE=0 FENGQIAO_PETITION__OVERDUE_CHECK_SECS=0 \
  FENGQIAO_MESSAGING__DISPATCHER=false FENGQIAO_STATISTICS__JOB_CHECK_SECS=0
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

echo "seeding $COUNT petitions with their events…"
started=$(date +%s)
psql_db -v count="$COUNT" -f bench/statistics_seed.sql >/dev/null
psql_db -c "VACUUM ANALYZE" >/dev/null
petitions=$(psql_db -c "SELECT count(*) FROM petitions")
events=$(psql_db -c "SELECT count(*) FROM petition_events")
echo "seeded $petitions petitions, $events events in $(( $(date +%s) - started )) s"
echo "machine: $(nproc) cores; server, PostgreSQL and load generators share them"

township=$(psql_db -c "SELECT id FROM org_units WHERE code = '410122-101'")
last_month=$(date -d "$(date +%Y-%m-01) -1 day" +%F)

# Five timed requests: "median slowest" in milliseconds.
timed() {
  for _ in 1 2 3 4 5; do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $admin" "$1"
  done | sort -n | awk '{ms[NR] = $1 * 1000} END {printf "%.0f %.0f", ms[3], ms[5]}'
}
once() {
  curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $admin" "$1" | awk '{printf "%.0f", $1 * 1000}'
}

ref=$(pgbench -h 127.0.0.1 -U postgres -n -c 1 -t 5 \
  -f <(echo "SELECT township_id, count(*) FROM petitions GROUP BY township_id;") $DB 2>/dev/null |
  awk '/latency average/ {printf "%.0f", $4}')

printf '\n%-62s %8s %8s %7s\n' "over $petitions petitions" "median" "slowest" "ratio"
printf '%-62s %6s ms %6s ms %7s\n' "bare SQL: count per township (pgbench, reference)" "$ref" "-" "1.00"
row() { printf '%-62s %6s ms %6s ms %7.2f\n' "$1" "$2" "$3" "$(python3 -c "print($2 / max($ref, 1))")"; }
read -r m s <<<"$(timed "$api/admin/statistics/flags")"
row "monthly flags, the month so far (all townships)" "$m" "$s"
read -r m s <<<"$(timed "$api/admin/statistics/townships?date=$last_month")"
row "township comparison, last month" "$m" "$s"
first=$(once "$api/admin/statistics/flags?date=$last_month")
row "monthly flags, last month, first request (computed and kept)" "$first" "$first"
read -r m s <<<"$(timed "$api/admin/statistics/flags?date=$last_month")"
row "monthly flags, last month, kept" "$m" "$s"
read -r m s <<<"$(timed "$api/admin/escalations/watch")"
row "weekly escalation watch (12 weeks of streaks)" "$m" "$s"

# wrk's p99 in milliseconds.
p99() { awk '$1 == "99%" {print $2}' | python3 -c "
import sys
v = sys.stdin.read().strip()
for unit, f in (('us', 0.001), ('ms', 1.0), ('s', 1000.0)):
    if v.endswith(unit):
        print(round(float(v[:-len(unit)]) * f, 2)); break"; }
dashboard() { # label, clients, url
  local out
  out=$(wrk -t1 -c"$2" -d"${DURATION}s" --latency -H "Authorization: Bearer $admin" "$3")
  printf '%-62s %8s %8s\n' "$1, $2 client(s)" "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" "$(p99 <<<"$out")"
}
printf '\n%-62s %8s %8s\n' "dashboard, ${DURATION}s each" "per s" "p99 ms"
for clients in 1 4 8; do
  dashboard "figures of one township, this month" "$clients" "$api/admin/statistics/figures?org_unit_id=$township"
done
for clients in 1 4 8; do
  dashboard "figures of the whole county, this month" "$clients" "$api/admin/statistics/figures"
done
