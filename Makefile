# portguard — short targets. `make help` lists them.
#
# Other makefiles in mk/ are included at the end and may add targets or add
# prerequisites to the aggregate targets below, e.g. mk/infra.mk:
#     lint: lint-infra
#     build: build-sam
# so `make lint` / `make build` run the Rust part and every addition.

SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
CARGO ?= cargo

.PHONY: help dev test check build build-rust lint lint-rust fmt bench us-metadata clean-local

help: ## list the targets
	@printf 'usage: make <target>\n\n'
	@awk -F':' '/^[A-Za-z0-9_.-]+:([^=]|$$)/ && $$1 !~ /^\./ { \
	    name = $$1; desc = ""; \
	    if (match($$0, /## .*/)) desc = substr($$0, RSTART + 3); \
	    if (!(name in seen)) { seen[name] = 1; order[++n] = name } \
	    if (desc != "" && !(name in d)) d[name] = desc; \
	  } \
	  END { for (i = 1; i <= n; i++) printf "  %-14s %s\n", order[i], d[order[i]] }' $(MAKEFILE_LIST)

dev: ## DynamoDB Local, local SES, the Telnyx stand-in, demo tenants, `cargo lambda watch` and the local API on :3000 (Ctrl-C stops all)
	@bash scripts/dev.sh

test: ## fmt, clippy, unit/integration tests on DynamoDB Local, then e2e under cargo lambda watch
	@bash scripts/test.sh

check: lint-rust ## fmt, clippy and every test that needs no DynamoDB Local (the others skip, one line each): minutes, nothing started
	env -u AWS_ENDPOINT_URL_DYNAMODB $(CARGO) test --workspace

build: build-rust ## build everything (mk/*.mk may add more, e.g. build-sam)

build-rust: ## cargo build --workspace
	$(CARGO) build --workspace

lint: lint-rust ## all linters (mk/*.mk may add more, e.g. lint-infra)

lint-rust: ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## cargo fmt --all
	$(CARGO) fmt --all

bench: ## performance report: release builds, then measurements (scripts/bench.sh; knobs inside)
	@bash scripts/bench.sh

us-metadata: ## rewrite shared/validation/src/us-metadata.xml from the locked phonenumber crate
	@bash scripts/us-metadata.sh

clean-local: ## remove .local (tools, DynamoDB Local, venv, logs); stop `make dev` first
	rm -rf .local

-include mk/*.mk
