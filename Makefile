# The two commands a newcomer needs: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export CPA_CONFIG ?= $(CURDIR)/cpa.toml

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	CPA_DEMO=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m orchestration.demo

lint: setup
	$(PY) -m ruff check .

test: setup lint
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n 2 --dist loadfile -q

bench: setup
	CPA_DEMO=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m benchmarks.run

clean:
	rm -rf data dbt_project/target dbt_project/logs
