"""Finding epoch loops and assignments of the epoch's values in a source file (for rules with `loops` / `assigns`).

These need no name resolution, so the `ast` tree alone decides: a `for` loop is an epoch loop when a
name in its target or iterable matches a rule's `loops` pattern (`for t in range(args.epochs)`), a
`while` loop when a name in its test does, or a name its body counts (`epoch += 1`). A `for` loop whose
target is a count of epochs (`for num_epochs in (10, 20)`) is a sweep, not an epoch loop. An assignment
to a name matching an `assigns` pattern (`val_loss = ...`, `correct += ...`) hands the value to the
capture engine right after the statement.
"""

from __future__ import annotations

import ast
from typing import Iterator, Sequence

from provinstr.rewrite.plan import Match
from provinstr.rewrite.quickplan import _LINE_BREAK, _char_column
from provinstr.rules.model import Rule

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def find(source: str, rules: Sequence[Rule], tree: ast.Module | None = None) -> list[Match]:
    """The epoch loops (kind "loop") and value assignments (kind "value") the rules match."""
    loop_rules = [rule for rule in rules if rule.loops]
    value_rules = [rule for rule in rules if rule.assigns]
    if not (loop_rules or value_rules):
        return []
    tree = tree or ast.parse(source)
    lines = _LINE_BREAK.split(source)
    matches: list[Match] = []
    for node in ast.walk(tree):
        if loop_rules and isinstance(node, (ast.For, ast.While)):
            match = _loop(node, loop_rules, lines)
            if match is not None:
                matches.append(match)
        elif value_rules and isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            match = _value(node, value_rules, lines)
            if match is not None:
                matches.append(match)
    return matches


def loop_names(node: ast.For | ast.While) -> list[str]:
    """The names a loop mentions: its target and iterable (for), its test and the names its body counts (while)."""
    if isinstance(node, ast.For):
        return [*_names(node.target), *_names(node.iter)]
    counted = [name for statement in _own_statements(node.body) if isinstance(statement, (ast.AugAssign, ast.Assign))
               for target in _targets(statement) for name in _names(target)]
    return [*_names(node.test), *counted]


def assigned_names(node: ast.Assign | ast.AugAssign | ast.AnnAssign) -> list[str]:
    """The plain names a statement binds (`a, (b, c) = ...` gives a, b, c; attributes and subscripts give none)."""
    if isinstance(node, ast.AnnAssign) and node.value is None:
        return []
    found: list[str] = []
    for target in _targets(node):
        found += _bound(target)
    return found


def _loop(node: ast.For | ast.While, rules: Sequence[Rule], lines: list[str]) -> Match | None:
    if isinstance(node, ast.For) and any(name.lower().endswith("epochs") for name in _names(node.target)):
        return None  # `for num_epochs in (10, 20):` sweeps over epoch counts; the loop inside is the epoch loop
    names = loop_names(node)
    ids = tuple(rule.id for rule in rules if rule.matches_loop(names))
    if not ids:
        return None
    expression = node.iter if isinstance(node, ast.For) else node.test
    line, end_line = expression.lineno, expression.end_lineno or expression.lineno
    column, end_column = _char_column(lines, line, expression.col_offset), \
        _char_column(lines, end_line, expression.end_col_offset or 0)
    target = node.target if isinstance(node, ast.For) else None
    name = target.id if isinstance(target, ast.Name) else ""
    keyword = "for" if isinstance(node, ast.For) else "while"
    return Match(line, column, end_line, end_column, ids, name, f"{keyword} loop at line {node.lineno}",
                 kind="loop" if keyword == "for" else "while")


def _value(node: ast.Assign | ast.AugAssign | ast.AnnAssign, rules: Sequence[Rule], lines: list[str]) -> Match | None:
    names = [name for name in assigned_names(node) if any(rule.matches_assign(name) for rule in rules)]
    if not names:
        return None
    ids = tuple(rule.id for rule in rules if any(rule.matches_assign(name) for name in names))
    end_line = node.end_lineno or node.lineno
    end_column = _char_column(lines, end_line, node.end_col_offset or 0)
    # The position is the statement's end: the value is handed over right after it ran.
    return Match(node.lineno, _char_column(lines, node.lineno, node.col_offset), end_line, end_column, ids,
                 ",".join(names), f"assignment to {', '.join(names)}", kind="value")


def _targets(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    return [node.target]  # type: ignore[attr-defined]


def _bound(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _bound(element)]
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    return []


def _names(node: ast.AST) -> list[str]:
    """Every variable and attribute name inside an expression (`range(1, args.n_epochs + 1)`: range, args, n_epochs)."""
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.append(child.id)
        elif isinstance(child, ast.Attribute):
            found.append(child.attr)
    return found


def _own_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a block and of the blocks inside it, not those of functions or classes it defines."""
    for statement in body:
        if isinstance(statement, _SCOPES):
            continue
        yield statement
        for field in ("body", "orelse", "finalbody"):
            yield from _own_statements(getattr(statement, field, None) or [])
        for handler in getattr(statement, "handlers", None) or []:
            yield from _own_statements(handler.body)


