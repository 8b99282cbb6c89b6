"""Stores: where runs are written and read (a local folder now; a SPARQL server URL later)."""

from __future__ import annotations

import os

from provinstr.config import store_location
from provinstr.store.local import (
    LocalStore,
    QuerySyntaxError,
    StoreError,
    StoreFormatError,
)
from provinstr.store.results import QueryResult

__all__ = [
    "LocalStore",
    "QueryResult",
    "QuerySyntaxError",
    "StoreError",
    "StoreFormatError",
    "open_backend",
]


def open_backend(location: str | os.PathLike | None = None, create: bool = False) -> LocalStore:
    """The raw store at `location` (default: --store / $PROVINSTR_STORE / pyproject / ./.provinstr)."""
    where = store_location(location)
    if "://" in where:
        raise StoreError(
            f"{where}: SPARQL server stores are not available in this version; use a local folder"
        )
    return LocalStore(where, create=create)
