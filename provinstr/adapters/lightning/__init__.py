"""The Lightning adapter (`lightning` and `pytorch_lightning`): a Trainer's fit, validate, test and predict.

This file only declares the adapter's rule options; the hooks (adapter.py) are imported when a rule with
adapter = "lightning" fires, i.e. after the user's script imported Lightning. Nothing here imports
Lightning or torch.
"""

from provinstr.adapters import lazy_exports
from provinstr.rules.options import HASH_LIMIT

OPTIONS = (HASH_LIMIT,)

_LAZY = {
    "ADAPTER": "provinstr.adapters.lightning.adapter",
    "LightningAdapter": "provinstr.adapters.lightning.adapter",
    "FitCapture": "provinstr.adapters.lightning.callback",
}

__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["OPTIONS", *_LAZY]
