"""Steering a running fit from another terminal: requests are small JSON files in the store.

`provinstr steer RUN --set learning_rate=0.0005` writes <store>/steer/<run-id>/<n>.json
(atomically); the fit's epoch-begin hook reads pending requests, applies each value through
the framework callback (which records a pi:Adaptation with trigger "user" and the agent who
asked) and marks the file applied or refused, so the asking terminal can report the outcome.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

FOLDER = "steer"
TRIGGER = "user"
PENDING, APPLIED, REFUSED, EXPIRED = "pending", "applied", "refused", "expired"
# Values a running fit can change between epochs (optimizer settings read at every step).
ADJUSTABLE = ("learning_rate", "momentum", "weight_decay", "beta_1", "beta_2", "epsilon", "rho",
              "clipnorm", "clipvalue")


def folder(store_path: str | os.PathLike, run_id: str) -> Path:
    return Path(store_path) / FOLDER / run_id


def agent_name() -> str:
    """Who asks: user@host, as the run records its own person agent."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - containers without a passwd entry
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def parse_value(text: str) -> Any:
    """'0.0005' -> 0.0005, '3' -> 3, 'true' -> True, anything else JSON or text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _write(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)  # readers see the old file or the new one, never half of it


def read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def request(store_path: str | os.PathLike, run_id: str, values: dict[str, Any], agent: str | None = None) -> Path:
    """Queue a change for the run's next epoch boundary; returns the request file."""
    where = folder(store_path, run_id)
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{time.time_ns()}-{os.getpid()}.json"
    _write(path, {
        "run": run_id,
        "set": values,
        "agent": agent or agent_name(),
        "requested_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "status": PENDING,
    })
    return path


def pending(store_path: str | os.PathLike, run_id: str) -> list[tuple[Path, dict]]:
    """The run's requests not yet applied or refused, oldest first."""
    where = folder(store_path, run_id)
    try:
        names = sorted(n for n in os.listdir(where) if n.endswith(".json") and not n.startswith("."))
    except OSError:
        return []  # no folder: nobody ever asked (the usual case, and cheap)
    found = []
    for name in names:
        data = read(where / name)
        if data is not None and data.get("status") == PENDING:
            found.append((where / name, data))
    return found


def mark(path: Path, data: dict, status: str, **details: Any) -> dict:
    """Record what became of a request (applied at epoch N, refused and why ...)."""
    data = {**data, "status": status, **details}
    _write(path, data)
    return data


def wait(path: Path, timeout: float, still_running=lambda: True, poll: float = 0.2) -> dict:
    """The request once the fit has handled it, or as it stands after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        data = read(path) or {}
        if data.get("status") != PENDING or time.monotonic() >= deadline:
            return data
        if not still_running():
            data = read(path) or data  # it may have been handled just before the end
            if data.get("status") == PENDING:
                data = mark(path, data, EXPIRED, reason="the run ended before its next epoch began")
            return data
        time.sleep(poll)


def apply_pending(callback: Any, epoch: int) -> None:
    """Epoch-begin hook: apply the run's pending requests through `callback.adapt(...)`."""
    run = getattr(getattr(callback, "training", None), "run", None)  # the Keras CaptureCallback's run
    if run is None:
        from provinstr.capture.run import active_run

        run = active_run()
    store_path = getattr(getattr(run, "store", None), "path", None)
    if run is None or store_path is None:
        return
    for path, data in pending(store_path, run.id):
        applied, refused = {}, {}
        for name, value in (data.get("set") or {}).items():
            if name not in ADJUSTABLE:
                refused[name] = f"{name} is not adjustable (adjustable: {', '.join(ADJUSTABLE)})"
                continue
            try:
                callback.adapt(name, value, TRIGGER, agent=data.get("agent"))
            except Exception as error:  # noqa: BLE001 - a refused value is reported to the asker
                refused[name] = f"{type(error).__name__}: {error}"
            else:
                applied[name] = value
        status = APPLIED if applied else REFUSED
        mark(path, data, status, epoch=epoch, applied=applied, refused=refused,
             handled_at=_dt.datetime.now(_dt.timezone.utc).isoformat())
