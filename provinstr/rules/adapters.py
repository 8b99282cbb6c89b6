"""The framework adapters a rule may name, found by name; each declares its options in its package's __init__.

Reading a declaration imports only the adapter package's `__init__` (a few lines of data), never the
framework: the loader checks options before any user code runs.
"""

from __future__ import annotations

import functools
import importlib

from provinstr.rules.options import ENGINE_OPTIONS, Option

# name used in rule files -> the package holding that adapter (`OPTIONS` declared, `ADAPTER` on first use).
ADAPTER_PACKAGES = {
    "keras": "provinstr.adapters.keras",
    "lightning": "provinstr.adapters.lightning",
    "python": "provinstr.adapters.python",
    "sklearn": "provinstr.adapters.sklearn",
    "torch": "provinstr.adapters.torch",
}


def known() -> list[str]:
    """The adapter names a rule file may use."""
    return sorted(ADAPTER_PACKAGES)


def module_of(name: str) -> str:
    return ADAPTER_PACKAGES[name]


def declared_options(name: str) -> tuple[Option, ...]:
    """The options adapter `name` declares."""
    return tuple(importlib.import_module(module_of(name)).OPTIONS)


def all_declared_options() -> dict[str, tuple[Option, ...]]:
    return {name: declared_options(name) for name in known()}


@functools.lru_cache(maxsize=None)
def rule_options(adapter: str | None) -> dict[str, Option]:
    """Every option a rule of `adapter` may set, by name: the engine's and the adapter's."""
    return {o.name: o for o in (*ENGINE_OPTIONS, *(declared_options(adapter) if adapter else ()))}


def declared_default(adapter: str | None, name: str):
    """The declared default of option `name` for a rule of `adapter` (None if nobody declares it)."""
    option = rule_options(adapter).get(name)
    return None if option is None else option.default
