"""`provinstr run` without typer: the common command lines start the user's script sooner.

typer (with pydantic, which it uses to coerce every option) and rich cost a few tenths of a
second before the user's script could start. `quick_run` reads the usual `run` command lines
itself and runs the script; anything else (help, a misspelt option, a missing script, a bad rule
file) returns None, and the typer command handles it with its own messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple, Sequence

# The `run` options that take a value, as capture_commands.run declares them.
_VALUED = {
    "-m": "module", "--module": "module", "--rules": "rules", "--store": "store", "-s": "store", "--name": "name",
    "--group": "group",
}


class RunArguments(NamedTuple):
    script: str | None
    args: list[str]
    module: str | None
    rules: list[str]
    store: str | None
    name: str | None
    group: str | None


def parse(arguments: Sequence[str]) -> RunArguments | None:
    """The `run` command's arguments as click would read them, or None for anything unusual."""
    values: dict[str, str | None] = {"module": None, "store": None, "name": None, "group": None}
    rules: list[str] = []
    rest = list(arguments)
    while rest and rest[0].startswith("-"):  # options end at the script (no interspersed options)
        option = rest.pop(0)
        if option == "--":
            break
        name, equals, value = option.partition("=")
        if name not in _VALUED or (equals and not name.startswith("--")):
            return None  # --help, a misspelt or an unknown option, -mNAME: typer says what it means
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        if _VALUED[name] == "rules":
            rules.append(value)
        else:
            values[_VALUED[name]] = value
    script = rest.pop(0) if rest else None
    if script is None and values["module"] is None:
        return None
    return RunArguments(script, rest, values["module"], rules, values["store"], values["name"], values["group"])


def quick_run(arguments: Sequence[str]) -> int | None:
    """Run as `provinstr run ARGUMENTS` and return the exit code, or None to leave the command line to typer."""
    parsed = parse(arguments)
    if parsed is None:
        return None
    from provinstr.rewrite.runner import TargetError, execute, module_target, script_target
    from provinstr.rules.loader import RuleError, load_rules

    script_args = list(parsed.args)
    try:
        if parsed.module is not None:
            script_args = ([parsed.script] if parsed.script is not None else []) + script_args
            target = module_target(parsed.module)
        else:
            target = script_target(parsed.script)
        rules = load_rules([Path(r) for r in parsed.rules], project_dir=os.path.dirname(target.filename))
    except (TargetError, RuleError):
        return None  # the typer command reports it (exit 2), before any user code runs
    return execute(target, script_args, rules, store=parsed.store, name=parsed.name, group=parsed.group)
