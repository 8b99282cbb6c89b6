"""The error and warning classes every layer shares (store, capture, analysis, cli).

This module imports nothing from provinstr, so the lowest layer (provinstr.store) can raise
these and the layers above it can catch them. The old places (provinstr.store,
provinstr.store.local, provinstr.store.remote, provinstr.capture.safety) re-export them.
"""

from __future__ import annotations

import os


class ProvinstrWarning(UserWarning):
    """A capture problem: provenance may be incomplete, the user's program goes on."""


class LocatedError(Exception):
    """A problem in a file the user must fix; the message reads "FILE:LINE: what is wrong; what to do"."""

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        where = f"{self.path}:{line}: " if self.path and line else f"{self.path}: " if self.path else ""
        super().__init__(where + message)


class RuleError(LocatedError):
    """A rule file the user must fix."""


class RedactionError(LocatedError, ValueError):
    """A `[tool.provinstr] redact` setting that cannot be used."""


class StoreError(Exception):
    """A store problem a user can act on (the message says what to do)."""


class StoreFormatError(StoreError):
    """The store folder was written by a newer provinstr (or is not a provinstr store)."""


class QuerySyntaxError(StoreError):
    """A malformed SPARQL query; the message carries the parser's line and column."""


class RemoteError(StoreError):
    """The SPARQL server could not be used; `permanent` when retrying cannot help (wrong URL, credentials)."""

    def __init__(self, message: str, permanent: bool = False, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code  # the HTTP status, when the server answered


__all__ = ["LocatedError", "ProvinstrWarning", "QuerySyntaxError", "RedactionError", "RemoteError", "RuleError",
           "StoreError", "StoreFormatError"]
