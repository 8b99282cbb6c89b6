"""Keeping the index compact, so queries stay fast as small loads pile up.

Every bulk load adds one SST file per column family it touches (about 7-10), and each lookup a query
makes visits every file whose keys overlap. Measured on the 300-run sweep index (bench/RESULTS.md):
seed query (a) took 31 ms with 12 files and 370 ms after 40 one-run loads had left 225. A compaction
(Oxigraph's `optimize`, a full RocksDB compaction) merges them back: 3.4 s for those 300 runs.

The background indexer compacts when the files have doubled since the last compaction (at least
MIN_NEW_FILES more), so the work stays proportional to what was loaded. It compacts a checkpoint
of the index (`Store.backup`: hard links), not the index, so readers keep reading while it works;
the compacted copy then replaces the index under the index lock, with the record of what it held
when it was taken. What readers loaded meanwhile is loaded again (loading a line twice adds nothing).
"""

from __future__ import annotations

import gc
import os
import shutil
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

if TYPE_CHECKING:
    from provinstr.store.local import LocalStore

MIN_NEW_FILES = 20  # two or three loads (a load adds a file per column family it touches)
FREE_SPACE_FACTOR = 1.2  # the copy may need as much room again as the index
COPY_NAME = "index.compacting"  # the checkpoint being compacted (only the background indexer makes one)
REPLACED_NAME = "index.replaced"  # the old index, for the moment of the swap
STATE_KEY = "compacted_files"  # in index-offsets.json: the index's files right after its last compaction


def sst_files(index_dir: Path) -> int:
    try:
        return sum(1 for name in os.listdir(index_dir) if name.endswith(".sst"))
    except OSError:
        return 0


def due(index_dir: Path, state: dict | None) -> bool:
    """Whether the index has gathered enough files since its last compaction to compact it again."""
    base = int((state or {}).get(STATE_KEY, 0) or 0)
    return sst_files(index_dir) >= base + max(MIN_NEW_FILES, base)


def index_bytes(index_dir: Path) -> int:
    total = 0
    for entry in os.scandir(index_dir):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat(follow_symlinks=False).st_size
    return total


def remove_leftovers(store_path: Path) -> None:
    """A copy or an old index that a killed compaction left behind."""
    for name in (COPY_NAME, REPLACED_NAME):
        shutil.rmtree(store_path / name, ignore_errors=True)


def compact_in_place(index: ox.Store, store: "LocalStore") -> None:
    """Compact the open index (the caller holds the index lock: `provinstr reindex`) and record it."""
    index.optimize()
    index.flush()
    store.record_compaction(sst_files(store.index_dir))


def compact_aside(store: "LocalStore") -> str:
    """Compact a checkpoint of the index and put it in the index's place; what happened, in a word:
    "compacted", "busy" (a reader holds the index), "changed" (rebuilt or cut meanwhile), "unsound",
    "no room" (too little free disk for a copy)."""
    copy = store.path / COPY_NAME
    remove_leftovers(store.path)
    with store.index_lock(wait=False) as held:
        if not held:
            return "busy"
        if store.why_rebuild() is not None:
            return "unsound"  # a reader rebuilds it, saying why
        taken = store.read_record()
        if shutil.disk_usage(store.path).free < index_bytes(store.index_dir) * FREE_SPACE_FACTOR:
            return "no room"
        _with_index(store.index_dir, lambda index: index.backup(str(copy)))
    try:
        _with_index(copy, lambda index: (index.optimize(), index.flush()))
        files = sst_files(copy)
        with store.index_lock():  # the swap takes milliseconds; readers went on while the copy was compacted
            now = store.read_record()
            if store.why_rebuild() is not None or not _extends(now, taken):
                return "changed"
            store.replace_index(copy, {**taken, STATE_KEY: files}, store.path / REPLACED_NAME)
        return "compacted"
    finally:
        remove_leftovers(store.path)


def _with_index(path: Path, work) -> None:
    index = ox.Store(str(path))
    try:
        work(index)
    except BaseException as error:
        traceback.clear_frames(error.__traceback__)  # frames would keep the index open
        raise
    finally:
        del index
        gc.collect()


def _extends(now: dict | None, taken: dict) -> bool:
    """Whether the index's record now only goes further than when the copy was taken (the same build and
    format, no run removed, no log read again from an earlier place)."""
    if now is None or now.get("format") != taken.get("format") or now.get("build") != taken.get("build"):
        return False  # rebuilt meanwhile (reindex, a damaged index): the copy is of the older build
    runs = now.get("runs", {})
    return all(run_id in runs and runs[run_id] >= offset for run_id, offset in taken.get("runs", {}).items())
