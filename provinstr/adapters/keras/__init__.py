"""The Keras adapter: what only Keras knows (epochs, learning-rate adaptations, layers, data, the model).

This file only declares the adapter's rule options; the hooks (adapter.py) are imported when a rule with
adapter = "keras" fires, i.e. after the user's script imported Keras.
"""

from provinstr.adapters import lazy_exports
from provinstr.rules.options import HASH_LIMIT, Option

OPTIONS = (
    Option("save_model", "bool", True,
           "save the trained model as .keras in the store (a background thread writes it after the fit)"),
    Option("per_batch", "bool", False, "record the metrics of every batch, not only of every epoch"),
    HASH_LIMIT,
)

_LAZY = {
    "ADAPTER": "provinstr.adapters.keras.adapter",
    "KerasAdapter": "provinstr.adapters.keras.adapter",
    "CaptureCallback": "provinstr.adapters.keras.callback",
    "EPOCH_BEGIN_HOOKS": "provinstr.adapters.keras.callback",
}

__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["OPTIONS", *_LAZY]
