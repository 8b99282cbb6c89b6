"""Stores: where runs are written and read (a local folder, or a SPARQL server URL spooled locally).

This is the lowest layer: it imports nothing from capture, analysis, adapters, rewrite or cli.
`open_backend` gives the raw store (LocalStore or RemoteStore) that writers append to; the
Store users open to read and query, with its runs, is `provinstr.open_store`
(provinstr.analysis.store), built on it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from provinstr.config import store_location
from provinstr.errors import QuerySyntaxError, RemoteError, StoreError, StoreFormatError
from provinstr.store.local import LocalStore
from provinstr.store.results import QueryResult

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.store.remote import RemoteStore

__all__ = [
    "LocalStore",
    "QueryResult",
    "QuerySyntaxError",
    "RemoteError",
    "StoreError",
    "StoreFormatError",
    "open_backend",
]


def open_backend(location: str | os.PathLike | None = None, create: bool = False) -> "LocalStore | RemoteStore":
    """The raw store at `location` (default: --store / $PROVINSTR_STORE / pyproject / ./.provinstr).

    A folder gives a LocalStore, an http(s):// URL a RemoteStore (records spooled locally first);
    both tell where a run's files go with `models_folder(run_id)`.
    """
    where = store_location(location)
    if "://" in where:
        from provinstr.store.remote import RemoteStore  # a SPARQL server (records spooled locally first)

        return RemoteStore(where, create=create)
    return LocalStore(where, create=create)
