# The two commands of the README: `make demo` and `make test`. Both create the
# virtualenv and install on first use, so they work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# DAGSTER_HOME: yours when set, else <data dir>/dagster_home, resolved by the same code as
# the demo's (python -m investor_mimic.defs.instance prints and prepares it).
HOME_OF = $(PY) -m investor_mimic.defs.instance

.PHONY: install demo test test-slow test-all ui serve lint typecheck check security bench bench-quick clean

$(STAMP): pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## The main job on the offline demo world; prints a summary (`ARGS="--json"` for JSON).
demo: install
	$(VENV)/bin/investor-mimic demo $(ARGS)

## The test suite (slow scale tests excluded; `make test-all` runs them too), on
## TEST_WORKERS pytest-xdist workers (one per core of the project's 2-core machine);
## module-sized groups keep shared fixtures in one worker (investor_mimic_tests/conftest.py).
TEST_WORKERS ?= 2
PARALLEL = -n $(TEST_WORKERS) --dist loadgroup

test: install
	$(PY) -m pytest -m "not slow" -q -p no:cacheprovider $(PARALLEL)

## The slow tests alone (the demo run, the UI in a browser, statistics over many worlds):
## `.ci/run` runs them after `make test`.
test-slow: install
	$(PY) -m pytest -m slow -q -p no:cacheprovider $(PARALLEL)

test-all: install
	$(PY) -m pytest -q -p no:cacheprovider $(PARALLEL)

## Dagster UI (webserver + daemon) on the demo world at http://127.0.0.1:3000
ui: install
	DAGSTER_HOME="$$($(HOME_OF))" && export DAGSTER_HOME && echo "DAGSTER_HOME=$$DAGSTER_HOME" && \
	  $(VENV)/bin/dagster dev -m investor_mimic.definitions -h 127.0.0.1 -p 3000

## The approval web app at http://127.0.0.1:8000 (`ARGS="--host 0.0.0.0 --port 8080"`).
## Writes a random IM_LINK_SECRET into .env (mode 600) the first time, when none is set.
serve: install
	@if [ -z "$$IM_LINK_SECRET" ] && ! grep -qs '^IM_LINK_SECRET=' .env; then \
	  (umask 077; $(PY) -c "import secrets; print('IM_LINK_SECRET=' + secrets.token_urlsafe(48))" >> .env); \
	  echo "wrote a new IM_LINK_SECRET into .env"; fi
	$(VENV)/bin/investor-mimic serve $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

## The Dagster CLI's own validation of the one Definitions object.
check: install
	DAGSTER_HOME="$$($(HOME_OF))" && export DAGSTER_HOME && \
	  $(VENV)/bin/dagster definitions validate -m investor_mimic.definitions

## bandit on the package (configured in pyproject.toml); ci.yml and security.yml also run pip-audit.
security: install
	$(VENV)/bin/bandit -q -c pyproject.toml -r investor_mimic

bench: install
	$(PY) benchmarks/factor_panel_large.py
	$(PY) benchmarks/backfill_demo_year.py
	$(PY) benchmarks/sources_speed.py
	$(PY) benchmarks/portfolio_daily.py
	$(PY) benchmarks/backtest_speed.py
	$(PY) benchmarks/demo_and_evening.py

## The benchmarks on small inputs (minutes, not the full targets' sizes), each figure also
## written to $(BENCH_OUT)/<name>.txt; ci.yml uploads them. Not comparable with `make bench`.
BENCH_OUT ?= .data/bench-quick
bench-quick: install
	mkdir -p $(BENCH_OUT)
	IM_DATA_DIR=$(abspath $(BENCH_OUT))/data $(PY) benchmarks/backfill_demo_year.py --size tiny --repeat 1 \
	  --seed 3 > $(BENCH_OUT)/backfill_tiny_year.txt && cat $(BENCH_OUT)/backfill_tiny_year.txt
	$(PY) benchmarks/portfolio_daily.py --tickers 100 --years 3 --repeat 1 \
	  > $(BENCH_OUT)/portfolio_daily.txt && cat $(BENCH_OUT)/portfolio_daily.txt
	$(PY) benchmarks/backtest_speed.py --tickers 100 --years 3 \
	  > $(BENCH_OUT)/backtest_speed.txt && cat $(BENCH_OUT)/backtest_speed.txt

clean:
	rm -rf .data $(VENV)
