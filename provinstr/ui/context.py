"""What a page handler reads from the app: the store (one reader at a time) and the settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

__all__ = ["UISettings", "read", "settings", "store_lock"]


@dataclass(frozen=True)
class UISettings:
    """How the server was started: the store's location, the token (None: no token), steering allowed,
    and whether the server is bound to a non-loopback address."""

    location: str
    token: str | None
    allow_steer: bool
    remote: bool


def settings(request: Request) -> UISettings:
    """The settings `create_app` was given."""
    return request.app.state.settings


def store_lock(request: Request) -> threading.Lock:
    """The app-wide lock around store reads."""
    return request.app.state.store_lock


async def read(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(store, *args)` on a worker thread, one at a time (the Oxigraph index allows one holder);
    raises what fn raises."""
    state = request.app.state

    def locked() -> Any:
        with state.store_lock:
            return fn(state.store(), *args)

    return await run_in_threadpool(locked)
