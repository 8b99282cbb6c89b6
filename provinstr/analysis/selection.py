"""Choosing runs: `--where` expressions (parsed by hand, never evaluated), `--sort` keys and what a name means.

A name in an expression or a sort key is, in this order: a run field (id, name, group, status,
host, start, end, duration), a hyperparameter of the run, the final value of a metric (its last
epoch). `param.NAME`, `final.NAME` and `best.NAME` (the best epoch's value: the highest for
accuracy-like metrics, else the lowest) say which one explicitly.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo

__all__ = ["WhereError", "field_names", "lookup", "parse_where", "select", "sort_runs"]

RUN_FIELDS = ("id", "name", "group", "status", "host", "start", "end", "duration")
_MISSING = object()
_GRAMMAR = ("write comparisons NAME OP VALUE (OP: = != < <= > >=; VALUE: a number, 'text' or \"text\", "
            "true, false) joined by and / or, with parentheses: learning_rate < 0.01 and (K = 24 or optimizer = 'sgd')")


class WhereError(ValueError):
    """A --where expression that does not parse; the message names the position and what to write."""


def lookup(info: "RunInfo", name: str) -> Any:
    """The value `name` has for the run (see the module docstring), or None when the run lacks it."""
    value = _lookup(info, name)
    return None if value is _MISSING else value


def _lookup(info: "RunInfo", name: str) -> Any:
    if name in RUN_FIELDS:
        value = {"start": info.started, "end": info.ended, "duration": info.duration}.get(name, _MISSING)
        value = getattr(info, name) if value is _MISSING else value
        return _MISSING if value is None else value
    if name in info.params:
        return info.params[name]
    if name in info.final:
        return info.final[name]
    prefix, _, rest = name.partition(".")
    table = {"param": info.params, "final": info.final, "best": info.best}.get(prefix)
    if table is not None and rest in table:
        return table[rest]
    return _MISSING


def field_names(infos: "list[RunInfo]") -> tuple[list[str], list[str]]:
    """(hyperparameter names, metric names) any of the runs has, sorted."""
    params = sorted({name for info in infos for name in info.params})
    metrics = sorted({name for info in infos for name in info.final})
    return params, metrics


# -- --where ---------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<op><=|>=|!=|==|=|<|>)
  | (?P<paren>[()])
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.]))
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][\w.\-/]*)
""", re.VERBOSE)


@dataclass
class _Token:
    kind: str  # op, paren, number, string, name, word (and / or / not / true / false), end
    text: str
    value: Any
    at: int  # 0-based offset in the expression


def _tokens(text: str) -> list[_Token]:
    found, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            what = "an unclosed quote" if text[at] in "'\"" else f"{text[at]!r}"
            raise WhereError(f"--where: {what} at position {at + 1} of {text!r}; {_GRAMMAR}")
        kind = match.lastgroup
        word = match.group()
        if kind == "number":
            found.append(_Token(kind, word, float(word) if re.search(r"[.eE]", word) else int(word), at))
        elif kind == "string":
            found.append(_Token(kind, word, re.sub(r"\\(.)", r"\1", word[1:-1]), at))
        elif kind == "name" and word.lower() in ("and", "or", "not", "true", "false"):
            found.append(_Token("word", word.lower(), {"true": True, "false": False}.get(word.lower()), at))
        elif kind != "space":
            found.append(_Token(kind, word, word, at))
        at = match.end()
    found.append(_Token("end", "", None, len(text)))
    return found


class _Parser:
    """expression := and_expr ('or' and_expr)* ; and_expr := unary ('and' unary)* ;
    unary := 'not' unary | '(' expression ')' | comparison ; comparison := operand OP operand."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0

    def parse(self) -> Callable[["RunInfo"], bool]:
        if self.peek().kind == "end":
            self.fail("an empty expression")
        test = self.expression()
        if self.peek().kind != "end":
            self.fail(f"{self.peek().text!r} after a complete comparison (join comparisons with and / or)")
        return test

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def fail(self, found: str) -> None:
        token = self.peek()
        where = "at the end" if token.kind == "end" else f"at position {token.at + 1}"
        raise WhereError(f"--where: {found} {where} of {self.text!r}; {_GRAMMAR}")

    def expression(self) -> Callable[["RunInfo"], bool]:
        parts = [self.conjunction()]
        while self.peek().kind == "word" and self.peek().text == "or":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda info: any(part(info) for part in parts))

    def conjunction(self) -> Callable[["RunInfo"], bool]:
        parts = [self.unary()]
        while self.peek().kind == "word" and self.peek().text == "and":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda info: all(part(info) for part in parts))

    def unary(self) -> Callable[["RunInfo"], bool]:
        token = self.peek()
        if token.kind == "word" and token.text == "not":
            self.take()
            inner = self.unary()
            return lambda info: not inner(info)
        if token.kind == "paren" and token.text == "(":
            self.take()
            inner = self.expression()
            if self.peek().text != ")":
                self.fail("a missing ')'" if self.peek().kind == "end" else f"{self.peek().text!r} where ')' belongs")
            self.take()
            return inner
        return self.comparison()

    def operand(self) -> tuple[str, Any]:
        token = self.peek()
        if token.kind == "name":
            self.take()
            return "name", token.value
        if token.kind in ("number", "string") or (token.kind == "word" and token.value is not None):
            self.take()
            return "value", token.value
        self.fail("nothing" if token.kind == "end" else f"{token.text!r} where a name or a value belongs")
        raise AssertionError  # pragma: no cover (fail raises)

    def comparison(self) -> Callable[["RunInfo"], bool]:
        left = self.operand()
        if self.peek().kind != "op":
            found = self.peek()
            self.fail("a comparison without an operator" if found.kind == "end"
                      else f"{found.text!r} where an operator (= != < <= > >=) belongs")
        op = self.take().text
        right = self.operand()
        if left[0] == "value" and right[0] == "value":
            self.fail("a comparison of two values (one side names a hyperparameter or metric)")
        return _comparison(left, "=" if op == "==" else op, right)


def _comparison(left: tuple[str, Any], op: str, right: tuple[str, Any]) -> Callable[["RunInfo"], bool]:
    def side(info: "RunInfo", operand: tuple[str, Any]) -> Any:
        return _lookup(info, operand[1]) if operand[0] == "name" else operand[1]

    def test(info: "RunInfo") -> bool:
        a, b = side(info, left), side(info, right)
        if a is _MISSING or b is _MISSING:
            return False  # a run lacking the key matches no comparison (!= included)
        a, b = _comparable(a, b)
        if a is _MISSING:
            return op == "!="
        if op == "=":
            return a == b
        if op == "!=":
            return a != b
        try:
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        except TypeError:
            return False
    return test


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Numbers as numbers (a number written as text too), booleans as booleans, the rest as text."""
    if isinstance(a, bool) or isinstance(b, bool):
        return (a, b) if isinstance(a, bool) and isinstance(b, bool) else (_MISSING, None)
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        x, y = _number(a), _number(b)
        return (x, y) if x is not None and y is not None else (_MISSING, None)
    if isinstance(a, _dt.datetime) or isinstance(b, _dt.datetime):
        a = a.isoformat() if isinstance(a, _dt.datetime) else a
        b = b.isoformat() if isinstance(b, _dt.datetime) else b
    return str(a), str(b)


def parse_where(text: str) -> Callable[["RunInfo"], bool]:
    """The test a --where expression makes of a run (raises WhereError naming the position when malformed)."""
    return _Parser(text).parse()


def names_in(text: str) -> list[str]:
    """The names a --where expression refers to, in order, once each."""
    seen: list[str] = []
    for token in _tokens(text):
        if token.kind == "name" and token.value not in seen:
            seen.append(token.value)
    return seen


# -- --sort ----------------------------------------------------------------------------
def sort_keys(spec: str | list[str] | None) -> list[tuple[str, bool]]:
    """[(name, descending)] from 'val_loss', '-val_loss' or 'K,-val_loss'."""
    if not spec:
        return []
    parts = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in s.split(",")]
    keys = []
    for part in (p.strip() for p in parts):
        if not part or part in ("-", "+"):
            raise WhereError(f"--sort {spec!r}: an empty key; write NAME or -NAME (descending), e.g. --sort -val_loss")
        keys.append((part[1:], True) if part[0] == "-" else (part.lstrip("+"), False))
    return keys


def sort_runs(infos: "list[RunInfo]", spec: str | list[str] | None) -> "list[RunInfo]":
    """Runs ordered by the keys; ties keep the listing's order (oldest first); runs lacking a key go last."""
    ordered = list(infos)
    for name, descending in reversed(sort_keys(spec)):  # stable sorts, the last key first
        present = [(_sort_value(_lookup(info, name)), info) for info in ordered]
        missing = [info for value, info in present if value is None]
        present = [(value, info) for value, info in present if value is not None]
        present.sort(key=lambda pair: pair[0], reverse=descending)
        ordered = [info for _, info in present] + missing
    return ordered


def _sort_value(value: Any) -> tuple | None:
    """Numbers before text, each in its natural order; None for a missing key or NaN."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return None if value != value else (0, value, "")
    if isinstance(value, _dt.datetime):
        return (2, 0, value.isoformat())
    return (3, 0, str(value))


def select(infos: "list[RunInfo]", where: str | None = None, sort: str | list[str] | None = None,
           limit: int | None = None, group: str | None = None, status: str | None = None) -> "list[RunInfo]":
    """The runs a user asked for: of `group`, with `status`, matching `where`, sorted, the first `limit`."""
    test = parse_where(where) if where else None
    keys = sort_keys(sort)  # malformed keys are reported before any work
    chosen = [info for info in infos
              if (group is None or info.group == group) and (status is None or info.status == status)
              and (test is None or test(info))]
    if keys:
        chosen = sort_runs(chosen, sort)
    if limit is not None:
        if limit < 0:
            raise WhereError(f"--limit {limit}: give a number of runs, 0 or more")
        chosen = chosen[:limit]
    return chosen
