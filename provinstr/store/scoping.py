"""Queries that read only `GRAPH ?var { … }` patterns, asked of a server without naming every run graph.

A local store answers with the union of its run graphs as the default graph; a server store got the same by
naming every run graph in the request (the SPARQL protocol's default-graph-uri and named-graph-uri), which
on Oxigraph at 10,000 runs made the seed's query (a) take 32 s instead of 1.8 s. A query whose every triple
pattern lies inside a `GRAPH ?var` group never reads the default graph, so only the named graphs matter:
`scoped` gives it back with a FILTER after each such group that keeps ?var to the run graphs (the server
also holds the catalog graph, and maybe other people's data), which answers as the named graph list did. A run graph is a graph whose IRI is under the run base (a
run's IRI), where the list named the graphs holding `?run a pi:Run`: the same graphs once a run's first
lines are on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from provinstr.store.planner import Token, opener, tokenize

# Tokens that may start a triple pattern (SPARQL allows a literal or a collection in subject position).
_SUBJECT_KINDS = {"iri", "var", "bnode", "pname", "string", "number"}
# After these a group's next statement starts; a `)` ends a FILTER's or BIND's expression.
_STATEMENT_ENDS = {"{", ".", "}", ")"}
_REFUSED_WORDS = {"FROM", "DESCRIBE", "SERVICE", "INSERT", "DELETE", "LOAD", "CLEAR", "DROP"}


@dataclass
class _Group:
    inside: bool  # inside a GRAPH, VALUES data or a template: no default-graph pattern can be here
    graph: bool  # inside a GRAPH
    variable: str | None  # the `GRAPH ?var` this brace opens
    subquery: bool  # the WHERE group of a subquery: its solution modifiers follow it


def scoped(sparql: str, graph_prefix: str) -> str | None:
    """`sparql` with each `GRAPH ?var { … }` followed by `FILTER(STRSTARTS(STR(?var), graph_prefix))`, when
    nothing in it reads the default graph or a graph outside the prefix; None when something may (a triple
    pattern outside any GRAPH group, a GRAPH named by another IRI, a GRAPH inside a GRAPH, FROM, DESCRIBE,
    CONSTRUCT WHERE, SERVICE, a quoted triple) or it cannot be read: then it is asked as before."""
    tokens = tokenize(sparql)
    if tokens is None:
        return None
    words = {t.text.upper() for t in tokens if t.kind == "word"}
    if words & _REFUSED_WORDS or any(t.text == "<<" for t in tokens):
        return None
    inserts: list[tuple[int, str]] = []  # (offset in sparql, FILTER text)
    groups: list[_Group] = []
    clause: int | None = None  # the depth whose group is now in a subquery's projection or modifiers
    for i, token in enumerate(tokens):
        if token.text == "{":
            opened = opener(tokens, i)
            kind = opened[0] if opened is not None else None
            if kind == "SKIP" and _construct_where(tokens, i):
                return None  # CONSTRUCT WHERE { … }: its template is its pattern, on the default graph
            outer = groups[-1] if groups else None
            if kind == "GRAPH" and (outer is not None and outer.graph or not _in_prefix(opened[1], graph_prefix)):
                return None
            subquery = clause == len(groups) and tokens[i - 1].text.upper() != "EXISTS"
            if subquery:
                clause = None
            groups.append(_Group(inside=bool(outer and outer.inside) or kind in ("GRAPH", "VALUES", "SKIP"),
                                 graph=bool(outer and outer.graph) or kind == "GRAPH",
                                 variable=opened[1] if kind == "GRAPH" and opened[1][0] in "?$" else None,
                                 subquery=subquery))
        elif token.text == "}":
            if not groups:
                return None
            closed = groups.pop()
            if closed.variable is not None:
                inserts.append((token.end, f' FILTER(STRSTARTS(STR({closed.variable}), "{graph_prefix}"))'))
            if clause is not None and clause > len(groups):
                clause = None  # the subquery's group is closed
            if closed.subquery:
                clause = len(groups)  # GROUP BY, HAVING, ORDER BY, LIMIT … up to the subquery's `}`
        elif token.kind == "word" and token.text.upper() == "SELECT" and groups:
            clause = len(groups)  # a subquery's projection, up to its WHERE group
        elif groups and not groups[-1].inside and clause != len(groups) and _starts_triple(tokens, i):
            return None
    if groups:
        return None
    pieces, at = [], 0
    for offset, text in inserts:
        pieces += [sparql[at:offset], text]
        at = offset
    pieces.append(sparql[at:])
    return "".join(pieces)


def _in_prefix(term: str, graph_prefix: str) -> bool:
    """A GRAPH's term: a variable (kept to the prefix by a FILTER) or a full IRI under the prefix; a prefixed
    name or a relative IRI (resolved against BASE) counts as outside."""
    return term[0] in "?$" or term.startswith("<" + graph_prefix)


def _starts_triple(tokens: list[Token], i: int) -> bool:
    """Whether a triple pattern may start at i, in a group outside any GRAPH; a doubt counts as yes."""
    token = tokens[i]
    if i == 0 or tokens[i - 1].text not in _STATEMENT_ENDS:
        return False
    # `[`: a blank node subject even after a FILTER's `)`; `(` after `)` is an expression's, not a collection
    return token.kind in _SUBJECT_KINDS or token.text == "[" or (token.text == "(" and tokens[i - 1].text != ")")


def _construct_where(tokens: list[Token], brace: int) -> bool:
    return (brace >= 2 and tokens[brace - 1].text.upper() == "WHERE"
            and tokens[brace - 2].text.upper() == "CONSTRUCT")
