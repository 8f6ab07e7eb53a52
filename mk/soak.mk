# Long hardening runs (not part of `make test`): bigger load, more property
# cases, longer fuzzing. `make fuzz` is the short fuzz smoke run alone.
.PHONY: soak fuzz

soak: ## long load, property and fuzz runs (scripts/soak.sh; knobs inside)
	@bash scripts/soak.sh

fuzz: ## build the cargo-fuzz targets and run each briefly (scripts/fuzz.sh)
	@bash scripts/fuzz.sh
