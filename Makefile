# The two commands a newcomer types: make run, make test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run dev test lint format bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run  ## set up and serve on http://127.0.0.1:$${PORT:-8000}
	$(PY) manage.py run_stack

dev: $(VENV)/.installed-dev  ## the same with runserver (auto-reload, DEBUG on)
	$(PY) manage.py run_stack --dev

# Two processes: much of the suite waits on workers, servers and browsers it starts, so two overlap well even on
# two cores (tests/parallel.py keeps their var folders, databases and Redis apart). TEST_PROCESSES=0: one process.
TEST_PROCESSES ?= 2
test: $(VENV)/.installed-dev  ## the whole test suite
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.installed-dev  ## benchmarks: figures next to a reference measured in the same run
	$(PY) benchmarks/run.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/explain.py
	$(PY) benchmarks/monitoring.py
	$(PY) benchmarks/retention.py  # 20 million rows written by PostgreSQL: a few minutes (BENCH_RETENTION_ROWS)
	$(PY) benchmarks/search.py
	$(PY) benchmarks/drift.py
	$(PY) benchmarks/page_weight.py
	$(PY) benchmarks/load.py  # 64 clients for 60 s, then a 30-minute soak (BENCH_SOAK_MINUTES shortens it)

clean:
	rm -rf $(VENV) var
