"""Query answers as plain Python rows (and a pandas DataFrame when pandas is installed)."""

from __future__ import annotations

import itertools

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Iterator

import pyoxigraph as ox

_XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMBERS = {
    _XSD + t: int
    for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
              "unsignedInt", "unsignedLong", "negativeInteger", "nonPositiveInteger")
}
_NUMBERS.update({_XSD + "double": float, _XSD + "float": float, _XSD + "decimal": float})


def to_python(term: Any) -> Any:
    """An Oxigraph term as a Python value: numbers, booleans, datetimes, strings; IRIs as str."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        convert = _NUMBERS.get(datatype)
        try:
            if convert is not None:
                return convert(term.value)
            if datatype == _XSD + "boolean":
                return term.value in ("true", "1")
            if datatype == _XSD + "dateTime":
                return _dt.datetime.fromisoformat(term.value.replace("Z", "+00:00"))
        except ValueError:
            return term.value
        return term.value
    if isinstance(term, (ox.NamedNode, ox.BlankNode)):
        return term.value
    return str(term)


@dataclass
class QueryResult:
    """The answer to a SELECT (variables + rows), an ASK (boolean) or a CONSTRUCT (triples)."""

    variables: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    terms: list[tuple] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[Any] | None = None
    more: bool = False  # the answer has rows beyond those read (a query asked for at most `most`)

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return self.boolean if self.boolean is not None else bool(self.rows or self.triples)

    def dicts(self) -> list[dict[str, Any]]:
        """Rows as {variable: value} dicts."""
        return [dict(zip(self.variables, row)) for row in self.rows]

    def to_dataframe(self):
        """The rows as a pandas DataFrame (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise RuntimeError("to_dataframe() needs pandas: pip install pandas") from error
        return pd.DataFrame(self.rows, columns=self.variables)


def collect(answer: Any, most: int | None = None) -> QueryResult:
    """Read a pyoxigraph answer (it is lazy and must not outlive the open store): whole, or its first `most`
    rows or triples, `more` saying whether there were others (the rest is never read into memory)."""
    if isinstance(answer, ox.QueryBoolean):
        return QueryResult(boolean=bool(answer))
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        terms = [tuple(solution[v] for v in variables) for solution in _first(answer, most)]
        more = most is not None and len(terms) > most
        terms = terms[:most] if more else terms
        rows = [tuple(to_python(t) for t in row) for row in terms]
        return QueryResult(variables=variables, rows=rows, terms=terms, more=more)
    triples = list(_first(answer, most))
    more = most is not None and len(triples) > most
    return QueryResult(triples=triples[:most] if more else triples, more=more)


def _first(items: Any, most: int | None):
    """All of `items`, or its first most + 1 (one more tells whether there are others)."""
    return items if most is None else itertools.islice(items, most + 1)
