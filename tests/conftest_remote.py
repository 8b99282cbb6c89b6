"""Real servers for the remote-store tests: Oxigraph's SPARQL server, a plain web server, a failing one,
and an authenticating proxy in front of Oxigraph. Each starts on a free loopback port and stops after."""

from __future__ import annotations

import base64
import json
import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest
from provinstr.store.logs import log_files, read_log
from provinstr.vocab import CATALOG_GRAPH


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        raise RuntimeError("the `oxigraph` server is not installed: pip install oxigraph")
    return found


class OxigraphServer:
    """`oxigraph serve --location DIR --bind 127.0.0.1:PORT`, which can be killed and restarted."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "OxigraphServer":
        self.process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--location", str(self.folder), "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.port, self.process)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def quads(self) -> set[tuple[str, str, str, str]]:
        """Every quad in the server's run graphs (the catalog graph of listing summaries left out), read with
        the Graph Store Protocol."""
        return {(str(q.subject), str(q.predicate), str(q.object), str(q.graph_name))
                for q in self._named_quads() if q.graph_name.value != CATALOG_GRAPH}

    def summaries(self) -> dict[str, dict]:
        """Run IRI -> the listing summary push keeps for it in the catalog graph, decoded."""
        return {q.subject.value: json.loads(q.object.value)
                for q in self._named_quads() if q.graph_name.value == CATALOG_GRAPH}

    def _named_quads(self) -> list[ox.Quad]:
        request = urllib.request.Request(f"{self.url}/store", headers={"Accept": "application/n-quads"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            data = answer.read()
        return [q for q in ox.parse(data, format=ox.RdfFormat.N_QUADS) if isinstance(q.graph_name, ox.NamedNode)]


def expected_quads(*logs: Path) -> set[tuple[str, str, str, str]]:
    """What a server must hold for these run logs: every line once, and only the last pi:status of a run."""
    result, last_status = ox.Store(), {}  # a store writes literals canonically, as the server does
    status = ox.NamedNode("https://w3id.org/provinstr#status")
    for log in logs:
        for quad in ox.parse(read_log(log), format=ox.RdfFormat.N_QUADS):
            if quad.predicate == status:
                last_status[(quad.subject, quad.graph_name)] = quad
            else:
                result.add(quad)
    result.extend(last_status.values())
    return {(str(q.subject), str(q.predicate), str(q.object), str(q.graph_name)) for q in result}


@pytest.fixture
def sparql_server(tmp_path):
    """A real Oxigraph SPARQL server on a free loopback port (stopped after the test)."""
    server = OxigraphServer(tmp_path / "server-data").start()
    yield server
    server.kill()


class _Threaded:
    """An http.server running in a thread of the test process."""

    def __init__(self, handler: type) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def failing_server():
    """A web server that answers every request with HTTP 500."""

    class Handler(_Quiet):
        def _fail(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"internal error: the disk is on fire"
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _fail

    server = _Threaded(Handler)
    yield server
    server.stop()


@pytest.fixture
def plain_web_server(tmp_path):
    """`python -m http.server`: a real web server that knows nothing of SPARQL."""
    port = free_port()
    (tmp_path / "www").mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path / "www")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _wait_listening(port, process)
    yield f"http://127.0.0.1:{port}"
    process.kill()
    process.wait(10)


@pytest.fixture
def auth_proxy(sparql_server):
    """A proxy in front of the Oxigraph server that wants HTTP basic auth `alice` / `s3cret-pass`."""
    expected = "Basic " + base64.b64encode(b"alice:s3cret-pass").decode()
    target = sparql_server.url

    class Handler(_Quiet):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="sparql"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
            request = urllib.request.Request(target + self.path, data=body, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status, kind, data = answer.status, answer.headers.get("Content-Type", ""), answer.read()
            except urllib.error.HTTPError as error:
                status, kind, data = error.code, error.headers.get("Content-Type", ""), error.read()
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _forward

    proxy = _Threaded(Handler)
    yield proxy
    proxy.stop()
