"""Running a user's script (or -m module) exactly as `python FILE ARGS` would, with the rules' calls captured.

The stages follow coverage.py's execfile: read and compile the code under its real file name,
make a fresh `__main__` module, set sys.argv and sys.path[0], exec, restore everything after.
Provinstr's own frames are cut from the user's tracebacks; SystemExit passes through untouched.
"""

from __future__ import annotations

import ast
import builtins
import importlib.machinery
import importlib.util
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from provinstr.rewrite.plan import HELPER, Plan
from provinstr.rules.model import Rule

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent) + os.sep


class TargetError(Exception):
    """The script or module to run cannot be found or read (a usage problem: exit 2)."""


@dataclass
class Target:
    """What to run: its code's file name, source text and how `__main__` must look."""

    filename: str
    source: str
    argv0: str
    path0: str
    spec: Any = None  # the module spec for -m, None for a script
    globals: dict[str, Any] = field(default_factory=dict)


def script_target(path: str) -> Target:
    """A script file, as `python path` would run it."""
    if not os.path.isfile(path):
        raise TargetError(f"can't open file {os.path.abspath(path)!r}: no such file; check the script's path")
    filename = os.path.abspath(path)
    return Target(filename, _read(filename), path, os.path.dirname(filename),
                  globals={"__file__": filename, "__cached__": None, "__package__": None, "__spec__": None,
                           "__loader__": importlib.machinery.SourceFileLoader("__main__", filename)})


def module_target(name: str) -> Target:
    """A module (or a package's __main__), as `python -m name` would run it."""
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            name = f"{name}.__main__"
            spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as error:
        raise TargetError(f"no module named {name!r} ({error}); check the name and sys.path") from None
    if spec is None or not spec.origin or not os.path.isfile(spec.origin) or not spec.origin.endswith(".py"):
        raise TargetError(f"no module named {name!r} with Python source; check the name and sys.path")
    return Target(spec.origin, _read(spec.origin), spec.origin, os.getcwd(), spec,
                  globals={"__file__": spec.origin, "__cached__": None, "__package__": spec.parent,
                           "__spec__": spec, "__loader__": spec.loader})


def _read(filename: str) -> str:
    try:
        with open(filename, "rb") as handle:
            return importlib.util.decode_source(handle.read())
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        raise TargetError(f"can't read {filename!r} ({error}); check the file") from None


def compile_target(target: Target, rules: Sequence[Rule]) -> types.CodeType:
    """The target's code with the rules' calls wrapped; raises the user's own SyntaxError unchanged."""
    tree = compile(target.source, target.filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    plan = plan_for(target, rules)
    if plan is not None and plan.matches:
        from provinstr.rewrite.transformer import instrument

        instrument(tree, plan, target.source)
    return compile(tree, target.filename, "exec", dont_inherit=True)


def plan_for(target: Target, rules: Sequence[Rule]) -> Plan | None:
    """The capture plan (cached by source, rules and provinstr version); None when libcst cannot parse it."""
    from provinstr.capture.safety import report
    from provinstr.rewrite import cache

    if not rules:
        return Plan(target.filename, ())
    plan = cache.load(target.source, rules, target.filename)
    if plan is not None:
        return plan
    try:
        from provinstr.rewrite.plan import make_plan

        plan = make_plan(target.source, rules, target.filename)
    except Exception as error:  # noqa: BLE001 - an unparsable file still runs, uncaptured
        report(error, f"matching rules in {target.filename} (it runs without rule-based capture)")
        return None
    cache.store(target.source, rules, plan)
    return plan


def fresh_module(target: Target, name: str = "__main__") -> types.ModuleType:
    """An empty module for the target's rewritten code: its globals and the runtime helper it calls."""
    from provinstr.rewrite import runtime

    module = types.ModuleType(name)
    module.__dict__.update(target.globals, __builtins__=builtins, **{HELPER: runtime})
    return module


def execute(target: Target, args: Sequence[str], rules: Sequence[Rule], store: str | None = None,
            name: str | None = None, group: str | None = None) -> int:
    """Run the target in this process as __main__ inside a provinstr Run; returns the exit code.

    A user exception is reported like Python does (exit 1); SystemExit propagates unchanged.
    """
    from provinstr.capture import calls
    from provinstr.capture.run import Run

    try:
        code = compile_target(target, rules)
    except SyntaxError as error:
        _report(error.with_traceback(None))  # Python shows only the file, line and caret
        return 1
    calls.activate(rules, target.filename)
    module = fresh_module(target)
    saved_argv, saved_path0, saved_main = sys.argv, sys.path[0] if sys.path else None, sys.modules.get("__main__")
    sys.argv = [target.argv0, *args]
    if sys.path:
        sys.path[0] = target.path0
    else:
        sys.path.append(target.path0)
    sys.modules["__main__"] = module
    try:
        run = Run(name=name, store=store, script=target.filename, argv=list(sys.argv), group=group)
        with run:
            try:
                exec(code, module.__dict__)
            except SystemExit:
                raise
            except BaseException as error:
                _cut_provinstr_frames(error)
                raise
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - the user's exception, reported as Python would
        _report(error)
        return 130 if isinstance(error, KeyboardInterrupt) else 1
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    return 0


def _report(error: BaseException) -> None:
    """Print an uncaught exception the way the interpreter does (through sys.excepthook)."""
    sys.stdout.flush()
    sys.excepthook(type(error), error, error.__traceback__)
    sys.stderr.flush()


def _cut_provinstr_frames(error: BaseException, seen: set[int] | None = None) -> None:
    """Leave only the user's (and libraries') frames in a traceback, its causes and contexts included."""
    seen = seen if seen is not None else set()
    if id(error) in seen:
        return
    seen.add(id(error))
    kept = []
    tb = error.__traceback__
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            kept.append(tb)
        tb = tb.tb_next
    if kept:  # an error of provinstr's own (strict mode) keeps every frame
        for current, following in zip(kept, kept[1:] + [None]):
            current.tb_next = following
        error.__traceback__ = kept[0]
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            _cut_provinstr_frames(linked, seen)
