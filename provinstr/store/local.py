"""The local store: append-only per-run N-Quads logs (the truth) plus an Oxigraph index.

Writers only ever append to their own run log, so any number of processes record at once
without locks. Readers bring the index up to date from the new tails of the logs (a torn
last line waits for its end), under a file lock, then query it.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import shutil
import time
import traceback
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pyoxigraph as ox

from provinstr.errors import QuerySyntaxError, StoreError, StoreFormatError  # noqa: F401 (re-exported)
from provinstr.store.results import QueryResult, collect
from provinstr.vocab import PI, PREFIXES

FORMAT_VERSION = 1
# A reader that just let go of the index may still be closing it: wait this long before giving up.
OPEN_WAIT_SECONDS = 10.0
_STATUS = f" <{PI.status}> ".encode()
_STATUS_NODE = ox.NamedNode(str(PI.status))
# Log tails are read and loaded this many bytes at a time (bounded memory for huge logs).
INGEST_CHUNK_BYTES = 32 * 1024 * 1024
# Tails at least this big go through Oxigraph's bulk loader (about twice as fast, not atomic,
# which is fine: loading a line twice adds nothing).
BULK_LOAD_BYTES = 4 * 1024 * 1024
T = TypeVar("T")


class LocalStore:
    """A provinstr store folder: `runs/<id>.nq` logs, `index/` (rebuildable), `store.json`."""

    def __init__(self, path: str | os.PathLike, create: bool = False) -> None:
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        self.index_dir = self.path / "index"
        self._offsets_file = self.path / "index-offsets.json"
        self._lock_file = self.path / "index.lock"
        if create:
            self.create()
        self.check_format()

    # -- layout ------------------------------------------------------------------------
    def create(self) -> None:
        """Make the folder and its format marker if they do not exist yet."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        marker = self.path / "store.json"
        if not marker.exists():
            tmp = marker.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"format": FORMAT_VERSION, "tool": "provinstr"}) + "\n")
            os.replace(tmp, marker)

    def check_format(self) -> None:
        """Refuse a store written by a newer provinstr, with a message saying what to do."""
        marker = self.path / "store.json"
        if not self.path.exists():
            raise StoreError(
                f"no provinstr store at {self.path}: record a run first "
                "(provinstr run SCRIPT) or point --store / PROVINSTR_STORE at an existing store"
            )
        if not marker.exists():
            if self.runs_dir.exists():
                return  # a store whose marker is still being written by a first run
            raise StoreFormatError(f"{self.path} is not a provinstr store (no store.json)")
        try:
            version = int(json.loads(marker.read_text())["format"])
        except (ValueError, KeyError, TypeError) as error:
            raise StoreFormatError(f"{marker}: unreadable store marker ({error})") from error
        if version > FORMAT_VERSION:
            raise StoreFormatError(
                f"the store at {self.path} has format {version}, written by a newer provinstr; "
                f"this provinstr reads format {FORMAT_VERSION}. Upgrade: pip install -U provinstr"
            )

    def log_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.nq"

    def models_folder(self, run_id: str) -> Path:
        """Where a run's files (the trained models provinstr saves) go: <store>/models/<run-id> (not created)."""
        return Path(os.path.abspath(self.path)) / "models" / run_id

    def run_ids(self) -> list[str]:
        """Ids of every run with a log in this store."""
        return sorted(p.stem for p in self.runs_dir.glob("*.nq"))

    def is_live(self, run_id: str) -> bool:
        """True while the process writing this run still holds its log lock."""
        path = self.log_path(run_id)
        try:
            with open(path, "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False

    # -- index -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The index lock: readers take turns (writers never take it)."""
        try:
            lock = open(self._lock_file, "a+")
        except OSError as error:
            raise StoreError(
                f"cannot lock the index of the store at {self.path} ({error}); "
                "reading a store needs write access to its folder: copy it somewhere writable"
            ) from error
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def read(self, work: Callable[[ox.Store], T], rebuild: bool = False) -> T:
        """work(index) on the index brought up to date with every log, under the index lock.

        Oxigraph lets one process hold the index at a time, so `work` must return plain values
        and keep no reference to it; `rebuild` deletes the index first.
        """
        with self._locked():
            if rebuild:
                shutil.rmtree(self.index_dir, ignore_errors=True)
            if not self.index_dir.exists():
                self._offsets_file.unlink(missing_ok=True)  # offsets of a deleted index mean nothing
            store = self._open_index()
            try:
                self._ingest(store)
                return work(store)
            except BaseException as error:
                traceback.clear_frames(error.__traceback__)  # frames would keep the index open
                raise
            finally:
                del store

    def _open_index(self) -> ox.Store:
        deadline = time.monotonic() + OPEN_WAIT_SECONDS
        while True:
            try:
                return ox.Store(str(self.index_dir))
            except OSError as error:
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    raise StoreError(
                        f"cannot open the index {self.index_dir} ({error}); if no other provinstr "
                        "program is reading this store, rebuild the index with: provinstr reindex"
                    ) from None
                gc.collect()  # a dropped reader may still be waiting in a reference cycle
                time.sleep(0.05)

    def _ingest(self, store: ox.Store) -> None:
        offsets = self._read_offsets()
        changed = False
        # Tails of many logs are loaded together: one big (bulk) load is far faster than one per run.
        batch: list[bytes] = []
        batched = 0
        for log in sorted(self.runs_dir.glob("*.nq")):
            start = offsets.get(log.name, 0)
            try:
                handle = open(log, "rb")
            except FileNotFoundError:
                continue
            with handle:
                handle.seek(start)
                while data := handle.read(INGEST_CHUNK_BYTES):
                    end = data.rfind(b"\n")
                    if end < 0 and len(data) == INGEST_CHUNK_BYTES:  # one huge line: take it whole
                        data += handle.read()
                        end = data.rfind(b"\n")
                    if end < 0:
                        break  # only a torn line so far: wait for its end
                    chunk = data[: end + 1]
                    batch.append(chunk)
                    batched += len(chunk)
                    if batched >= INGEST_CHUNK_BYTES:
                        _load(store, b"".join(batch))
                        batch, batched = [], 0
                    start += len(chunk)
                    handle.seek(start)
                    changed = True
            offsets[log.name] = start
        if batch:
            _load(store, b"".join(batch))
        if changed:
            store.flush()
            tmp = self._offsets_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(offsets))
            os.replace(tmp, self._offsets_file)

    def _read_offsets(self) -> dict[str, int]:
        try:
            return json.loads(self._offsets_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def reindex(self) -> int:
        """Delete the index and rebuild it from the logs; returns the number of quads."""
        return self.read(len, rebuild=True)

    # -- reading -----------------------------------------------------------------------
    def query(self, sparql: str, graphs: list[str] | None = None) -> QueryResult:
        """Answer a SPARQL query; the default graph is the union of every run graph (or of `graphs`)."""
        options: dict = {"use_default_graph_as_union": True}
        if graphs is not None:
            options = {"default_graph": [ox.NamedNode(g) for g in graphs]}

        def answer(store: ox.Store) -> QueryResult | QuerySyntaxError:
            try:
                return collect(store.query(sparql, prefixes=PREFIXES, **options))
            except SyntaxError as error:
                return QuerySyntaxError(f"malformed SPARQL: {error}")

        result = self.read(answer)
        if isinstance(result, QuerySyntaxError):
            raise result  # raised here, after the index is let go
        return result

    def run_quads(self, run_iri: str) -> list[ox.Quad]:
        """Every quad of one run's graph."""
        graph = ox.NamedNode(run_iri)
        return self.read(lambda store: list(store.quads_for_pattern(None, None, None, graph)))

    # -- writing -----------------------------------------------------------------------
    def open_log(self, run_id: str) -> "RunLog":
        """The append-only log a new run writes to (creates the store if needed)."""
        self.create()
        return RunLog(self.log_path(run_id))


class RunLog:
    """One run's append-only N-Quads log, locked for as long as its process lives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Unbuffered: a failed write leaves nothing queued. The lock is held until the process
        # ends: readers tell a live run from a killed one by it.
        self._handle = _open_locked(path)
        self._torn = False

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        if self._torn:
            data = b"\n" + data  # end a line a failed write may have left half-written
        view = memoryview(data)
        try:
            while view:
                view = view[self._handle.write(view) :]
        except OSError:
            self._torn = True
            raise
        self._torn = False

    def close(self) -> None:
        self._handle.close()

    def release_after_fork(self) -> None:
        """In a forked child: let go of the parent's log (and so of its lock)."""
        self._handle.close()


def _open_locked(path: Path):
    """Open a log for appending, already locked when a reader can first see it."""
    if path.exists():  # a run continued under the same id
        handle = open(path, "ab", buffering=0)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StoreError(f"{path} is being written by another process; give this run another id") from None
        return handle
    # Lock a private file, then link it into place: a reader checking liveness can never take
    # the lock first and make this writer fail or wait.
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    handle = open(fresh, "ab", buffering=0)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.link(fresh, path)
    except BaseException:
        handle.close()
        raise
    finally:
        fresh.unlink(missing_ok=True)
    return handle


def _load(store: ox.Store, chunk: bytes) -> None:
    """Add a log tail to the index; a later pi:status of a run replaces its earlier one."""
    try:
        if len(chunk) >= BULK_LOAD_BYTES:
            store.bulk_load(chunk, format=ox.RdfFormat.N_QUADS)
        else:
            store.load(chunk, format=ox.RdfFormat.N_QUADS)
    except SyntaxError:
        # A line torn by a failed write (full disk) is skipped; the rest of the log still counts.
        _load_lines(store, chunk.splitlines(keepends=True))
    if _STATUS in chunk:
        _keep_last_status(store, chunk)


def _load_lines(store: ox.Store, lines: list[bytes]) -> None:
    """Load every line that parses, finding the torn ones by halving (loads are atomic)."""
    try:
        store.load(b"".join(lines), format=ox.RdfFormat.N_QUADS)
    except SyntaxError:
        if len(lines) > 1:
            middle = len(lines) // 2
            _load_lines(store, lines[:middle])
            _load_lines(store, lines[middle:])


def _keep_last_status(store: ox.Store, chunk: bytes) -> None:
    last: dict[tuple, ox.Quad] = {}
    for line in chunk.splitlines():
        if _STATUS not in line:
            continue
        try:
            quad = next(iter(ox.parse(line, format=ox.RdfFormat.N_QUADS)))
        except (SyntaxError, StopIteration):
            continue  # a torn line
        if quad.predicate == _STATUS_NODE:
            last[(quad.subject, quad.graph_name)] = quad
    for quad in last.values():
        for old in list(store.quads_for_pattern(quad.subject, _STATUS_NODE, None, quad.graph_name)):
            if old.object != quad.object:
                store.remove(old)
