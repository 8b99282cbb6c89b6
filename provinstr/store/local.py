"""The local store: append-only per-run N-Quads logs (the truth) plus an Oxigraph index.

Writers only ever append to their own run log, so any number of processes record at once
without locks. Readers bring the index up to date from the new tails of the logs (a torn
last line waits for its end), under a file lock, then query it.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gc
import io
import json
import os
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pyoxigraph as ox

from provinstr.errors import QuerySyntaxError, StoreError, StoreFormatError  # noqa: F401 (re-exported)
from provinstr.store import catalog, compaction, logs, planner
from provinstr.store.progress import IngestBar, Progress
from provinstr.store.results import QueryResult, collect
from provinstr.vocab.terms import PI, PREFIXES

# 2: finished logs may be compressed (runs/<id>.nq.gz), which format-1 readers cannot read.
FORMAT_VERSION = 2
# What index-offsets.json records; an index built under an older one is rebuilt from the logs.
INDEX_FORMAT = 2
# A reader that just let go of the index may still be closing it: wait this long before giving up.
OPEN_WAIT_SECONDS = 10.0
_STATUS = f" <{PI.status}> ".encode()
_STATUS_NODE = ox.NamedNode(str(PI.status))
# Log tails are read this many bytes at a time (bounded memory for huge logs).
INGEST_CHUNK_BYTES = 32 * 1024 * 1024
# Logs up to this size are summarised for the catalog when compressed (~10 ms per MB at the writer's exit).
SEAL_LIMIT_BYTES = 32 * 1024 * 1024
# A backlog is split among up to this many parallel bulk loads, each of at least PARALLEL_MIN_BYTES.
PARALLEL_LOADS = min(os.cpu_count() or 1, 4)
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# One catch-up loads at most this much log text at a time (a load held ~2.7 bytes of memory per byte of it):
# measured on 150 sweep runs, 64 MB loaded as fast as 256-512 MB (120k quads/s) in 300 instead of 670 MB.
BATCH_BYTES = 64 * 1024 * 1024
# A backlog above LARGE_BACKLOG_BYTES (a reindex, a reader catching up a sweep) loads in batches of an eighth of
# it, up to LARGE_BATCH_BYTES and a quarter of the machine's memory: each load adds files RocksDB compacts
# against the whole index, so once the index is large fewer loads win. 10,000 sweep runs (12 GB of log text)
# from scratch: 64 MB batches 745 s, 512 MB batches 412 s (peak RSS 0.6 against 3.1 GB: ~6 bytes per byte).
LARGE_BACKLOG_BYTES = 1 << 30
LARGE_BATCH_BYTES = 512 * 1024 * 1024
MEMORY_PER_BATCH_BYTE = 6
T = TypeVar("T")
_UNREAD: Any = object()  # why_rebuild(): the record is still to be read


class LocalStore:
    """A provinstr store folder: `runs/<id>.nq` logs, `index/` (rebuildable), `store.json`."""

    def __init__(self, path: str | os.PathLike, create: bool = False) -> None:
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        self.index_dir = self.path / "index"
        self._offsets_file = self.path / "index-offsets.json"
        self._lock_file = self.path / "index.lock"
        # A progress bar while a large backlog is indexed: True, False, or None (when stderr is a terminal).
        self.show_progress: bool | None = None
        self._state: dict = {"format": INDEX_FORMAT, "runs": {}}
        self._loads = 0  # bulk loads this object made (each adds files: compaction.due)
        self._record_cache: tuple[tuple, dict] | None = None  # (index-offsets.json's stat, its content)
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

    def _mark_format(self) -> None:
        """Record the current format in store.json (after an upgrade: older provinstr cannot read .nq.gz)."""
        marker = self.path / "store.json"
        try:
            current = json.loads(marker.read_text())
        except (OSError, ValueError):
            current = {}
        if isinstance(current, dict) and current.get("format") == FORMAT_VERSION:
            return
        tmp = marker.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**(current if isinstance(current, dict) else {}), "format": FORMAT_VERSION,
                                   "tool": "provinstr"}) + "\n")
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
        """The file holding a run's log: runs/<id>.nq, or runs/<id>.nq.gz once finished and compressed."""
        return logs.find_log(self.runs_dir, run_id)

    def read_log(self, run_id: str) -> bytes:
        """A run's whole log, uncompressed."""
        return logs.read_log(self.log_path(run_id))

    def copy_run(self, run_id: str, into: ox.Store) -> None:
        """Add one run's graph to an in-memory store, read from its log (the truth): what the index holds
        for it once caught up, without taking the index lock or opening the index."""
        try:
            data = logs.read_log(self.log_path(run_id))
        except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
            raise StoreError(f"cannot read the log of run {run_id} in the store at {self.path} ({error}); "
                             "if it was removed or damaged, rebuild the index: provinstr reindex") from None
        data = data[: data.rfind(b"\n") + 1]  # a line still being written waits for its end
        _load(into, data)
        _keep_last_status(into, data)

    def models_folder(self, run_id: str) -> Path:
        """Where a run's files (the trained models provinstr saves) go: <store>/models/<run-id> (not created)."""
        return Path(os.path.abspath(self.path)) / "models" / run_id

    def run_ids(self) -> list[str]:
        """Ids of every run with a log in this store."""
        return sorted(logs.log_files(self.runs_dir))

    def is_live(self, run_id: str) -> bool:
        """True while the process writing this run still holds its log lock."""
        path = self.log_path(run_id)
        if logs.is_compressed(path):
            return False  # compressed: its run has ended
        return logs.locked_elsewhere(path)

    # -- index -------------------------------------------------------------------------
    @contextlib.contextmanager
    def index_lock(self, wait: bool = True) -> Iterator[bool]:
        """The index lock: readers take turns (writers never take it). Without `wait`, yields False
        at once when another process holds it."""
        try:
            lock = open(self._lock_file, "a+")
        except OSError as error:
            raise StoreError(
                f"cannot lock the index of the store at {self.path} ({error}); "
                "reading a store needs write access to its folder: copy it somewhere writable"
            ) from error
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    def read(self, work: Callable[[ox.Store], T], rebuild: bool = False, show_progress: bool | None = None) -> T:
        """work(index) on the index brought up to date with every log, under the index lock.

        Oxigraph lets one process hold the index at a time, so `work` must return plain values
        and keep no reference to it; `rebuild` deletes the index first. An index that is missing,
        damaged or built by an older provinstr is rebuilt from the logs, saying so once on stderr.
        """
        loads = self._loads

        def catch_up_then_work(index: ox.Store) -> T:
            self._ingest(index, show_progress)
            return work(index)

        with self.index_lock():
            answer = self._with_index(rebuild, True, catch_up_then_work)
        if self._loads > loads and compaction.due(self.index_dir, self._state):
            self._start_indexer()  # it compacts the index aside; this reader does not wait for that
        return answer

    def index_some(self, most_bytes: int = BATCH_BYTES) -> bool | None:
        """Bring the index up to date by at most `most_bytes` of new log text, unless another process
        holds it; True when nothing new is left, False when more is, None when the index was busy or must
        be rebuilt (damaged, older format: left to a reader, which says so).

        The background indexer's step (provinstr.store.background): the lock is let go between steps,
        so a reader waits for one step at most.
        """
        with self.index_lock(wait=False) as held:
            if not held:
                return None
            why = self.why_rebuild()
            if why is not None and why != "it does not exist yet":
                return None  # a reader rebuilds it, and says why on its stderr
            return self._with_index(False, False, lambda index: self._ingest(index, False, most_bytes))

    def _with_index(self, rebuild: bool, repair: bool, work: Callable[[ox.Store], T]) -> T:
        """work(index) on the sound index, closed again before this returns (the caller holds the index
        lock); `repair`: rebuild an index that cannot be opened, saying so (else raise)."""
        index = self._sound_index(rebuild, repair)
        try:
            return work(index)
        except BaseException as error:
            traceback.clear_frames(error.__traceback__)  # frames would keep the index open
            raise
        finally:
            del index

    def finished_logs_behind(self) -> set[str]:
        """The runs whose finished (compressed) log changed since the index last read it whole; without the lock."""
        state = self.read_record() or {}
        seen = state.get("seen", {})
        return {run_id for run_id, (log, stat) in logs.log_stats(self.runs_dir).items()
                if logs.is_compressed(log) and seen.get(run_id) != [stat.st_size, stat.st_mtime_ns]}

    def _start_indexer(self) -> None:
        from provinstr.store import background  # here: `python -m provinstr.store.background` imports this module

        background.start(self.path)

    def _sound_index(self, rebuild: bool, repair: bool = True) -> ox.Store:
        """The opened index, rebuilt first when asked or when unsound (saying why once on stderr)."""
        state = None if rebuild else self.read_record()  # read once: at 10,000 runs it is ~1 MB of JSON
        why = None if rebuild else self.why_rebuild(state)
        if why is not None and why != "it does not exist yet":
            print(f"provinstr: rebuilding the index of the store at {self.path} from its run logs: {why}",
                  file=sys.stderr)
        if rebuild or why is not None:
            self._clear_index()
            state = None
        self._state = state if state is not None else _fresh_record()
        return self._open_index(repair)

    def _clear_index(self) -> None:
        # The record goes first: a rebuild killed half-way leaves an index without one, rebuilt next time.
        self._offsets_file.unlink(missing_ok=True)
        shutil.rmtree(self.index_dir, ignore_errors=True)
        self._mark_format()

    def _open_index(self, repair: bool = True) -> ox.Store:
        deadline = time.monotonic() + OPEN_WAIT_SECONDS
        while True:
            try:
                return ox.Store(str(self.index_dir))
            except (OSError, RuntimeError) as error:  # RocksDB's "Corruption: ..." is a RuntimeError
                if "lock" not in str(error).lower():
                    if repair and self.index_dir.exists() and not getattr(self, "_rebuilt_damaged", False):
                        self._rebuilt_damaged = True  # once: a second failure is not the index's fault
                        print(f"provinstr: rebuilding the index of the store at {self.path} from its run logs: "
                              f"it cannot be opened ({' '.join(str(error).split())[:200]})", file=sys.stderr)
                        self._clear_index()
                        self._state = _fresh_record()
                        continue
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    raise StoreError(
                        f"cannot open the index {self.index_dir} ({error}); if no other provinstr "
                        "program is reading this store, rebuild the index with: provinstr reindex"
                    ) from None
                gc.collect()  # a dropped reader may still be waiting in a reference cycle
                time.sleep(0.05)

    def _ingest(self, store: ox.Store, show_progress: bool | None = None, most_bytes: int | None = None) -> bool:
        """Load every log's new complete lines into the index by bulk loads (work ∝ what is new); with
        `most_bytes`, only the first batch of at most that much. True when no new line is left.

        A large backlog is split by size among parallel bulk loads (Oxigraph's loader works on one
        core and lets go of the GIL), each taking whole logs.
        """
        offsets = self._state["runs"]
        # {id: [bytes on disk, mtime_ns]} of each log as last read whole: an unchanged log is not opened
        seen = self._state.setdefault("seen", {})
        tails, newly_seen = [], False
        # With the folder's names unchanged since the last whole scan, only the logs that were still
        # growing then can have changed: 10,000 finished runs are not stat'ed at every query.
        folder = logs.folder_key(self.runs_dir)
        stats = self._growing_log_stats() if folder is not None and folder == self._state.get("folder") else None
        whole = stats is None
        if whole:
            stats = logs.log_stats(self.runs_dir)
        for run_id, (log, stat) in stats.items():
            if seen.get(run_id) == [stat.st_size, stat.st_mtime_ns] and run_id in offsets:
                continue
            start = offsets.get(run_id, 0)
            try:
                size = logs.uncompressed_size(log)
            except (FileNotFoundError, OSError, ValueError):
                continue
            if size > start:
                tails.append(_Tail(run_id, log, start, max(size - start, 0), stat))
            elif size == start:
                seen[run_id] = [stat.st_size, stat.st_mtime_ns]
                newly_seen = True
        if not tails:
            if whole and folder is not None:
                newly_seen |= self._remember_folder(folder, stats)
            if newly_seen:
                self._write_state()
            return True
        pending = _batches(tails, most_bytes or _batch_bytes(sum(tail.size for tail in tails)))
        batches = pending[:1] if most_bytes is not None else pending
        total = sum(tail.size for batch in batches for tail in batch)
        runs = sum(len(batch) for batch in batches)
        with IngestBar(total, runs, show=show_progress if show_progress is not None else self.show_progress) as bar:
            counts = _Counts(bar, total, runs)
            # Batches (_batch_bytes): a loader's memory grows with what one load holds, and a
            # reader killed part-way keeps the batches it finished.
            for batch in batches:
                self._load_batch(store, batch, counts)
                self._loads += 1
                for tail in batch:
                    offsets[tail.run_id] = tail.end
                    if tail.end == tail.start + tail.size:  # read to the end: skipped until the file changes
                        seen[tail.run_id] = [tail.stat.st_size, tail.stat.st_mtime_ns]
                    else:
                        seen.pop(tail.run_id, None)
                self._write_state()
        if whole and folder is not None and len(batches) == len(pending) and self._remember_folder(folder, stats):
            self._write_state()
        return len(batches) == len(pending)

    def _growing_log_stats(self) -> dict[str, tuple[Path, os.stat_result]] | None:
        """The stats of the logs the last whole scan left growing (None when one is gone: scan whole)."""
        return logs.named_log_stats(self.runs_dir, self._state.get("growing", {}))

    def _remember_folder(self, folder: str, stats: dict[str, tuple[Path, os.stat_result]]) -> bool:
        """After a whole scan: the folder's key and the logs that may still grow (plain, or not read whole);
        whether the record changed."""
        seen = self._state["seen"]
        growing = {run_id: log.name for run_id, (log, stat) in stats.items()
                   if not logs.is_compressed(log) or seen.get(run_id) != [stat.st_size, stat.st_mtime_ns]}
        if self._state.get("folder") == folder and self._state.get("growing") == growing:
            return False
        self._state["folder"], self._state["growing"] = folder, growing
        return True

    def _load_batch(self, store: ox.Store, tails: list["_Tail"], counts: "_Counts") -> None:
        """Bulk-load these tails, split by size among parallel loads; fix their statuses; flush."""
        size = sum(tail.size for tail in tails)
        workers = min(PARALLEL_LOADS, len(tails), max(1, size // PARALLEL_MIN_BYTES))
        readers = [_TailReader(group, counts) for group in _split(tails, workers)]
        torn = _run_all([functools.partial(_bulk_load, store, reader) for reader in readers])
        for reader in torn:
            # A line torn by a failed write (full disk): load run by run, skipping only such lines.
            # The bulk load is not atomic, but loading a line twice adds nothing.
            again = _TailReader(reader.tails, None)
            for chunk in again.chunks():
                _load(store, chunk)
            reader.status_lines = again.status_lines
        _keep_last_status(store, b"".join(line for reader in readers for line in reader.status_lines))
        store.flush()  # before the offsets say these lines are in

    # The index's own record: which format built it and how far each run's log is in it.
    def read_record(self) -> dict | None:
        """The index's record (index-offsets.json); a file unchanged for 2 s is parsed once (~1 MB of JSON
        at 10,000 runs, ~25 ms), and handed out as a copy the caller may change."""
        try:
            key = _file_key(self._offsets_file)
            if self._record_cache is not None and self._record_cache[0] == key:
                return _copy_record(self._record_cache[1])
            state = json.loads(self._offsets_file.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return {"format": 0, "runs": {}}  # truncated: rebuilt
        if not isinstance(state, dict) or not isinstance(state.get("runs"), dict):
            return {"format": 1, "runs": {}}  # format 1 kept {"<id>.nq": offset}
        if time.time_ns() - key[2] > logs.FOLDER_SETTLED_NS:
            # Only a settled file: one rewritten in the same clock tick (with a reused inode, the same
            # size) could not be told from this one, and a reader would trust offsets the index lacks.
            self._record_cache = (key, _copy_record(state))
        return state

    def _write_state(self) -> None:
        tmp = self._offsets_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._state))
        os.replace(tmp, self._offsets_file)
        self._record_cache = None  # read back once it has settled

    def why_rebuild(self, state: dict | None = _UNREAD) -> str | None:
        """Why the index must be rebuilt from the logs before it can answer (None: it is sound); `state`:
        its record, when already read."""
        if state is _UNREAD:
            state = self.read_record()
        has_index = self.index_dir.exists() and any(self.index_dir.iterdir())
        if state is None:
            if has_index:
                return "its record of what it holds (index-offsets.json) is missing"
            return "it does not exist yet" if self.run_ids() else None
        if not has_index:
            return "it is missing"
        version = state.get("format", 0)
        if version == 0:
            return "its record of what it holds (index-offsets.json) is damaged"
        if version < INDEX_FORMAT:
            return f"it was built by an older provinstr (index format {version}, now {INDEX_FORMAT})"
        return None

    def reindex(self, show_progress: bool | None = None) -> int:
        """Delete the index and rebuild it from the logs (compressing finished ones), then compact it;
        the number of quads."""
        self.compact()

        def rebuilt(index: ox.Store) -> int:
            compaction.compact_in_place(index, self)
            return len(index)

        return self.read(rebuilt, rebuild=True, show_progress=show_progress)

    def record_compaction(self, files: int) -> None:
        """Note in the index's record how many files it has right after a compaction (compaction.due)."""
        self._state[compaction.STATE_KEY] = files
        self._write_state()

    def replace_index(self, compacted: Path, record: dict, replaced: Path) -> None:
        """Put a compacted copy of the index in its place, with the record it was taken with (the caller
        holds the index lock)."""
        # The record goes first: killed before the new one is written, the index is rebuilt, never wrong.
        self._offsets_file.unlink(missing_ok=True)
        shutil.rmtree(replaced, ignore_errors=True)
        os.rename(self.index_dir, replaced)
        os.rename(compacted, self.index_dir)
        self._state = record
        self._write_state()
        shutil.rmtree(replaced, ignore_errors=True)

    def compact(self) -> int:
        """Compress every plain log whose run has finished and that nobody writes; how many were."""
        done = 0
        for log in logs.log_files(self.runs_dir).values():
            if not logs.is_compressed(log) and logs.compress_if_finished(log, _STATUS, _seal):
                done += 1
        return done

    # -- reading -----------------------------------------------------------------------
    def query(self, sparql: str, graphs: list[str] | None = None, most: int | None = None) -> QueryResult:
        """Answer a SPARQL query; the default graph is the union of every run graph (or of `graphs`); at most
        `most` rows are read (`more` says whether there were others)."""
        options: dict = {"use_default_graph_as_union": True}
        if graphs is not None:
            options = {"default_graph": [ox.NamedNode(g) for g in graphs]}

        def ask(store: ox.Store, text: str) -> QueryResult | QuerySyntaxError:
            try:
                return collect(store.query(text, prefixes=PREFIXES, **options), most)
            except SyntaxError as error:
                return QuerySyntaxError(f"malformed SPARQL: {error}")

        def answer(store: ox.Store) -> QueryResult | QuerySyntaxError:
            planned = _planned(store, sparql, options)
            result = ask(store, planned)
            if isinstance(result, QuerySyntaxError) and planned != sparql:
                return ask(store, sparql)  # the user's own text, so an error points into what they wrote
            return result

        result = self.read(answer)
        if isinstance(result, QuerySyntaxError):
            raise result  # raised here, after the index is let go
        return result

    def run_quads(self, run_iri: str) -> list[ox.Quad]:
        """Every quad of one run's graph."""
        graph = ox.NamedNode(run_iri)
        return self.read(lambda store: list(store.quads_for_pattern(None, None, None, graph)))

    # -- writing -----------------------------------------------------------------------
    def open_log(self, run_id: str, index_when_ended: bool = True) -> "RunLog":
        """The append-only log a new run writes to (creates the store if needed); once the run has ended,
        a background indexer brings the catalog and index up to date (`index_when_ended`, provinstr.store.background)."""
        self.create()
        return RunLog(self.log_path(run_id), self._start_indexer if index_when_ended else None)


# PROVINSTR_QUERY_PLAN=0 asks queries exactly as written (store/planner.py orders their triple patterns).
QUERY_PLAN_ENV = "PROVINSTR_QUERY_PLAN"


def _planned(store: ox.Store, sparql: str, options: dict) -> str:
    """The query with its triple patterns in the order the index's counts favour; as written when planning
    is off or fails (planning never costs a user their answer)."""
    if os.environ.get(QUERY_PLAN_ENV) == "0":
        return sparql

    def select(text: str) -> list[list[str | None]]:
        return [[None if term is None else term.value for term in row]
                for row in store.query(text, prefixes=PREFIXES, **options)]

    try:
        return planner.reorder(sparql, select)
    except Exception:  # noqa: BLE001 - a query this reader gets wrong is asked as written
        return sparql


class RunLog:
    """One run's append-only N-Quads log, locked for as long as its process lives."""

    def __init__(self, path: Path, when_ended: Callable[[], object] | None = None) -> None:
        self.path = path
        self._when_ended = when_ended  # called once the log of a finished run is closed
        # Unbuffered: a failed write leaves nothing queued. The lock is held until the process
        # ends: readers tell a live run from a killed one by it.
        self._handle = _open_locked(path)
        self._torn = False
        self._status: bytes | None = None  # the last pi:status written

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
        if _STATUS in data:
            self._status = logs.last_status(bytes(data), _STATUS)

    def close(self) -> None:
        """Let go of the log; a finished run's log is compressed first (runs/<id>.nq.gz)."""
        ended = self._status in logs.FINAL_STATUSES and not self._handle.closed
        try:
            if ended and not self._torn:
                logs.compress_log(self.path, sealed=_seal)
        except OSError:
            pass  # the plain log stays: it reads the same, and `provinstr reindex` compresses it later
        finally:
            self._handle.close()
        if ended and self._when_ended is not None:
            self._when_ended()

    def release_after_fork(self) -> None:
        """In a forked child: let go of the parent's log (and so of its lock)."""
        self._handle.close()


def _seal(packed: Path, data: bytes) -> None:
    """Summarise a just-compressed log for the catalog; without it the catalog parses the log instead."""
    if len(data) > SEAL_LIMIT_BYTES:
        return  # the writer's exit would wait for it; a catalog reads such a log as it grew
    try:
        catalog.seal(packed, data)
    except Exception:  # noqa: BLE001 - a summary is an optimisation: closing the log must not fail
        pass


def _open_locked(path: Path):
    """Open a log for appending, already locked when a reader can first see it."""
    while path.exists():  # a run continued under the same id
        handle = open(path, "ab", buffering=0)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StoreError(f"{path} is being written by another process; give this run another id") from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                return handle
        handle.close()  # compressed by a reader meanwhile: continue its .nq.gz
    packed = path.with_name(path.name + ".gz")
    # Lock a private file, then link it into place: a reader checking liveness can never take
    # the lock first and make this writer fail or wait.
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    handle = open(fresh, "ab", buffering=0)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if packed.exists():  # continuing a finished run: its log is plain (and appendable) again
            view = memoryview(logs.read_log(packed))
            while view:
                view = view[handle.write(view) :]
        os.link(fresh, path)
        packed.unlink(missing_ok=True)
    except BaseException:
        handle.close()
        raise
    finally:
        fresh.unlink(missing_ok=True)
    return handle


class _Tail:
    """The part of one run's log not in the index yet: from `start` (uncompressed bytes) to `end`."""

    def __init__(self, run_id: str, log: Path, start: int, size: int, stat: os.stat_result) -> None:
        self.run_id, self.log, self.start, self.size, self.stat = run_id, log, start, size, stat
        self.end = start  # moves on as whole lines are read


class _Counts:
    """Bytes, quads and runs indexed so far by every bulk load of one catch-up, for the progress bar."""

    def __init__(self, progress: Progress | None, total_bytes: int, total_runs: int) -> None:
        self.progress, self.total_bytes, self.total_runs = progress, total_bytes, total_runs
        self.bytes = self.quads = self.runs = 0
        self._lock = threading.Lock()

    def add(self, size: int, quads: int, runs: int) -> None:
        with self._lock:
            self.bytes += size
            self.quads += quads
            self.runs += runs
            if self.progress is not None:
                self.progress(self.bytes, self.total_bytes, self.runs, self.total_runs, self.quads)


class _TailReader(io.RawIOBase):
    """The complete new lines of many logs as one stream, for one bulk load of them all.

    Remembers the pi:status lines it passes (for _keep_last_status) and where each tail ended;
    a torn last line is left for a later reader, once it has its end.
    """

    def __init__(self, tails: list[_Tail], counts: _Counts | None) -> None:
        self.tails, self.counts = tails, counts
        self.status_lines: list[bytes] = []
        self._pending = self.chunks()
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            chunk = next(self._pending, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size

    def chunks(self) -> Iterator[bytes]:
        """Each tail's whole lines, INGEST_CHUNK_BYTES or so at a time."""
        for tail in self.tails:
            try:
                handle = logs.open_log(tail.log)
            except FileNotFoundError:
                continue  # compressed meanwhile: the next reader reads it there
            with handle:
                handle.seek(tail.start)
                position = tail.start
                while data := handle.read(INGEST_CHUNK_BYTES):
                    end = data.rfind(b"\n")
                    if end < 0 and len(data) == INGEST_CHUNK_BYTES:  # one huge line: take it whole
                        data += handle.read()
                        end = data.rfind(b"\n")
                    if end < 0:
                        break  # only a torn line so far: wait for its end
                    chunk = data[: end + 1]
                    position += len(chunk)
                    handle.seek(position)
                    if _STATUS in chunk:
                        self.status_lines.extend(line + b"\n" for line in chunk.splitlines() if _STATUS in line)
                    if self.counts is not None:
                        self.counts.add(len(chunk), chunk.count(b"\n"), 0)
                    yield chunk
            tail.end = position
            if self.counts is not None:
                self.counts.add(0, 0, 1)


def _batch_bytes(backlog: int) -> int:
    """How much log text one load of a catch-up takes, for a backlog of `backlog` bytes (LARGE_BACKLOG_BYTES)."""
    if backlog < LARGE_BACKLOG_BYTES:
        return BATCH_BYTES
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this platform: assume a small machine
        memory = 8 << 30
    return max(BATCH_BYTES, min(LARGE_BATCH_BYTES, backlog // 8, memory // 4 // MEMORY_PER_BATCH_BYTE))


def _batches(tails: list[_Tail], most: int) -> list[list[_Tail]]:
    """The tails in order, in batches of at most `most` bytes (a larger tail is a batch of its own)."""
    batches: list[list[_Tail]] = []
    size = 0
    for tail in tails:
        if not batches or size + tail.size > most:
            batches.append([])
            size = 0
        batches[-1].append(tail)
        size += tail.size
    return batches


def _split(tails: list[_Tail], parts: int) -> list[list[_Tail]]:
    """Tails in `parts` groups of about equal size (largest first into the lightest group)."""
    groups: list[list[_Tail]] = [[] for _ in range(max(parts, 1))]
    sizes = [0] * len(groups)
    for tail in sorted(tails, key=lambda t: -t.size):
        lightest = sizes.index(min(sizes))
        groups[lightest].append(tail)
        sizes[lightest] += tail.size
    return [group for group in groups if group]


def _bulk_load(store: ox.Store, reader: _TailReader) -> _TailReader | None:
    """Bulk-load what `reader` streams; the reader back if a torn line stopped it (None when loaded)."""
    try:
        store.bulk_load(io.BufferedReader(reader, 1 << 20), format=ox.RdfFormat.N_QUADS)
    except SyntaxError:
        return reader
    return None


def _run_all(jobs: list[Callable[[], T]]) -> list[T]:
    """Each job's result that is not None, the jobs run in parallel threads; the first error is raised."""
    if len(jobs) == 1:
        results = [jobs[0]()]
    else:
        results, errors = [None] * len(jobs), []

        def work(index: int) -> None:
            try:
                results[index] = jobs[index]()
            except BaseException as error:  # noqa: BLE001 - raised again on the calling thread
                errors.append(error)

        threads = [threading.Thread(target=work, args=(index,), name="provinstr-index") for index in range(len(jobs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
    return [result for result in results if result is not None]


def _load(store: ox.Store, chunk: bytes) -> None:
    """Add whole log lines to the index; a line torn by a failed write (full disk) is skipped."""
    try:
        store.load(chunk, format=ox.RdfFormat.N_QUADS)
    except SyntaxError:
        _load_lines(store, chunk.splitlines(keepends=True))


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


def _file_key(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _copy_record(state: dict) -> dict:
    """A copy of an index record deep enough to change: its values are replaced, never changed in place."""
    return {key: dict(value) if isinstance(value, dict) else value for key, value in state.items()}


def _fresh_record() -> dict:
    """The record of an index about to be built; its build id tells a compacted copy of an older build."""
    return {"format": INDEX_FORMAT, "runs": {}, "build": os.urandom(8).hex()}
