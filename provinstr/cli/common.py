"""What every command that reads a store shares: the --store option, the store, stdout, error handling."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Iterator, Optional

import typer

from provinstr.cli.application import UsageError, fail
from provinstr.store import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from provinstr.analysis.catalog import Store

StoreOption = typer.Option(
    None, "--store", "-s", help="Store folder or SPARQL server URL (default: $PROVINSTR_STORE, \\[tool.provinstr] store, ./.provinstr)."
)

__all__ = ["StoreOption", "open_store", "stdout_console", "user_errors"]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Problems a user can fix become one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except (StoreError, UsageError) as error:
        raise fail(str(error)) from None


def open_store(store: Optional[str]) -> "Store":
    """The store named by --store (or the default one), opened for reading."""
    from provinstr.analysis.catalog import open_store as opening

    return opening(store)


def stdout_console() -> "Console":
    """The stdout console; as wide as the content when piped, so cells are never folded."""
    from rich.console import Console

    from provinstr.cli.application import console

    return console if console.is_terminal else Console(width=100_000, soft_wrap=True)
