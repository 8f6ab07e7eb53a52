# mk/infra.mk - infrastructure targets (SAM template, OpenAPI, IaC lint).
# Included by the root Makefile (`-include mk/*.mk`). Tools come from the
# project venv .local/venv (scripts/bootstrap.sh with PORTGUARD_INFRA_TOOLS=1):
# aws-sam-cli, cfn-lint, cfn-lint-serverless, pytest, and cargo-lambda (+ zig).
#
#   make lint-infra   cfn-lint (+ serverless rules), sam validate --lint, pytest infra/tests
#   make build-sam    sam build: ONE cargo lambda build --release --arm64 of the five
#                     functions (infra/Makefile), then each zipped bootstrap <= 5 MB
#   make deploy-sam   sam deploy --guided (interactive; needs AWS credentials)
#   make deploy       build-sam, then sam deploy with a saved samconfig.toml env

# Keep whatever default goal the including Makefile has (or will have).
_infra_saved_default_goal := $(.DEFAULT_GOAL)

INFRA_VENV ?= $(CURDIR)/.local/venv
INFRA_BIN := $(INFRA_VENV)/bin
INFRA_TEMPLATE := infra/template.yaml
# sam, cfn-lint and cargo-lambda (which finds zig through the venv's python)
# from the venv; SAM needs a region even offline. Telemetry off.
INFRA_ENV = PATH="$(INFRA_BIN):$$PATH" \
	AWS_REGION="$${AWS_REGION:-us-east-1}" \
	AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}}" \
	SAM_CLI_TELEMETRY=0
INFRA_RUST_TARGET := aarch64-unknown-linux-gnu

.PHONY: infra-tools lint-infra build-sam sam-zip-sizes deploy-sam deploy

lint: lint-infra
build: build-sam

infra-tools: ## install sam, cfn-lint, cfn-lint-serverless, pytest into .local/venv when missing
	@if [ ! -x "$(INFRA_BIN)/sam" ] || [ ! -x "$(INFRA_BIN)/cfn-lint" ] || [ ! -x "$(INFRA_BIN)/pytest" ] \
	    || [ ! -x "$(INFRA_BIN)/cargo-lambda" ]; then \
	  PORTGUARD_INFRA_TOOLS=1 bash scripts/bootstrap.sh; \
	fi
	@"$(INFRA_BIN)/python" -c 'import pytest, openapi_spec_validator' 2>/dev/null \
	  || "$(INFRA_BIN)/pip" install -q pytest openapi-spec-validator

lint-infra: infra-tools ## cfn-lint (+ serverless rules), sam validate --lint, pytest infra/tests
	$(INFRA_ENV) cfn-lint $(INFRA_TEMPLATE)
	$(INFRA_ENV) cfn-lint -t $(INFRA_TEMPLATE) --append-rules cfn_lint_serverless.rules
	$(INFRA_ENV) sam validate --lint -t $(INFRA_TEMPLATE)
	$(INFRA_ENV) PYTHONDONTWRITEBYTECODE=1 python -m pytest -q -p no:cacheprovider infra/tests

# A function's deployment package (its bootstrap, zipped as `sam deploy`
# zips it: deflate, zlib's default level) may not exceed this: 5 MB, the
# target of issue 26 and bench/results/report.md.
SAM_ZIP_MAX_BYTES ?= 5000000

build-sam: infra-tools ## sam build in infra/: one cargo lambda build --release --arm64 for the five functions (infra/Makefile), zips <= 5 MB
	@rustup target list --installed 2>/dev/null | grep -qx '$(INFRA_RUST_TARGET)' \
	  || rustup target add $(INFRA_RUST_TARGET)
	@start=$$(date +%s); cd infra && $(INFRA_ENV) sam build \
	  && echo "build-sam: sam build took $$(( $$(date +%s) - start )) s"
	@$(MAKE) --no-print-directory sam-zip-sizes

# The check as a Python program in a variable (a recipe runs each line in
# its own shell, so no heredoc).
define SAM_ZIP_SIZES_PY
import io, sys, zipfile
from pathlib import Path
build, limit = Path(sys.argv[1]), int(sys.argv[2])
bins = sorted(build.glob("*/bootstrap"))
if len(bins) != 5:
    sys.exit(f"sam-zip-sizes: {len(bins)} bootstraps in {build}, expected 5: run make build-sam")
over = []
for b in bins:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(b, "bootstrap")
    size = len(buf.getvalue())
    print(f"  {b.parent.name:24} bootstrap {b.stat().st_size / 1e6:6.2f} MB, zipped {size / 1e6:5.2f} MB ({size} bytes)")
    if size > limit:
        over.append(b.parent.name)
if over:
    sys.exit(f"sam-zip-sizes: over {limit} bytes zipped: {', '.join(over)}")
print(f"sam-zip-sizes: all 5 zipped bootstraps within {limit} bytes")
endef
export SAM_ZIP_SIZES_PY

sam-zip-sizes: ## the five bootstraps in infra/.aws-sam/build, zipped as sam deploy zips them: each <= SAM_ZIP_MAX_BYTES (5 MB)
	@"$(INFRA_BIN)/python" -c "$$SAM_ZIP_SIZES_PY" infra/.aws-sam/build $(SAM_ZIP_MAX_BYTES)

deploy-sam: infra-tools ## sam deploy --guided from infra/ (needs AWS credentials; see docs/deploy.md)
	cd infra && $(INFRA_ENV) sam deploy --guided

# The config environment of infra/samconfig.toml that `make deploy` uses; a
# first `make deploy-sam` saves one (docs/deploy.md).
SAM_CONFIG_ENV ?= default

# Not INFRA_ENV: a deployment takes its region from the caller, never a default.
deploy: infra-tools ## build-sam, then sam deploy with infra/samconfig.toml [SAM_CONFIG_ENV] (needs AWS credentials and region)
	@"$(INFRA_BIN)/python" scripts/deploy-check.py infra/samconfig.toml '$(SAM_CONFIG_ENV)'
	@$(MAKE) --no-print-directory build-sam
	if [ -n "$${AWS_REGION:-}" ]; then export AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-$$AWS_REGION}"; fi; \
	  cd infra && PATH="$(INFRA_BIN):$$PATH" SAM_CLI_TELEMETRY=0 sam deploy --config-env '$(SAM_CONFIG_ENV)'

.DEFAULT_GOAL := $(_infra_saved_default_goal)
