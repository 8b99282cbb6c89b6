"""Commands that capture: `provinstr run` (execute with capture) and `provinstr rewrite` (write instrumented code)."""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from provinstr.cli.application import app, console, fail

_RULES_HELP = "A rule file (TOML); repeat for more. It takes precedence over the project's and the builtin rules."


def _rules(files: Optional[List[Path]], near: str):
    """The rules that apply, validated before any user code runs (a bad file: message with file:line, exit 2)."""
    from provinstr.rules.loader import RuleError, load_rules

    try:
        return load_rules(files or (), project_dir=near)
    except RuleError as error:
        raise fail(str(error)) from None


@app.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def run(
    script: Optional[str] = typer.Argument(None, metavar="FILE", help="The script to run, as `python FILE`."),
    args: Optional[List[str]] = typer.Argument(None, metavar="[ARGS]...", help="Arguments for the script."),
    module: Optional[str] = typer.Option(None, "-m", "--module", help="Run a module, as `python -m MODULE`."),
    rules: Optional[List[Path]] = typer.Option(None, "--rules", metavar="FILE", help=_RULES_HELP),
    store: Optional[str] = typer.Option(
        None, "--store", "-s", help="Store folder or SPARQL server URL (default: $PROVINSTR_STORE, \\[tool.provinstr] store, ./.provinstr)."
    ),
    name: Optional[str] = typer.Option(None, "--name", help="The run's name (default: the script's name)."),
    group: Optional[str] = typer.Option(
        None, "--group", help="Group the run into a sweep (pi:Sweep) with others of this name (env PROVINSTR_GROUP)."
    ),
) -> None:
    """Run a Python script as `python FILE ARGS` would, recording its training provenance."""
    from provinstr.rewrite.runner import TargetError, execute, module_target, script_target

    script_args = list(args or ())
    if module is not None:
        script_args = ([script] if script is not None else []) + script_args
    elif script is None:
        raise fail("say what to run: provinstr run FILE [ARGS]... or provinstr run -m MODULE [ARGS]...")
    try:
        target = module_target(module) if module is not None else script_target(script)
    except TargetError as error:
        raise fail(str(error)) from None
    chosen = _rules(rules, os.path.dirname(target.filename))
    code = execute(target, script_args, chosen, store=store, name=name, group=group)
    raise SystemExit(code)


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
