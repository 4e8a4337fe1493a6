# Everyday commands; each is what CI runs (see .ci/run), in a venv made by `make venv`.
PY ?= .venv/bin

.PHONY: venv lint test test-all bench bench-smoke

venv:
	python3 -m venv .venv && $(PY)/pip install -e ".[test]"

lint:
	$(PY)/ruff check rudratune tests experiments
	$(PY)/ruff format --check rudratune tests experiments
	$(PY)/mypy

test:
	$(PY)/pytest -m "not slow" -n 2 --dist loadfile

test-all: lint
	$(PY)/pytest -m "not slow" -n 2 --dist loadfile
	$(PY)/pytest -m slow -n 2 --dist loadfile

bench:
	$(PY)/python experiments/benchmarks/run.py

bench-smoke:
	$(PY)/python experiments/benchmarks/run.py --smoke --out /tmp/BENCHMARKS-smoke.md
