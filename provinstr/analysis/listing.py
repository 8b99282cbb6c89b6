"""What `provinstr runs` shows of each run: rows for tables, CSV, JSON and DataFrames, and the same
listing facts read with SPARQL where there is no local catalog (a SPARQL server store)."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from provinstr.analysis.facts import NOT_SCORED, _tail_number, higher_is_better

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo, Store

__all__ = ["listing_facts", "listing_hyperparameters", "listing_metrics", "metric_column", "run_record"]

# Hyperparameters every run's activities used (Adaptations left out), with the activity's start for ordering.
_HYPERPARAMETERS = """
SELECT ?run ?act ?start ?name ?value WHERE { GRAPH ?run {
  ?run a pi:Run . ?act prov:used ?h . ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value .
  OPTIONAL { ?act prov:startedAtTime ?start }
  FILTER NOT EXISTS { ?act a pi:Adaptation }
} }"""

# Per run, training and metric: the last epoch's value, the lowest and the highest (per-batch values left out).
_METRICS = """
SELECT ?run ?act ?name ?epoch ?final ?low ?high WHERE { GRAPH ?run {
  { SELECT ?act ?name (MAX(?e) AS ?epoch) (MIN(?v) AS ?low) (MAX(?v) AS ?high) WHERE {
      ?m a pi:Metric ; pi:name ?name ; prov:value ?v ; pi:epoch ?e ; prov:wasGeneratedBy ?act .
      FILTER NOT EXISTS { ?m pi:index ?batch }
      FILTER NOT EXISTS { ?act a ?kind . FILTER(STRSTARTS(STR(?kind), STR(pi:)) && ?kind != pi:Training) }
    } GROUP BY ?act ?name }
  ?m2 a pi:Metric ; pi:name ?name ; pi:epoch ?epoch ; prov:wasGeneratedBy ?act ; prov:value ?final .
  FILTER NOT EXISTS { ?m2 pi:index ?batch2 }
  ?run a pi:Run .
} }"""


def listing_facts(store: "Store", infos: "list[RunInfo]") -> None:
    """Fill each run's params, final and best from two SPARQL queries over every run."""
    listing_hyperparameters(store, infos)
    listing_metrics(store, infos)


def listing_hyperparameters(store: "Store", infos: "list[RunInfo]") -> None:
    """Fill each run's params from one SPARQL query over every run."""
    by_iri = {info.iri: info for info in infos}
    never = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
    rows = [r for r in store.query(_HYPERPARAMETERS).dicts() if r["run"] in by_iri]
    rows.sort(key=lambda r: (r["start"] or never, _tail_number(r["act"]), r["name"]))
    for row in rows:
        by_iri[row["run"]].params[row["name"]] = row["value"]


def listing_metrics(store: "Store", infos: "list[RunInfo]") -> None:
    """Fill each run's final and best from one SPARQL query over every run (slow on a big server store)."""
    by_iri = {info.iri: info for info in infos}
    ranked: dict[tuple, tuple] = {}
    lows: dict[tuple, list] = {}
    for row in store.query(_METRICS).dicts():
        info = by_iri.get(row["run"])
        if info is None:
            continue
        key, rank = (row["run"], row["name"]), (row["epoch"], _tail_number(row["act"]))
        if key not in ranked or rank >= ranked[key]:
            ranked[key] = rank
            info.final[row["name"]] = row["final"]
        lows.setdefault(key, []).append((row["low"], row["high"]))
    for (iri, name), bounds in lows.items():
        numbers = [b for pair in bounds for b in pair if isinstance(b, (int, float)) and not isinstance(b, bool)]
        if numbers and name not in NOT_SCORED:
            by_iri[iri].best[name] = max(numbers) if higher_is_better(name) else min(numbers)


def metric_column(name: str, params: "set[str] | list[str]") -> str:
    """A metric's column: its name, or `final.NAME` where a hyperparameter has that name."""
    return f"final.{name}" if name in params else name


def run_record(info: "RunInfo", infos: "list[RunInfo] | None" = None) -> dict[str, Any]:
    """One run as a flat row: run fields, hyperparameters, final metrics, best values."""
    from provinstr.analysis.selection import field_names

    params, metrics = field_names(infos if infos is not None else [info])
    record: dict[str, Any] = {
        "id": info.id, "name": info.name, "group": info.group, "status": info.status,
        "start": info.started, "end": info.ended, "duration": info.duration,
    }
    for name in params:
        record[name] = info.params.get(name)
    for name in metrics:
        record[metric_column(name, params)] = info.final.get(name)
    for name in metrics:
        if name not in NOT_SCORED:
            record[f"best.{name}"] = info.best.get(name)
    return record
