"""A real SPARQL server for the remote-store benchmarks: `oxigraph serve` (the `oxigraph` PyPI package).

  with OxigraphServer(folder) as server:    # a free loopback port; stopped (killed) on leaving
      ... server.url ...                    # http://127.0.0.1:PORT, a provinstr store URL
      server.optimize()                     # stopped, compacted (`oxigraph optimize`), started again
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def oxigraph_binary() -> str:
    """The `oxigraph` command: on PATH or next to this Python (a virtualenv's bin/)."""
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        raise RuntimeError("the `oxigraph` server is not installed: pip install oxigraph")
    return found


class OxigraphServer:
    """`oxigraph serve --location FOLDER --bind 127.0.0.1:PORT`, started by start() or `with`."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = Path(folder)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> OxigraphServer:
        self.process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--location", str(self.folder), "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oxigraph serve exited with {self.process.returncode}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"oxigraph serve does not listen on port {self.port} after {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        """Kill the server and start it again on the same folder and port (drops the queries it is answering)."""
        self.stop()
        self.start()

    def optimize(self) -> float:
        """Stop the server, compact its folder (`oxigraph optimize`), start it again; seconds of the compaction."""
        self.stop()
        began = time.perf_counter()
        try:
            subprocess.run([oxigraph_binary(), "optimize", "--location", str(self.folder)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        finally:
            seconds = time.perf_counter() - began
            self.start()
        return seconds

    def __enter__(self) -> OxigraphServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
