"""Answering the SPARQL page: a query (or a named query with its parameter values) refused when it is an
Update, run read-only, its answer as table cells for the page or as a SPARQL 1.1 CSV / JSON results file."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from provinstr.analysis import queries
from provinstr.analysis.store import RunNotFound
from provinstr.errors import QuerySyntaxError
from provinstr.ui.sparql_text import curie, error_position, update_keyword
from provinstr.vocab import RUN_BASE

__all__ = ["SEED_QUERIES", "Refused", "ask", "download", "named_queries"]

SEED_QUERIES = ("loss-for-k-l", "first-epochs")  # the seed paper's queries (a) and (b): listed first
SHOWN_ROWS = 1000  # rows the page's table gets unless it asks for more
MOST_ROWS = 20_000
LONGEST_QUERY = 200_000  # characters


class Refused(Exception):
    """A request the page cannot answer: an Update, a bad parameter, malformed SPARQL. `data` is its JSON."""

    def __init__(self, status: int, data: dict[str, Any]) -> None:
        super().__init__(data["error"])
        self.status = status
        self.data = data


@dataclass
class _Asked:
    text: str  # the SPARQL that runs (a named query with its values bound)
    named: str | None


def named_queries() -> list[dict[str, Any]]:
    """Every named query (the seed's first) with its parameters and text, for the page's list."""
    found = queries.available()
    order = [name for name in SEED_QUERIES if name in found] + [name for name in found if name not in SEED_QUERIES]
    return [{"name": name, "description": found[name].description, "seed": name in SEED_QUERIES,
             "builtin": found[name].builtin, "sparql": found[name].sparql,
             "parameters": [{"name": p.name, "type": p.type, "required": p.required, "default": p.default,
                             "help": p.help} for p in found[name].parameters]}
            for name in order]


def _asked(store, body: dict[str, Any]) -> _Asked:
    """What to run: {"query": text} or {"named": name, "params": {name: value}}; refuses Updates."""
    named = body.get("named")
    if named:
        values = {str(k): str(v) for k, v in (body.get("params") or {}).items() if str(v).strip() != ""}
        try:
            return _Asked(queries.find(str(named)).bind(values, store), str(named))
        except RunNotFound as error:
            raise Refused(400, {"error": f"parameter run: {error}", "kind": "parameter"}) from None
        except queries.QueryError as error:
            raise Refused(400, {"error": str(error), "kind": "parameter"}) from None
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        raise Refused(400, {"error": "write a query first (or pick a named query)", "kind": "empty"})
    if len(text) > LONGEST_QUERY:
        raise Refused(400, {"error": f"the query is {len(text):,} characters long; at most {LONGEST_QUERY:,}",
                            "kind": "size"})
    operation = update_keyword(text)
    if operation is not None:
        raise Refused(403, {
            "error": (f"SPARQL Update ({operation}) is refused: provinstr ui reads the store and never changes it. "
                      "Runs are recorded by `provinstr run`; ask SELECT, ASK, CONSTRUCT or DESCRIBE here."),
            "kind": "update", "operation": operation})
    return _Asked(text, None)


def _answer(store, asked: _Asked, most: int | None = None):
    try:
        return store.query(asked.text, most=most)
    except QuerySyntaxError as error:
        message = str(error)
        position = error_position(message)
        data: dict[str, Any] = {"error": message, "kind": "syntax", "sparql": asked.text}
        if position is not None:
            data["line"], data["column"] = position
        raise Refused(400, data) from None


def _cell(term: Any) -> dict[str, Any] | None:
    """One result term for the page: kind, text, a short form, its datatype or language, the run it names."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        cell: dict[str, Any] = {"t": "iri", "v": term.value, "s": curie(term.value)}
        tail = term.value[len(RUN_BASE):] if term.value.startswith(RUN_BASE) else ""
        if tail:
            cell["run"] = tail.split("/", 1)[0]
        return cell
    if isinstance(term, ox.BlankNode):
        return {"t": "bnode", "v": "_:" + term.value}
    if isinstance(term, ox.Literal):
        cell = {"t": "literal", "v": term.value}
        if term.language:
            cell["lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            cell["dt"] = curie(term.datatype.value)
        return cell
    return {"t": "other", "v": str(term)}


def ask(store, body: dict[str, Any]) -> dict[str, Any]:
    """The page's answer: {kind: select|ask|graph, variables, rows (cells), total, seconds, sparql}."""
    asked = _asked(store, body)
    limit = body.get("limit")
    limit = min(max(limit, 1), MOST_ROWS) if isinstance(limit, int) and not isinstance(limit, bool) else SHOWN_ROWS
    started = time.perf_counter()
    # only the rows shown are read: `SELECT * { ?s ?p ?o }` over 10,000 runs must not fill the server's memory
    result = _answer(store, asked, most=limit)
    seconds = time.perf_counter() - started
    answer: dict[str, Any] = {"seconds": round(seconds, 4), "named": asked.named, "sparql": asked.text,
                              "more": result.more}
    if result.boolean is not None:
        return {**answer, "kind": "ask", "boolean": result.boolean, "variables": [], "rows": [], "total": 0}
    if result.triples is not None:
        rows = [[_cell(t.subject), _cell(t.predicate), _cell(t.object)] for t in result.triples]
        return {**answer, "kind": "graph", "variables": ["subject", "predicate", "object"], "rows": rows,
                "total": len(rows)}
    rows = [[_cell(term) for term in row] for row in result.terms]
    return {**answer, "kind": "select", "variables": result.variables, "rows": rows, "total": len(rows)}


def _json_term(term: Any) -> dict[str, Any]:
    """A term in the SPARQL 1.1 Query Results JSON Format."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        found = {"type": "literal", "value": term.value}
        if term.language:
            found["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            found["datatype"] = term.datatype.value
        return found
    return {"type": "literal", "value": str(term)}


def _csv_term(term: Any) -> str:
    """A term in the SPARQL 1.1 Query Results CSV Format (plain values)."""
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return term.value if hasattr(term, "value") else str(term)


def download(store, body: dict[str, Any], kind: str) -> tuple[bytes, str, str]:
    """(file content, media type, file name) of the whole answer as SPARQL results CSV or JSON."""
    asked = _asked(store, body)
    result = _answer(store, asked)
    name = re.sub(r"[^\w.-]+", "_", asked.named or "query")  # a project's file name, safe in a header
    if result.boolean is not None:
        variables, rows = [], []
    elif result.triples is not None:
        variables = ["subject", "predicate", "object"]
        rows = [(t.subject, t.predicate, t.object) for t in result.triples]
    else:
        variables, rows = result.variables, result.terms
    if kind == "json":
        if result.boolean is not None:
            document: dict[str, Any] = {"head": {}, "boolean": result.boolean}
        else:
            document = {"head": {"vars": variables}, "results": {"bindings": [
                {v: _json_term(t) for v, t in zip(variables, row) if t is not None} for row in rows]}}
        return (json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"),
                "application/sparql-results+json", f"{name}.json")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if result.boolean is not None:
        writer.writerows([["boolean"], ["true" if result.boolean else "false"]])
    else:
        writer.writerow(variables)
        writer.writerows([_csv_term(t) for t in row] for row in rows)
    return out.getvalue().encode("utf-8"), "text/csv; charset=utf-8", f"{name}.csv"

