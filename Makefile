# Two commands: `make run` serves the demo, `make test` runs the whole suite. Nothing else to install:
# the first run builds .venv from uv.lock (uv itself is installed into .tools/ from PyPI).
PYTHON ?= python3
UV_VERSION := 0.9.30
UV := .tools/bin/uv
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: run test check lint types format install demo-user bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: .venv/.synced

run: install
	$(VENV)/supervision migrate
	$(VENV)/supervision demo-data --if-empty
	$(VENV)/supervision users create demo --role admin --display-name 演示管理员 --password demo-password --if-missing
	$(VENV)/python -m scheduler & scheduler=$$!; trap 'kill $$scheduler 2>/dev/null; wait $$scheduler' EXIT; \
	$(VENV)/supervision serve

test: install
	$(VENV)/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

types: install
	$(VENV)/mypy rules supervision scheduler

format: install
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

check: lint types test

bench: install
	$(VENV)/python -m bench all

clean:
	rm -rf .venv .tools var
