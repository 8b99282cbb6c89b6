"""Fixtures for the `provinstr ui` tests: a store of real captured runs, the ui as a real server
process, and headless Chromium (Debian's package) driven by Playwright.

Registered for every test module by tests/conftest.py (`pytest_plugins`). Playwright never downloads
a browser here: it drives /usr/bin/chromium, which `make test` installs with apt-get.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

REPO = Path(__file__).resolve().parent.parent
UI_DATA = REPO / "tests" / "data" / "ui"
CHROMIUM = os.environ.get("PROVINSTR_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
URL_LINE = re.compile(r"provinstr ui: (http://\S+)")
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "PROVINSTR_STRICT": "1", "PYTHONUNBUFFERED": "1"}

__all__ = ["HTTPAnswer", "UIServer", "UIStore", "capture", "http", "start_ui_server", "wait_for"]


# -- the store ---------------------------------------------------------------------------------
@dataclass
class UIStore:
    """A store of real captured runs; `runs` maps each run's name to its id."""

    path: Path
    runs: dict[str, str] = field(default_factory=dict)
    group: str = "sweep"  # the torch runs' group (a sweep over lr)

    def id(self, name: str) -> str:
        return self.runs[name]


# name -> (provinstr run options, script, script arguments); all started at once
UI_RUNS = {
    "keras-plateau": (["--rules", str(UI_DATA / "dense_rules.toml")], UI_DATA / "keras_plateau.py",
                      ["--epochs", "6", "--out", "{tmp}/plateau.keras"]),
    "sklearn-logreg": ([], UI_DATA / "sklearn_fit.py", ["--C", "0.5"]),
    "sklearn-failed": ([], UI_DATA / "sklearn_fit.py", ["--fail"]),
    "torch-lr0.02": (["--group", "sweep"], REPO / "examples" / "torch" / "train.py", ["--epochs", "3", "--lr", "0.02"]),
    "torch-lr0.05": (["--group", "sweep"], REPO / "examples" / "torch" / "train.py", ["--epochs", "3", "--lr", "0.05"]),
    "torch-lr0.1": (["--group", "sweep"], REPO / "examples" / "torch" / "train.py", ["--epochs", "3", "--lr", "0.1"]),
}


def capture(store: Path, name: str, options: list[str], script: Path, arguments: list[str], cwd: Path,
            env: dict | None = None, **popen) -> subprocess.Popen:
    """`provinstr run --store STORE --name NAME OPTIONS SCRIPT ARGUMENTS` as a child process."""
    command = [sys.executable, "-m", "provinstr", "run", "--store", str(store), "--name", name, *options,
               str(script), *arguments]
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(command, cwd=cwd, env={**os.environ, **QUIET, **(env or {})}, text=True, **popen)


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory) -> UIStore:
    """A store holding a Keras fit (DenseBlock K/L, ReduceLROnPlateau halving the rate, a test, a saved
    model), a scikit-learn fit with its accuracy, a failed run and a sweep of three PyTorch loops;
    recorded once per session by `provinstr run`, all at once."""
    folder = tmp_path_factory.mktemp("ui-store")
    store = folder / ".provinstr"
    started = {}
    for name, (options, script, arguments) in UI_RUNS.items():
        started[name] = capture(store, name, options, script, [a.format(tmp=folder) for a in arguments], folder)
    for name, process in started.items():
        _, err = process.communicate(timeout=600)
        if process.returncode != 0 and name != "sklearn-failed":
            pytest.fail(f"capturing {name} failed ({process.returncode}):\n{err[-3000:]}")
    import provinstr

    runs = {info.name: info.id for info in provinstr.open_store(store).runs()}
    assert set(runs) == set(UI_RUNS), runs
    return UIStore(store, runs)


# -- the server --------------------------------------------------------------------------------
@dataclass
class UIServer:
    """A running `provinstr ui` process; `url` is what it printed (with ?token= when it has one)."""

    process: subprocess.Popen
    url: str
    output: list[str]

    @property
    def base(self) -> str:
        """The URL without a path or token: http://127.0.0.1:PORT"""
        return self.url.split("/?", 1)[0].rstrip("/")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_ui_server(store: Path | str, *options: str, env: dict | None = None, timeout: float = 30) -> UIServer:
    """Start `provinstr ui --store STORE --port 0 OPTIONS` and wait for the URL it prints."""
    process = subprocess.Popen([sys.executable, "-m", "provinstr", "ui", "--store", str(store), "--port", "0",
                                *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    output: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def reader() -> None:  # keeps draining the output so the server never blocks on a full pipe
        for line in process.stdout:
            output.append(line)
            match = URL_LINE.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=reader, daemon=True).start()
    if not ready.wait(timeout) or not found:
        process.kill()
        process.wait()
        pytest.fail(f"provinstr ui printed no URL within {timeout}s:\n{''.join(output)}")
    return UIServer(process, found[0], output)


@pytest.fixture
def start_ui():
    """A factory: start_ui(store, *options) -> UIServer; every server started is stopped afterwards."""
    servers: list[UIServer] = []

    def start(store, *options, env=None) -> UIServer:
        server = start_ui_server(store, *options, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def ui_server(ui_store):
    """`provinstr ui` over the session's store (read-only), for tests that only look."""
    server = start_ui_server(ui_store.path)
    yield server
    server.stop()


@pytest.fixture
def server_ui(ui_store, tmp_path, start_ui, cli):
    """`provinstr ui` over a real `oxigraph serve` the session's runs were pushed to (a SPARQL server store)."""
    from conftest_remote import OxigraphServer

    local = tmp_path / "local"
    shutil.copytree(ui_store.path, local, ignore=shutil.ignore_patterns("index", "index.lock"))
    server = OxigraphServer(tmp_path / "server-data").start()
    try:
        pushed = cli("push", "--to", server.url, "--store", str(local), cwd=tmp_path)
        assert pushed.returncode == 0, pushed.stderr
        yield start_ui(server.url, env={"PROVINSTR_SPOOL": str(tmp_path / "spool")})
    finally:
        server.kill()


# -- the browser -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from Debian's package, driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"the ui tests need Chromium at {CHROMIUM}: apt-get install chromium (make test does)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield launched
    launched.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    """A fresh browser tab (its own cookies); the test fails if the page throws a JavaScript error."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    if errors:
        pytest.fail("JavaScript errors on the page:\n" + "\n".join(errors))


def wait_for(condition, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll `condition()` until it returns something true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")


@dataclass
class HTTPAnswer:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        import json

        return json.loads(self.body)


def http(url: str, method: str = "GET", headers: dict | None = None, body: bytes | str | None = None,
         follow: bool = False) -> HTTPAnswer:
    """One plain HTTP request (no browser), redirects not followed unless `follow`; any status is an answer."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    data = body.encode() if isinstance(body, str) else body
    # http.client sends the path as given: what a hand-made attack would send, no browser normalising it
    connection.request(method, target, body=data, headers=headers or {})
    answer = connection.getresponse()
    result = HTTPAnswer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    connection.close()
    if follow and result.status in (301, 302, 303, 307, 308):
        return http(f"{parts.scheme}://{parts.netloc}{result.headers['location']}", method, headers, body)
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
