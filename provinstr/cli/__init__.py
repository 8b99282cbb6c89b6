"""The `provinstr` command line: each module registers the commands of one area on `app`.

The command modules (and typer, rich, rdflib behind them) are imported on first use of `app`,
so `provinstr run` starts the user's script without them (see provinstr.cli.quick_run).
"""

from __future__ import annotations

import importlib
import sys

# Imported when `app` is first used; add a new command module here rather than as an import line.
COMMAND_MODULES = (
    "provinstr.cli.store_commands",  # runs, query, export, reindex, validate
    "provinstr.cli.analysis_commands",  # show, compare, graph, plot, watch, steer
    "provinstr.cli.capture_commands",  # run, rewrite
    "provinstr.cli.remote_commands",  # push, merge
    "provinstr.cli.ui_commands",  # ui
)

__all__ = ["app", "main"]


def _typer_app():
    """The typer application with every command module's commands registered."""
    for name in COMMAND_MODULES:
        importlib.import_module(name)
    return importlib.import_module("provinstr.cli.application").app


def __getattr__(name: str):
    # `provinstr.cli.app` is the full application; it is built on first use, not at import.
    if name == "app":
        return _typer_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point of the console script: known errors become one clear message and exit code 2."""
    arguments = sys.argv[1:]
    if arguments[:1] == ["run"]:
        from provinstr.cli.quick_run import quick_run

        code = quick_run(arguments[1:])
        if code is not None:
            raise SystemExit(code)

    from provinstr.cli.application import UsageError, fail
    from provinstr.store import StoreError

    try:
        _typer_app()()
    except (StoreError, UsageError) as error:
        fail(str(error))
        sys.exit(2)
