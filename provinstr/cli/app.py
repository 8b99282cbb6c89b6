"""The typer application every command module registers on, and the shared error exit."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    name="provinstr",
    help="Record the provenance of ML training as PROV-O and query it with SPARQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


class UsageError(Exception):
    """A problem the user can fix; printed as one message, exit code 2, no traceback."""


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print `message` to stderr and return the Exit to raise."""
    # escape(): messages quote user text (SPARQL, paths) whose [brackets] are not rich markup
    err_console.print(f"[bold red]provinstr:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
