"""The one declaration of `provinstr run`'s command line, read by both of its parsers.

`provinstr.cli.quick_run` reads the common command lines with it, without typer (so the user's
script starts a few tenths of a second sooner), and `provinstr.cli.capture_commands` builds the
typer command's parameters from it (help, misspelt options, errors). Add or change a `run`
option here, and only here. This module imports nothing heavy: the quick path imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

STORE_HELP = "Store folder or SPARQL server URL (default: $PROVINSTR_STORE, \\[tool.provinstr] store, ./.provinstr)."
RULES_HELP = "A rule file (TOML); repeat for more. It takes precedence over the project's and the builtin rules."


class RunArgument(NamedTuple):
    """A positional parameter of `run`: the script, then everything after it (passed to the script untouched)."""

    name: str
    metavar: str
    help: str
    rest: bool = False  # takes every remaining argument


class RunOption(NamedTuple):
    """An option of `run`, given before the script (options after it belong to the script)."""

    name: str  # the parameter's name (the command function's keyword)
    flags: tuple[str, ...]  # as typer.Option takes them; --help lists the long one first
    help: str
    takes_value: bool = True  # False: a switch (True when given)
    repeatable: bool = False  # each occurrence adds a value to a list
    metavar: str | None = None  # None: typer's own (<str>)
    kind: type = str  # the value's type in the typer command (the quick parser keeps the text)

    def empty(self) -> Any:
        """The value when the option is not given, as the command function receives it from typer."""
        return False if not self.takes_value else None


RUN_ARGUMENTS = (
    RunArgument("script", "FILE", "The script to run, as `python FILE`."),
    RunArgument("args", "[ARGS]...", "Arguments for the script.", rest=True),
)

RUN_OPTIONS = (
    RunOption("module", ("-m", "--module"), "Run a module, as `python -m MODULE`."),
    RunOption("rules", ("--rules",), RULES_HELP, repeatable=True, metavar="FILE", kind=Path),
    RunOption("store", ("--store", "-s"), STORE_HELP),
    RunOption("name", ("--name",), "The run's name (default: the script's name)."),
    RunOption("group", ("--group",), "Group the run into a sweep (pi:Sweep) with others of this name (env PROVINSTR_GROUP)."),
)

RUN_HELP = "Run a Python script as `python FILE ARGS` would, recording its training provenance."
# click reads the options before the script only; unknown ones (-x before the script) are taken as the script
RUN_CONTEXT = {"allow_interspersed_args": False, "ignore_unknown_options": True}

BY_FLAG = {flag: option for option in RUN_OPTIONS for flag in option.flags}

# What the parsers produce: script, args, then one field per option, in the tables' order.
RunArguments = NamedTuple(  # type: ignore[misc]
    "RunArguments", [(a.name, Any) for a in RUN_ARGUMENTS] + [(o.name, Any) for o in RUN_OPTIONS])


def arguments(values: dict[str, Any]) -> "RunArguments":
    """The typer command's keywords as RunArguments: lists for the rest and repeatable options, text values."""
    fields = {}
    for argument in RUN_ARGUMENTS:
        value = values.get(argument.name)
        fields[argument.name] = list(value or ()) if argument.rest else value
    for option in RUN_OPTIONS:
        value = values.get(option.name, option.empty())
        if option.repeatable:
            value = [str(v) for v in value or ()]
        elif value is not None and option.takes_value:
            value = str(value)
        fields[option.name] = value
    return RunArguments(**fields)
