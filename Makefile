# Two commands for a new user: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DEBUG ?= 1
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/neurocell_test

.PHONY: run test install migrate seed serve lint check typecheck test-sqlite test-postgres messages clean bench bench-clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --no-input

seed: migrate
	$(BIN)/python manage.py import_studies
	$(BIN)/python manage.py ensure_curator

# The local curator account is alone: it may publish what it submitted (REGISTRY_ALLOW_SELF_PUBLISH).
serve:
	REGISTRY_ALLOW_SELF_PUBLISH=$${REGISTRY_ALLOW_SELF_PUBLISH:-1} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

run: seed serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/mypy

test-sqlite: install
	DATABASE_URL= $(BIN)/pytest -q

# PostgreSQL: DATABASE_URL when it names one, else the local server; skipped (CI: failed) when unreachable.
test-postgres: install
	@url="$${DATABASE_URL:-$(PG_TEST_URL)}"; case "$$url" in postgres*) ;; *) url="$(PG_TEST_URL)";; esac; \
	if $(BIN)/python -c "import psycopg,sys; psycopg.connect(sys.argv[1].rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()" "$$url" 2>/dev/null; then \
		DATABASE_URL="$$url" $(BIN)/pytest -q; \
	elif [ -n "$$CI" ]; then echo "PostgreSQL is not reachable at $$url: CI requires it" >&2; exit 1; \
	else echo "PostgreSQL not reachable at $$url: skipping the PostgreSQL run"; fi

test: lint check test-sqlite test-postgres

# The benchmark against Datasette and the SQL floor (bench/README.md); not part of `make test`, whose
# tests/bench/ smoke test keeps it working. Datasette lives in its own venv, bench/.venv.
STUDIES ?= 100000
BENCH_VENV := bench/.venv
BENCH_ARGS ?=

$(BENCH_VENV)/.installed: bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt
	touch $@

bench: install $(BENCH_VENV)/.installed
	@command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
	@command -v pgbench >/dev/null || { echo "pgbench is needed: apt-get install postgresql-client" >&2; exit 1; }
	$(BIN)/python -m bench.run --studies $(STUDIES) $(BENCH_ARGS)

bench-clean:
	rm -rf $(BENCH_VENV) bench/out

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
