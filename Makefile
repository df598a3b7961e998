# The two commands: `make demo` (set up, then run everything on this machine) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SGLANG_VENV := .venv-sglang
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
SGLANG_STAMP := $(SGLANG_VENV)/.installed-$(shell grep -v "^\#" constraints-sglang.txt | sha1sum | cut -c1-12)
SGLANG_LIVE_STAMP := .venv-sglang-live/.installed-torchvision-0.28.0

.PHONY: demo test setup lint bench chromium node-client

demo: setup
	$(BIN)/python -m worker.ops.launch

test: setup $(SGLANG_STAMP) $(SGLANG_LIVE_STAMP) chromium node-client
	$(BIN)/ruff check app.py demo worker swireasoning bench tests
	$(BIN)/ruff format --check app.py demo worker swireasoning bench tests
	$(BIN)/mypy app.py demo worker swireasoning bench
	$(BIN)/python -m pytest
	# The model-dependent tests again on the portable kernels: one that rests on SIMD rounding fails on every machine.
	ATEN_CPU_CAPABILITY=default $(BIN)/python -m pytest tests/unit/swireasoning/test_swireasoning_equivalence.py \
	  tests/unit/swireasoning/test_swireasoning_rules.py tests/unit/worker/test_local_backend.py tests/unit/swireasoning/test_local_batcher.py

setup: $(STAMP)

# The README's @gradio/client example runs in tests/e2e/test_api.py: the npm package, pinned, under var/node
# (installed once; without node the test skips and says why).
GRADIO_JS := 2.7.0
node-client:
	@command -v node >/dev/null || { echo "node not found: the @gradio/client test will skip"; exit 0; }; \
	  test -f var/node/node_modules/@gradio/client/package.json && grep -q '"version": "$(GRADIO_JS)"' \
	    var/node/node_modules/@gradio/client/package.json || \
	  npm install --prefix var/node --no-audit --no-fund --save-exact @gradio/client@$(GRADIO_JS)

# The browser test drives Debian's Chromium (Playwright's own download does not work offline).
chromium:
	@command -v chromium >/dev/null || { S=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$S apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -qq --no-install-recommends chromium; }

# torch first, exactly pinned (the local CPU wheel); everything else under the same constraints.
$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# The real sglang package, for its wire format, configs, hook targets and radix cache; the main environment never sees it.
$(SGLANG_STAMP):
	test -x $(SGLANG_VENV)/bin/python || $(PYTHON) -m venv $(SGLANG_VENV)
	$(SGLANG_VENV)/bin/pip install -q torch==2.13.0
	$(SGLANG_VENV)/bin/pip install -q --no-deps $$(grep -vE '^(#|torch==)' constraints-sglang.txt)
	rm -f $(SGLANG_VENV)/.installed-*
	touch $@

# torchvision for the live test servers (a CUDA wheel; they import it once their nms schemas exist), apart from
# .venv-sglang so the checks there keep their empty stand-in; on the servers' PYTHONPATH only.
$(SGLANG_LIVE_STAMP): $(SGLANG_STAMP)
	$(SGLANG_VENV)/bin/pip install -q --no-deps --upgrade --target .venv-sglang-live torchvision==0.28.0
	touch $@

bench: setup
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.swireasoning
