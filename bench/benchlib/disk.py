"""Bytes on disk of a benchmark's stores: a folder's files, a provinstr store split by what they are."""

from __future__ import annotations

from pathlib import Path


def folder_bytes(path: Path) -> int:
    """The sizes of every file under `path` (or of the file `path`); 0 when it does not exist."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def provinstr_bytes(store: Path) -> dict:
    """A local store's bytes: logs (runs/*.nq, *.nq.gz), index (index/), catalog (catalog.sqlite*, summaries/),
    models (models/, left out of the total), other (markers, offsets, locks, push notes); total; and "parts",
    the bytes of each top-level entry (what a new part of the store's layout takes shows there)."""
    split = {"logs": 0, "index": 0, "catalog": 0, "models": 0, "other": 0}
    parts: dict[str, int] = {}
    for path in Path(store).rglob("*"):
        if not path.is_file():
            continue
        top = path.relative_to(store).parts[0]
        size = path.stat().st_size
        parts[top] = parts.get(top, 0) + size
        if top == "runs" and (path.name.endswith(".nq") or path.name.endswith(".nq.gz")):
            kind = "logs"
        elif top == "index":
            kind = "index"
        elif top.startswith("catalog.sqlite") or top == "summaries":
            kind = "catalog"
        elif top == "models":
            kind = "models"
        else:
            kind = "other"
        split[kind] += size
    return {**split, "total": sum(v for k, v in split.items() if k != "models"), "parts": parts}
