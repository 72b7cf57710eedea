# Two commands: `make run` serves the demo, `make test` runs the whole suite. Nothing else to install:
# the first run builds .venv from uv.lock (uv itself is installed into .tools/ from PyPI).
# `make check` is what CI runs (.ci/run): lint, types, test.
PYTHON ?= python3
UV_VERSION := 0.9.30
UV := .tools/bin/uv
VENV := .venv/bin
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test test-fast check lint types format install migrate revision bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: .venv/.synced

# The demo serves as the application's role (migration 0011): it owns no table and only appends to the
# append-only ones. Migrations still run as the login user.
run: export SUPERVISION_APP_ROLE ?= supervision_app
run: install
	$(VENV)/supervision migrate
	$(VENV)/supervision demo-data --if-empty
	$(VENV)/supervision users create demo --role admin --display-name 演示管理员 --password demo-password --if-missing
	$(VENV)/python -m scheduler & scheduler=$$!; trap 'kill $$scheduler 2>/dev/null; wait $$scheduler' EXIT; \
	$(VENV)/supervision serve

# The whole suite; the browser tests are skipped (one line says how to run them) without a system Chromium,
# and required with CI=true.
test: install
	$(VENV)/pytest $(PYTEST_ARGS)

# Everything but the browser tests, on every core (one database per xdist worker).
test-fast: install
	$(VENV)/pytest -q -n auto -m "not e2e" $(PYTEST_ARGS)

# The schema to head, on SUPERVISION_DATABASE_URL or the embedded server.
migrate: install
	$(VENV)/supervision migrate

# A new migration from the models, numbered after the last one: make revision m="what it changes".
# Review it before committing.
revision: install
	@test -n "$(m)" || { echo 'usage: make revision m="what the migration changes"'; exit 2; }
	$(VENV)/supervision migrate
	last=$$(ls alembic/versions | sed -n 's/^\([0-9]\{4\}\)_.*/\1/p' | sort | tail -n 1) && \
	next=$$(printf %04d "$$(expr "$${last:-0}" + 1)") && \
	$(VENV)/alembic revision --autogenerate --rev-id "$$next" -m "$(m)"

lint: install
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

types: install
	$(VENV)/mypy rules supervision scheduler tests

format: install
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

check: lint types test

# Every benchmark at the sizes bench/RESULTS.md records (long); make bench BENCH_ARGS=--quick checks that
# they run, at small sizes. python -m bench lists them.
bench: install
	$(VENV)/python -m bench all $(BENCH_ARGS)

clean:
	rm -rf .venv .tools var
