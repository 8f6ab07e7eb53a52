#!/usr/bin/env bash
# `make soak`: the long versions of the hardening tests against a fresh
# DynamoDB Local and a fresh local SES (the alert-contact properties send
# email; without it they were skipped): the load test at
# PORTGUARD_LOAD_REQUESTS (default 6000) and PORTGUARD_LOAD_WORKERS (default 16), the hostile-input properties with
# PROPTEST_CASES (default 512) cases each, and the fuzz targets for
# PORTGUARD_FUZZ_SECONDS (default 120) each. Stops everything it started.
set -euo pipefail
LOG_TAG=soak
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

DDB_NAME="soak-$$"
SES_NAME="soak-$$"
cleanup() {
  "$ROOT/scripts/dynamodb-local.sh" stop "$DDB_NAME" >/dev/null 2>&1 || true
  "$ROOT/scripts/ses-local.sh" stop "$SES_NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$ROOT/scripts/bootstrap.sh"
export_dev_env
export AWS_ENDPOINT_URL_DYNAMODB
AWS_ENDPOINT_URL_DYNAMODB="$("$ROOT/scripts/dynamodb-local.sh" start "$DDB_NAME")"
export AWS_ENDPOINT_URL_SESV2 PORTGUARD_REQUIRE_DYNAMODB_LOCAL=1 PORTGUARD_REQUIRE_SES_LOCAL=1
AWS_ENDPOINT_URL_SESV2="$("$ROOT/scripts/ses-local.sh" start "$SES_NAME")"
export PORTGUARD_LOAD_REQUESTS=${PORTGUARD_LOAD_REQUESTS:-6000}
export PORTGUARD_LOAD_WORKERS=${PORTGUARD_LOAD_WORKERS:-16}
export PORTGUARD_LOAD_DEADLINE_SECS=${PORTGUARD_LOAD_DEADLINE_SECS:-1800}
export PROPTEST_CASES=${PROPTEST_CASES:-512}
log "load: $PORTGUARD_LOAD_REQUESTS requests, $PORTGUARD_LOAD_WORKERS at a time; properties: $PROPTEST_CASES cases"
cargo test -p portguard-tests --test load --test hostile --test faults -- --nocapture
PORTGUARD_FUZZ_SECONDS=${PORTGUARD_FUZZ_SECONDS:-120} bash "$ROOT/scripts/fuzz.sh"
log "ok"
