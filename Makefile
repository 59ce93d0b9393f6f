# Two commands for a newcomer:  `make run` (set up, then run the service with the demo)
#                               `make test` (set up, then ruff, mypy and the whole test suite)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done

.PHONY: setup run test lint typecheck pytest bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py scripts/setup.sh connectors/parsers/_kvscan.c detectors/sigma/_sigscan.c soc/storage/_rows.c
	bash scripts/setup.sh $(VENV)
	touch $(STAMP)

run: setup
	$(VENV)/bin/soc demo users
	SOC_DEMO__REPLAY=true $(VENV)/bin/soc run

lint: setup
	$(VENV)/bin/ruff check soc connectors detectors tests benchmarks demo

typecheck: setup
	$(VENV)/bin/mypy soc connectors detectors

pytest: setup
	$(VENV)/bin/pytest -q -ra --durations=15

test: lint typecheck pytest

# Quick versions of every benchmark (sizes in the closing notes and docs are larger; see each script's --help).
bench: setup
	$(PY) benchmarks/bench_parsers_firewalls.py --lines 20000
	$(PY) benchmarks/bench_parsers_servers.py --lines 20000
	$(PY) benchmarks/bench_sigma.py --events 2000 --naive-events 100 --evtx-events 1000
	$(PY) benchmarks/bench_indicators.py --sizes 100,100000 --events 5000
	$(PY) benchmarks/bench_ingest.py --events 10000 --format fortigate
	$(PY) benchmarks/bench_web.py --quick
	$(PY) benchmarks/bench_anomaly.py --sizes 100000

clean:
	rm -rf data .pytest_cache .mypy_cache .ruff_cache
