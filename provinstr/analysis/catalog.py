"""Former home of the Store (now provinstr.analysis.store; these names are re-exported) and `cell`."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from provinstr.analysis.store import RunInfo, RunNotFound, Store, open_store

__all__ = ["RunInfo", "RunNotFound", "Store", "cell", "open_store"]


def cell(value: Any) -> str:
    """A value as a table cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, _dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(value)
