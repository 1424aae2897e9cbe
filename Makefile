# newsflow developer entry points. The two that matter:
#   make demo   - set everything up, start the local stack, run the demo
#   make test   - set everything up, start the local stack, lint, type-check, run all tests
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup demo test lint unit stack-up stack-down bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
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

unit: setup
	$(BIN)/pytest tests/unit tests/contract

test: lint stack-up
	$(BIN)/pytest

bench: stack-up
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
