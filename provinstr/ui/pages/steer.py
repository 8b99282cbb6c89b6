"""Steering from a run page (`/api/run/{id}/steer`): the same request file and pi:Adaptation record as
`provinstr steer` (provinstr.capture.steering); refused unless the server runs with --allow-steer."""

from __future__ import annotations

import math
import re
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from provinstr.capture import steering
from provinstr.ui.context import read, settings
from provinstr.ui.jsonable import JSON

__all__ = ["ROUTES"]

_REQUEST_NAME = re.compile(r"\d+-\d+\.json")  # what steering.request() names its files, nothing else


def _allowed(request: Request) -> None:
    mode = settings(request)
    if not mode.allow_steer:
        raise HTTPException(403, "steering is off: this provinstr ui is read-only; start it with --allow-steer "
                                 "to change a running training from its page")
    if "://" in mode.location:
        raise HTTPException(409, "steering needs the run's local store folder, not a SPARQL server "
                                 "(start provinstr ui --store DIR on the machine that trains)")


def _values(body) -> dict:
    """{name: number} from {"learning_rate": 0.001} or {"set": {...}}, checked as `provinstr steer --set` checks."""
    values = body.get("set", body) if isinstance(body, dict) else None
    if not isinstance(values, dict) or not values:
        raise HTTPException(400, 'send {"learning_rate": 0.001} (names: ' + ", ".join(steering.ADJUSTABLE) + ")")
    checked = {}
    for name, value in values.items():
        if name not in steering.ADJUSTABLE:
            raise HTTPException(400, f"{name}: not adjustable while a fit runs; adjustable: "
                                     + ", ".join(steering.ADJUSTABLE))
        if isinstance(value, str):
            value = steering.parse_value(value.strip())
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise HTTPException(400, f"{name}={value!r}: {name} needs a number, e.g. 0.001")
        checked[name] = value
    return checked


def _ask(store, ref: str, values: dict) -> dict:
    info = store.run(ref)  # never a cached listing: the run must be running now
    if info.status != "running":
        why = "its process is gone" if info.status == "interrupted" else "it has finished"
        raise HTTPException(409, f"cannot steer run {info.id[:12]} ({info.name}): it is {info.status} and {why}")
    path = steering.request(store.backend.path, info.id, values)
    return {"run": info.id, "request": path.name, **steering.read(path)}


def _outcome(store, ref: str, name: str) -> dict:
    info = store.run(ref)
    path = steering.folder(store.backend.path, info.id) / name
    outcome = steering.read(path)
    if outcome is None:
        raise HTTPException(404, f"no steering request {name} for run {info.id[:12]}")
    if outcome.get("status") == steering.PENDING and not store.backend.is_live(info.id):
        outcome = steering.read(path) or outcome  # handled just before the run ended?
        if outcome.get("status") == steering.PENDING:
            outcome = steering.expired(path, outcome, "the run ended before its next epoch began")
    return {"run": info.id, "request": name, **outcome}


async def steer_api(request: Request) -> JSON:
    _allowed(request)
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, 'send JSON: {"learning_rate": 0.001}') from None
    values = _values(body)
    return JSON(await read(request, _ask, request.path_params["run_id"], values), status_code=202)


async def outcome_api(request: Request) -> JSON:
    _allowed(request)
    name = request.path_params["request"]
    if not _REQUEST_NAME.fullmatch(name) or Path(name).name != name:
        raise HTTPException(404, f"no steering request {name}")
    return JSON(await read(request, _outcome, request.path_params["run_id"], name))


ROUTES = [
    Route("/api/run/{run_id}/steer", steer_api, methods=["POST"]),
    Route("/api/run/{run_id}/steer/{request}", outcome_api),
]
