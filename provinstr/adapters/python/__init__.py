"""The Python adapter: command-line options (argparse) and seeds, whatever the script's framework.

This file only declares the adapter's rule options; the hooks (adapter.py) are imported when a rule with
adapter = "python" fires. They import no framework: a seed rule fires only after the script imported its
library.
"""

from provinstr.rules.options import Option

OPTIONS = (
    Option("seed_name", "string", None,
           "the call sets a random seed: record it as the run's hyperparameter of this name "
           "(e.g. seed.torch), and as seed when every seed the script set agrees"),
)


def __getattr__(name: str):
    if name in ("ADAPTER", "PythonAdapter"):
        from provinstr.adapters.python import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ADAPTER", "OPTIONS", "PythonAdapter"]
