"""provinstr never imports a framework the user's program did not import.

Frameworks import each other lazily (Keras on the PyTorch backend imports TensorFlow the first time a
layer's get_config() runs, just to ask whether it is installed). While capture code runs (inside a
guard, or on one of provinstr's own threads), importing a framework that is not yet imported fails as
if it were not installed, so the framework takes its "not available" path and the user's program
keeps the modules it chose. The user's own imports are never affected.
"""

from __future__ import annotations

import sys
import threading

# Top-level modules of the frameworks provinstr captures or that they import lazily.
FRAMEWORKS = frozenset({
    "tensorflow", "tf_keras", "keras", "torch", "torchvision", "lightning", "pytorch_lightning",
    "jax", "flax", "sklearn", "xgboost", "lightgbm",
})
_THREAD_PREFIX = "provinstr-"
_local = threading.local()
_blocked: list[str] = []  # frameworks refused during capture, whose "not installed" answer is then forgotten


def enter() -> None:
    """Capture code starts on this thread (nested calls count)."""
    _local.depth = getattr(_local, "depth", 0) + 1


def leave() -> None:
    _local.depth = getattr(_local, "depth", 1) - 1
    if _blocked and _local.depth == 0:
        _forget_refusals()


def _forget_refusals() -> None:
    """Let a framework that asked during capture ask again: Keras caches "not installed" per module."""
    names, _blocked[:] = set(_blocked), []
    module_utils = sys.modules.get("keras.src.utils.module_utils")
    for lazy in vars(module_utils).values() if module_utils is not None else ():
        if getattr(lazy, "name", None) in names and getattr(lazy, "module", True) is None:
            lazy._available = None  # decided again at its next use, outside capture


def capturing() -> bool:
    """True while capture code runs on this thread."""
    return getattr(_local, "depth", 0) > 0 or threading.current_thread().name.startswith(_THREAD_PREFIX)


class FrameworkImportBlocker:
    """A sys.meta_path finder that refuses, during capture only, the first import of a framework."""

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in FRAMEWORKS and top not in sys.modules and capturing():
            _blocked.append(top)
            raise ModuleNotFoundError(f"provinstr does not import {top} (the program did not)", name=name)
        return None


def install() -> None:
    """Put the blocker first on sys.meta_path (once)."""
    if not any(isinstance(finder, FrameworkImportBlocker) for finder in sys.meta_path):
        sys.meta_path.insert(0, FrameworkImportBlocker())
