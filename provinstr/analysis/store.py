"""The store users open: `provinstr.open_store(path_or_url)` -> Store, its runs (RunInfo), SPARQL.

Built on the store layer's raw backends (provinstr.store.open_backend); it adds what reading
needs: the list of runs, finding one by id prefix or 'last', and each run's metrics,
hyperparameters and plots (from the analysis modules, imported on first use).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from provinstr.analysis.facts import NOT_SCORED, higher_is_better
from provinstr.errors import StoreError
from provinstr.store import LocalStore, open_backend
from provinstr.store.catalog import CatalogEntry, RunCatalog
from provinstr.store.results import QueryResult
from provinstr.vocab.terms import RUN_BASE

__all__ = ["RunInfo", "RunNotFound", "Store", "open_store"]

_RUNS_QUERY = """
SELECT ?run ?label ?start ?end ?status ?host ?pid ?group ?error WHERE {
  GRAPH ?run {
    ?run a pi:Run ; prov:startedAtTime ?start .
    OPTIONAL { ?run rdfs:label ?label }
    OPTIONAL { ?run prov:endedAtTime ?end }
    OPTIONAL { ?run pi:status ?status }
    OPTIONAL { ?run pi:host ?host }
    OPTIONAL { ?run pi:processId ?pid }
    OPTIONAL { ?run pi:group ?group }
    OPTIONAL { ?run pi:exceptionMessage ?error }
  }
} ORDER BY ?start
"""


class RunNotFound(StoreError):
    """No run, or more than one, matches what the user typed."""


@dataclass
class RunInfo:
    """One run as `provinstr runs` lists it."""

    id: str
    iri: str
    name: str
    started: _dt.datetime
    ended: _dt.datetime | None
    status: str
    host: str | None = None
    pid: int | None = None
    group: str | None = None
    error: str | None = None
    store: "Store | None" = None
    unsent: int = 0  # records still only in the local spool (a SPARQL server store): provinstr push
    params: dict[str, Any] = field(default_factory=dict)  # hyperparameters of the run and its activities
    final: dict[str, Any] = field(default_factory=dict)  # {metric: its value at the last epoch}
    best: dict[str, Any] = field(default_factory=dict)  # {metric: its best epoch's value} (scored metrics)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (to now for a live run); None when it ended without a time."""
        if self.ended is not None:
            return (self.ended - self.started).total_seconds()
        if self.status == "running":
            return (_dt.datetime.now(_dt.timezone.utc) - self.started).total_seconds()
        return None

    def query(self, sparql: str) -> QueryResult:
        """Answer a query restricted to this run's graph (FROM the run)."""
        assert self.store is not None
        return self.store.query(sparql, run=self)

    def metrics(self):
        """The per-epoch metrics as a pandas DataFrame: one row per epoch, one column per metric."""
        from provinstr.analysis.facts import epoch_metrics, epoch_table

        import pandas as pd

        names, table = epoch_table(epoch_metrics(self))
        frame = pd.DataFrame.from_dict(table, orient="index", columns=names)
        frame.index.name = "epoch"
        return frame

    def hyperparameters(self) -> dict[str, Any]:
        """{name: value} of the hyperparameters the run's activities used (a later fit's value wins)."""
        from provinstr.analysis.facts import hyperparameters

        return {name: value for _, name, value in hyperparameters(self)}

    def plot(self, metrics: "str | list[str]" = ("loss", "val_loss"), output: "str | os.PathLike | None" = None):
        """The learning curves as a matplotlib Figure (also saved to `output` when given)."""
        from provinstr.analysis import plot

        names = [metrics] if isinstance(metrics, str) else list(metrics)
        names = [n for n in names if n in set(self.metrics().columns)] or names
        if output is not None:
            plot.save([self], names, output)
        return plot.figure([self], names)


_UNREAD: Any = object()  # a _LazyRunInfo value not read yet
_LAZY_FIELDS = ("params", "final", "best")


def _lazy(name: str) -> property:
    """A RunInfo field a _LazyRunInfo reads on first use."""

    def get(self) -> Any:
        value = self.__dict__[name]
        if value is _UNREAD:
            self.__dict__["_fill"](self, name)
            value = self.__dict__[name]
        return value

    def put(self, value: Any) -> None:
        self.__dict__[name] = value

    return property(get, put)


class _LazyRunInfo(RunInfo):
    """A listed run whose hyperparameters and metric values are read on first use (`fill(info, field)` sets
    them): listing 10,000 runs reads none of them, from the catalog or from a SPARQL server."""

    params = _lazy("params")
    final = _lazy("final")
    best = _lazy("best")

    def __init__(self, fill: "Callable[[RunInfo, str], None] | None" = None, **fields: Any) -> None:
        # fill is None when dataclasses.replace() copies one: every field is then given
        self.__dict__["_fill"] = fill
        for name in _LAZY_FIELDS:
            fields.setdefault(name, _UNREAD)
        super().__init__(**fields)

    def __getstate__(self) -> dict[str, Any]:
        # copy and pickle keep values, not the not-yet-read marker (a new object in the copy)
        for name in _LAZY_FIELDS:
            getattr(self, name)
        return {**self.__dict__, "_fill": None}


def _from_entry(entry: CatalogEntry) -> "Callable[[RunInfo, str], None]":
    """What fills a run listed from the catalog: its params from the entry's hyperparameters, its final and
    best from the entry's metrics, each decoded when first read (a --where on K decodes no metrics)."""

    def fill(info: RunInfo, field: str) -> None:
        if field == "params":
            info.params = dict(entry.hyperparameters)
        else:
            info.final, info.best = _final_and_best(entry.metrics)

    return fill


def _fill_from(info: RunInfo, hyperparameters: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> None:
    """Set a run's params, final and best from a server listing summary's details."""
    info.params = dict(hyperparameters)
    info.final, info.best = _final_and_best(metrics)


def _final_and_best(metrics: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """({metric: final value}, {scored metric: best value}) from an entry's {metric: {final, min, max}}."""
    final, best = {}, {}
    for name, series in metrics.items():
        final[name] = series["final"]
        if name not in NOT_SCORED:
            value = series["max"] if higher_is_better(name) else series["min"]
            if value is not None:
                best[name] = value
    return final, best


class _ServerListing:
    """What fills the runs listed from a SPARQL server, for all of them at once and only when first wanted:
    the listing summaries `provinstr push` keeps for ended runs (one query), then, for runs without one (live,
    or pushed by an older provinstr), their hyperparameters (one query) or final and best metric values (one
    slower query); a plain listing asks none of them."""

    def __init__(self, store: "Store") -> None:
        self.store = store
        self.infos: list[RunInfo] = []
        self.summaries: dict[str, dict[str, Any]] | None = None

    def __call__(self, info: RunInfo, field: str) -> None:
        from provinstr.analysis.listing import listing_hyperparameters, listing_metrics

        if self.summaries is None:
            self.summaries = self.store.backend.listing_summaries()
        names = ("params",) if field == "params" else ("final", "best")
        waiting = [i for i in self.infos if i.__dict__[names[0]] is _UNREAD]
        if not any(each is info for each in waiting) and info.__dict__[names[0]] is _UNREAD:  # not ==: it reads
            waiting.append(info)  # a copy of a listed run
        unsummarised = []
        for each in waiting:
            summary = self.summaries.get(each.iri) if each.status != "running" else None
            if summary is not None:
                _fill_from(each, summary.get("hyperparameters", {}), summary.get("metrics", {}))
                continue
            for name in names:
                each.__dict__[name] = {}
            unsummarised.append(each)
        if unsummarised:
            (listing_hyperparameters if field == "params" else listing_metrics)(self.store, unsummarised)


class Store:
    """A provinstr store opened for reading: `open_store(path_or_url)`."""

    def __init__(self, location: str | os.PathLike | None = None) -> None:
        self.backend = open_backend(location)
        self.location = str(self.backend.path)

    def query(self, sparql: str, run: "RunInfo | str | None" = None, most: int | None = None) -> QueryResult:
        """Answer SPARQL over every run (prov/pi/mls/xsd/rdf/rdfs prefixes are predeclared); `most` keeps
        only the first rows (the result's `more` says whether there were others)."""
        if run is not None:
            info = run if isinstance(run, RunInfo) else self.run(run)
            return self.backend.query(sparql, graphs=[info.iri], most=most)
        return self.backend.query(sparql, most=most)

    def runs(self, where: str | None = None, sort: "str | list[str] | None" = None, limit: int | None = None,
             group: str | None = None, status: str | None = None) -> list[RunInfo]:
        """The runs in the store, oldest first; a running run whose process is gone is 'interrupted'.

        `group` and `status` keep the runs of one sweep / in one state; `where` is an expression over
        hyperparameters, final metrics and run fields (`"learning_rate < 0.01 and K = 24"`); `sort`
        names keys (`"val_loss"`, `"-val_loss"` descending, `"K,-val_loss"`): ties keep the oldest first,
        runs lacking a key go last; `limit` keeps the first N. A malformed `where` raises WhereError.
        """
        infos = self._all_runs(group)
        if where is None and sort is None and limit is None and status is None:
            return infos
        from provinstr.analysis.selection import select

        return select(infos, where=where, sort=sort, limit=limit, group=group, status=status)

    def runs_frame(self, where: str | None = None, sort: "str | list[str] | None" = None, limit: int | None = None,
                   group: str | None = None, status: str | None = None):
        """The runs as a pandas DataFrame indexed by run id: run fields, one column per hyperparameter and
        per final metric (`final.NAME` where a hyperparameter has that name), `best.NAME` per scored metric."""
        try:
            import pandas as pd
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise RuntimeError("runs_frame() needs pandas: pip install pandas") from error
        from provinstr.analysis.listing import run_record

        infos = self.runs(where=where, sort=sort, limit=limit, group=group, status=status)
        frame = pd.DataFrame([run_record(info, infos) for info in infos])
        return frame.set_index("id") if len(frame) else frame

    def _all_runs(self, group: str | None = None) -> list[RunInfo]:
        """Every run (only those of `group` when given: a local catalog picks them, a server's are kept here)."""
        if isinstance(self.backend, LocalStore):
            return [self._info(entry) for entry in RunCatalog(self.backend.path).entries(group)]
        infos = self._with_spooled(self._queried_runs())
        return infos if group is None else [info for info in infos if info.group == group]

    def _info(self, entry: CatalogEntry) -> RunInfo:
        """A catalog entry as a RunInfo: its status, a running run whose process is gone 'interrupted'."""
        status = entry.status
        if status == "running" and not self.backend.is_live(entry.id):
            status = "interrupted"
        return _LazyRunInfo(_from_entry(entry), id=entry.id, iri=entry.iri, name=entry.name or entry.id[:8],
                            started=entry.started, ended=entry.ended, status=status, host=entry.host,
                            pid=entry.pid, group=entry.group, error=entry.error, store=self)

    def _queried_runs(self) -> list[RunInfo]:
        """A SPARQL server store (no local catalog): the runs from one query over every run; their
        hyperparameters and metrics from two more, asked only when first wanted."""
        listing = _ServerListing(self)
        for row in self.backend.query(_RUNS_QUERY).dicts():
            iri = row["run"]
            run_id = iri[len(RUN_BASE):] if iri.startswith(RUN_BASE) else iri
            status = row["status"] or "running"
            if status == "running" and not self.backend.is_live(run_id):
                status = "interrupted"
            listing.infos.append(
                _LazyRunInfo(
                    listing,
                    id=run_id,
                    iri=iri,
                    name=row["label"] or run_id[:8],
                    started=row["start"],
                    ended=row["end"],
                    status=status,
                    host=row["host"],
                    pid=row["pid"],
                    group=row["group"],
                    error=row["error"],
                    store=self,
                )
            )
        return list(listing.infos)

    def _with_spooled(self, infos: list[RunInfo]) -> list[RunInfo]:
        """A server store: mark runs with records still only in the local spool, add spooled runs it lacks."""
        spool = getattr(self.backend, "spool_path", None)  # only a server store spools
        pending = self.backend.unsent() if spool is not None else {}
        if not pending:
            return infos
        known = {info.id: info for info in infos}
        missing = [run_id for run_id in pending if run_id not in known]
        if missing:
            for info in Store(spool).runs():
                if info.id in missing:
                    infos.append(info)
                    known[info.id] = info
            infos.sort(key=lambda info: info.started)
        for run_id, lines in pending.items():
            if run_id in known:
                known[run_id].unsent = lines
        return infos

    def run(self, ref: str) -> RunInfo:
        """The run named by a unique id prefix, its full IRI, or 'last'."""
        runs = self.runs()
        if not runs:
            raise RunNotFound(f"the store at {self.location} holds no runs yet")
        if ref in ("last", "latest"):
            return runs[-1]
        key = ref[len(RUN_BASE):] if ref.startswith(RUN_BASE) else ref
        matches = [r for r in runs if r.id.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = ", ".join(f"{r.id[:12]} ({r.name})" for r in matches[:10])
            raise RunNotFound(f"{ref!r} is ambiguous: it matches {len(matches)} runs: {listed}; type more of the id")
        close = difflib.get_close_matches(key, [r.id[: max(len(key), 8)] for r in runs], n=5, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise RunNotFound(f"no run matches {ref!r}{hint} (see: provinstr runs)")


def open_store(location: str | os.PathLike | None = None) -> Store:
    """Open the store at a folder or a SPARQL server URL for reading and queries (`provinstr.open_store`).

    `location` defaults to --store / $PROVINSTR_STORE / [tool.provinstr] store / ./.provinstr.
    """
    return Store(location)
