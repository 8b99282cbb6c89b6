"""Reading SPARQL text without a parser: the pre-declared prefixes, IRIs as prefixed names, whether a
request is an Update, and where a syntax error message says the error is."""

from __future__ import annotations

import re

from provinstr.vocab import PREFIXES

__all__ = ["UPDATE_WORDS", "curie", "error_position", "prefix_lines", "update_keyword"]

# The SPARQL 1.1 Update operations (a query never starts with one of them).
UPDATE_WORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})
_LONGEST_FIRST = sorted(((ns, prefix) for prefix, ns in PREFIXES.items()), key=lambda pair: -len(pair[0]))
_LOCAL = re.compile(r"[A-Za-z_][\w.-]*")
# Oxigraph: "error at 4:2: expected ..."; Jena/Fuseki and others: "at line 4, column 2".
_POSITIONS = (re.compile(r"\bat (\d+):(\d+)\b"), re.compile(r"line (\d+),? column (\d+)", re.IGNORECASE))
# What a SPARQL tokeniser skips: comments, strings (long ones first), IRIs.
_SKIPPED = re.compile(r'#[^\n]*|"""(?:[^"\\]|\\.|"(?!""))*"""|' r"'''(?:[^'\\]|\\.|'(?!''))*'''|"
                      r'"(?:[^"\\\n]|\\.)*"|' r"'(?:[^'\\\n]|\\.)*'|<[^<>\"{}|^`\\\s]*>", re.DOTALL)
_WORD = re.compile(r"[?$]?[A-Za-z_][\w-]*:?")


def prefix_lines() -> str:
    """The PREFIX declarations every query gets without writing them."""
    return "\n".join(f"PREFIX {prefix}: <{namespace}>" for prefix, namespace in PREFIXES.items())


def curie(iri: str) -> str:
    """prov:used for PROV's IRI; an IRI outside the known prefixes as <…>."""
    for namespace, prefix in _LONGEST_FIRST:
        if iri.startswith(namespace) and _LOCAL.fullmatch(iri[len(namespace):]):
            return f"{prefix}:{iri[len(namespace):]}"
    return f"<{iri}>"


def update_keyword(text: str) -> str | None:
    """The Update operation this request starts with (after its PREFIX/BASE lines), or None for a query."""
    words = [w for w in _WORD.findall(_SKIPPED.sub(" ", text)) if not w.startswith(("?", "$"))]
    position = 0
    while position < len(words):  # PREFIX name: <iri> (the IRI is skipped) and BASE <iri>
        word = words[position].upper()
        if word == "PREFIX":
            position += 2 if position + 1 < len(words) and words[position + 1].endswith(":") else 1
        elif word == "BASE":
            position += 1
        else:
            return word if word in UPDATE_WORDS else None
    return None


def error_position(message: str) -> tuple[int, int] | None:
    """(line, column), both from 1, that a syntax error message names; None when it names none."""
    for pattern in _POSITIONS:
        match = pattern.search(message)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None
