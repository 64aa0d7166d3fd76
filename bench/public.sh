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

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

cargo build --release -q -p fengqiao-api --bin fengqiao --example bare_actix

work=$(mktemp -d)
cleanup() {
  kill "${fq_pid:-}" "${bare_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(
  cd "$work"
  # exec: the recorded pid is the server's own, so the cleanup stops it.
  FENGQIAO_SERVER__PORT=$FQ_PORT FENGQIAO_LOG__FILTER=warn FENGQIAO_RATE_LIMIT__PER_IP_PER_MINUTE=100000000 \
    exec "$OLDPWD/target/release/fengqiao" --demo > server.out 2>&1
) &
fq_pid=$!
target/release/examples/bare_actix 127.0.0.1:$BARE_PORT > /dev/null 2>&1 &
bare_pid=$!

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$FQ_PORT/health/ready" >/dev/null 2>&1 &&
    curl -fs "http://127.0.0.1:$BARE_PORT/health/live" >/dev/null 2>&1 && break
  sleep 0.2
done
api="http://127.0.0.1:$FQ_PORT/api/v1"
article=$(curl -fs "$api/channels/guide-laws/articles" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')

# Prints "requests_per_second p99_ms" for one target.
measure() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")
  local rps p99
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  # wrk prints latencies with a unit: normalise to milliseconds.
  p99=$(python3 -c "
v='$p99'
for unit, f in (('us', 0.001), ('ms', 1.0), ('s', 1000.0)):
    if v.endswith(unit):
        print(round(float(v[:-len(unit)]) * f, 2)); break")
  echo "$rps $p99"
}

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
