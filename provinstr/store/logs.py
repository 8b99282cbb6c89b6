"""Run log files: `runs/<id>.nq` while a run may still append, `runs/<id>.nq.gz` once it has finished.

Both hold the same bytes (gzip, readable with zcat): a finished log is compressed by writing the
`.nq.gz` next to the `.nq` and then removing the `.nq`, and a run continued under the same id
expands it back the other way, so while both exist the `.nq` is the complete one. Byte offsets
into a log (how far it is indexed or pushed) count its uncompressed bytes.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import struct
import time
from pathlib import Path
from typing import IO, Callable

PLAIN = ".nq"
COMPRESSED = ".nq.gz"
# Statuses after which a run's log is never appended to again (unless the run is continued).
FINAL_STATUSES = (b'"completed"', b'"failed"', b'"interrupted"')
GZIP_LEVEL = 6


def run_id_of(path: "Path | os.DirEntry") -> str | None:
    """The run id a log file name stands for (None for other files)."""
    name = path.name
    if name.startswith("."):
        return None  # a log being created or compressed
    for suffix in (COMPRESSED, PLAIN):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def log_files(runs_dir: Path) -> dict[str, Path]:
    """Run id -> the file holding its log (the plain one while both exist), in run id order."""
    return {run_id: Path(entry.path) for run_id, entry in _log_entries(runs_dir).items()}


def log_stats(runs_dir: Path) -> dict[str, tuple[Path, os.stat_result]]:
    """Run id -> (the file holding its log, its stat); a log removed meanwhile is left out."""
    found: dict[str, tuple[Path, os.stat_result]] = {}
    for run_id, entry in _log_entries(runs_dir).items():
        try:
            found[run_id] = (Path(entry.path), entry.stat())
        except FileNotFoundError:
            continue  # compressed or removed meanwhile
    return found


def named_log_stats(runs_dir: Path, names: dict[str, str]) -> dict[str, tuple[Path, os.stat_result]] | None:
    """Run id -> (runs_dir/name, its stat) for these log file names; None when one is gone (list the folder)."""
    found: dict[str, tuple[Path, os.stat_result]] = {}
    for run_id, name in names.items():
        path = runs_dir / name
        try:
            found[run_id] = (path, path.stat())
        except FileNotFoundError:
            return None
    return found


def _log_entries(runs_dir: Path) -> dict[str, os.DirEntry]:
    # os.scandir and plain names: a store of 10,000 runs is listed in milliseconds
    found: dict[str, os.DirEntry] = {}
    try:
        with os.scandir(runs_dir) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except FileNotFoundError:
        return found
    for entry in entries:
        run_id = run_id_of(entry)
        if run_id is not None and (run_id not in found or entry.name.endswith(PLAIN)):
            found[run_id] = entry
    return found


def find_log(runs_dir: Path, run_id: str) -> Path:
    """The file holding one run's log: `<id>.nq`, else `<id>.nq.gz`, else the `.nq` it would be."""
    plain = runs_dir / f"{run_id}{PLAIN}"
    if plain.exists():
        return plain
    packed = runs_dir / f"{run_id}{COMPRESSED}"
    return packed if packed.exists() else plain


def is_compressed(path: Path) -> bool:
    return path.name.endswith(COMPRESSED)


def open_log(path: Path) -> IO[bytes]:
    """The log's uncompressed bytes as a binary file (seekable; seeking a .gz reads up to there)."""
    if is_compressed(path):
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_log(path: Path) -> bytes:
    """Every byte of a log, uncompressed; a log compressed or removed meanwhile is read where it went."""
    try:
        with open_log(path) as handle:
            return handle.read()
    except FileNotFoundError:
        other = find_log(path.parent, run_id_of(path) or "")
        if other == path or not other.exists():
            raise
        with open_log(other) as handle:
            return handle.read()


def uncompressed_size(path: Path) -> int:
    """Bytes of the log once uncompressed (gzip's trailer holds it, modulo 4 GiB)."""
    if not is_compressed(path):
        return path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(-4, os.SEEK_END)
        return struct.unpack("<I", handle.read(4))[0]


def last_status(data: bytes, status_predicate: bytes) -> bytes | None:
    """The object of the last pi:status line in `data` (e.g. b'"completed"'), or None."""
    at = data.rfind(status_predicate)
    if at < 0:
        return None
    line_end = data.find(b"\n", at)
    rest = data[at + len(status_predicate) : line_end if line_end >= 0 else len(data)]
    return rest.rsplit(b" ", 2)[0].strip() if rest.count(b" ") >= 2 else rest.strip()


def compress_log(plain: Path, data: bytes | None = None,
                 sealed: Callable[[Path, bytes], None] | None = None) -> Path:
    """Write `<id>.nq.gz` holding the plain log's bytes, then remove the plain log; the new path.

    The caller holds the log's lock (its writer at close, or a reader that took it); `sealed(packed,
    data)` is called once the compressed log is in place, before the plain one goes.
    """
    if data is None:
        data = plain.read_bytes()
    if data and not data.endswith(b"\n"):
        data += b"\n"  # a torn last line ends here: nothing will complete it
    packed = plain.with_name(plain.name[: -len(PLAIN)] + COMPRESSED)
    tmp = plain.with_name(f".{packed.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as raw:
        # mtime=0 and no file name: the same log always compresses to the same bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) as out:
            out.write(data)
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(tmp, packed)
    if sealed is not None:
        sealed(packed, data)
    plain.unlink()
    return packed


def expand_log(packed: Path) -> Path:
    """Turn a compressed log back into a plain one (to append to); the plain path."""
    plain = packed.with_name(packed.name[: -len(COMPRESSED)] + PLAIN)
    tmp = packed.with_name(f".{plain.name}.{os.getpid()}.tmp")
    tmp.write_bytes(read_log(packed))
    os.replace(tmp, plain)
    packed.unlink(missing_ok=True)
    return plain


def compress_if_finished(plain: Path, status_predicate: bytes,
                         sealed: Callable[[Path, bytes], None] | None = None) -> bool:
    """Compress a plain log nobody writes (its lock is free) whose last status is final; True if done."""
    try:
        handle = open(plain, "rb")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live run
        if not os.path.exists(plain) or os.stat(plain).st_ino != os.fstat(handle.fileno()).st_ino:
            return False  # compressed or replaced meanwhile
        data = handle.read()
        if last_status(data, status_predicate) not in FINAL_STATUSES:
            return False
        compress_log(plain, data, sealed)
        return True


def locked_elsewhere(path: Path) -> bool:
    """True while another process holds an exclusive lock on this file (a run's log, the index lock)."""
    try:
        with open(path, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # no such file (yet): nobody holds it
        return False
    return False


# A folder's mtime this close to now may not show a change made in the same clock tick: not trusted.
FOLDER_SETTLED_NS = 2_000_000_000


def folder_key(runs_dir: Path) -> str | None:
    """What tells whether the logs folder's names changed (a log added, compressed, removed) since a scan:
    its mtime and inode; None while the folder changed too recently to tell (or does not exist)."""
    try:
        stat = os.stat(runs_dir)
    except OSError:
        return None
    if time.time_ns() - stat.st_mtime_ns < FOLDER_SETTLED_NS:
        return None
    return f"{stat.st_ino}:{stat.st_mtime_ns}"
