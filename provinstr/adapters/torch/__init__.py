"""The PyTorch adapter: plain training loops (epochs, losses, optimizers, schedulers, data, model files).

This file only declares the adapter's rule options; the hooks (adapter.py) are imported when a rule with
adapter = "torch" fires, i.e. after the user's script imported torch. Nothing here imports torch.
"""

from provinstr.rules.options import HASH_LIMIT

OPTIONS = (HASH_LIMIT,)

_LAZY = {
    "ADAPTER": "provinstr.adapters.torch.adapter",
    "TorchAdapter": "provinstr.adapters.torch.adapter",
    "SESSION": "provinstr.adapters.torch.training",
    "suspended": "provinstr.adapters.torch.training",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["OPTIONS", *_LAZY]
