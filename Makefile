# VisionTrack: `make demo` runs the stack on embedded defaults, `make test` the whole suite.
# Both create .venv from uv.lock; uv's cache (~/.cache/uv) makes a re-run take seconds.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV_HOME := $(HOME)/.cache/visiontrack/uv-$(UV_VERSION)
UV := $(UV_HOME)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced-$(UV_VERSION)
RUN := $(VENV)/bin

.PHONY: setup demo up test lint typecheck unit integration bench clean

$(UV):
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on CI here), every
# process would otherwise compile what it imports from source, each time (torch, ultralytics,
# faust and pandas: 4.4 s of a worker's start against 2.3 s compiled).
$(STAMP): pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

setup: $(STAMP)

demo: setup
	$(RUN)/visiontrack demo

up: setup
	$(RUN)/visiontrack up

lint: setup
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .

typecheck: setup
	$(RUN)/mypy

unit: setup
	$(RUN)/python -m pytest -m "not integration"

integration: setup
	$(RUN)/python -m pytest -m integration

test: lint typecheck
	$(RUN)/python -m pytest

# Speed targets are checked here, not by timed tests: each benchmark prints its ratios.
bench: setup
	$(RUN)/python -m benchmarks.producer_throughput
	$(RUN)/python -m benchmarks.frames_vs_chunks
	$(RUN)/python -m benchmarks.detector_backends
	$(RUN)/python -m benchmarks.deepsort_step
	$(RUN)/python -m benchmarks.core_scaling
	$(RUN)/python -m benchmarks.neighbour_load
	$(RUN)/python -m benchmarks.pipeline

clean:
	rm -rf $(VENV) .visiontrack .mypy_cache .ruff_cache .pytest_cache
