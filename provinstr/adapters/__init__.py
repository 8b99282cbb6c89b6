"""Framework adapters: the thin, framework-specific part of capture, one package per framework.

`keras/` (Keras 3), `sklearn/` (scikit-learn), `torch/` (plain PyTorch loops), `lightning/` (Lightning),
`python/` (argparse and seeds, for every framework). Each package's `__init__` declares the rule options the
adapter reads (`OPTIONS`) and nothing else at import; its `ADAPTER` (the hooks of
provinstr.capture.hooks.Adapter) is imported when a rule naming it fires, so provinstr never imports a
framework the user's program did not import. Records every adapter builds (attributes, datasets,
class names) come from provinstr.capture.records.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A package's module `__getattr__`: each name in `exports` imported from its module on first use."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
