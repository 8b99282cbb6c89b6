"""The Keras adapter: what only Keras knows (epochs, learning-rate adaptations, layers, data, the model).

Imported only when a rule with adapter = "keras" fires, i.e. after the user's script imported Keras.
"""

from provinstr.adapters.keras.adapter import ADAPTER, KerasAdapter
from provinstr.adapters.keras.callback import EPOCH_BEGIN_HOOKS, CaptureCallback

__all__ = ["ADAPTER", "EPOCH_BEGIN_HOOKS", "CaptureCallback", "KerasAdapter"]
