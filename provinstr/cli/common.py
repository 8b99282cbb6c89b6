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


# Up to this many rows a table is drawn by rich; a longer answer streams as plain tab-separated lines
# (drawing 40,000 rows with rich takes seconds before the first one shows).
RICH_ROWS = 200


def print_table(columns: "list[str] | tuple[str, ...]", rows: "list[list[str]]") -> None:
    """Rows of text cells under their column names: a rich table when short, plain lines when long."""
    if len(rows) <= RICH_ROWS:
        from rich.table import Table

        table = Table(*columns)
        for row in rows:
            table.add_row(*row)
        stdout_console().print(table, highlight=False, markup=False)
        return
    import sys

    write = sys.stdout.write
    write("\t".join(columns) + "\n")
    for row in rows:
        write("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row) + "\n")
