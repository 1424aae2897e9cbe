# newsflow developer entry points. The two that matter:
#   make demo   - set everything up, start the local stack, run the demo
#   make test   - set everything up, start the local stack, lint, type-check, run all tests
# Everything runs through $(VENV)/bin: no activated venv and nothing on PATH is needed.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup demo test lint unit stack-up stack-down cluster-up cluster-down bench fault-cluster fault-state lock wheel smoke clean

# A pinned, hash-checked pip first, then exactly the locked, hash-checked dependencies
# (requirements-dev.lock, nothing resolved), then the project itself; checked afterwards
# (pip check, every distribution at its locked version). See deploy/install-locked.sh.
$(BIN)/.installed: pyproject.toml requirements-dev.lock requirements-bootstrap.lock
	$(PYTHON) -m venv $(VENV)
	sh deploy/install-locked.sh $(BIN)/python requirements-dev.lock --editable .
	touch $@

setup: $(BIN)/.installed

stack-up: setup
	$(BIN)/newsflow stack up

stack-down: setup
	$(BIN)/newsflow stack down

# A local cluster from a fresh clone in one command: 3 KRaft brokers, 2 Elasticsearch nodes
# (docs/cluster.md); its topics get replication 3 and min.insync 2, its indices 1 replica.
# Its home is ~/.newsflow-cluster unless NEWSFLOW_HOME says otherwise (a home per topology).
CLUSTER_HOME = $${NEWSFLOW_HOME:-$$HOME/.newsflow-cluster}
cluster-up: setup
	NEWSFLOW_HOME=$(CLUSTER_HOME) $(BIN)/newsflow stack up --kafka-brokers 3 --es-nodes 2

cluster-down: setup
	NEWSFLOW_HOME=$(CLUSTER_HOME) $(BIN)/newsflow stack down

demo: stack-up
	$(BIN)/newsflow demo

lint: setup
	$(BIN)/ruff check connectors pipeline tests bench deploy
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest tests/unit tests/contract pipeline connectors

test: lint stack-up
	$(BIN)/pytest

# The stateful stages' kill -9 test in its full form (CI runs a smaller one in `make test`):
# a bigger stored history, more quotes and more kills during state writes.
fault-state: stack-up
	FAULT_STATE_HISTORY=150000 FAULT_STATE_QUOTES=6000 FAULT_STATE_KILLS=8 \
		$(BIN)/pytest tests/fault/test_state_faults.py -v

bench: stack-up
	$(BIN)/python -m bench.run_all

# The cluster fault test with every fault (a cluster of its own, ~10 min); `make test` runs
# its small form (CLUSTER_FAULTS=ci: the stories leader killed, the coordinator paused).
# Writes bench/results/cluster_faults.json. See docs/cluster.md.
fault-cluster: setup
	CLUSTER_FAULTS=full $(BIN)/pytest tests/fault/test_cluster_faults.py -p no:cacheprovider

# Regenerate the three locks from pyproject.toml and deploy/bootstrap.in with the locked uv.
# Run it after changing a dependency in pyproject.toml or deploy/bootstrap.in: pins that still
# fit are kept. `make lock UPGRADE=--upgrade` takes the newest versions within the ranges.
# Then `make clean setup` installs exactly what they say.
UV_COMPILE := $(BIN)/uv pip compile --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --generate-hashes --custom-compile-command "make lock" -q
lock: setup
	$(UV_COMPILE) $(UPGRADE) pyproject.toml --extra dev -o requirements-dev.lock
	$(UV_COMPILE) pyproject.toml -c requirements-dev.lock -o requirements.lock
	$(UV_COMPILE) deploy/bootstrap.in -c requirements-dev.lock -o requirements-bootstrap.lock

# Built with the locked setuptools (no unpinned build backend fetched).
wheel: setup
	rm -rf dist && $(BIN)/python -m pip wheel -q --no-deps --no-build-isolation -w dist .

# The built wheel in a fresh venv outside the checkout (see .ci/smoke-wheel).
smoke: wheel
	bash .ci/smoke-wheel dist/*.whl

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache
