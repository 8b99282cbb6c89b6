"""The store's run list, shared for a moment between requests: a runs page polling every 2 s and a run
page every 0.5 s then list a store of 10,000 runs once a second, not once per request."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo, Store

__all__ = ["TTL", "find", "runs"]

TTL = 1.0  # seconds a listing is reused: a status or a final metric shows at most this much later
_FULL_ID = re.compile(r"[0-9a-f]{32}")
_cache: dict[int, tuple[float, Store, list]] = {}


def runs(store: Store) -> list[RunInfo]:
    """store.runs(), or the same list if it was made less than TTL seconds ago (callers hold the store lock)."""
    now = time.monotonic()
    cached = _cache.get(id(store))
    if cached is not None and cached[1] is store and now - cached[0] < TTL:
        return cached[2]
    listed = store.runs()
    _cache[id(store)] = (time.monotonic(), store, listed)
    return listed


def find(store: Store, ref: str) -> RunInfo:
    """The run a page names: a full id from the recent listing, anything else as store.run() finds it."""
    if _FULL_ID.fullmatch(ref):
        for info in runs(store):
            if info.id == ref:
                return info
    return store.run(ref)
