# `make demo` and `make test` work on a fresh machine with Python 3.11 and the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_BASE := $(VENV)/.installed-base
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test install graphviz chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch==2.13.0 first: pinned, pip takes the CPU build this machine keeps on disk; an unpinned torch
# (or a range a newer release satisfies) would download a CUDA build of several GB. The extras then
# find their torch requirement met and install nothing more.
TORCH := torch==2.13.0

$(STAMP_TEST): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(STAMP_BASE): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[keras,analysis,ui]"
	touch $@

install: $(STAMP_BASE)

# Graphviz's `dot` draws `provinstr graph` pictures; without it provinstr writes DOT and says so.
APT := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo -n apt-get)
graphviz:
	@command -v dot >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  { $(APT) install -y -q graphviz >/dev/null 2>&1 || \
	    { $(APT) update -q >/dev/null 2>&1 && $(APT) install -y -q graphviz >/dev/null 2>&1; }; }; } || \
	  echo "note: could not install graphviz (dot); graphs will be written as DOT"

# The `provinstr ui` tests drive Debian's Chromium with Playwright (never a browser Playwright downloads).
chromium:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  { $(APT) install -y -q chromium >/dev/null 2>&1 || \
	    { $(APT) update -q >/dev/null 2>&1 && $(APT) install -y -q chromium >/dev/null 2>&1; }; }; } || \
	  echo "note: could not install chromium; the ui tests will fail (apt-get install chromium)"

demo: $(STAMP_BASE) graphviz
	$(BIN)/python examples/denseed/demo.py

test: $(STAMP_TEST) graphviz chromium
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) .provinstr out
