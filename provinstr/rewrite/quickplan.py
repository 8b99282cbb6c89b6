"""Matching calls without libcst: qualified names from the `ast` tree, where they are certain to be libcst's.

libcst's scope analysis walks the whole module and costs about a second for 500 lines; the
`ast` module parses the same file in milliseconds. A call's qualified names only matter when a
rule could match one of them. They are certain when the callee's first name is bound by
module-level imports only, all before the call: then libcst resolves it through those imports,
which this module does the same way (a port of ImportAssignment.get_qualified_names_for). Any
other call a rule could match by qualified name, and any star import, returns None: libcst decides.
"""

from __future__ import annotations

import ast
import builtins
import re
from typing import Iterator, Sequence

from provinstr.rewrite.plan import HELPER, Match, match_rules
from provinstr.rules.model import Rule, normalise

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_WILDCARD = re.compile(r"[*?\[]")


class _Undecided(Exception):
    """Only libcst can tell this call's qualified names (or this file's)."""


def find_matches(source: str, rules: Sequence[Rule]) -> list[Match] | None:
    """The calls the rules match, as libcst would find them; None when libcst must decide (raises SyntaxError)."""
    tree = ast.parse(source)
    names = _Bindings(tree)
    if names.star:
        return None
    lines = _LINE_BREAK.split(source)
    offsets = [0]
    for found in _LINE_BREAK.finditer(source):
        offsets.append(found.end())
    matches = []
    try:
        for call, in_fstring in _calls(tree, False):
            func = call.func
            if not isinstance(func, (ast.Name, ast.Attribute)) or _is_helper(func):
                continue
            # Only a dotted name has qualified names (`Adam(...).get_config` has none): as in plan.Finder.
            dotted = dotted_name(func)
            qualified = sorted(normalise(q) for q in names.qualified(func, dotted, rules)) if dotted else []
            spelled = func.id if isinstance(func, ast.Name) else None
            attribute = func.attr if isinstance(func, ast.Attribute) else None
            ids, name = match_rules(rules, qualified, spelled, attribute)
            if not ids:
                continue
            if in_fstring:
                raise _Undecided  # ast positions inside f-strings are not reliable before Python 3.12
            line, end_line = func.lineno, func.end_lineno or func.lineno
            column = _char_column(lines, line, func.col_offset)
            end_column = _char_column(lines, end_line, func.end_col_offset or 0)
            text = source[offsets[line - 1] + column:offsets[end_line - 1] + end_column]
            matches.append(Match(line, column, end_line, end_column, tuple(ids), name or "",
                                 re.sub(r"\s+", " ", text)))
    except _Undecided:
        return None
    return matches


def _calls(node: ast.AST, in_fstring: bool) -> Iterator[tuple[ast.Call, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Call):
            yield child, in_fstring
        yield from _calls(child, in_fstring or isinstance(child, ast.JoinedStr))


def _is_helper(func: ast.expr) -> bool:
    """Calls provinstr already instrumented (`__provinstr__.wrap(f, ...)(args)`) are left alone."""
    while isinstance(func, ast.Call):
        func = func.func
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id == HELPER


def _char_column(lines: list[str], line: int, byte_column: int) -> int:
    """ast's UTF-8 byte column as the character column libcst reports."""
    text = lines[line - 1] if line - 1 < len(lines) else ""
    return byte_column if text.isascii() else len(text.encode("utf-8")[:byte_column].decode("utf-8", "replace"))


def dotted_name(node: ast.AST) -> str | None:
    """The callee as a dotted name, `a.b.c`; None for any other expression (`a.b(x).c`, `a[0].c` ...)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        value = dotted_name(node.value)
        return None if value is None else f"{value}.{node.attr}"
    return None


class _Bindings:
    """Every name the module binds: by module-level imports (with the import), or in any other way."""

    def __init__(self, tree: ast.Module) -> None:
        self.imports: dict[str, list[ast.Import | ast.ImportFrom]] = {}  # bound name -> module-level imports
        self.nested: dict[str, list[ast.Import | ast.ImportFrom]] = {}  # bound name -> imports in a def or class
        self.other: set[str] = set()  # first names bound any other way, anywhere
        self.scope_names: set[str] = set()  # function and class names (parts of libcst's local names)
        self.star = False
        self._visit(tree, top=True)

    def _visit(self, node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                self._import(child, top)
            elif isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
                self.other.add(child.id)
            elif isinstance(child, ast.arg):
                self.other.add(child.arg)
            elif isinstance(child, (ast.Global, ast.Nonlocal)):
                self.other.update(child.names)
            elif isinstance(child, ast.ExceptHandler) and child.name:
                self.other.add(child.name)
            elif isinstance(child, (ast.MatchAs, ast.MatchStar)) and child.name:
                self.other.add(child.name)
            elif isinstance(child, ast.MatchMapping) and child.rest:
                self.other.add(child.rest)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.other.add(child.name)
                self.scope_names.add(child.name)
            self._visit(child, top and not isinstance(child, _SCOPES))

    def _import(self, node: ast.Import | ast.ImportFrom, top: bool) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star = True
                continue
            if alias.asname:
                bound = [alias.asname]
            elif isinstance(node, ast.Import):
                parts = alias.name.split(".")
                bound = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
            else:
                bound = [alias.name]
            for name in bound:
                (self.imports if top else self.nested).setdefault(name, []).append(node)
                if not top:
                    self.other.add(name.split(".")[0])

    def qualified(self, func: ast.expr, dotted: str, rules: Sequence[Rule]) -> set[str]:
        """The qualified names libcst gives the callee `dotted` (its dotted name), or an empty set when
        none could match a rule.

        Raises _Undecided when a rule could match a name only libcst's scope analysis can tell.
        """
        head = dotted.split(".")[0]
        found = self.imports.get(head)
        if found and head not in self.other and all(_before(node, func) for node in found):
            prefix: str | None = dotted
            while prefix:
                if prefix in self.imports:
                    return {q for node in self.imports[prefix] for q in _import_names(node, dotted)}
                cut = prefix.rfind(".")
                prefix = None if cut == -1 else prefix[:cut]
        # Not certain: decided all the same when no rule could match any name libcst might give.
        imported = {q for table in (self.imports, self.nested) for name, nodes in table.items()
                    if dotted == name or dotted.startswith(name + ".") for node in nodes
                    for q in _import_names(node, dotted)}
        if any(_matches(rule, normalise(q)) for rule in rules for q in imported):
            raise _Undecided
        if self._could_match(head, dotted, rules):
            raise _Undecided
        return set()

    def _could_match(self, head: str, dotted: str, rules: Sequence[Rule]) -> bool:
        """Could a rule match this callee's local name (`<scopes>.dotted`) or a builtin's (`builtins.head`)?"""
        builtin = "builtins." + head if hasattr(builtins, head) else ""  # libcst's BuiltinScope asks the same
        firsts = self.scope_names | {head}
        if firsts & {"tf", "tensorflow", "tf_keras"}:
            firsts = firsts | {"keras"}  # normalise() turns tf.keras.X into keras.X
        for rule in rules:
            if builtin and rule.matches_name(normalise(builtin)):
                return True
            for pattern in rule.calls:
                first = pattern.split(".")[0]
                if _WILDCARD.search(first) or first in firsts:
                    return True
            for function in rule.functions:
                if dotted.endswith("." + function) or (builtin and builtin.endswith("." + function)):
                    return True
        return False


def _matches(rule: Rule, qualified: str) -> bool:
    return rule.matches_name(qualified) or any(qualified.endswith("." + f) for f in rule.functions)


def _before(node: ast.stmt, func: ast.expr) -> bool:
    """True when the import statement ends before the call's callee begins."""
    end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
    return end <= (func.lineno, func.col_offset)


def _import_names(node: ast.Import | ast.ImportFrom, full: str) -> set[str]:
    """libcst's ImportAssignment.get_qualified_names_for(full), on the ast import statement."""
    module = ""
    if isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
    results = set()
    for alias in node.names:
        parts = alias.name.split(".")
        for i in range(len(parts), 0, -1):
            real = as_name = ".".join(parts[:i])
            if module and module.endswith("."):
                real = f"{module}{real}"
            elif module:
                real = f"{module}.{real}"
            if alias.asname:
                as_name = alias.asname
            if full.startswith(as_name):
                remaining = full.split(as_name, 1)[1]
                if remaining and not remaining.startswith("."):
                    continue
                remaining = remaining.lstrip(".")
                results.add(f"{real}.{remaining}" if remaining else real)
                break
    return results
