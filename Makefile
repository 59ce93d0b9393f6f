# Two commands for a newcomer:  `make run` (set up, then run the service with the demo)
#                               `make test` (set up, then ruff, mypy and the whole test suite)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done

.PHONY: setup run test lint typecheck pytest bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
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

bench: setup
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b --quick || exit 1; done

clean:
	rm -rf data .pytest_cache .mypy_cache .ruff_cache
