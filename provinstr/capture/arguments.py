"""A call's arguments by parameter name — what rules and decorators pick captured values from."""

from __future__ import annotations

import inspect
from typing import Any, Callable

_signatures: dict[Any, inspect.Signature | None] = {}


def signature_of(callee: Callable) -> inspect.Signature | None:
    """The callee's signature (cached per function), or None when Python cannot tell it."""
    key = getattr(callee, "__func__", callee)
    try:
        return _signatures[key]
    except KeyError:
        pass
    except TypeError:  # unhashable callee: no cache
        key = None
    try:
        signature = inspect.signature(callee)
    except (TypeError, ValueError):
        signature = None
    if key is not None:
        _signatures[key] = signature
    return signature


def bound_arguments(callee: Callable, args: tuple, kwargs: dict, defaults: bool = False) -> dict[str, Any]:
    """{parameter: value} of a call (positional ones named, **kwargs flattened, self/cls left out).

    With `defaults`, parameters the call left to their default are included: a user function's
    `K=24` default is a value the call used.
    """
    signature = signature_of(callee)
    unnamed = {**{f"arg{i}": v for i, v in enumerate(args)}, **kwargs}
    if signature is None:
        return unnamed
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return unnamed
    if defaults:
        bound.apply_defaults()
    named: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            named.update({f"{name}{i}": v for i, v in enumerate(value)})
        elif name not in ("self", "cls"):
            named[name] = value
    return named
