# Every target bootstraps what it needs: uv (installed with pip if missing) and the locked environment.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
# Trust the system certificate store (corporate proxies add their root there).
export UV_SYSTEM_CERTS ?= 1
# Resolved when a recipe runs, so that a uv installed by the `uv` target is found.
UV = $$(command -v uv || echo python3 -m uv)
PY_SOURCES := graphs nodes tools server evals bench tests

.PHONY: help uv sync run test test-fast lint typecheck pytest fmt bench eval

help:
	@echo "make run | test | test-fast | lint | fmt | bench | eval"

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet --disable-pip-version-check uv

sync: uv
	@$(UV) sync --frozen --quiet

run: sync
	exec .venv/bin/keel serve

test: sync lint typecheck pytest

lint: sync
	.venv/bin/ruff check $(PY_SOURCES)
	.venv/bin/ruff format --check $(PY_SOURCES)

typecheck: sync
	.venv/bin/mypy

pytest: sync
	.venv/bin/pytest

# No child processes and no waiting on real time: the tests not marked `slow`.
test-fast: sync
	.venv/bin/pytest -m "not slow"

fmt: sync
	.venv/bin/ruff check --fix $(PY_SOURCES)
	.venv/bin/ruff format $(PY_SOURCES)

bench: sync
	.venv/bin/python -m bench

# The desk task suite on a keel it starts (scratch embedded PostgreSQL, offline model unless OPENAI_* are set);
# fails below the gate. Flags for `python -m evals` go in EVAL_ARGS, e.g. make eval EVAL_ARGS="--repeat 3".
eval: sync
	.venv/bin/python -m evals $(EVAL_ARGS)
