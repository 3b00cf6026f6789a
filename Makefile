# The two commands a newcomer needs: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export CPA_CONFIG ?= $(CURDIR)/cpa.toml

.PHONY: setup setup-spark java prepare demo dev test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The Spark engine's extras (tests and benchmarks compare both engines). `make demo` never needs them.
setup-spark: $(VENV)/.installed-spark java

$(VENV)/.installed-spark: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	touch $@

# A Java 17 runtime for local Spark: Debian's openjdk-17-jre-headless when none is on PATH.
java:
	@command -v java >/dev/null 2>&1 || { \
		echo "No Java runtime on PATH: installing Debian's openjdk-17-jre-headless (needs root)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }

# dagster-dbt's recommended way to build the dbt manifest ahead of loading the definitions.
prepare: setup
	cd orchestration && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ../$(VENV)/bin/dagster-dbt project prepare-and-package --file dbt_project.py

demo: prepare
	CPA_DEMO=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m orchestration.demo

# The Dagster UI on http://127.0.0.1:3000, on the same instance `make demo` ran in.
dev: prepare
	mkdir -p data/dagster_home && cp -n orchestration/dagster.yaml data/dagster_home/ || true
	CPA_DEMO=1 DAGSTER_HOME="$(CURDIR)/data/dagster_home" PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(VENV)/bin/dagster dev -m orchestration.definitions

lint: setup
	$(PY) -m ruff check .

test: prepare lint setup-spark
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n 2 --dist loadfile -q

bench: setup
	CPA_DEMO=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m benchmarks.run --history-scale 10m

clean:
	rm -rf data dbt_project/target dbt_project/logs
