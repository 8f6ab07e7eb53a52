#!/usr/bin/env bash
# `make bench`: release binaries of the five functions and of three floors
# (bench/), measured in one run against DynamoDB Local through a local Lambda
# Runtime API; writes bench/results/report.md, bench/results/latency.png
# (raw samples and function logs under bench/results/raw/, git-ignored) and
# the "Performance" table of README.md. DynamoDB Local is also served over
# TLS by stunnel with a certificate authority made for the run (the cold
# first request with TLS), and so are the notifier's loopback receiver, the
# Telnyx stand-in (cli/telnyx-stand-in, Telnyx's API for the Telnyx door's
# refusals) and the local SES (scripts/ses-local.sh, the alert emails): every
# function runs with every integration configured.
#
#   BENCH_COLD=20        cold starts per binary
#   BENCH_WARM=1000      warm invocations per function (and as many for its floor)
#   BENCH_QUIET_LOAD=1.0 wait (at most BENCH_QUIET_WAIT=180 s) until the 1-minute
#                        load average is below this before measuring
#   BENCH_SKIP_PACKAGE=1 skip the arm64 zip build (package sizes then come
#                        from an earlier build, or are reported missing); the
#                        zips are kept per commit in target/lambda-zips/<commit>
#                        and reused while the tree is clean
#   BENCH_SMOKE=1        a quick check that the bench works: dev builds, 1 cold
#                        start and 5 warm invocations, no zips, no waiting for
#                        quiet; writes .local/run/bench-smoke/ and leaves the
#                        committed report and README alone
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
PROFILE=(--release)
BINS="$ROOT/target/release"
README_ARGS=(--readme "$ROOT/README.md")
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  COLD=${BENCH_COLD:-1} WARM=${BENCH_WARM:-5} BENCH_SKIP_PACKAGE=1 BENCH_QUIET_WAIT=0
  PROFILE=() BINS="$ROOT/target/debug" README_ARGS=() OUT="$RUN_DIR/bench-smoke"
fi
RAW="$OUT/raw"
mkdir -p "$RAW"
FUNCS=(-p set-pin -p submit-port-out -p carrier-webhook -p status-check -p notifier -p portguard-bench)
ZIP_FUNCS=(set-pin submit-port-out carrier-webhook status-check notifier)
begin=$SECONDS
STUNNEL_PID=
TELNYX_PID=

cleanup() {
  stop_child
  if [ -n "$STUNNEL_PID" ]; then kill "$STUNNEL_PID" 2>/dev/null || true; fi
  if [ -n "$TELNYX_PID" ]; then kill "$TELNYX_PID" 2>/dev/null || true; fi
  bash scripts/ses-local.sh stop bench >/dev/null 2>&1 || true
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
if ! command -v stunnel4 >/dev/null 2>&1 && ! command -v stunnel >/dev/null 2>&1; then
  log "installing stunnel4 (Debian) for the TLS phases"
  [ "$(id -u)" = 0 ] || die "need stunnel4: apt-get install stunnel4, or run as root"
  { apt-get install -y -qq --no-install-recommends stunnel4 >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends stunnel4 >/dev/null; }; } \
    || die "stunnel4 could not be installed"
fi
STUNNEL="$(command -v stunnel4 || command -v stunnel)"
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
with_timeout 2400 cargo build "${PROFILE[@]}" --locked "${FUNCS[@]}" \
  --bin set-pin --bin submit-port-out --bin carrier-webhook --bin status-check --bin notifier \
  --bin floor-hello --bin floor-sdk --bin floor-post --bin argon2-timer
log "driver and the Telnyx stand-in (dev builds)"
with_timeout 1200 cargo build --locked -p portguard-bench --bin bench
# On its own: built with the driver, its HTTP server's features would be
# unified into the driver's SDK build (a rebuild of both for nothing).
with_timeout 1200 cargo build --locked -p telnyx-stand-in --bin telnyx-stand-in
# The arm64 zips of the five functions, built once per commit: kept in
# target/lambda-zips/<commit> when the tree is clean, and reused from there.
commit="$(git rev-parse HEAD)"
ZIPS="$ROOT/target/lambda-zips/$commit"
clean_tree=0
[ -z "$(git status --porcelain -- functions shared Cargo.toml Cargo.lock)" ] && clean_tree=1
have_zips() { for f in "${ZIP_FUNCS[@]}"; do [ -s "$ZIPS/$f/bootstrap.zip" ] || return 1; done; }
if [ "${BENCH_SKIP_PACKAGE:-0}" = 1 ]; then
  have_zips || ZIPS="$ROOT/target/lambda"
elif ((clean_tree)) && have_zips; then
  log "arm64 zips of $commit: reused from $ZIPS"
else
  log "arm64 zips (cargo lambda build --release --arm64 --output-format zip)"
  zip_args=()
  for f in "${ZIP_FUNCS[@]}"; do zip_args+=(-p "$f"); done
  with_timeout 2400 cargo lambda build --release --arm64 --output-format zip "${zip_args[@]}"
  if ((clean_tree)); then
    for f in "${ZIP_FUNCS[@]}"; do
      mkdir -p "$ZIPS/$f" && cp "$ROOT/target/lambda/$f/bootstrap.zip" "$ZIPS/$f/"
    done
    log "arm64 zips kept in $ZIPS"
  else
    ZIPS="$ROOT/target/lambda"
  fi
  if [ "${BENCH_FLOOR_ZIPS:-0}" = 1 ]; then
    with_timeout 2400 cargo lambda build --release --arm64 --output-format zip \
      -p portguard-bench --bin floor-hello --bin floor-sdk
  fi
fi

# --- DynamoDB Local, and stunnel in front of it and of the webhook receiver,
# with a certificate authority made for this run. The SDK's client and the
# notifier's trust it the standard way: SSL_CERT_FILE, here the system's
# roots plus this CA (both load native roots through rustls-native-certs).
url="$(bash scripts/dynamodb-local.sh start bench)"
export_dev_env
TLS="$RAW/tls"
rm -rf "$TLS" && mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=portguard bench CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$TLS/ext.cnf"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
  -days 2 -extfile "$TLS/ext.cnf" -out "$TLS/server.pem" 2>/dev/null
cat /etc/ssl/certs/ca-certificates.crt "$TLS/ca.pem" >"$TLS/bundle.pem"
export BENCH_CA_BUNDLE="$TLS/bundle.pem"
# shellcheck disable=SC2119
tls_port="$(free_port)"
# shellcheck disable=SC2119
hook_port="$(free_port)"
# shellcheck disable=SC2119
hook_plain="$(free_port)"
# shellcheck disable=SC2119
telnyx_plain="$(free_port)"
# shellcheck disable=SC2119
telnyx_tls="$(free_port)"
# shellcheck disable=SC2119
ses_tls="$(free_port)"
# The Telnyx stand-in (its API on loopback; TELNYX_API_KEY from
# export_dev_env) and the local SES (in memory, stopped on exit).
"$ROOT/target/debug/telnyx-stand-in" serve --listen "127.0.0.1:$telnyx_plain" \
  >"$RAW/telnyx-stand-in.log" 2>&1 &
TELNYX_PID=$!
ses_args=()
if ses_url="$(bash scripts/ses-local.sh start bench)"; then
  ses_args=(--ses-url "https://127.0.0.1:$ses_tls" --ses-store "$ses_url")
else
  log "the local SES did not start (scripts/bootstrap.sh installs it): no alert-email phase"
  ses_url="http://127.0.0.1:9"
fi
printf '%s\n' "foreground = yes" "pid =" "debug = 3" \
  "[dynamodb]" "accept = 127.0.0.1:$tls_port" "connect = 127.0.0.1:${url##*:}" \
  "cert = $TLS/server.pem" "key = $TLS/server.key" \
  "[receiver]" "accept = 127.0.0.1:$hook_port" "connect = 127.0.0.1:$hook_plain" \
  "cert = $TLS/server.pem" "key = $TLS/server.key" \
  "[telnyx]" "accept = 127.0.0.1:$telnyx_tls" "connect = 127.0.0.1:$telnyx_plain" \
  "cert = $TLS/server.pem" "key = $TLS/server.key" \
  "[ses]" "accept = 127.0.0.1:$ses_tls" "connect = 127.0.0.1:${ses_url##*:}" \
  "cert = $TLS/server.pem" "key = $TLS/server.key" >"$TLS/stunnel.conf"
"$STUNNEL" "$TLS/stunnel.conf" >"$RAW/stunnel.log" 2>&1 &
STUNNEL_PID=$!
for _ in $(seq 50); do
  port_is_free "$tls_port" || break
  sleep 0.1
done
kill -0 "$STUNNEL_PID" 2>/dev/null && ! port_is_free "$tls_port" \
  || die "stunnel did not start; see $RAW/stunnel.log"
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
with_timeout 1800 "$ROOT/target/debug/bench" --bins "$BINS" \
  --endpoint "$url" --out "$RAW" --cold "$COLD" --warm "$WARM" \
  --tls-endpoint "https://127.0.0.1:$tls_port" \
  --hook-listen "127.0.0.1:$hook_plain" --hook-url "https://127.0.0.1:$hook_port" \
  --telnyx-api "https://127.0.0.1:$telnyx_tls/v2" "${ses_args[@]}"

# --- report, chart, README
"$VENV_BIN/python" -B bench/report.py --raw "$RAW/results.json" --out "$OUT" \
  --zips "$ZIPS" "${README_ARGS[@]}"
log "done in $((SECONDS - begin)) s: $OUT/report.md, $OUT/latency.png"
