"""Queries that read only `GRAPH ?var { … }` patterns, asked of a server without naming every run graph.

A local store answers with the union of its run graphs as the default graph; a server store got the same by
naming every run graph in the request (the SPARQL protocol's default-graph-uri and named-graph-uri), which
on Oxigraph at 10,000 runs made the seed's query (a) take 32 s instead of 3.6 s. A query whose every triple
pattern lies inside a `GRAPH ?var` group never reads the default graph, so only the named graphs matter:
`scoped` gives it back with a FILTER after each such group that keeps ?var to the run graphs (the server
also holds the catalog graph, and maybe other people's data), which answers as the named graph list did.
"""

from __future__ import annotations

from provinstr.store.planner import Token, opener, tokenize

# Tokens that may start a triple pattern (SPARQL allows a literal or a collection in subject position).
_SUBJECT_KINDS = {"iri", "var", "bnode", "pname", "string", "number"}
# After these a group's next statement starts; a `)` ends a FILTER's or BIND's expression.
_STATEMENT_ENDS = {"{", ".", "}", ")"}


def scoped(sparql: str, graph_prefix: str) -> str | None:
    """`sparql` with each `GRAPH ?var { … }` followed by `FILTER(STRSTARTS(STR(?var), graph_prefix))`, when
    nothing in it reads the default graph; None when something may (a triple pattern outside any GRAPH
    group, FROM, DESCRIBE, CONSTRUCT WHERE, SERVICE) or it cannot be read: then it is asked as before."""
    tokens = tokenize(sparql)
    if tokens is None:
        return None
    words = [t.text.upper() for t in tokens if t.kind == "word"]
    if any(word in ("FROM", "DESCRIBE", "SERVICE", "INSERT", "DELETE", "LOAD", "CLEAR", "DROP") for word in words):
        return None
    inserts: list[tuple[int, str]] = []  # (offset in sparql, FILTER text)
    groups: list[tuple[bool, str | None]] = []  # per open brace: inside a GRAPH (or skipped), its GRAPH ?var
    for i, token in enumerate(tokens):
        if token.text == "{":
            opened = opener(tokens, i)
            if opened is not None and opened[0] == "SKIP" and _construct_where(tokens, i):
                return None  # CONSTRUCT WHERE { … }: its template is its pattern, on the default graph
            inside = bool(groups and groups[-1][0]) or (opened is not None and opened[0] in ("GRAPH", "VALUES", "SKIP"))
            variable = opened[1] if opened is not None and opened[0] == "GRAPH" and opened[1][0] in "?$" else None
            groups.append((inside, variable))
        elif token.text == "}":
            if not groups:
                return None
            _, variable = groups.pop()
            if variable is not None:
                inserts.append((token.end, f' FILTER(STRSTARTS(STR({variable}), "{graph_prefix}"))'))
        elif groups and not groups[-1][0] and _starts_triple(tokens, i):
            return None
    if groups:
        return None
    pieces, at = [], 0
    for offset, text in inserts:
        pieces += [sparql[at:offset], text]
        at = offset
    pieces.append(sparql[at:])
    return "".join(pieces)


def _starts_triple(tokens: list[Token], i: int) -> bool:
    """Whether a triple pattern may start at i, in a group outside any GRAPH; a doubt counts as yes."""
    token = tokens[i]
    if i == 0 or tokens[i - 1].text not in _STATEMENT_ENDS:
        return False
    return token.kind in _SUBJECT_KINDS or (token.text in ("[", "(") and tokens[i - 1].text != ")")


def _construct_where(tokens: list[Token], brace: int) -> bool:
    return (brace >= 2 and tokens[brace - 1].text.upper() == "WHERE"
            and tokens[brace - 2].text.upper() == "CONSTRUCT")
