"""Render records as RDF 1.1 N-Quads text (the hot path builds strings, never rdflib terms)."""

from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any, Iterable

from rdflib.term import URIRef

from provinstr.vocab import XSD

_INTEGER = f"<{XSD.integer}>"
_DOUBLE = f"<{XSD.double}>"
_BOOLEAN = f"<{XSD.boolean}>"
_DATETIME = f"<{XSD.dateTime}>"

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


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
    value = plain_value(value)
    if isinstance(value, _IRI_TYPES):
        return f"<{value}>"
    if isinstance(value, bool):
        return f'"{"true" if value else "false"}"^^{_BOOLEAN}'
    if isinstance(value, int):
        return f'"{value}"^^{_INTEGER}'
    if isinstance(value, float):
        if math.isnan(value):
            text = "NaN"
        elif math.isinf(value):
            text = "INF" if value > 0 else "-INF"
        else:
            text = repr(float(value))  # numpy.float64 is a float whose repr is "np.float64(...)"
        return f'"{text}"^^{_DOUBLE}'
    if isinstance(value, _dt.datetime):
        return f'"{value.isoformat()}"^^{_DATETIME}'
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, default=_json_default, sort_keys=isinstance(value, dict))
    else:
        text = str(value)
    if not text.isascii():
        # A lone surrogate cannot be written as UTF-8; it must not make the whole log unwritable.
        text = text.encode("utf-8", "replace").decode("utf-8")
    return '"' + text.translate(_ESCAPES) + '"'


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
