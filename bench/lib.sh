# Shared by the benchmark scripts that compare Fengqiao with a bare actix-web handler in the
# same run: sourced, not run. Expects FQ_PORT, BARE_PORT, DURATION, CONNECTIONS and THREADS;
# leaves the server's output in "$work/server.out".

# Builds both, starts Fengqiao on the embedded default with demo data in a scratch directory
# and the bare handler, waits until both answer, and stops them when the script exits.
start_against_bare() {
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
}

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

