"""What a measurement ran on: cores, CPU, load average, Python and the libraries' versions."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib.metadata import version
from pathlib import Path

PACKAGES = ("keras", "tensorflow-cpu", "tensorflow", "torch", "lightning", "mlflow", "pyoxigraph")


def loadavg() -> list[str] | None:
    """The 1, 5 and 15 minute load averages as /proc/loadavg writes them (None where there is none)."""
    try:
        return Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return None


def load_line() -> str:
    """'cpus 2, load average 0.6': the conditions in one line, for scripts that print rather than save."""
    return f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"


def machine() -> dict:
    """What the numbers were measured on (a result file's "machine"; its loadavg_end and seconds come later)."""
    info = {"python": platform.python_version(), "platform": platform.platform(), "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["loadavg_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    for package in PACKAGES:
        try:
            info[package] = version(package)
        except Exception:  # noqa: BLE001
            info[package] = None
    try:
        import provinstr
        info["provinstr"] = provinstr.__version__
    except Exception:  # noqa: BLE001
        info["provinstr"] = None
    info["commit"] = commit()
    return info


def commit() -> str | None:
    """The checkout measured: its commit, '+changes' when provinstr/ or rules/ differ from it (None outside git)."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "provinstr", "rules"], cwd=root,
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if changed else "")


def finished(info: dict, started: float) -> dict:
    """The machine facts at the end of a measurement that began at perf_counter() `started`."""
    info["loadavg_end"] = loadavg()
    info["seconds"] = time.perf_counter() - started
    return info
