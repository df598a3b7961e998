# The two commands: `make demo` (set up, then run everything on this machine) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SGLANG_VENV := .venv-sglang
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

.PHONY: demo test setup lint bench

demo: setup
	$(BIN)/python -m worker.launch

test: setup
	$(BIN)/ruff check demo worker swireasoning bench tests
	$(BIN)/ruff format --check demo worker swireasoning bench tests
	$(BIN)/mypy demo worker swireasoning
	$(BIN)/python -m pytest

setup: $(STAMP)

# torch first, exactly pinned (the local CPU wheel); everything else under the same constraints.
$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

bench: setup
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.swireasoning
