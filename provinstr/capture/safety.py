"""The guard that keeps capture from ever breaking the user's program."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import warnings
from typing import Callable, Iterator, TypeVar

STRICT_ENV = "PROVINSTR_STRICT"

F = TypeVar("F", bound=Callable)


class ProvinstrWarning(UserWarning):
    """A capture problem: provenance may be incomplete, the user's program goes on."""


_warned: set[str] = set()
_lock = threading.Lock()


def strict() -> bool:
    """True in test mode (PROVINSTR_STRICT=1): capture errors raise instead of warning."""
    return os.environ.get(STRICT_ENV, "").lower() in ("1", "true", "yes", "on")


def report(error: BaseException, where: str) -> None:
    """Warn once per place about a capture error; raise it in strict mode."""
    if strict():
        raise error
    with _lock:
        if where in _warned:
            return
        _warned.add(where)
    warnings.warn(
        f"provinstr: {where} failed ({type(error).__name__}: {error}); "
        "your program continues, but this run's provenance may be incomplete.",
        ProvinstrWarning,
        stacklevel=2,
    )


@contextlib.contextmanager
def guard(where: str) -> Iterator[None]:
    """Run a block of capture code; an exception in it is reported, never propagated."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - that is the point of the guard
        report(error, where)


def guarded(where: str) -> Callable[[F], F]:
    """Decorator form of guard(): the function returns None when capture fails."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001
                report(error, where)
                return None

        return wrapper  # type: ignore[return-value]

    return decorate
