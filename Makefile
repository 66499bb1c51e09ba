# The two commands of the README: `make run` (the whole stack, embedded) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-requirements

.PHONY: setup run test test-slow test-e2e lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/python -m stack

test: setup
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -m "not e2e and not slow" --durations=15

# The longer tests (real workers training, the whole stack, CLI subprocesses, the bench runner's smoke run; about
# 8-10 minutes on 2 cores): CI runs them after `make test`.
test-slow: setup
	$(BIN)/python -m pytest -m "slow and not e2e" --durations=15

# End-to-end: a real Label Studio 1.23.2 (own venv, .venv-ls) and Debian's Chromium, both installed on demand.
test-e2e: setup
	bash scripts/install_label_studio.sh
	bash scripts/install_chromium.sh
	$(BIN)/python -m pytest -m e2e -v --durations=0 tests/e2e

lint: setup
	$(BIN)/python -m ruff check .

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var runs .pytest_cache .ruff_cache
