"""What every command that reads a store shares: the --store option, stdout, error handling.

The store itself is opened with provinstr.analysis.store.open_store (the one open_store).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Iterator

import typer

from provinstr.cli.application import UsageError, fail
from provinstr.store import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

StoreOption = typer.Option(
    None, "--store", "-s", help="Store folder or SPARQL server URL (default: $PROVINSTR_STORE, \\[tool.provinstr] store, ./.provinstr)."
)

__all__ = ["StoreOption", "stdout_console", "user_errors"]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Problems a user can fix become one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except (StoreError, UsageError) as error:
        raise fail(str(error)) from None


def stdout_console() -> "Console":
    """The stdout console; as wide as the content when piped, so cells are never folded."""
    from rich.console import Console

    from provinstr.cli.application import console

    return console if console.is_terminal else Console(width=100_000, soft_wrap=True)
