"""The `provinstr` command line: each module registers the commands of one area on `app`."""

from __future__ import annotations

import sys

from provinstr.cli import store_commands  # noqa: F401  (registers runs, query, export, reindex)
from provinstr.cli import analysis_commands  # noqa: F401  (registers show, compare, graph, plot, watch, steer)
from provinstr.cli import capture_commands  # noqa: F401  (registers run, rewrite)
from provinstr.cli import remote_commands  # noqa: F401  (registers push, merge)
from provinstr.cli.app import UsageError, app, fail

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the console script: known errors become one clear message and exit code 2."""
    from provinstr.store import StoreError

    try:
        app()
    except (StoreError, UsageError) as error:
        fail(str(error))
        sys.exit(2)
