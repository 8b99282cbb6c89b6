"""Render records as RDF 1.1 N-Quads text (the hot path builds strings, never rdflib terms)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from typing import Any, Iterable

from rdflib.term import URIRef

from provinstr.vocab import XSD

_INTEGER = f"<{XSD.integer}>"
_DOUBLE = f"<{XSD.double}>"
_BOOLEAN = f"<{XSD.boolean}>"
_DATETIME = f"<{XSD.dateTime}>"

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r'[\\"\n\r]').search


class IRI(str):
    """An object that is an IRI rather than a literal (a plain str subclass: cheap to build on the hot path)."""

    __slots__ = ()


# rdflib terms (PI.Layer ...) passed as objects are IRIs too.
_IRI_TYPES = (IRI, URIRef)


def plain_value(value: Any) -> Any:
    """numpy/tensor scalars become Python scalars; anything else is returned as is."""
    if isinstance(value, (str, int, float)):
        return value
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", None) == 0:
        try:
            return item()
        except Exception:  # a tensor that cannot be read here: keep it as text
            return str(value)
    numpy = getattr(value, "numpy", None)  # eager tf scalars (tf.Variable, EagerTensor)
    if numpy is not None and getattr(value, "shape", None) is not None and len(value.shape) == 0:
        try:
            return numpy().item()
        except Exception:
            return str(value)
    return value


def literal(value: Any) -> str:
    """The N-Quads term for a Python value: typed as the vocabulary contract says, containers as JSON."""
    fast = _BY_TYPE.get(type(value))  # the writer renders millions of these: common types skip the checks
    if fast is not None:
        return fast(value)
    value = plain_value(value)
    if isinstance(value, _IRI_TYPES):
        return f"<{value}>"
    if isinstance(value, bool):
        return _boolean(value)
    if isinstance(value, int):
        return _integer(int(value))
    if isinstance(value, float):
        return _double(float(value))  # numpy.float64 is a float whose repr is not a number
    if isinstance(value, _dt.datetime):
        return _datetime(value)
    if isinstance(value, str):
        return _string(str(value))
    if isinstance(value, (list, tuple, dict)):
        return _string(json.dumps(value, default=_json_default, sort_keys=isinstance(value, dict)))
    return _string(str(value))


def _string(text: str) -> str:
    if not text.isascii():
        # A lone surrogate cannot be written as UTF-8; it must not make the whole log unwritable.
        text = text.encode("utf-8", "replace").decode("utf-8")
    if _NEEDS_ESCAPE(text):
        text = text.translate(_ESCAPES)
    return f'"{text}"'


def _double(value: float) -> str:
    if math.isfinite(value):
        return f'"{value!r}"^^{_DOUBLE}'
    return f'"{"NaN" if math.isnan(value) else ("INF" if value > 0 else "-INF")}"^^{_DOUBLE}'


def _integer(value: int) -> str:
    return f'"{value}"^^{_INTEGER}'


def _boolean(value: bool) -> str:
    return f'"{"true" if value else "false"}"^^{_BOOLEAN}'


def _datetime(value: _dt.datetime) -> str:
    return f'"{value.isoformat()}"^^{_DATETIME}'


def _iri(value: str) -> str:
    return f"<{value}>"


_BY_TYPE = {
    str: _string, IRI: _iri, URIRef: _iri, int: _integer, bool: _boolean, float: _double, _dt.datetime: _datetime
}


def _json_default(value: Any) -> Any:
    value = plain_value(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return tolist()
    return str(value)


def render(subject: str, graph: str, pairs: Iterable[tuple[str, Any]]) -> str:
    """N-Quads lines for one subject; each pair is (predicate IRI, object). None objects are skipped."""
    s, g = f"<{subject}>", f"<{graph}>"
    return "".join(f"{s} <{p}> {literal(o)} {g} .\n" for p, o in pairs if o is not None)
