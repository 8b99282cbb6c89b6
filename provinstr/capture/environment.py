"""What the run ran on: Python, OS, host, CPUs, memory, GPUs, ML library versions (no imports)."""

from __future__ import annotations

import glob
import os
import platform
import socket
import sys
from typing import Any

# Libraries whose versions are recorded when the user's program imported them.
ML_LIBRARIES = {
    "tensorflow": "tensorflow",
    "keras": "keras",
    "torch": "torch",
    "lightning": "lightning",
    "pytorch_lightning": "pytorch-lightning",
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "pandas": "pandas",
    "jax": "jax",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
}


def host_name() -> str:
    return socket.gethostname()


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def gpus() -> list[str]:
    """NVIDIA GPU models seen by the driver (read from /proc, so no CUDA library is loaded)."""
    models = []
    for info in sorted(glob.glob("/proc/driver/nvidia/gpus/*/information")):
        try:
            with open(info) as handle:
                for line in handle:
                    if line.startswith("Model:"):
                        models.append(line.split(":", 1)[1].strip())
        except OSError:
            continue
    return models


def imported_libraries() -> dict[str, str]:
    """{distribution name: version} of the ML libraries already imported by this process."""
    found = {}
    for module_name, distribution in ML_LIBRARIES.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue
        version = getattr(module, "__version__", None)
        if version is None:
            try:
                from importlib.metadata import version as dist_version

                version = dist_version(distribution)
            except Exception:  # noqa: BLE001 - a missing version is not worth a warning
                continue
        found[distribution] = str(version)
    return found


def describe() -> dict[str, Any]:
    """The environment facts recorded at the start of every run."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": host_name(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "gpus": gpus(),
    }
