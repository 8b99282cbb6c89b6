"""A few runs copied into memory at once, for a page that asks each of them many questions.

A question to a local store opens its Oxigraph index (about 40 ms, whatever the question), so
`provinstr compare`'s facts for ten runs cost some fifty openings. A Snapshot reads the runs'
graphs in one go, from their logs (the truth: the index is derived from them, and a copy needs
neither its lock nor its catch-up), and answers the same SPARQL, with the same prefixes and default
graph, from memory; its RunInfos work with every analysis function (facts, compare, plot, graph).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyoxigraph as ox

from provinstr.errors import QuerySyntaxError
from provinstr.store import LocalStore
from provinstr.store.results import QueryResult, collect
from provinstr.vocab.terms import PREFIXES, RUN_BASE

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo, Store

__all__ = ["Snapshot", "snapshot"]


class _MemoryBackend:
    """The read side of a store backend (query, run_quads) over an in-memory copy of some run graphs."""

    def __init__(self, location: str, graphs: list[str]) -> None:
        self.path = location
        self.graphs = graphs
        self.index = ox.Store()

    def query(self, sparql: str, graphs: list[str] | None = None) -> QueryResult:
        """As a local store answers: the default graph is the union of the runs copied (or of `graphs`)."""
        chosen = graphs if graphs is not None else self.graphs
        try:
            return collect(self.index.query(sparql, prefixes=PREFIXES,
                                            default_graph=[ox.NamedNode(g) for g in chosen]))
        except SyntaxError as error:
            raise QuerySyntaxError(f"malformed SPARQL: {error}") from None

    def run_quads(self, run_iri: str) -> list[ox.Quad]:
        return list(self.index.quads_for_pattern(None, None, None, ox.NamedNode(run_iri)))


class Snapshot:
    """Some runs as they were when copied: `runs` (RunInfos that query the copy) and `query`."""

    def __init__(self, store: "Store", runs: Sequence["RunInfo"]) -> None:
        self.location = store.location
        iris = [run.iri for run in runs]
        self.backend = _MemoryBackend(store.location, iris)
        _copy_graphs(store, iris, self.backend.index)
        self.runs = [_copy(run, self) for run in runs]

    def query(self, sparql: str, run: "RunInfo | None" = None) -> QueryResult:
        """Answer SPARQL over the copied runs, or over one of them."""
        return self.backend.query(sparql, graphs=None if run is None else [run.iri])


def _copy(run: "RunInfo", store: "Snapshot") -> "RunInfo":
    """The run as a plain RunInfo asking the copy (whatever RunInfo subclass the store listed it as)."""
    from provinstr.analysis.store import RunInfo

    fields = {field.name: getattr(run, field.name) for field in dataclasses.fields(RunInfo)}
    return RunInfo(**{**fields, "store": store})


def _copy_graphs(store: "Store", iris: list[str], into: ox.Store) -> None:
    """Copy these run graphs: from each run's log in a local store (no index opening, no catch-up), one
    request per run to a server."""
    backend = store.backend
    if isinstance(backend, LocalStore):
        for iri in iris:
            if iri.startswith(RUN_BASE):
                backend.copy_run(iri[len(RUN_BASE):], into)
        return
    into.extend(quad for iri in iris for quad in backend.run_quads(iri))


def snapshot(store: "Store", runs: Sequence["RunInfo"]) -> Snapshot:
    """The runs copied into memory (see the module docstring)."""
    return Snapshot(store, runs)
