"""The capture plan: which calls of a source file the rules match (found with libcst), and how to explain it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from provinstr.rules.model import Rule, normalise

# The name instrumented code calls; a dunder no user code defines (like pytest's "@py_assert").
HELPER = "__provinstr__"


@dataclass(frozen=True)
class Match:
    """One call the rules matched; the position is the callee expression's (libcst: 1-based lines, char columns)."""

    line: int
    column: int
    end_line: int
    end_column: int
    rule_ids: tuple[str, ...]
    name: str  # normalised qualified name (call rules), method name, user function name, or the loop's/assigned names
    callee: str  # the callee as written (or what the loop or assignment is), for --explain
    kind: str = "call"  # "call" (the callee's position), "loop"/"while" (the iterable's/test's), "value" (the statement's)


@dataclass(frozen=True)
class Plan:
    """Every matched call of one file, in source order."""

    filename: str
    matches: tuple[Match, ...]


def make_plan(source: str, rules: Sequence[Rule], filename: str = "<string>") -> Plan:
    """Match the calls of `source` against the rules (raises SyntaxError or libcst.ParserSyntaxError).

    Names resolve as libcst's QualifiedNameProvider resolves them. Most scripts need no libcst: when
    every call a rule could match names a module-level import (or nothing a rule could match), the
    names are resolved from the `ast` tree, exactly as libcst would; anything else goes to libcst.
    """
    from provinstr.rewrite import quickplan

    from provinstr.rewrite import loops

    matches = quickplan.find_matches(source, rules)
    if matches is None:
        matches = libcst_matches(source, rules)
    matches = [*matches, *loops.find(source, rules)]
    return Plan(filename, tuple(sorted(matches, key=lambda m: (m.line, m.column, -m.end_line, -m.end_column))))


def libcst_matches(source: str, rules: Sequence[Rule]) -> list[Match]:
    """The calls the rules match, found with libcst's scope analysis over the whole module."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper

    wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    finder = _finder_class()(list(rules))
    wrapper.visit(finder)
    return finder.matches


def match_rules(rules: Sequence[Rule], qualified: Sequence[str], spelled: str | None,
                attribute: str | None) -> tuple[list[str], str | None]:
    """The ids of the rules a call matches and the name it matched by (the first hit, in the rules' order).

    `qualified` are the callee's normalised qualified names, sorted (none unless the callee is a
    dotted name: `a.b.c`, not `a().b` or `a[0].b`); `spelled` its name when the callee is a plain
    name; `attribute` the method name when it is an attribute.

    The ids end at the first rule without a receiver check: at run time the first rule whose
    receiver fits is the one applied (capture.calls._select), so no later rule could be
    (`keras.optimizers.schedules.X` is a schedule, not also an optimizer). A callee whose qualified
    name a `calls` pattern matches is that rule's only: `torch.save` is a function of the torch
    module, never a `.save` method of a model.
    """
    for rule in rules:
        hit = next((q for q in qualified if rule.matches_name(q)), None)
        if hit is not None:
            return [rule.id], hit
    ids: list[str] = []
    name = None
    for rule in rules:
        hit = next((q for q in qualified if rule.matches_name(q)), None)
        if hit is None and rule.method and attribute == rule.method:
            hit = attribute
        if hit is None and rule.functions:
            hit = next((f for f in rule.functions
                        if spelled == f or any(q.endswith("." + f) for q in qualified)), None)
        if hit is not None:
            ids.append(rule.id)
            name = name or hit
            if rule.method is None:
                break
    return ids, name


def explain(plan: Plan, rules: Sequence[Rule]) -> str:
    """The plan as text: each matched call with file:line, the rule(s) and their origin, what is captured."""
    by_id = {rule.id: rule for rule in rules}
    if not plan.matches:
        return f"{plan.filename}: no call matches a rule; the script runs unchanged (the run itself is recorded)"
    lines = [f"{plan.filename}: {len(plan.matches)} call(s) will be captured"]
    for match in plan.matches:
        what = f"{match.callee}(...)" if match.kind == "call" else match.callee
        lines.append(f"{plan.filename}:{match.line}: {what}  [{match.name}]")
        for rule_id in match.rule_ids:
            rule = by_id[rule_id]
            lines.append(f"    rule {rule.id} ({rule.origin}): {_what(rule)}; captures {_captures(rule)}")
    return "\n".join(lines)


def _what(rule: Rule) -> str:
    if rule.record == "component":
        what = f"a component pi:{rule.entity or 'Component'}"
    elif rule.record == "epochs":
        what = "an epoch loop (each iteration is an epoch)"
    elif rule.record == "values":
        what = "the epoch's values (each assigned value, as the script names it)"
    elif rule.record == "activity":
        what = f"an activity pi:{rule.activity}" + (f" labelled {rule.label!r}" if rule.label else "")
    else:
        what = f"a {rule.record} call"
    if rule.method:
        what += f", when the receiver is a {' or '.join(rule.receivers)}"
    if rule.adapter:
        what += f", with the {rule.adapter} adapter"
    return what


def _captures(rule: Rule) -> str:
    chosen = sorted(k for k, v in rule.capture.items() if v and k != "*")
    dropped = sorted(k for k, v in rule.capture.items() if not v and k != "*")
    if rule.capture.get("*"):
        return "every argument" + (f" except {', '.join(dropped)}" if dropped else "")
    return ", ".join(chosen) if chosen else "no argument"


_FINDER = None


def _finder_class():
    """The libcst visitor class, built on first use so importing this module does not import libcst."""
    global _FINDER
    if _FINDER is not None:
        return _FINDER
    import libcst as cst
    from libcst.metadata import PositionProvider, ScopeProvider

    class Finder(cst.CSTVisitor):
        # ScopeProvider, asked only about callees, gives what QualifiedNameProvider would
        # (it calls scope.get_qualified_names_for for every node of the module: twice the work).
        METADATA_DEPENDENCIES = (ScopeProvider, PositionProvider)

        def __init__(self, rules: list[Rule]) -> None:
            super().__init__()
            self.rules = rules
            self.matches: list[Match] = []

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if _is_helper(func):
                return
            if not isinstance(func, (cst.Name, cst.Attribute)):
                return  # `Dense(3)(x)` calls what a call returned: not a name a rule can match
            # Only a dotted name has a qualified name: libcst would name `Adam(...).get_config` (and
            # `Forest(...).fit`) through the call, `keras.optimizers.Adam.get_config`, which a constructor
            # pattern such as `keras.optimizers.*` matches. A method called on what a call (or a
            # subscript ...) returned is matched by method rules only; the receiver is checked at run time.
            scope = self.get_metadata(ScopeProvider, func, None) if _is_dotted(func) else None
            names = scope.get_qualified_names_for(func) if scope is not None else ()
            qualified = sorted(normalise(q.name) for q in names)
            spelled = func.value if isinstance(func, cst.Name) else None
            attribute = func.attr.value if isinstance(func, cst.Attribute) else None
            ids, name = match_rules(self.rules, qualified, spelled, attribute)
            if ids:
                where = self.get_metadata(PositionProvider, func)
                self.matches.append(Match(where.start.line, where.start.column, where.end.line, where.end.column,
                                          tuple(ids), name or "", _code(func)))

    def _is_dotted(func: cst.BaseExpression) -> bool:
        """`a`, `a.b.c` (parentheses allowed); not `a().b`, `a[0].b`, `(a or b).c` ..."""
        while isinstance(func, cst.Attribute):
            func = func.value
        return isinstance(func, cst.Name)

    def _is_helper(func: cst.BaseExpression) -> bool:
        """Calls provinstr already instrumented (`__provinstr__.wrap(f, ...)(args)`) are left alone."""
        while isinstance(func, cst.Call):
            func = func.func
        while isinstance(func, cst.Attribute):
            func = func.value
        return isinstance(func, cst.Name) and func.value == HELPER

    def _code(func: cst.BaseExpression) -> str:
        return re.sub(r"\s+", " ", cst.Module([]).code_for_node(func.with_changes(lpar=(), rpar=())))

    _FINDER = Finder
    return Finder
