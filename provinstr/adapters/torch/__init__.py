"""The PyTorch adapter: plain training loops (epochs, losses, optimizers, schedulers, data, model files).

This file only declares the adapter's rule options; the hooks (adapter.py) are imported when a rule with
adapter = "torch" fires, i.e. after the user's script imported torch. Nothing here imports torch.
"""

from provinstr.adapters import lazy_exports
from provinstr.rules.options import HASH_LIMIT

OPTIONS = (HASH_LIMIT,)

_LAZY = {
    "ADAPTER": "provinstr.adapters.torch.adapter",
    "TorchAdapter": "provinstr.adapters.torch.adapter",
    "SESSION": "provinstr.adapters.torch.training",
    "suspended": "provinstr.adapters.torch.training",
}

__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["OPTIONS", *_LAZY]
