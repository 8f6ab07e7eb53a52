#!/usr/bin/env bash
# `make bench`: release binaries of the four functions and of two floors
# (bench/), measured in one run against DynamoDB Local through a local Lambda
# Runtime API; writes bench/results/report.md, bench/results/latency.png
# (raw samples and function logs under bench/results/raw/, git-ignored) and
# the "Performance" table of README.md.
#
#   BENCH_COLD=20        cold starts per binary
#   BENCH_WARM=1000      warm invocations per function (and as many for its floor)
#   BENCH_QUIET_LOAD=1.0 wait (at most BENCH_QUIET_WAIT=180 s) until the 1-minute
#                        load average is below this before measuring
#   BENCH_SKIP_PACKAGE=1 skip the arm64 zip build (package sizes then come
#                        from an earlier build, or are reported missing)
#   BENCH_FLOOR_ZIPS=1   also zip the two floors for arm64 (a second arm64
#                        build of the SDK with the bench's feature set)
#
# Everything listens on 127.0.0.1 except DynamoDB Local (it cannot be told
# to); everything started here is stopped on exit. Not part of `make test`.
set -euo pipefail
LOG_TAG=bench
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

COLD=${BENCH_COLD:-20}
WARM=${BENCH_WARM:-1000}
OUT="$ROOT/bench/results"
RAW="$OUT/raw"
FUNCS=(-p set-pin -p submit-port-out -p carrier-webhook -p status-check -p portguard-bench)
begin=$SECONDS

cleanup() {
  stop_child
  bash scripts/dynamodb-local.sh stop bench >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools
if [ ! -x "$VENV_BIN/cargo-lambda" ] || ! command -v java >/dev/null 2>&1 \
  || [ -z "$(find "$LOCAL/dynamodb" -name DynamoDBLocal.jar 2>/dev/null | head -n 1)" ]; then
  bash scripts/bootstrap.sh
fi
use_venv
if ! "$VENV_BIN/python" -c 'import matplotlib' 2>/dev/null; then
  log "installing matplotlib into .local/venv (for the chart)"
  "$VENV_BIN/pip" install -q 'matplotlib>=3.8,<4'
fi

# --- builds (all before any measurement: a build running beside the
# measurement would make it meaningless)
# The functions, the floors and the Argon2 timer are release builds (the
# workspace's [profile.release]); the driver is a dev build: it only waits on
# sockets and channels, takes its timestamps before and after its own
# parsing, and saves a third release link of the SDK on a 2-core machine.
log "release build (x86_64, this host): functions, floors, Argon2 timer"
with_timeout 2400 cargo build --release --locked "${FUNCS[@]}" \
  --bin set-pin --bin submit-port-out --bin carrier-webhook --bin status-check \
  --bin floor-hello --bin floor-sdk --bin argon2-timer
log "driver (dev build)"
with_timeout 1200 cargo build --locked -p portguard-bench --bin bench
if [ "${BENCH_SKIP_PACKAGE:-0}" != 1 ]; then
  log "arm64 zips (cargo lambda build --release --arm64 --output-format zip)"
  with_timeout 2400 cargo lambda build --release --arm64 --output-format zip \
    -p set-pin -p submit-port-out -p carrier-webhook -p status-check
  if [ "${BENCH_FLOOR_ZIPS:-0}" = 1 ]; then
    with_timeout 2400 cargo lambda build --release --arm64 --output-format zip \
      -p portguard-bench --bin floor-hello --bin floor-sdk
  fi
fi

# --- DynamoDB Local and a quiet machine
url="$(bash scripts/dynamodb-local.sh start bench)"
export_dev_env
export LOG_LEVEL=${LOG_LEVEL:-info}
quiet=${BENCH_QUIET_LOAD:-1.0}
deadline=$((SECONDS + ${BENCH_QUIET_WAIT:-180}))
while :; do
  load="$(cut -d' ' -f1 /proc/loadavg)"
  if awk -v l="$load" -v q="$quiet" 'BEGIN { exit !(l < q) }'; then break; fi
  if ((SECONDS >= deadline)); then
    log "load is still $load (wanted < $quiet); measuring anyway: ratios to the floors of this run stay meaningful, absolute numbers less so"
    break
  fi
  log "load $load; waiting for < $quiet before measuring"
  sleep 10
done

# --- measure
mkdir -p "$RAW"
log "measuring: $COLD cold starts per binary, $WARM warm invocations per function"
with_timeout 1800 "$ROOT/target/debug/bench" --bins "$ROOT/target/release" \
  --endpoint "$url" --out "$RAW" --cold "$COLD" --warm "$WARM"

# --- report, chart, README
"$VENV_BIN/python" bench/report.py --raw "$RAW/results.json" --out "$OUT" \
  --zips "$ROOT/target/lambda" --readme "$ROOT/README.md"
log "done in $((SECONDS - begin)) s: bench/results/report.md, bench/results/latency.png"
