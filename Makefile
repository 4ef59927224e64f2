# The two commands: `make run` and `make test`. Both set everything up on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-python bench lint openapi clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev]" -e sdks/python
	touch $(STAMP)

## make run: embedded server on http://127.0.0.1:8000 (SQLite, in-process jobs); prints demo keys the first time
run: $(STAMP)
	$(BIN)/cybervault bootstrap
	$(BIN)/cybervault serve

## make test: the whole suite, on SQLite and on PostgreSQL + Redis
test: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

# Each benchmark prints its figure as its last line (lab*.py are the namespace lab they share).
# bench/load.py runs 5 minutes; nmap is installed by the scan benchmarks when missing.
bench: $(STAMP)
	for b in $$(ls bench/*.py | grep -v '/lab'); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests

openapi: $(STAMP)
	$(BIN)/python -m cybervault.platform.openapi_dump > openapi.json

clean:
	rm -rf $(VENV) .pytest_cache cybervault.db cybervault.db-wal cybervault.db-shm
