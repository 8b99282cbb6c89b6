"""Facts of many runs in one query each (a sweep's curves), where asking run by run would open the store's
index once per run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from provinstr.analysis.facts import _tail_number

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo, Store

__all__ = ["epoch_curves"]

# Per-epoch values of training metrics (what facts.epoch_metrics keeps: no per-batch values, no Test's).
_CURVES = """
SELECT ?run ?act ?name ?epoch ?value WHERE {
  VALUES ?run { RUNS }
  GRAPH ?run {
    ?m a pi:Metric ; pi:name ?name ; pi:epoch ?epoch ; prov:value ?value .
    FILTER NOT EXISTS { ?m pi:index ?batch }
    OPTIONAL { ?m prov:wasGeneratedBy ?act }
    FILTER NOT EXISTS { ?act a ?kind . FILTER(STRSTARTS(STR(?kind), STR(pi:)) && ?kind != pi:Training && ?kind != pi:Run) }
  }
}"""


def epoch_curves(store: "Store", runs: Sequence["RunInfo"]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """{run id: {metric: [(epoch, value), ...]}} of numeric per-epoch metrics, as plot.curves gives one run's
    (a later fit's value of an epoch wins); one query for every run."""
    if not runs:
        return {}
    by_iri = {run.iri: run.id for run in runs}
    rows = store.query(_CURVES.replace("RUNS", " ".join(f"<{iri}>" for iri in by_iri))).dicts()
    rows.sort(key=lambda r: (r["epoch"], _tail_number(r["act"] or "")))
    points: dict[str, dict[str, dict[int, Any]]] = {run.id: {} for run in runs}
    for row in rows:
        if isinstance(row["value"], (int, float)) and row["run"] in by_iri:
            points[by_iri[row["run"]]].setdefault(row["name"], {})[row["epoch"]] = float(row["value"])
    return {run_id: {name: sorted(values.items()) for name, values in metrics.items()}
            for run_id, metrics in points.items()}
