# `make demo` and `make test` work on a fresh machine with Python 3.11 and the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_BASE := $(VENV)/.installed-base
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test install graphviz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch==2.13.0 first: pinned, pip takes the CPU build this machine keeps on disk; an unpinned torch
# (or a range a newer release satisfies) would download a CUDA build of several GB. The extras then
# find their torch requirement met and install nothing more.
TORCH := torch==2.13.0

$(STAMP_TEST): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(STAMP_BASE): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[keras,analysis]"
	touch $@

install: $(STAMP_BASE)

# Graphviz's `dot` draws `provinstr graph` pictures; without it provinstr writes DOT and says so.
APT := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo -n apt-get)
graphviz:
	@command -v dot >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  { $(APT) install -y -q graphviz >/dev/null 2>&1 || \
	    { $(APT) update -q >/dev/null 2>&1 && $(APT) install -y -q graphviz >/dev/null 2>&1; }; }; } || \
	  echo "note: could not install graphviz (dot); graphs will be written as DOT"

demo: $(STAMP_BASE) graphviz
	$(BIN)/python examples/denseed/demo.py

test: $(STAMP_TEST) graphviz
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) .provinstr out
