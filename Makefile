# cxbackup developer commands. Everything installs from this repo's own files.
#   make demo    try it: the whole story against an embedded Connxio simulator
#   make test    the test suite (installs Python deps, Azurite and Chromium, then runs pytest)
#   make bench   the benchmark (see bench/README.md)
#   make lint    ruff check + format check

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test lint format bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

.venv-infra/.installed: requirements-infra.txt
	$(PYTHON) -m venv .venv-infra
	.venv-infra/bin/python -m pip install --quiet -r requirements-infra.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium renders the HTML audit report in a test (needs root or sudo; CI runs as root).
/usr/bin/chromium:
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

setup: $(VENV)/.installed node_modules/.installed .venv-infra/.installed /usr/bin/chromium

demo: $(VENV)/.installed
	$(VENV)/bin/cxbackup demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.installed node_modules/.installed
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-infra node_modules .pytest_cache .ruff_cache .hypothesis
