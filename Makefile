# Set-up and everyday commands. `make synth` and `make test` install what they need on first use
# (virtual environment, pinned CDK CLI, a supported Node.js) and install nothing the second time.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_ENV := .tools/node.env
# The CDK CLI and the app itself must never phone home: no notices, no telemetry.
CDK_ENV := export CDK_DISABLE_CLI_TELEMETRY=true; . $(NODE_ENV); export PATH="$(CURDIR)/$(BIN):$$PATH"
CDK := node_modules/.bin/cdk
OPS_CLI := $(BIN)/python -m genai_kit.cli
OPS_ARGS = $(if $(STAGE),--stage $(STAGE)) $(ARGS)

.PHONY: help synth test lint typecheck unit snapshot-update bench bench-api bench-dataset cdk preflight outputs cost prices clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

synth: $(VENV)/.runtime node_modules/.installed $(NODE_ENV) ## Synthesize the selected stage into cdk.out and summarize it
	@$(CDK_ENV); $(CDK) synth --quiet '**' $(if $(STAGE),--context stage=$(STAGE))
	@$(BIN)/python -m genai_kit.synth_summary cdk.out
	@echo
	@$(BIN)/python -m genai_kit.cli cost $(if $(STAGE),--stage $(STAGE)) --assembly cdk.out

test: lint typecheck unit ## Lint, type-check and run the whole offline test suite

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy .

# The suite runs on two pytest-xdist workers; PYTEST_WORKERS=0 runs it in one process (PYTEST_ARGS: a test, -k ...).
PYTEST_WORKERS ?= 2

unit: $(VENV)/.dev $(NODE_ENV) .venv-checkov/.installed
	@$(CDK_ENV); export CHECKOV="$(CURDIR)/.venv-checkov/bin/checkov"; $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

snapshot-update: $(VENV)/.dev $(NODE_ENV) ## Rewrite the template snapshots (review the diff before committing)
	@$(CDK_ENV); $(BIN)/pytest tests/stacks/test_snapshots.py --snapshot-update

bench: $(VENV)/.dev $(NODE_ENV) ## Benchmark the kit's synth against an empty CDK app (ratio of medians)
	@$(CDK_ENV); $(BIN)/python scripts/bench_synth.py

bench-api: $(VENV)/.dev .venv-bench/.installed ## Benchmark the API router: cold import vs boto3 and litellm, overhead per request
	$(BIN)/python scripts/bench_api.py --alternative-python .venv-bench/bin/python

bench-dataset: $(VENV)/.dev ## Benchmark the fine-tuning dataset check: MB/s, linear growth to 2 GiB, bounded memory
	$(BIN)/python scripts/bench_dataset.py $(ARGS)

# checkov pins its own AWS SDK: it lives in its own environment, which the test suite calls.
.venv-checkov/.installed: requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

# The alternative the router is compared with lives in its own environment: it is no dependency of the kit.
.venv-bench/.installed: requirements-bench.txt
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@touch $@

cdk: $(VENV)/.runtime node_modules/.installed $(NODE_ENV) ## Run the pinned CDK CLI, e.g. make cdk ARGS="diff 'GenAiKit-dev/*'"
	@$(CDK_ENV); $(CDK) $(ARGS)

preflight: $(VENV)/.runtime ## Check a stage's account before deploying, e.g. make preflight STAGE=prod ARGS="--profile ops"
	@$(OPS_CLI) preflight $(OPS_ARGS)

outputs: $(VENV)/.runtime ## Show the deployed stacks' outputs of a stage (ARGS="--json" for JSON)
	@$(OPS_CLI) outputs $(OPS_ARGS)

cost: $(VENV)/.runtime ## Estimate a stage's cost from cdk.out (run make synth first)
	@$(OPS_CLI) cost $(OPS_ARGS)

prices: $(VENV)/.runtime ## Rewrite the table's SageMaker and Bedrock token prices from the AWS Price List (AWS credentials; ARGS="--region R")
	@$(BIN)/python -m genai_kit.pricing.refresh $(ARGS)

clean: ## Remove cdk.out and every installed tool (.venv*, node_modules, .tools, tools/node/node_modules)
	rm -rf cdk.out $(VENV) .venv-bench .venv-checkov node_modules .tools tools/node/node_modules

$(VENV)/.python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@touch $@

$(VENV)/.runtime: requirements.txt lambdas/api_router/requirements.txt lambdas/endpoint_lifecycle/requirements.txt lambdas/endpoint_scheduler/requirements.txt jobs/model_preparation/requirements.txt $(VENV)/.python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(NODE_ENV): scripts/node-env.sh tools/node/package-lock.json
	@mkdir -p $(dir $@)
	scripts/node-env.sh > $@.tmp && mv $@.tmp $@
