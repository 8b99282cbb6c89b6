"""The steering protocol: `provinstr steer`'s requests are small JSON files in the store.

Every read and write of a request file is here; nothing else knows their layout.

- The asker (`provinstr steer`, provinstr.cli.analysis_commands) writes
  <store>/steer/<run-id>/<n>.json with `request()`: {"run", "set": {name: value}, "agent",
  "requested_at", "status": "pending"}, atomically, and waits for the status to change.
- The fit, at its next epoch begin, reads the run's `pending()` requests and marks each
  `handled()`: "applied" (at least one value applied) or "refused", with "epoch", "applied",
  "refused" (name -> why) and "handled_at". Applying a request, for any framework, is
  provinstr.capture.steerable.apply_pending; it records each change as a pi:Adaptation with
  trigger "user" and the asker as its agent.
- If the run ends first, the asker marks the request `expired()` with a "reason".
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
# Values a running fit can change between epochs (optimizer settings read at every step), as Keras
# names them and as PyTorch's param groups do (lr, eps, dampening ...; PyTorch also takes learning_rate).
ADJUSTABLE = ("learning_rate", "momentum", "weight_decay", "beta_1", "beta_2", "epsilon", "rho",
              "clipnorm", "clipvalue", "lr", "eps", "dampening", "alpha", "lr_decay")


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


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def read(path: Path) -> dict | None:
    """A request as it stands, or None if it cannot be read (gone, or not JSON)."""
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
        "requested_at": _now(),
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


def handled(path: Path, data: dict, epoch: int, applied: dict[str, Any], refused: dict[str, str]) -> dict:
    """The fit's answer: applied if any value was, else refused; `refused` says why for each value."""
    return mark(path, data, APPLIED if applied else REFUSED, epoch=epoch, applied=applied, refused=refused,
                handled_at=_now())


def expired(path: Path, data: dict, reason: str) -> dict:
    """The asker's answer when the run ended before it handled the request."""
    return mark(path, data, EXPIRED, reason=reason)
