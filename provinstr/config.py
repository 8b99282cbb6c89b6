"""Project settings: where the store is, which rule files apply ([tool.provinstr] in pyproject.toml)."""

from __future__ import annotations

import json
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


def redact_settings(start: str | os.PathLike | None = None) -> tuple[list[tuple[Any, int | None]], Path | None]:
    """The `[tool.provinstr] redact` patterns of the nearest pyproject.toml, each with its line, and that file.

    `redact` is a list of regular expressions (one string is taken as a list of one). A pyproject.toml that
    does not parse but mentions `redact` raises RedactionError: the run must not go unredacted silently.
    """
    from provinstr.errors import RedactionError

    path = find_pyproject(start)
    if path is None:
        return [], None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [], path
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        if "redact" in text:
            raise RedactionError(f"cannot read the redact patterns ({error}); fix the file's TOML syntax",
                                 path) from None
        return [], path
    settings = data.get("tool", {}).get("provinstr", {}) or {}
    entries = settings.get("redact", [])
    if isinstance(entries, str):
        entries = [entries]
    lines = text.splitlines()
    key_line = _redact_line(lines)
    if not isinstance(entries, list):
        raise RedactionError(f"[tool.provinstr] redact must be a list of regular expressions, not {entries!r}; "
                             "write it like redact = [\"sk-[A-Za-z0-9]+\"]", path, key_line)
    return [(entry, _entry_line(lines, key_line, entry)) for entry in entries], path


def _redact_line(lines: list[str]) -> int | None:
    """The line of `redact =` inside [tool.provinstr] (or of a dotted `tool.provinstr.redact =`)."""
    inside = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.replace(" ", "") in ("[tool.provinstr]",)
            continue
        if inside and stripped.startswith("redact") and stripped[6:].lstrip().startswith("="):
            return number
        if stripped.replace(" ", "").startswith("tool.provinstr.redact="):
            return number
    return None


def _entry_line(lines: list[str], start: int | None, entry: Any) -> int | None:
    """The line of one pattern of the redact list (as written, or with TOML's basic-string escapes), else start."""
    if start is None or not isinstance(entry, str) or not entry:
        return start
    spellings = (entry, json.dumps(entry)[1:-1])
    for number in range(start, len(lines) + 1):
        line = lines[number - 1]
        if number > start and line.lstrip().startswith("["):  # the next table: the list ended
            break
        if any(s in line for s in spellings):
            return number
    return start
