"""provinstr: the provenance of machine-learning training, as W3C PROV-O you can query while it runs."""

__version__ = "0.1.0"

# Imported on first use: `provinstr runs` and `provinstr query` need no capture machinery (nor rdflib),
# and `provinstr run` starts sooner without the store reader.
_LAZY = {
    "flush": "provinstr.capture.api",
    "log_hyperparameter": "provinstr.capture.api",
    "log_metric": "provinstr.capture.api",
    "track_transformation": "provinstr.capture.api",
    "transformation": "provinstr.capture.api",
    "Run": "provinstr.capture.run",
    "active_run": "provinstr.capture.run",
    "current_run": "provinstr.capture.run",
    "open_store": "provinstr.analysis.store",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(name: str | None = None, store: str | None = None, group: str | None = None, **options):
    """An explicit run: `with provinstr.run(name="sweep-1", store="./.provinstr"): ...`."""
    from provinstr.capture.run import Run

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
