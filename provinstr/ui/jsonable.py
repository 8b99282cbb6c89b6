"""Store values as JSON a page can read: datetimes as ISO text, NaN and infinities as null."""

from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any

from starlette.responses import Response

__all__ = ["JSON", "embed", "plain"]


def plain(value: Any) -> Any:
    """`value` made of JSON types only (dicts, lists, str, finite numbers, bool, None)."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return str(value)


def _dumps(data: Any) -> str:
    return json.dumps(plain(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class JSON(Response):
    """A JSON response of any store values (see `plain`); never cached, it is live data."""

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200) -> None:
        super().__init__(content, status_code=status_code, headers={"Cache-Control": "no-store"})

    def render(self, content: Any) -> bytes:
        return _dumps(content).encode("utf-8")


def embed(element_id: str, data: Any) -> str:
    """`data` as a <script type="application/json"> block a page script reads (not executed: CSP allows it)."""
    text = _dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'
