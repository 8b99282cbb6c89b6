"""Turn arbitrary Python values into what a provenance record can hold."""

from __future__ import annotations

from typing import Any

from provinstr.capture.nquads import plain_value

_SCALARS = (str, int, float, bool)
MAX_LIST = 64  # longer sequences are summarised, not copied into the graph


def type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def summarize(value: Any) -> Any:
    """Scalars as themselves; short lists/dicts of scalars as JSON; arrays/tensors as type/shape/dtype."""
    value = plain_value(value)
    if value is None or isinstance(value, _SCALARS):
        return value
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        try:
            dims = [None if d is None else int(d) for d in tuple(shape)]
        except TypeError:
            dims = str(shape)
        return {"type": type_name(value), "shape": dims, "dtype": str(getattr(dtype, "name", dtype))}
    if isinstance(value, (list, tuple)):
        if len(value) <= MAX_LIST and all(isinstance(plain_value(v), _SCALARS) or v is None for v in value):
            return [plain_value(v) for v in value]
        return {"type": type_name(value), "length": len(value)}
    if isinstance(value, dict):
        if len(value) <= MAX_LIST and all(
            isinstance(k, str) and (isinstance(plain_value(v), _SCALARS) or v is None) for k, v in value.items()
        ):
            return {k: plain_value(v) for k, v in value.items()}
        return {"type": "dict", "length": len(value)}
    if callable(value):
        return getattr(value, "__qualname__", None) or getattr(value, "__name__", None) or type_name(value)
    name = getattr(value, "name", None)  # named objects (losses, optimizers, layers) read better by name
    if isinstance(name, str):
        return f"{type_name(value)}:{name}"
    return type_name(value)
