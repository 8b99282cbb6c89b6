"""Project settings: where the store is, which rule files apply ([tool.provinstr] in pyproject.toml)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

STORE_ENV = "PROVINSTR_STORE"
DEFAULT_STORE = ".provinstr"


def find_pyproject(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest pyproject.toml at or above `start` (default: the working directory)."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def project_settings(start: str | os.PathLike | None = None) -> tuple[dict[str, Any], Path | None]:
    """The [tool.provinstr] table of the nearest pyproject.toml, and that file's path."""
    path = find_pyproject(start)
    if path is None:
        return {}, None
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}, path
    return data.get("tool", {}).get("provinstr", {}) or {}, path


def store_location(explicit: str | os.PathLike | None = None) -> str:
    """The store to use: the explicit value, else $PROVINSTR_STORE, else pyproject, else ./.provinstr."""
    if explicit:
        return str(explicit)
    if os.environ.get(STORE_ENV):
        return os.environ[STORE_ENV]
    settings, path = project_settings()
    if settings.get("store") and path is not None:
        value = str(settings["store"])
        if "://" in value:
            return value
        return str((path.parent / value).resolve())
    return DEFAULT_STORE
