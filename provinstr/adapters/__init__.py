"""Framework adapters: the thin, framework-specific part of capture, loaded only when needed."""

from __future__ import annotations

import importlib

from provinstr.adapters.base import Adapter

# name used in rule files -> module defining `ADAPTER`; imported only when a rule of it fires,
# so provinstr never imports a framework the user's script did not import.
_MODULES = {
    "keras": "provinstr.adapters.keras",
    "sklearn": "provinstr.adapters.sklearn",
}
_loaded: dict[str, Adapter] = {}


def known() -> list[str]:
    return sorted(_MODULES)


def get(name: str | None) -> Adapter:
    """The adapter called `name` (the do-nothing base adapter for None)."""
    if name is None:
        return _BASE
    adapter = _loaded.get(name)
    if adapter is None:
        adapter = importlib.import_module(_MODULES[name]).ADAPTER
        _loaded[name] = adapter
    return adapter


_BASE = Adapter()
