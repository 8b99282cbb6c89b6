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
    if shape is not None and not callable(shape):  # arrays, tensors, data frames
        try:
            dims: Any = [None if d is None else int(d) for d in tuple(shape)]
        except (TypeError, ValueError):
            dims = str(shape)
        summary = {"type": type_name(value), "shape": dims}
        dtype = getattr(value, "dtype", None)
        if dtype is not None:
            summary["dtype"] = str(getattr(dtype, "name", dtype))
        return summary
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
    qualname = getattr(value, "__qualname__", None)  # functions and classes
    if isinstance(qualname, str):
        return qualname
    name = getattr(value, "name", None)  # named objects (losses, optimizers, layers) read better by name
    if isinstance(name, str):
        return f"{type_name(value)}:{name}"
    return getattr(value, "__name__", None) or type_name(value)
