# One command to set up and test (`make test`), one to set up and run (`make run`).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup test lint run bench train

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

lint: setup
	$(VENV)/bin/ruff check scoring bot tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

run: setup
	$(VENV)/bin/followaudit score --input config/examples/followers.jsonl

bench: setup
	$(PY) -m benchmarks

train: setup
	$(PY) -m scoring.train --data ../shared/datasets/accounts
