"""Applying a capture plan: to source text (`provinstr rewrite`) or to the AST (`provinstr run`, positions kept)."""

from __future__ import annotations

import ast
import re
from typing import Sequence

from provinstr.rewrite.plan import HELPER, Match, Plan

# The one line `provinstr rewrite` adds; the runtime activates the same rule files the rewrite used.
IMPORT_LINE = "import provinstr.rewrite.runtime as {helper}; {helper}.activate({rules!r}, __file__)"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# What each kind of match calls: a callee is wrapped, a for loop's iterable and a while loop's test
# pass through the engine, an assignment's names are handed over after the statement.
_HELPERS = {"call": "wrap", "loop": "loop", "while": "loop_test", "value": "value"}


def wrapper_prefix(match: Match | None = None) -> str:
    kind = match.kind if match else "call"
    # An iterable or test is parenthesised: `for x in a, b:` passes one tuple, not two arguments.
    return f"{HELPER}.{_HELPERS[kind]}(" + ("(" if kind in ("loop", "while") else "")


def wrapper_suffix(match: Match) -> str:
    closing = ")" if match.kind in ("loop", "while") else ""
    return f"{closing}, {match.rule_ids!r}, {match.line}, {match.name!r})"


def value_call(match: Match) -> str:
    """`; __provinstr__.value(("rule",), LINE, "a,b", a, b)`: the statement's values, right after it."""
    return f"; {HELPER}.value({match.rule_ids!r}, {match.line}, {match.name!r}, {', '.join(match.name.split(','))})"


def rewrite_source(source: str, plan: Plan, rule_files: Sequence[str] = ()) -> str:
    """The source with every planned call wrapped and one import line added; other text is kept byte for byte.

    `f(a, b=1)` becomes `__provinstr__.wrap(f, ("rule-id",), LINE, "name")(a, b=1)`; a source that
    already holds the import line (a rewritten file) gets no second one.
    """
    offsets = _line_offsets(source)
    edits: list[tuple[int, int, str]] = []  # (position, order at that position, text)
    for match in plan.matches:
        start = offsets[match.line - 1] + match.column
        end = offsets[match.end_line - 1] + match.end_column
        if match.kind == "value":
            edits.append((end, 0, -start, value_call(match)))  # type: ignore[arg-type]
            continue
        # At one position, closing text goes before opening text, and longer callees open first.
        edits.append((start, 1, -end, wrapper_prefix(match)))  # type: ignore[arg-type]
        edits.append((end, 0, -start, wrapper_suffix(match)))  # type: ignore[arg-type]
    pieces = []
    last = 0
    for position, _, _, text in sorted(edits):  # type: ignore[misc]
        pieces.append(source[last:position])
        pieces.append(text)
        last = position
    pieces.append(source[last:])
    rewritten = "".join(pieces)
    if plan.matches and not has_import_line(source):
        rewritten = _insert_import(rewritten, IMPORT_LINE.format(helper=HELPER, rules=list(rule_files)))
    return rewritten


def has_import_line(source: str) -> bool:
    return re.search(rf"^import provinstr\.rewrite\.runtime as {HELPER}\b", source, re.MULTILINE) is not None


def instrument(tree: ast.Module, plan: Plan, source: str) -> int:
    """Wrap the planned calls in an AST parsed from `source`, in place; every new node takes its
    callee's position, so line numbers and columns in tracebacks are the original's. Returns how many."""
    byte_columns = _ByteColumns(source)
    wanted = {
        (m.kind, m.line, byte_columns(m.line, m.column), m.end_line, byte_columns(m.end_line, m.end_column)): m
        for m in plan.matches
    }
    wrapped = _instrument_loops(tree, wanted)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        match = wanted.get(("call", func.lineno, func.col_offset, func.end_lineno, func.end_col_offset))
        if match is None:
            continue
        helper = ast.Attribute(ast.Name(HELPER, ast.Load()), "wrap", ast.Load())
        ids = ast.Tuple([ast.Constant(rule_id) for rule_id in match.rule_ids], ast.Load())
        node.func = ast.Call(helper, [func, ids, ast.Constant(match.line), ast.Constant(match.name)], [])
        for new in (node.func, helper, helper.value, ids, *ids.elts, *node.func.args[2:]):
            ast.copy_location(new, func)
        wrapped += 1
    return wrapped


def _position(kind: str, node: ast.AST) -> tuple:
    return (kind, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def _helper_call(function: str, match: Match, where: ast.AST, first: ast.expr | None = None,
                 rest: list[ast.expr] = ()) -> ast.Call:  # type: ignore[assignment]
    """`__provinstr__.<function>([first,] ids, line, name, *rest)`, every new node at `where`'s position."""
    helper = ast.Attribute(ast.Name(HELPER, ast.Load()), function, ast.Load())
    ids = ast.Tuple([ast.Constant(rule_id) for rule_id in match.rule_ids], ast.Load())
    constants = [ast.Constant(match.line), ast.Constant(match.name)]
    call = ast.Call(helper, [*([first] if first is not None else []), ids, *constants, *rest], [])
    for new in (call, helper, helper.value, ids, *ids.elts, *constants, *rest):
        ast.copy_location(new, where)
    return call


def _instrument_loops(tree: ast.Module, wanted: dict) -> int:
    """Epoch loops' iterables and tests through the engine; after each matched assignment, its values."""
    done = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and (match := wanted.get(_position("loop", node.iter))):
            node.iter = _helper_call("loop", match, node.iter, node.iter)
            done += 1
        elif isinstance(node, ast.While) and (match := wanted.get(_position("while", node.test))):
            node.test = _helper_call("loop_test", match, node.test, node.test)
            done += 1
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                continue
            for index in range(len(block) - 1, -1, -1):
                statement = block[index]
                start = (statement.lineno, statement.col_offset, statement.end_lineno, statement.end_col_offset)
                match = wanted.get(("value", *start))
                if match is None:
                    continue
                loads: list[ast.expr] = [ast.Name(name, ast.Load()) for name in match.name.split(",")]
                call = _helper_call("value", match, statement, rest=loads)
                block.insert(index + 1, ast.copy_location(ast.Expr(call), statement))
                done += 1
    return done


def _line_offsets(source: str) -> list[int]:
    """Character offset of the start of each line (line breaks as Python's tokenizer sees them)."""
    offsets = [0]
    for found in _LINE_BREAK.finditer(source):
        offsets.append(found.end())
    return offsets


class _ByteColumns:
    """Turns libcst's character columns into the UTF-8 byte columns the ast module uses."""

    def __init__(self, source: str) -> None:
        self.lines = _LINE_BREAK.split(source)

    def __call__(self, line: int, column: int) -> int:
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        return column if text.isascii() else len(text[:column].encode("utf-8"))


def _insert_import(source: str, line: str) -> str:
    """Add `line` after the module docstring and `from __future__` imports (where an import may go)."""
    tree = ast.parse(source)
    after = 0
    for index, statement in enumerate(tree.body):
        docstring = index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
            and isinstance(statement.value.value, str)
        future = isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
        if not (docstring or future):
            break
        after = statement.end_lineno or 0
    offsets = _line_offsets(source)
    newline = _LINE_BREAK.search(source)
    eol = newline.group(0) if newline else "\n"
    if after >= len(offsets):  # the file ends on that statement, without a final line break
        return source + eol + line + eol
    position = offsets[after]
    if after and position == len(source) and not source.endswith(("\n", "\r")):
        return source + eol + line + eol
    return source[:position] + line + eol + source[position:]
