#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each for a short while
# (PORTGUARD_FUZZ_SECONDS, default 20). cargo-fuzz needs nightly compiler
# flags (-Z sanitizer, -C passes=sancov...); on the stable toolchain
# RUSTC_BOOTSTRAP=1 enables them. cargo-fuzz itself is installed into
# .local/cargo on first use. A crash fails the run and leaves its input under
# fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [TARGET...]        default: every target
set -euo pipefail
LOG_TAG=fuzz
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

SECONDS_EACH=${PORTGUARD_FUZZ_SECONDS:-20}
export PATH="$LOCAL/cargo/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  log "installing cargo-fuzz into .local/cargo"
  cargo install cargo-fuzz --locked --root "$LOCAL/cargo"
fi
export RUSTC_BOOTSTRAP=1
targets=("$@")
if ((${#targets[@]} == 0)); then mapfile -t targets < <(cd fuzz && cargo fuzz list); fi

cd fuzz
log "building ${targets[*]}"
cargo fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log "$t: ${SECONDS_EACH}s"
  out="$RUN_DIR/fuzz-$t.log"
  rc=0
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -max_len=4096 -print_final_stats=1 >"$out" 2>&1 || rc=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|thread .* panicked|SUMMARY|Test unit written)' "$out" >&2 || true
  if ((rc != 0)); then tail -n 40 "$out" >&2; log "$t failed (exit $rc); see $out and fuzz/artifacts/$t"; exit 1; fi
done
log "ok"
