"""The two web UIs bench/ui.py measures, as real server processes: `provinstr ui` and `mlflow ui`.

Each is started as a user starts it (its own command line, a free loopback port, in the work folder), in a
process group of its own so that stopping it also stops the workers it forked (MLflow's uvicorn runs 4 by
default, left as they are: a user's `mlflow ui` has them too). `start` returns once the server answers
its page (provinstr: `/`; MLflow: `/health` and then its experiments API) and records how long that took.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


class UIServer:
    """A UI server process: `command` started in `cwd`, ready once every URL of `ready` answers 2xx."""

    def __init__(self, name: str, command: list[str], ready: list[str], cwd: Path, log: Path, env: dict) -> None:
        self.name, self.command, self.ready, self.cwd, self.log, self.env = name, command, ready, cwd, log, env
        self.process: subprocess.Popen | None = None
        self.started_s: float | None = None

    def start(self, timeout: float = 180.0) -> "UIServer":
        began = time.perf_counter()
        self._log = self.log.open("ab")
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        for url in self.ready:
            while not answers(url):
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
                if time.perf_counter() - began > timeout:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f} s; see {self.log}")
                time.sleep(0.1)
        self.started_s = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """SIGTERM to the server's own process group (it and the workers it started), SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=15)
        try:  # workers that outlived their parent
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()

    def __enter__(self) -> "UIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def provinstr_ui(store: Path, work: Path, env: dict, port: int | None = None) -> tuple[UIServer, str]:
    """`provinstr ui --store STORE --port P` (loopback, read-only): the server and its base URL."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    command = [PYTHON, "-m", "provinstr", "ui", "--store", str(store), "--port", str(port)]
    return UIServer("provinstr ui", command, [base + "/"], work, work / "provinstr-ui.log", env), base


def mlflow_ui(uri: str, artifacts: Path, work: Path, env: dict, experiment: str,
              port: int | None = None) -> tuple[UIServer, str]:
    """`mlflow ui --backend-store-uri URI --default-artifact-root DIR --host 127.0.0.1 --port Q`."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    mlflow = Path(PYTHON).with_name("mlflow")
    command = [str(mlflow) if mlflow.exists() else "mlflow", "ui", "--backend-store-uri", uri,
               "--default-artifact-root", str(artifacts), "--host", "127.0.0.1", "--port", str(port)]
    ready = [base + "/health",
             base + f"/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name={experiment}"]
    return UIServer("mlflow ui", command, ready, work, work / "mlflow-ui.log", env), base
