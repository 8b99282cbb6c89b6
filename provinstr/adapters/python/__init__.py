"""The Python adapter: command-line options (argparse) and seeds, whatever the script's framework.

This file only declares the adapter's rule options; the hooks (adapter.py) are imported when a rule with
adapter = "python" fires. They import no framework: a seed rule fires only after the script imported its
library.
"""

from provinstr.adapters import lazy_exports
from provinstr.rules.options import Option

OPTIONS = (
    Option("seed_name", "string", None,
           "the call sets a random seed: record it as the run's hyperparameter of this name "
           "(e.g. seed.torch), and as seed when every seed the script set agrees"),
)


_LAZY = {"ADAPTER": "provinstr.adapters.python.adapter", "PythonAdapter": "provinstr.adapters.python.adapter"}
__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["ADAPTER", "OPTIONS", "PythonAdapter"]
