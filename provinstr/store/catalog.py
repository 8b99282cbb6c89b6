"""The run catalog: what `provinstr runs` lists, kept per run in SQLite, derived from the run logs.

Each entry holds a run's id, name, group, status, start and end, its hyperparameters (those its
activities used, Adaptations left out, a later activity's value winning) and, for each metric
recorded per epoch by a training, the final value (the last epoch's) and the lowest and highest.
Entries are brought up to date from the new tails of the logs that changed (size or mtime) since
the catalog last saw them, so a listing reads a few rows and stats each log, never every quad. A
finished log is summarised once, when it is compressed (`seal`), into `summaries/<id>.json`: a
new catalog takes a finished run's entry from there instead of parsing its whole log. The logs stay
the truth: a summary that does not match its log is ignored, and a catalog that is missing,
unreadable, truncated or of another version is rebuilt from them with the same answers.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import gzip
import json
import math
import os
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyoxigraph as ox

from provinstr.errors import StoreError
from provinstr.store import logs
from provinstr.store.progress import IngestBar
from provinstr.store.results import to_python
from provinstr.vocab.terms import PI, PROV, RDF, RDFS, RUN_BASE

# Bump when what an entry holds or how it is derived changes: summaries (summaries/<id>.json) and the
# listing summaries pushed to a server of another version are not used, and catalogs are rebuilt.
ENTRY_VERSION = 2
# Bump when the catalog's table changes, and with ENTRY_VERSION: older catalogs are rebuilt (from summaries).
# 2: the run facts in columns, hyperparameters and metrics as one JSON text decoded on use.
# 3: hyperparameters and metrics in two JSON columns, each decoded only when asked for.
CATALOG_VERSION = 3
CATALOG_FILE = "catalog.sqlite"
# More new or changed logs than this show a progress bar on a terminal while they are catalogued.
PROGRESS_ABOVE_RUNS = 200
# How long a listing waits for another process updating the catalog before it says so.
BUSY_TIMEOUT_SECONDS = 60
SUMMARIES = "summaries"  # next to runs/: derived, like the catalog and the index

_TYPE, _LABEL = str(RDF.type), str(RDFS.label)
_VALUE, _USED = str(PROV.value), str(PROV.used)
_STARTED, _ENDED, _GENERATED_BY = str(PROV.startedAtTime), str(PROV.endedAtTime), str(PROV.wasGeneratedBy)
_ACTIVITY = str(PROV.Activity)
_NAME, _EPOCH, _INDEX = str(PI.name), str(PI.epoch), str(PI.index)
_RUN, _METRIC, _HYPERPARAMETER = str(PI.Run), str(PI.Metric), str(PI.Hyperparameter)
_RUN_FACTS = {str(PI.status): "status", str(PI.host): "host", str(PI.processId): "pid",
              str(PI.group): "group", str(PI.exceptionMessage): "error", _LABEL: "name",
              _STARTED: "started", _ENDED: "ended"}
_PI = str(PI._NS)
_TAIL_NUMBER = re.compile(r"(\d+)$")


@dataclass
class CatalogEntry:
    """One run as the catalog holds it (plain values; times as datetimes)."""

    id: str
    iri: str
    name: str | None
    started: _dt.datetime
    ended: _dt.datetime | None
    status: str  # as recorded: 'running' for a run that never ended, whether or not its process lives
    host: str | None = None
    pid: int | None = None
    group: str | None = None
    error: str | None = None
    # Both as JSON text, each decoded only when asked for: a listing decodes neither, a --where on
    # hyperparameters only the first.
    hyperparameters_json: str = "{}"
    metrics_json: str = "{}"

    @functools.cached_property
    def hyperparameters(self) -> dict[str, Any]:
        return json.loads(self.hyperparameters_json)

    @functools.cached_property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """{metric: {"final": value at the last epoch, "epoch": that epoch, "min": ..., "max": ...}}"""
        return json.loads(self.metrics_json)


_FACT_COLUMNS = ("name", "started", "ended", "status", "host", "pid", "grp", "error")


class RunCatalog:
    """The catalog of one local store folder: `<store>/catalog.sqlite`, next to `runs/`."""

    def __init__(self, store_path: str | os.PathLike) -> None:
        self.path = Path(store_path) / CATALOG_FILE
        self.runs_dir = Path(store_path) / "runs"

    def entries(self, group: str | None = None) -> list[CatalogEntry]:
        """Every run with a started pi:Run in its log (only those of `group` when given), oldest first,
        brought up to date with the logs."""
        found = [_entry(*row) for row in self._current_rows(group) if row[2] is not None]
        found.sort(key=lambda e: (e.started, e.id))
        return found

    def refresh(self) -> None:
        """Bring the catalog up to date with the logs (the background indexer's first step)."""
        self._current_rows()

    def _current_rows(self, group: str | None = None) -> list[tuple]:
        try:
            return self._refresh(group=group)
        except sqlite3.DatabaseError as error:
            if _busy(error):  # another process is updating it: not damage, so never deleted
                raise StoreError(f"the run catalog {self.path} stayed locked by another provinstr process "
                                 f"({error}); try again in a moment") from error
            if _read_only(error):  # one this process may not update (a read-only store): derived in memory
                return self._refresh(in_memory=True, group=group)
            self._remove()  # truncated or not a database: the logs are the truth
            return self._refresh(group=group)

    def rebuild(self) -> int:
        """Delete the catalog and derive it again from every log; returns the number of runs."""
        self._remove()
        return len(self.entries())

    # -- keeping it current ------------------------------------------------------------
    def _refresh(self, in_memory: bool = False, group: str | None = None) -> list[tuple]:
        with self._connect(in_memory) as db:
            folder, saved = logs.folder_key(self.runs_dir), _saved_key(db)
            files = None
            if folder is not None and folder == saved:  # only the plain (live) logs can have grown
                known = _known(db, f"WHERE log NOT LIKE '%{logs.COMPRESSED}'")
                files = self._plain_logs(known)
            whole = files is None
            if whole:  # a log added, compressed or removed since the last scan: list the folder
                known = _known(db)
                files = logs.log_stats(self.runs_dir)
            stale = [run_id for run_id, (path, stat) in files.items()
                     if known.get(run_id) != (path.name, stat.st_size, stat.st_mtime_ns)]
            gone = [run_id for run_id in known if run_id not in files] if whole else []
            if not stale and not gone:
                if whole and folder is not None and folder != saved:
                    with contextlib.suppress(sqlite3.OperationalError):  # read-only: whole scans, as before
                        _save_key(db, folder)
            else:
                db.execute("BEGIN IMMEDIATE")  # one updater at a time; readers keep reading
                for run_id in gone:
                    db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                total = sum(files[run_id][1].st_size for run_id in stale)
                # A bar only for a backlog that takes seconds: a store catalogued for the first time
                show = len(stale) >= PROGRESS_ABOVE_RUNS and sys.stderr.isatty()
                with IngestBar(total, len(stale), title="cataloguing run logs", show=show) as bar:
                    done = 0
                    for count, run_id in enumerate(stale, 1):
                        self._update(db, run_id, *files[run_id])
                        done += files[run_id][1].st_size
                        bar(done, total, count, len(stale), 0)
                if whole and folder is not None:
                    with contextlib.suppress(sqlite3.OperationalError):
                        _save_key(db, folder)
                db.execute("COMMIT")
            rows = f"SELECT id, {', '.join(_FACT_COLUMNS)}, hyperparameters, metrics FROM runs"
            if group is not None:  # a sweep's runs without decoding the others' rows
                return list(db.execute(rows + " WHERE grp = ?", (group,)))
            return list(db.execute(rows))

    def _plain_logs(self, known: dict[str, tuple]) -> dict[str, tuple[Path, os.stat_result]] | None:
        """With the folder's names unchanged since the last scan, only the plain logs can have grown: their
        stats (None when one is gone after all, so the folder is listed)."""
        plain = {run_id: name for run_id, (name, _size, _mtime) in known.items() if name.endswith(logs.PLAIN)}
        return logs.named_log_stats(self.runs_dir, plain)

    def _update(self, db: sqlite3.Connection, run_id: str, path: Path, stat: os.stat_result) -> None:
        row = db.execute("SELECT log, offset, state, size FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is not None and path.name == row[0] + ".gz" and row[1] == row[3] == _gzip_size(path):
            # the log it had read whole, now compressed: the same lines, nothing to read again
            db.execute("UPDATE runs SET log = ?, size = ?, mtime_ns = ? WHERE id = ?",
                       (path.name, stat.st_size, stat.st_mtime_ns, run_id))
            return
        if logs.is_compressed(path):
            entry = _sealed_entry(path)
            if entry is not None:  # summarised when it was compressed: no need to parse the log
                _store(db, run_id, path, stat, entry["size"], {}, entry["entry"])
                return
        state, offset = None, 0
        if row is not None and row[0] == path.name and row[1] <= stat.st_size and not path.name.endswith(".gz"):
            offset, state = row[1], json.loads(row[2])
        summary = RunSummary(RUN_BASE + run_id, state)
        data = _read(path, offset)
        end = data.rfind(b"\n") + 1  # a torn last line waits for its end
        # The last subject's lines may be only half written: they count now, but are read again next time.
        held = _last_subject_start(data, end)
        summary.add(data[:held])
        committed = summary.state()
        summary.add(data[held:end])
        _store(db, run_id, path, stat, offset + held, committed, summary.entry())

    @contextlib.contextmanager
    def _connect(self, in_memory: bool = False) -> Iterator[sqlite3.Connection]:
        where = ":memory:" if in_memory else self.path
        db = sqlite3.connect(where, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != CATALOG_VERSION:
                db.execute("BEGIN IMMEDIATE")
                if db.execute("PRAGMA user_version").fetchone()[0] != CATALOG_VERSION:
                    db.execute("DROP TABLE IF EXISTS runs")  # another version's entries: derive them again
                    db.execute("DROP TABLE IF EXISTS folder")
                    db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, log TEXT, size INTEGER, mtime_ns INTEGER,"
                               " offset INTEGER, state TEXT, name TEXT, started TEXT, ended TEXT, status TEXT,"
                               " host TEXT, pid INTEGER, grp TEXT, error TEXT, hyperparameters TEXT, metrics TEXT)")
                    db.execute(f"PRAGMA user_version = {CATALOG_VERSION}")
                db.execute("COMMIT")
            # the logs folder as last listed whole (a table a catalog of this version may still lack)
            with contextlib.suppress(sqlite3.OperationalError):  # a read-only catalog: no key, whole scans
                db.execute("CREATE TABLE IF NOT EXISTS folder (key TEXT)")
            yield db
        finally:
            db.close()

    def _remove(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class RunSummary:
    """The listing facts of one run, folded from its log's quads in the order they were written.

    `state()` is what is needed to go on from where the quads so far end (saved with the offset).
    """

    def __init__(self, run_iri: str, state: dict | None = None) -> None:
        self.run_iri = run_iri
        state = state or {}
        self.facts: dict[str, Any] = state.get("facts", {})
        self.is_run: bool = state.get("is_run", False)
        # activity IRI -> [pi kind or None, start time or None, {hyperparameter node: 1}]
        self.activities: dict[str, list] = state.get("activities", {})
        self.values: dict[str, list] = state.get("values", {})  # hyperparameter node -> [name, value]
        # (activity, metric name) as "activity\tname" -> [last epoch, final value, min, max]
        self.series: dict[str, list] = state.get("series", {})

    def state(self) -> dict:
        return json.loads(json.dumps({"facts": self.facts, "is_run": self.is_run, "activities": self.activities,
                                      "values": self.values, "series": self.series}, default=str))

    def add(self, data: bytes) -> None:
        """Fold complete N-Quads lines into the summary (lines that do not parse are skipped)."""
        if not data:
            return
        try:
            quads = list(ox.parse(data, format=ox.RdfFormat.N_QUADS))
        except SyntaxError:  # a line torn by a failed write: keep every line that parses
            quads = []
            for line in data.splitlines():
                with contextlib.suppress(SyntaxError):
                    quads.extend(ox.parse(line, format=ox.RdfFormat.N_QUADS))
        nodes: dict[str, dict[str, Any]] = {}
        for quad in quads:
            subject, predicate, obj = quad.subject.value, quad.predicate.value, quad.object
            if subject == self.run_iri:
                if predicate == _TYPE and obj.value == _RUN:
                    self.is_run = True
                elif predicate in _RUN_FACTS:
                    self.facts[_RUN_FACTS[predicate]] = _plain(to_python(obj))
            if predicate == _TYPE:
                kind = obj.value
                if kind == _ACTIVITY:
                    self.activities.setdefault(subject, [None, None, {}])
                elif kind.startswith(_PI):
                    nodes.setdefault(subject, {})["kind"] = kind[len(_PI):]
            elif predicate in (_NAME, _VALUE, _EPOCH, _INDEX, _GENERATED_BY, _STARTED):
                nodes.setdefault(subject, {})[predicate] = obj
            elif predicate == _USED:
                self.activities.setdefault(subject, [None, None, {}])[2][obj.value] = 1
        for subject, node in nodes.items():
            kind = node.get("kind")
            if subject in self.activities:
                activity = self.activities[subject]
                activity[0] = kind or activity[0]
                if _STARTED in node:
                    activity[1] = node[_STARTED].value
            if kind == "Hyperparameter" and _NAME in node and _VALUE in node:
                self.values[subject] = [node[_NAME].value, _plain(to_python(node[_VALUE]))]
            elif kind == "Metric" and _NAME in node and _VALUE in node and _EPOCH in node and _INDEX not in node:
                self._metric(node)

    def _metric(self, node: dict[str, Any]) -> None:
        by = node[_GENERATED_BY].value if _GENERATED_BY in node else ""
        if self.activities.get(by, [None])[0] not in (None, "Training"):
            return  # a test's or validation's value: not a training curve
        value, epoch = to_python(node[_VALUE]), to_python(node[_EPOCH])
        if not isinstance(epoch, int):
            return
        key = f"{by}\t{node[_NAME].value}"
        series = self.series.get(key)
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
        if series is None:
            self.series[key] = [epoch, _plain(value), value if number else None, value if number else None]
            return
        if epoch >= series[0]:
            series[0], series[1] = epoch, _plain(value)
        if number:
            series[2] = value if series[2] is None else min(series[2], value)
            series[3] = value if series[3] is None else max(series[3], value)

    def entry(self) -> dict[str, Any] | None:
        """The listing facts as JSON-ready values; None while the log holds no started pi:Run."""
        if not self.is_run or "started" not in self.facts:
            return None
        never = "0000"
        order = sorted((a for a in self.activities.items() if a[1][0] != "Adaptation"),
                       key=lambda a: (a[1][1] or never, _tail_number(a[0])))
        hyper: dict[str, Any] = {}
        for _, (_kind, _start, used) in order:
            for name, value in sorted((self.values[n] for n in used if n in self.values), key=lambda nv: nv[0]):
                hyper[name] = value
        metrics: dict[str, dict[str, Any]] = {}
        ranked: dict[str, tuple] = {}
        for key, (epoch, final, low, high) in self.series.items():
            activity, name = key.split("\t", 1)
            rank = (epoch, _tail_number(activity))  # the same epoch in a later fit replaces it
            current = metrics.get(name)
            if current is None:
                metrics[name] = {"final": final, "epoch": epoch, "min": low, "max": high}
                ranked[name] = rank
                continue
            if rank >= ranked[name]:
                current["final"], current["epoch"], ranked[name] = final, epoch, rank
            current["min"] = low if current["min"] is None else (current["min"] if low is None else min(current["min"], low))
            current["max"] = high if current["max"] is None else (current["max"] if high is None else max(current["max"], high))
        return {**self.facts, "hyperparameters": hyper, "metrics": metrics}


def _known(db: sqlite3.Connection, where: str = "") -> dict[str, tuple]:
    """Run id -> (log name, size, mtime_ns) as last catalogued."""
    return {row[0]: row[1:] for row in db.execute(f"SELECT id, log, size, mtime_ns FROM runs {where}")}


def _saved_key(db: sqlite3.Connection) -> str | None:
    try:
        row = db.execute("SELECT key FROM folder").fetchone()
    except sqlite3.OperationalError:  # no such table: a read-only catalog written before it
        return None
    return row[0] if row else None


def _save_key(db: sqlite3.Connection, key: str) -> None:
    db.execute("INSERT OR REPLACE INTO folder (rowid, key) VALUES (1, ?)", (key,))  # one row, one statement


def summary_path(log: Path) -> Path:
    """Where the summary of a compressed log is kept: <store>/summaries/<id>.json."""
    return log.parent.parent / SUMMARIES / f"{logs.run_id_of(log)}.json"


def seal(packed: Path, data: bytes) -> None:
    """Summarise a log just compressed to `packed` from its bytes `data` (what a catalog would derive)."""
    run_id = logs.run_id_of(packed)
    if run_id is None:
        return
    record = {"version": ENTRY_VERSION, "size": len(data), "entry": _fold(run_id, data)}
    target = summary_path(packed)
    target.parent.mkdir(exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, default=str))
    os.replace(tmp, target)


def log_entry(log: Path) -> dict | None:
    """One run's entry as the catalog would derive it: from its summary when sealed, else from the whole log."""
    if logs.is_compressed(log):
        record = _sealed_entry(log)
        if record is not None:
            return record["entry"]
    run_id = logs.run_id_of(log)
    return None if run_id is None else _fold(run_id, logs.read_log(log))


def _fold(run_id: str, data: bytes) -> dict[str, Any] | None:
    """A run's entry from its whole log's bytes (a torn last line left out)."""
    summary = RunSummary(RUN_BASE + run_id)
    summary.add(data[: data.rfind(b"\n") + 1])
    return summary.entry()


def _sealed_entry(packed: Path) -> dict | None:
    """The summary written when `packed` was compressed, if it is of this version and of these bytes."""
    try:
        record = json.loads(summary_path(packed).read_text())
        if (isinstance(record, dict) and record.get("version") == ENTRY_VERSION
                and record.get("size") == logs.uncompressed_size(packed) and "entry" in record):
            return record
    except (OSError, ValueError):
        pass
    return None


def _store(db: sqlite3.Connection, run_id: str, path: Path, stat: os.stat_result, offset: int, state: dict,
           entry: dict | None) -> None:
    """Write one run's row: where its log was read to, how to go on, and its entry (None: no run yet)."""
    entry = entry or {}
    facts = [entry.get("group" if column == "grp" else column) for column in _FACT_COLUMNS]
    texts = [json.dumps(entry.get("hyperparameters", {})), json.dumps(entry.get("metrics", {}))]
    db.execute(
        f"INSERT OR REPLACE INTO runs (id, log, size, mtime_ns, offset, state, {', '.join(_FACT_COLUMNS)},"
        f" hyperparameters, metrics) VALUES ({', '.join('?' * (8 + len(_FACT_COLUMNS)))})",
        (run_id, path.name, stat.st_size, stat.st_mtime_ns, offset, json.dumps(state), *facts, *texts),
    )


def _entry(run_id: str, name: str | None, started: str | None, ended: str | None, status: str | None,
           host: str | None, pid: int | None, group: str | None, error: str | None, hyperparameters: str | None,
           metrics: str | None) -> CatalogEntry:
    return CatalogEntry(
        id=run_id,
        iri=RUN_BASE + run_id,
        name=name,
        started=_time(started),
        ended=_time(ended),
        status=status or "running",
        host=host,
        pid=pid,
        group=group,
        error=error,
        hyperparameters_json=hyperparameters or "{}",
        metrics_json=metrics or "{}",
    )


def _read(path: Path, offset: int) -> bytes:
    """A plain log from `offset`, a compressed one whole."""
    try:
        with logs.open_log(path) as handle:
            if not logs.is_compressed(path):
                handle.seek(offset)
            return handle.read()
    except (FileNotFoundError, EOFError, gzip.BadGzipFile):
        return b""  # moved meanwhile, or still being compressed: seen again at the next listing


def _gzip_size(path: Path) -> int | None:
    try:
        return logs.uncompressed_size(path)
    except OSError:
        return None


def _last_subject_start(data: bytes, end: int) -> int:
    """Where the lines of the last subject before `end` begin (a record is written subject by subject)."""
    if end == 0:
        return 0
    start = data.rfind(b"\n", 0, end - 1) + 1
    subject = data[start:data.find(b" ", start, end) + 1]
    if not subject:
        return end
    while start > 0:
        previous = data.rfind(b"\n", 0, start - 1) + 1
        if not data.startswith(subject, previous):
            break
        start = previous
    return start


def _tail_number(iri: str) -> tuple:
    match = _TAIL_NUMBER.search(iri or "")
    return (int(match.group(1)) if match else 0, iri or "")


def _plain(value: Any) -> Any:
    """A value JSON keeps as it is (a datetime as its ISO text; NaN and infinities as text)."""
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _time(text: str | None) -> _dt.datetime | None:
    return _dt.datetime.fromisoformat(text) if text else None


def _read_only(error: sqlite3.DatabaseError) -> bool:
    """sqlite's "attempt to write a readonly database" / "unable to open database file" (no catalog, and a
    folder it may not create one in)."""
    return getattr(error, "sqlite_errorname", "").startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN"))


def _busy(error: sqlite3.DatabaseError) -> bool:
    """sqlite's "database is locked" / "busy": another connection holds it past the timeout."""
    return isinstance(error, sqlite3.OperationalError) and any(
        word in str(error).lower() for word in ("locked", "busy"))
