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
        from provinstr.store.remote import RemoteStore  # a SPARQL server (records spooled locally first)

        return RemoteStore(where, create=create)
    return LocalStore(where, create=create)
