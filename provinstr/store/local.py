"""The local store: append-only per-run N-Quads logs (the truth) plus an Oxigraph index.

Writers only ever append to their own run log, so any number of processes record at once
without locks. Readers bring the index up to date from the new tails of the logs (a torn
last line waits for its end), under a file lock, then query it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import pyoxigraph as ox

from provinstr.store.results import QueryResult, collect
from provinstr.vocab import PI, PREFIXES

FORMAT_VERSION = 1
DEFAULT_LOCATION = ".provinstr"
_STATUS = PI.status.encode()
_STATUS_NODE = ox.NamedNode(str(PI.status))


class StoreError(Exception):
    """A store problem a user can act on (the message says what to do)."""


class StoreFormatError(StoreError):
    """The store folder was written by a newer provinstr (or is not a provinstr store)."""


class QuerySyntaxError(StoreError):
    """A malformed SPARQL query; the message carries the parser's line and column."""


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
    def index(self) -> Iterator[ox.Store]:
        """The Oxigraph index, brought up to date with every log, held under the index lock."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self._lock_file, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                store = ox.Store(str(self.index_dir))
            except OSError as error:
                raise StoreError(
                    f"cannot open the index {self.index_dir} ({error}); "
                    "rebuild it with: provinstr reindex"
                ) from error
            try:
                self._ingest(store)
                yield store
            finally:
                del store

    def _ingest(self, store: ox.Store) -> None:
        offsets = self._read_offsets()
        changed = False
        for log in sorted(self.runs_dir.glob("*.nq")):
            start = offsets.get(log.name, 0)
            try:
                size = log.stat().st_size
            except FileNotFoundError:
                continue
            if size <= start:
                continue
            with open(log, "rb") as handle:
                handle.seek(start)
                data = handle.read(size - start)
            end = data.rfind(b"\n")
            if end < 0:
                continue  # only a torn line so far: wait for its end
            chunk = data[: end + 1]
            _load(store, chunk, log)
            offsets[log.name] = start + len(chunk)
            changed = True
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
        with open(self.path / "index.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            shutil.rmtree(self.index_dir, ignore_errors=True)
            self._offsets_file.unlink(missing_ok=True)
        with self.index() as store:
            return len(store)

    # -- reading -----------------------------------------------------------------------
    def query(self, sparql: str, graphs: list[str] | None = None) -> QueryResult:
        """Answer a SPARQL query; the default graph is the union of every run graph (or of `graphs`)."""
        with self.index() as store:
            options: dict = {"use_default_graph_as_union": True}
            if graphs is not None:
                options = {"default_graph": [ox.NamedNode(g) for g in graphs]}
            try:
                answer = store.query(sparql, prefixes=PREFIXES, **options)
            except SyntaxError as error:
                raise QuerySyntaxError(f"malformed SPARQL: {error}") from None
            return collect(answer)

    def run_quads(self, run_iri: str) -> list[ox.Quad]:
        """Every quad of one run's graph."""
        with self.index() as store:
            return list(store.quads_for_pattern(None, None, None, ox.NamedNode(run_iri)))

    def run_nquads(self, run_iri: str) -> bytes:
        """One run's graph as canonical N-Quads text."""
        return ox.serialize(self.run_quads(run_iri), format=ox.RdfFormat.N_QUADS)

    # -- writing -----------------------------------------------------------------------
    def open_log(self, run_id: str) -> "RunLog":
        """The append-only log a new run writes to (creates the store if needed)."""
        self.create()
        return RunLog(self.log_path(run_id))


class RunLog:
    """One run's append-only N-Quads log, locked for as long as its process lives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "ab", buffering=0)  # unbuffered: a failed write leaves nothing queued
        # Held until the process ends: readers tell a live run from a killed one by it.
        fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
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


def _load(store: ox.Store, chunk: bytes, log: Path) -> None:
    """Add a log tail to the index; a later pi:status of a run replaces its earlier one."""
    try:
        store.load(chunk, format=ox.RdfFormat.N_QUADS)
    except SyntaxError:
        # A line torn by a failed write (full disk) is skipped; the rest of the log still counts.
        for line in chunk.splitlines(keepends=True):
            with contextlib.suppress(SyntaxError):
                store.load(line, format=ox.RdfFormat.N_QUADS)
    if _STATUS in chunk:
        _keep_last_status(store, chunk)


def _keep_last_status(store: ox.Store, chunk: bytes) -> None:
    last: dict[bytes, bytes] = {}
    for line in chunk.splitlines():
        if _STATUS in line:
            subject = line.split(b" ", 1)[0]
            last[subject] = line
    for line in last.values():
        quad = next(iter(ox.parse(line, format=ox.RdfFormat.N_QUADS)))
        for old in list(store.quads_for_pattern(quad.subject, _STATUS_NODE, None, quad.graph_name)):
            if old.object != quad.object:
                store.remove(old)
