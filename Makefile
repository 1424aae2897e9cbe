# newsflow developer entry points. The two that matter:
#   make demo   - set everything up, start the local stack, run the demo
#   make test   - set everything up, start the local stack, lint, type-check, run all tests
# Everything runs through $(VENV)/bin: no activated venv and nothing on PATH is needed.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup demo test lint unit stack-up stack-down bench lock wheel smoke clean

# The locked, hash-checked dependencies (requirements-dev.lock), then the project itself
# without resolving anything again. The machine's own pip is enough.
$(BIN)/.installed: pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

setup: $(BIN)/.installed

stack-up: setup
	$(BIN)/newsflow stack up

stack-down: setup
	$(BIN)/newsflow stack down

demo: stack-up
	$(BIN)/newsflow demo

lint: setup
	$(BIN)/ruff check connectors pipeline tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest tests/unit tests/contract pipeline connectors

test: lint stack-up
	$(BIN)/pytest

bench: stack-up
	$(BIN)/python -m bench.run_all

# Regenerate both locks from pyproject.toml (newest versions within its ranges).
lock: setup
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
	    --python-platform x86_64-unknown-linux-gnu --generate-hashes \
	    --custom-compile-command "make lock" -q -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 \
	    --python-platform x86_64-unknown-linux-gnu --generate-hashes -c requirements-dev.lock \
	    --custom-compile-command "make lock" -q -o requirements.lock

wheel: setup
	rm -rf dist && $(BIN)/python -m build --wheel --outdir dist .

# The built wheel in a fresh venv outside the checkout (see .ci/smoke-wheel).
smoke: wheel
	bash .ci/smoke-wheel dist/*.whl

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache
