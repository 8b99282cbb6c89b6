"""The scikit-learn adapter: parameters, data fingerprints, fitted metrics, scores and search results.

This file only declares the adapter's rule options; the hooks (adapter.py) are imported when a rule with
adapter = "sklearn" fires, i.e. after the user's script imported scikit-learn.
"""

from provinstr.adapters import lazy_exports
from provinstr.rules.options import HASH_LIMIT, Option

OPTIONS = (
    Option("metrics", "names", {}, "fitted attribute -> metric name recorded after fit (e.g. n_iter_ -> n_iter)"),
    Option("epoch_metrics", "names", {},
           "fitted per-iteration attribute -> metric name recorded per epoch (e.g. loss_curve_ -> loss)"),
    HASH_LIMIT,
)


_LAZY = {"ADAPTER": "provinstr.adapters.sklearn.adapter", "SklearnAdapter": "provinstr.adapters.sklearn.adapter"}
__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["OPTIONS", "ADAPTER", "SklearnAdapter"]
