"""provinstr: the provenance of machine-learning training, as W3C PROV-O you can query while it runs."""

__version__ = "0.1.0"

from provinstr.capture.api import (  # noqa: E402
    flush,
    log_hyperparameter,
    log_metric,
    track_transformation,
    transformation,
)
from provinstr.capture.run import Run, active_run, current_run  # noqa: E402


def __getattr__(name: str):
    # open_store reads stores: imported on first use, so `provinstr run` starts sooner.
    if name == "open_store":
        from provinstr.analysis.store import open_store

        return open_store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(name: str | None = None, store: str | None = None, group: str | None = None, **options) -> Run:
    """An explicit run: `with provinstr.run(name="sweep-1", store="./.provinstr"): ...`."""
    return Run(name=name, store=store, group=group, **options)


__all__ = [
    "__version__",
    "Run",
    "active_run",
    "current_run",
    "flush",
    "log_hyperparameter",
    "log_metric",
    "open_store",
    "run",
    "track_transformation",
    "transformation",
]
