"""The scikit-learn adapter: parameters, data fingerprints, fitted metrics, scores and search results.

This file only declares the adapter's rule options; the hooks (adapter.py) are imported when a rule with
adapter = "sklearn" fires, i.e. after the user's script imported scikit-learn.
"""

from provinstr.rules.options import HASH_LIMIT, Option

OPTIONS = (
    Option("metrics", "names", {}, "fitted attribute -> metric name recorded after fit (e.g. n_iter_ -> n_iter)"),
    Option("epoch_metrics", "names", {},
           "fitted per-iteration attribute -> metric name recorded per epoch (e.g. loss_curve_ -> loss)"),
    HASH_LIMIT,
)


def __getattr__(name: str):
    if name in ("ADAPTER", "SklearnAdapter"):
        from provinstr.adapters.sklearn import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["OPTIONS", "ADAPTER", "SklearnAdapter"]
