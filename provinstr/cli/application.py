"""The typer application every command module registers on, and the shared error exit."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="provinstr",
    help="Record the provenance of ML training as PROV-O and query it with SPARQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class UsageError(Exception):
    """A problem the user can fix; printed as one message, exit code 2, no traceback."""


@functools.lru_cache(maxsize=None)
def _console(stderr: bool) -> "Console":
    from rich.console import Console

    return Console(stderr=stderr)


def __getattr__(name: str):
    # `console` and `err_console` are made on first use: rich costs start-up time a command may not need.
    if name == "console":
        return _console(False)
    if name == "err_console":
        return _console(True)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print `message` to stderr and return the Exit to raise."""
    from rich.markup import escape

    # escape(): messages quote user text (SPARQL, paths) whose [brackets] are not rich markup
    _console(True).print(f"[bold red]provinstr:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
