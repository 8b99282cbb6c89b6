# `make demo` and `make test` work on a fresh machine with Python 3.11 and the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_BASE := $(VENV)/.installed-base
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_TEST): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(STAMP_BASE): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[keras,analysis]"
	touch $@

install: $(STAMP_BASE)

demo: $(STAMP_BASE)
	$(BIN)/python examples/denseed/demo.py

test: $(STAMP_TEST)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) .provinstr out
