"""Commands that capture: `provinstr run` (execute with capture) and `provinstr rewrite` (write instrumented code)."""

from __future__ import annotations

import difflib
import inspect
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from provinstr.cli import run_options
from provinstr.cli.application import app, console, fail
from provinstr.cli.run_options import RULES_HELP as _RULES_HELP


def _rules(files: Optional[List[Path]], near: str):
    """The rules that apply, validated before any user code runs (a bad file: message with file:line, exit 2)."""
    from provinstr.rules.loader import RuleError, load_rules

    try:
        return load_rules(files or (), project_dir=near)
    except RuleError as error:
        raise fail(str(error)) from None


# `provinstr run`: its parameters and help come from provinstr.cli.run_options, the table the
# quick path (provinstr.cli.quick_run) reads too; the typer command adds help and the error messages.
def run(**values) -> None:
    from provinstr.cli.quick_run import NothingToRun, prepare
    from provinstr.errors import LocatedError
    from provinstr.rewrite.runner import TargetError

    try:
        launch = prepare(run_options.arguments(values))
    except (NothingToRun, TargetError, LocatedError) as error:
        raise fail(str(error)) from None
    raise SystemExit(launch())


def _typer_parameters() -> list:
    """`run`'s parameters as typer reads them from a signature, made from the table in run_options."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    made = []
    for argument in run_options.RUN_ARGUMENTS:
        annotation = Optional[List[str]] if argument.rest else Optional[str]
        default = typer.Argument(None, metavar=argument.metavar, help=argument.help)
        made.append(inspect.Parameter(argument.name, keyword, default=default, annotation=annotation))
    for option in run_options.RUN_OPTIONS:
        if not option.takes_value:
            annotation, default = bool, typer.Option(False, *option.flags, help=option.help)
        else:
            annotation = Optional[List[option.kind]] if option.repeatable else Optional[option.kind]
            default = typer.Option(None, *option.flags, metavar=option.metavar, help=option.help)
        made.append(inspect.Parameter(option.name, keyword, default=default, annotation=annotation))
    return made


run.__doc__ = run_options.RUN_HELP
run.__signature__ = inspect.Signature(_typer_parameters(), return_annotation=None)  # type: ignore[attr-defined]
run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}  # type: ignore[attr-defined]
app.command(context_settings=dict(run_options.RUN_CONTEXT))(run)


@app.command()
def rewrite(
    script: Path = typer.Argument(..., metavar="FILE", help="The script to instrument."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the instrumented script here."),
    in_place: bool = typer.Option(False, "--in-place", help="Overwrite FILE with the instrumented script."),
    diff: bool = typer.Option(False, "--diff", help="Show a unified diff instead of the script."),
    explain: bool = typer.Option(False, "--explain", help="Show the capture plan: each matched call and rule."),
    rules: Optional[List[Path]] = typer.Option(None, "--rules", metavar="FILE", help=_RULES_HELP),
) -> None:
    """Write an instrumented copy of a script that records provenance when run with plain `python`."""
    from provinstr.rewrite.plan import explain as explain_plan
    from provinstr.rewrite.plan import make_plan
    from provinstr.rewrite.runner import TargetError, script_target
    from provinstr.rewrite.transformer import rewrite_source

    if sum((output is not None, in_place, diff, explain)) > 1:
        raise fail("choose one of -o/--output, --in-place, --diff and --explain")
    try:
        target = script_target(str(script))
    except TargetError as error:
        raise fail(str(error)) from None
    chosen = _rules(rules, os.path.dirname(target.filename))
    try:
        compile(target.source, target.filename, "exec", dont_inherit=True)
        plan = make_plan(target.source, chosen, str(script))
    except SyntaxError as error:
        raise fail(f"{script}:{error.lineno}: {error.msg}; fix the syntax error first") from None
    except Exception as error:  # noqa: BLE001 - libcst's ParserSyntaxError and kin
        raise fail(f"{script}: libcst cannot parse it ({str(error).splitlines()[0]}); "
                   "use `provinstr run`, which runs such files uncaptured") from None
    if explain:
        console.print(explain_plan(plan, chosen), highlight=False, soft_wrap=True, markup=False)
        return
    destination = script if in_place else output
    base = (destination or script).resolve().parent
    named = [os.path.relpath(Path(p).resolve(), base) for p in (rules or ())]
    text = rewrite_source(target.source, plan, named)
    if diff:
        sys.stdout.writelines(difflib.unified_diff(target.source.splitlines(keepends=True),
                                                   text.splitlines(keepends=True), str(script), f"{script} (rewritten)"))
    elif destination is not None:
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(text, encoding="utf-8")
        except OSError as error:
            raise fail(f"cannot write {destination} ({error.strerror or error}); choose another -o path") from None
        console.print(f"{destination}: {len(plan.matches)} call(s) instrumented", highlight=False)
    else:
        sys.stdout.write(text)
