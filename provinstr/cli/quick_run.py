"""`provinstr run` without typer: the common command lines start the user's script sooner.

typer (with pydantic, which it uses to coerce every option) and rich cost a few tenths of a
second before the user's script could start. `quick_run` reads the usual `run` command lines
itself, with the options provinstr.cli.run_options declares (the typer command is built from
the same table), and runs the script; anything else (help, a misspelt option, a missing script,
a bad rule file) returns None, and the typer command handles it with its own messages.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable, Sequence

from provinstr.cli.run_options import BY_FLAG, RUN_OPTIONS, RunArguments

__all__ = ["NothingToRun", "RunArguments", "parse", "prepare", "quick_run"]


class NothingToRun(Exception):
    """Neither a script nor -m MODULE was given."""


def parse(arguments: Sequence[str]) -> RunArguments | None:
    """The `run` command's arguments as click would read them, or None for anything unusual."""
    values: dict = {option.name: [] if option.repeatable else option.empty() for option in RUN_OPTIONS}
    rest = list(arguments)
    while rest and rest[0].startswith("-"):  # options end at the script (no interspersed options)
        given = rest.pop(0)
        if given == "--":
            break
        flag, equals, value = given.partition("=")
        option = BY_FLAG.get(flag)
        if option is None or (equals and (not flag.startswith("--") or not option.takes_value)):
            return None  # --help, a misspelt or an unknown option, -mNAME, -m=NAME: typer says what it means
        if not option.takes_value:
            value = True
        elif not equals:
            if not rest:
                return None
            value = rest.pop(0)
        if option.repeatable:
            values[option.name].append(value)
        else:
            values[option.name] = value
    script = rest.pop(0) if rest else None
    if script is None and values["module"] is None:
        return None
    return RunArguments(script=script, args=rest, **values)


def prepare(parsed: RunArguments) -> Callable[[], int]:
    """What runs the script, once its target and rules are known; raises before any user code runs.

    NothingToRun, TargetError and LocatedError (a bad rule file or redact pattern) carry the message
    the typer command reports (exit 2).
    """
    from provinstr.capture.redaction import project_redactor
    from provinstr.rewrite.runner import execute, module_target, script_target
    from provinstr.rules.loader import load_rules

    script_args = list(parsed.args)
    if parsed.module is not None:
        script_args = ([parsed.script] if parsed.script is not None else []) + script_args
        target = module_target(parsed.module)
    elif parsed.script is None:
        raise NothingToRun("say what to run: provinstr run FILE [ARGS]... or provinstr run -m MODULE [ARGS]...")
    else:
        target = script_target(parsed.script)
    rules = load_rules([Path(r) for r in parsed.rules], project_dir=os.path.dirname(target.filename))
    project_redactor(None, os.path.dirname(target.filename))  # unusable redact patterns stop here, not mid-run
    return functools.partial(execute, target, script_args, rules, store=parsed.store, name=parsed.name,
                             group=parsed.group)


def quick_run(arguments: Sequence[str]) -> int | None:
    """Run as `provinstr run ARGUMENTS` and return the exit code, or None to leave the command line to typer."""
    parsed = parse(arguments)
    if parsed is None:
        return None
    from provinstr.errors import LocatedError
    from provinstr.rewrite.runner import TargetError

    try:
        launch = prepare(parsed)
    except (NothingToRun, TargetError, LocatedError):
        return None  # the typer command reports it (exit 2), before any user code runs
    return launch()
