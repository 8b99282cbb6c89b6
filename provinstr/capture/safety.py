"""The guard that keeps capture from ever breaking the user's program."""

from __future__ import annotations

import os
import sys
import threading
import warnings

from provinstr.capture import imports
from provinstr.errors import ProvinstrWarning  # noqa: F401 (defined there, re-exported here)

STRICT_ENV = "PROVINSTR_STRICT"

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DEFAULT_ADVICE = "your program continues, but this run's provenance may be incomplete"


_warned: set[str] = set()
_lock = threading.Lock()
imports.install()


def strict() -> bool:
    """True in test mode (PROVINSTR_STRICT=1): capture errors raise instead of warning."""
    return os.environ.get(STRICT_ENV, "").lower() in ("1", "true", "yes", "on")


def report(error: BaseException, where: str, advice: str | None = None) -> None:
    """Warn once about a capture error (once per place and once per error); raise it in strict mode."""
    if strict():
        raise error
    # One root cause (an unwritable store) surfaces in many places: say it once.
    cause = f"{type(error).__name__}: {error}"
    with _lock:
        if where in _warned or cause in _warned:
            return
        _warned.update((where, cause))
    message = f"provinstr: {where} failed ({cause}); {advice or _DEFAULT_ADVICE}."
    try:
        warnings.warn(message, ProvinstrWarning, stacklevel=_user_stacklevel())
    except Warning:  # warnings turned into errors (-W error) must still not break the program
        print(f"ProvinstrWarning: {message}", file=sys.stderr)


def _user_stacklevel() -> int:
    """The stacklevel that points the warning at the first frame outside provinstr (the user's line)."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level if frame is not None else 2


class guard:
    """`with guard("what"):` runs capture code; an exception in it is reported, never propagated."""

    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        imports.enter()  # capture code imports no framework the program did not (capture/imports.py)
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        imports.leave()
        if exc is None or not isinstance(exc, Exception):
            return False
        report(exc, self.where)
        return True
