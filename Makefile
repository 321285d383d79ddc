# nexuskit — the two set-up commands are `make up` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
BROWSER_DIR := tests/ui/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.installed
CHECKOV := .checkov-venv/bin/checkov
LOCALSTACK_TOOLS_STAMP := .localstack-tools-venv/.installed

.PHONY: up down status test lint typecheck pytest test-cache compile browser checkov localstack-tools bench clean help

help:
	@echo "make up     create .venv, install, start the stack on the embedded engine"
	@echo "make test   create .venv, install with dev extra, run ruff, mypy and pytest"
	@echo "make down   stop the stack (state is kept; nexuskit down --purge wipes it)"

UV := $(BIN)/uv

# The virtualenv, with uv in it: uv installs from PyPI what pip takes a minute for in seconds.
# Where uv cannot be had or cannot install, pip does it (the `install` recipe below). The
# system's pip puts pip and uv in (3.4 s; the venv's own ensurepip, then pip upgrading itself:
# 6.9 s); where the system has no pip, ensurepip does.
$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet pip uv || { $(BIN)/python -m ensurepip --upgrade && { $(BIN)/python -m pip install --quiet --upgrade pip uv || true; }; }

# Python writes each module's bytecode the first time a process imports it, except where
# PYTHONDONTWRITEBYTECODE is set (CI images set it): there every engine, pod and CLI process
# compiled moto, botocore, FastAPI... again as it started (an engine's start to first answer:
# 0.65 s of CPU with compiled modules, 1.2 s without). Everything make runs may write it into
# the project's own trees and virtualenvs, so only the modules some process imports are
# compiled, once. (Compiling everything an install brings, as uv's --compile-bytecode does,
# took 25 s of CPU on the critical path of `make test`, a third of it for packages nothing
# imports: sympy, networkx, cfn-lint, pip.)
unexport PYTHONDONTWRITEBYTECODE

# $(call install,SPECS): uv if it is there and succeeds, else pip.
install = { [ -x $(UV) ] && $(UV) pip install --quiet --python $(BIN)/python $(1); } || $(BIN)/pip install --quiet $(1)

$(STAMP): pyproject.toml | $(BIN)/python
	@$(call install,-e .)
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	@$(call install,-e '.[dev]')
	@touch $(STAMP) $@

# Byte-compile the project's own packages ahead of the processes that import them (they would
# otherwise compile the same modules side by side as they start). Incremental: only files
# changed since are compiled again; a stale file is never used (Python checks each source's
# mtime). Needs no install: the test run's installs go on meanwhile.
compile: | $(BIN)/python
	@$(BIN)/python -m compileall -q -j 0 emulation nexuskit services tui

up: $(STAMP) compile
	$(BIN)/nexuskit up --local

down: $(STAMP)
	$(BIN)/nexuskit down

status: $(STAMP)
	$(BIN)/nexuskit status

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# Five pytest-xdist workers on the 2-core reference machine (PYTEST_WORKERS=0 runs in one
# process): the three Terraform modules spend most of their minutes in the AWS provider's own
# waits (55 s for each S3 lifecycle configuration, 10-30 s for streams, up to a minute before
# an EKS cluster's delete) and start first, so the other workers run the rest of the suite on
# the CPU they leave idle. With the tests' engines forked (tests/forked_emulation.py), four
# workers left the CPU 70 % busy for the first two minutes; five keep it busy (pytest in the
# working tree: 4 workers 615-617 s, 5 workers 576 s). Modules that share a session stack stay
# on one worker (tests/conftest.py groups them); the longest modules start first, in the order
# tests/conftest.py sorts them, hence --no-loadscope-reorder.
PYTEST_WORKERS ?= 5
# The run ends with its 25 slowest tests (where the suite's time goes); PYTEST_ARGS adds more.
PYTEST_DURATIONS ?= --durations=25
XDIST_ARGS := $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder)

pytest: $(DEV_STAMP) compile
	$(BIN)/python -m pytest $(XDIST_ARGS) $(PYTEST_DURATIONS) $(PYTEST_ARGS)

# Headless Chromium for tests/ui/test_browser.py: Debian's chromium (apt-get, as root) and
# playwright-core pinned in $(BROWSER_DIR)/package-lock.json. Runs once (stamp file); when
# it cannot install it prints why and the browser tests skip with that reason.
browser: $(BROWSER_STAMP)

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json $(BROWSER_DIR)/setup.sh
	@sh $(BROWSER_DIR)/setup.sh $(abspath $@)

# checkov in its own virtualenv (it pins an hcl2 fork that clashes with python-hcl2 8);
# tests/terraform/test_checkov.py runs it over terraform/.
checkov: $(CHECKOV)

$(CHECKOV): terraform/scripts/checkov.sh | $(BIN)/python
	@UV=$(abspath $(UV)) bash terraform/scripts/checkov.sh --install-only
	@touch $@

# LocalStack's own tools (awslocal over the AWS CLI v1, tflocal) in their own virtualenv
# (the AWS CLI v1 pins botocore, which would change .venv's boto3 and moto); the tests of
# tests/localstack run them against nexuskit. Installs once (stamp file); when it cannot, it
# prints why and those tests skip with that reason.
localstack-tools: $(LOCALSTACK_TOOLS_STAMP)

$(LOCALSTACK_TOOLS_STAMP): tests/localstack/setup.sh | $(BIN)/python
	@UV=$(abspath $(UV)) sh tests/localstack/setup.sh $(abspath $@)

# One collection pass before the workers start: it writes pytest's rewritten test modules
# to tests/**/__pycache__ and compiles what the test modules import, which each of the five
# workers would otherwise do at once (a worker's collection: 9.3 s of CPU before, 4.7 s after).
test-cache: $(DEV_STAMP) compile
	@$(BIN)/python -m pytest --collect-only -q -p no:cacheprovider -p no:syrupy > /dev/null

# The checks and the installs the tests need run side by side (downloads wait on the network,
# ruff, mypy and compileall each take a core), then pytest. Each one's output is printed whole.
test:
	@$(MAKE) --no-print-directory -j 4 --output-sync=target lint typecheck browser checkov localstack-tools test-cache
	@$(MAKE) --no-print-directory pytest

bench: $(DEV_STAMP) compile
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .checkov-venv .localstack-tools-venv .mypy_cache .ruff_cache .pytest_cache
