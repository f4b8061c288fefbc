# otklik — the two commands a fresh clone needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
DEMO_ARGS ?=

.PHONY: help demo test unit integration e2e check lint types fmt lock clean audit bench-ingest bench-indicators bench-classifier bench-pipeline bench-sustained bench-import bench-moderator

help:
	@echo "make demo   - install and run the whole pipeline in one process on embedded defaults"
	@echo "make test   - install, start real Kafka + PostgreSQL, run lint, types and every test"
	@echo "make unit   - the unit tests alone: seconds, no server"
	@echo "make integration - the integration tests (real Kafka, PostgreSQL, dovecot, Prometheus)"
	@echo "make e2e    - the end-to-end tests (every stage as a process, Chromium)"
	@echo "make check  - lint (ruff) and types (mypy --strict)"
	@echo "make lock   - re-resolve requirements.lock (and requirements-runtime.lock) from pyproject.toml"
	@echo "make audit  - pip-audit of requirements.lock against PyPI's advisories (where reachable)"
	@echo "make bench-ingest - VK long poll -> real Kafka vs a raw producer (BENCH_EVENTS=100000)"
	@echo "make bench-indicators - a month's indicators vs count(*) (BENCH_INCIDENTS=1000000)"
	@echo "make bench-pipeline - raw message -> stored incident, stages as processes, vs a raw consume-produce loop (BENCH_MESSAGES=30000)"
	@echo "make bench-sustained - the whole system at a fixed rate: latency p50/p95/p99 and memory (BENCH_RATE=1000 BENCH_SECONDS=300)"
	@echo "make bench-classifier - classifier batch and one-message texts/s vs TF-IDF + LR (BENCH_TEXTS=50000)"
	@echo "make bench-moderator - a moderator's main actions in Chromium against make demo, vs a fetch of /healthz (BENCH_ROUNDS=5)"
	@echo "make bench-import - otklik import of a CSV list -> real Kafka vs a raw producer, rows/s and peak RSS (BENCH_ROWS=1000000)"

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "otklik needs Python >= 3.11, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==0.13.9
	# Compiled now, once: where PYTHONDONTWRITEBYTECODE is set (this CI's machines) every
	# process would otherwise compile all it imports, about 6 s of CPU per otklik process.
	$(UV) pip install -q --compile-bytecode -p $(PY) -r requirements.lock
	$(UV) pip install -q -p $(PY) --no-deps -e .
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/otklik demo $(DEMO_ARGS)

check: $(STAMP) lint types

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(STAMP)
	$(VENV)/bin/mypy kernel ingest classifier sla services tools tests bench

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(STAMP)
	$(PY) -m tools.preflight
	deploy/tools/ensure-compose.sh || [ "$$CI" != "true" ]
	$(MAKE) --no-print-directory check
	$(PY) -m tools.audit
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

integration: $(STAMP)
	$(PY) -m tools.preflight
	$(PY) -m pytest -q tests/integration

e2e: $(STAMP)
	$(PY) -m tools.preflight
	$(PY) -m pytest -q tests/e2e

audit: $(STAMP)
	$(PY) -m tools.audit

bench-ingest: $(STAMP)
	$(PY) -m bench.ingest --events $(or $(BENCH_EVENTS),100000)

bench-indicators: $(STAMP)
	$(PY) -m bench.indicators --incidents $(or $(BENCH_INCIDENTS),1000000) \
		--municipalities $(or $(BENCH_MUNICIPALITIES),60)

bench-pipeline: $(STAMP)
	$(PY) -m bench.pipeline throughput --messages $(or $(BENCH_MESSAGES),30000)

bench-sustained: $(STAMP)
	$(PY) -m bench.pipeline sustained --rate $(or $(BENCH_RATE),1000) --seconds $(or $(BENCH_SECONDS),300)

bench-classifier: $(STAMP)
	$(PY) -m bench.classifier --texts $(or $(BENCH_TEXTS),50000)

bench-import: $(STAMP)
	$(PY) -m bench.import_rows --rows $(or $(BENCH_ROWS),1000000)

lock:
	@test -x $(UV) || (test -x $(PY) || $(PYTHON) -m venv $(VENV); $(PY) -m pip install -q uv==0.13.9)
	$(UV) pip compile -q -p 3.11 pyproject.toml --extra dev -o requirements.lock
	# The production image's: what otklik runs on, at the same versions, without the dev tools.
	$(UV) pip compile -q -p 3.11 pyproject.toml -c requirements.lock -o requirements-runtime.lock

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

bench-moderator: $(STAMP)
	$(PY) -m bench.moderator_day --rounds $(or $(BENCH_ROUNDS),5)
