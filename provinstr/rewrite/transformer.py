"""Applying a capture plan: to source text (`provinstr rewrite`) or to the AST (`provinstr run`, positions kept)."""

from __future__ import annotations

import ast
import re
from typing import Sequence

from provinstr.rewrite.plan import HELPER, Match, Plan

# The one line `provinstr rewrite` adds; the runtime activates the same rule files the rewrite used.
IMPORT_LINE = "import provinstr.rewrite.runtime as {helper}; {helper}.activate({rules!r}, __file__)"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def wrapper_prefix() -> str:
    return f"{HELPER}.wrap("


def wrapper_suffix(match: Match) -> str:
    return f", {match.rule_ids!r}, {match.line}, {match.name!r})"


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
        # At one position, closing text goes before opening text, and longer callees open first.
        edits.append((start, 1, -end, wrapper_prefix()))  # type: ignore[arg-type]
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
        (m.line, byte_columns(m.line, m.column), m.end_line, byte_columns(m.end_line, m.end_column)): m
        for m in plan.matches
    }
    wrapped = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        match = wanted.get((func.lineno, func.col_offset, func.end_lineno, func.end_col_offset))
        if match is None:
            continue
        helper = ast.Attribute(ast.Name(HELPER, ast.Load()), "wrap", ast.Load())
        ids = ast.Tuple([ast.Constant(rule_id) for rule_id in match.rule_ids], ast.Load())
        node.func = ast.Call(helper, [func, ids, ast.Constant(match.line), ast.Constant(match.name)], [])
        for new in (node.func, helper, helper.value, ids, *ids.elts, *node.func.args[2:]):
            ast.copy_location(new, func)
        wrapped += 1
    return wrapped


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
