"""What one run recorded, read from its graph as plain Python values (shared by show, compare, plot ...)."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provinstr.store import StoreError
from provinstr.vocab.terms import PI

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo

_PI = str(PI._NS)
# Metrics where a higher value is better; every other metric is taken as "lower is better".
_HIGHER_IS_BETTER = re.compile(r"acc|auc|precision|recall|f1|r2|iou|score|top_k", re.IGNORECASE)


class AnalysisError(StoreError):
    """A question the run cannot answer (no such metric, no epochs yet ...); the message says why."""


# Logged every epoch but not a score: no "best" epoch for these.
NOT_SCORED = frozenset({"learning_rate", "lr", "epoch_seconds", "steps"})


def higher_is_better(metric: str) -> bool:
    """True for accuracy-like metrics (best = max); losses and errors are best at their min."""
    return bool(_HIGHER_IS_BETTER.search(metric))


def kind_of(iri: str | None) -> str | None:
    """'Training' for pi:Training; None for anything outside the pi: namespace."""
    return iri[len(_PI):] if iri and iri.startswith(_PI) else None


def _tail_number(iri: str) -> tuple:
    """Sort key that orders <...>/layer/2 before <...>/layer/10."""
    match = re.search(r"(\d+)$", iri or "")
    return (int(match.group(1)) if match else 0, iri or "")


@dataclass
class Layer:
    """One pi:Layer: its class, name, position, source line and captured arguments."""

    iri: str
    index: int | None
    cls: str | None
    name: str | None
    line: int | None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def short_class(self) -> str:
        return (self.cls or "?").rsplit(".", 1)[-1]


@dataclass
class Transformation:
    """One call of a user transformation (pi:Transformation): its label and its input and output attributes."""

    iri: str
    label: str | None
    start: _dt.datetime | None
    line: int | None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Metric:
    """One pi:Metric value; `epoch` is None for a test result or a run-level metric."""

    name: str
    value: Any
    epoch: int | None
    activity: str | None
    kind: str | None
    time: _dt.datetime | None


@dataclass
class Adaptation:
    """A change of a value during training (learning-rate reduction, a user's steer ...)."""

    epoch: int | None
    name: str | None
    old: Any
    new: Any
    trigger: str | None
    agent: str | None
    time: _dt.datetime | None


@dataclass
class Dataset:
    name: str
    shape: Any
    dtype: Any
    sha256: str | None
    used_by: str | None


@dataclass
class ModelFile:
    location: str | None
    sha256: str | None
    line: int | None


_DETAILS = """
SELECT ?argv ?error ?errortype ?scriptname ?scriptpath ?scriptsha WHERE {
  <RUN> a pi:Run .
  OPTIONAL { <RUN> pi:argv ?argv }
  OPTIONAL { <RUN> pi:exceptionMessage ?error }
  OPTIONAL { <RUN> pi:exceptionType ?errortype }
  OPTIONAL { <RUN> prov:used ?script . ?script a pi:Script .
             OPTIONAL { ?script rdfs:label ?scriptname } OPTIONAL { ?script prov:atLocation ?scriptpath }
             OPTIONAL { ?script pi:sha256 ?scriptsha } }
}"""

_ENVIRONMENT = """
SELECT ?p ?o ?lib ?version WHERE {
  <RUN> prov:used ?env . ?env a pi:Environment .
  { ?env ?p ?o . FILTER(?p != rdf:type && ?p != pi:library) }
  UNION { ?env pi:library ?l . ?l pi:name ?lib ; pi:version ?version }
}"""

_HYPERPARAMETERS = """
SELECT ?act ?kind ?name ?value ?start WHERE {
  ?act prov:used ?h . ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value .
  OPTIONAL { ?act a ?kind . FILTER(STRSTARTS(STR(?kind), STR(pi:))) }
  OPTIONAL { ?act prov:startedAtTime ?start }
  FILTER NOT EXISTS { ?act a pi:Adaptation }
}"""

_LAYERS = """
SELECT ?layer ?index ?class ?name ?line ?aname ?avalue WHERE {
  ?layer a pi:Layer .
  OPTIONAL { ?layer pi:index ?index } OPTIONAL { ?layer pi:layerClass ?class }
  OPTIONAL { ?layer rdfs:label ?name } OPTIONAL { ?layer pi:sourceLine ?line }
  OPTIONAL { ?layer pi:attribute ?a . ?a pi:name ?aname ; prov:value ?avalue }
}"""

_TRANSFORMATIONS = """
SELECT ?t ?label ?start ?line ?direction ?name ?value WHERE {
  ?t a pi:Transformation .
  OPTIONAL { ?t rdfs:label ?label } OPTIONAL { ?t prov:startedAtTime ?start } OPTIONAL { ?t pi:sourceLine ?line }
  OPTIONAL { { ?t prov:used ?a . BIND("input" AS ?direction) } UNION { ?t prov:generated ?a . BIND("output" AS ?direction) }
             ?a a pi:Attribute ; pi:name ?name ; prov:value ?value }
}"""

# The activities' kinds are asked apart: joined per metric, the nested OPTIONAL made a 1,000-epoch run's
# metrics take 1.9 s instead of 0.2 s.
_METRICS = """
SELECT ?name ?value ?epoch ?act ?time WHERE {
  ?m a pi:Metric ; pi:name ?name ; prov:value ?value .
  FILTER NOT EXISTS { ?m pi:index ?batch }
  OPTIONAL { ?m pi:epoch ?epoch } OPTIONAL { ?m prov:generatedAtTime ?time }
  OPTIONAL { ?m prov:wasGeneratedBy ?act }
}"""

_ACTIVITY_KINDS = """
SELECT ?act ?kind WHERE { ?act a prov:Activity , ?kind . FILTER(STRSTARTS(STR(?kind), STR(pi:)) && ?kind != pi:Run) }"""

_ADAPTATIONS = """
SELECT ?a ?epoch ?trigger ?name ?old ?new ?agent ?agentlabel ?time WHERE {
  ?a a pi:Adaptation .
  OPTIONAL { ?a pi:epoch ?epoch } OPTIONAL { ?a pi:trigger ?trigger } OPTIONAL { ?a prov:startedAtTime ?time }
  OPTIONAL { ?a prov:used ?o . ?o pi:name ?name ; prov:value ?old }
  OPTIONAL { ?a prov:generated ?n . ?n pi:name ?name ; prov:value ?new }
  OPTIONAL { ?a prov:wasAssociatedWith ?agent . OPTIONAL { ?agent rdfs:label ?agentlabel } }
}"""

_DATASETS = """
SELECT ?d ?label ?name ?shape ?dtype ?sha ?kind WHERE {
  ?d a pi:Dataset .
  OPTIONAL { ?d rdfs:label ?label } OPTIONAL { ?d pi:name ?name } OPTIONAL { ?d pi:shape ?shape }
  OPTIONAL { ?d pi:dtype ?dtype } OPTIONAL { ?d pi:sha256 ?sha }
  OPTIONAL { ?act prov:used ?d ; a ?kind . FILTER(STRSTARTS(STR(?kind), STR(pi:))) }
}"""

_MODELS = """
SELECT ?m ?location ?sha ?line WHERE {
  ?m a pi:Model .
  OPTIONAL { ?m prov:atLocation ?location } OPTIONAL { ?m pi:sha256 ?sha } OPTIONAL { ?m pi:sourceLine ?line }
}"""


def _ask(run: "RunInfo", query: str) -> list[dict[str, Any]]:
    return run.query(query.replace("RUN", run.iri)).dicts()


def details(run: "RunInfo") -> dict[str, Any]:
    """argv, script path and digest, and the error a failed run ended with."""
    rows = _ask(run, _DETAILS)
    return rows[0] if rows else {}


def environment(run: "RunInfo") -> tuple[dict[str, Any], dict[str, str]]:
    """({fact: value} of the environment, {library: version})."""
    facts: dict[str, Any] = {}
    libraries: dict[str, str] = {}
    for row in _ask(run, _ENVIRONMENT):
        if row["lib"] is not None:
            libraries[row["lib"]] = row["version"]
        elif row["p"] is not None:
            key = kind_of(row["p"]) or row["p"].rsplit("#", 1)[-1]
            facts[key] = row["o"] if key not in facts else f"{facts[key]}, {row['o']}"
    return facts, libraries


def hyperparameters(run: "RunInfo") -> list[tuple[str | None, str, Any]]:
    """(activity kind, name, value) in the order the activities started, names sorted within each."""
    rows = _ask(run, _HYPERPARAMETERS)
    epoch = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
    rows.sort(key=lambda r: (r["start"] or epoch, _tail_number(r["act"]), r["name"]))
    seen: set[tuple] = set()
    result = []
    for row in rows:
        key = (row["act"], row["name"])
        if key not in seen:
            seen.add(key)
            result.append((kind_of(row["kind"]), row["name"], row["value"]))
    return result


def layers(run: "RunInfo") -> list[Layer]:
    """The model's layers in index order (construction order when no index was recorded)."""
    found: dict[str, Layer] = {}
    for row in _ask(run, _LAYERS):
        layer = found.get(row["layer"])
        if layer is None:
            layer = found[row["layer"]] = Layer(row["layer"], row["index"], row["class"], row["name"], row["line"])
        if row["aname"] is not None:
            layer.attributes[row["aname"]] = row["avalue"]
    ordered = sorted(found.values(), key=lambda lay: (lay.index is None, lay.index or 0, _tail_number(lay.iri)))
    for layer in ordered:
        layer.attributes = dict(sorted(layer.attributes.items()))
    return ordered


def transformations(run: "RunInfo") -> list[Transformation]:
    """Every call of a user transformation, in the order the calls started; attributes sorted by name."""
    found: dict[str, Transformation] = {}
    for row in _ask(run, _TRANSFORMATIONS):
        call = found.get(row["t"])
        if call is None:
            call = found[row["t"]] = Transformation(row["t"], row["label"], row["start"], row["line"])
        if row["name"] is not None:
            (call.inputs if row["direction"] == "input" else call.outputs)[row["name"]] = row["value"]
    never = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
    ordered = sorted(found.values(), key=lambda t: (t.start or never, _tail_number(t.iri)))
    for call in ordered:
        call.inputs, call.outputs = dict(sorted(call.inputs.items())), dict(sorted(call.outputs.items()))
    return ordered


def metrics(run: "RunInfo") -> list[Metric]:
    """Every epoch and test metric (per-batch metrics left out), by epoch then name."""
    kinds = {r["act"]: r["kind"] for r in _ask(run, _ACTIVITY_KINDS)}
    found = [
        Metric(r["name"], r["value"], r["epoch"], r["act"], kind_of(kinds.get(r["act"])), r["time"])
        for r in _ask(run, _METRICS)
    ]
    found.sort(key=lambda m: (m.epoch is None, m.epoch or 0, _tail_number(m.activity or ""), m.name))
    return found


def epoch_metrics(run: "RunInfo", found: list[Metric] | None = None) -> list[Metric]:
    """The metrics a training recorded per epoch (among `found`, the run's metrics when already asked)."""
    found = metrics(run) if found is None else found
    return [m for m in found if m.epoch is not None and m.kind in (None, "Training")]


def epoch_table(found: list[Metric]) -> tuple[list[str], dict[int, dict[str, Any]]]:
    """(metric names in Keras order, {epoch: {name: value}}); a later fit's epoch replaces an earlier's."""
    table: dict[int, dict[str, Any]] = {}
    for metric in found:
        table.setdefault(metric.epoch, {})[metric.name] = metric.value
    names = sorted({m.name for m in found}, key=metric_order)
    return names, dict(sorted(table.items()))


def metric_order(name: str) -> tuple:
    """Keras's column order: loss, the other training metrics, then their val_ twins, timings last."""
    base = name.removeprefix("val_")
    return (name == "epoch_seconds", name.startswith("val_"), base != "loss", base)


def best_epoch(table: dict[int, dict[str, Any]], name: str) -> tuple[int, Any] | None:
    """(epoch, value) where `name` was best (max for accuracy-like metrics, else min)."""
    if name in NOT_SCORED:
        return None
    values = [(e, row[name]) for e, row in table.items() if isinstance(row.get(name), (int, float))]
    values = [(e, v) for e, v in values if v == v]  # NaN is never best
    if not values:
        return None
    pick = max if higher_is_better(name) else min
    return pick(values, key=lambda pair: pair[1])


def adaptations(run: "RunInfo") -> list[Adaptation]:
    """Changes made during training, in epoch order."""
    found: dict[str, Adaptation] = {}
    for row in _ask(run, _ADAPTATIONS):
        agent = row["agentlabel"] or (row["agent"].rsplit("/", 1)[-1] if row["agent"] else None)
        current = found.get(row["a"])
        if current is None:
            found[row["a"]] = Adaptation(row["epoch"], row["name"], row["old"], row["new"], row["trigger"],
                                         agent, row["time"])
        else:  # several agents or a value seen from one side only: keep what is known
            current.old = current.old if current.old is not None else row["old"]
            current.new = current.new if current.new is not None else row["new"]
            if agent and current.agent and agent not in current.agent.split(", "):
                current.agent = f"{current.agent}, {agent}"
    return sorted(found.values(), key=lambda a: (a.epoch is None, a.epoch or 0, str(a.time)))


def datasets(run: "RunInfo") -> list[Dataset]:
    found: dict[str, Dataset] = {}
    for row in _ask(run, _DATASETS):
        name = row["label"] or row["name"] or row["d"].rsplit("/", 2)[-2] + "/" + row["d"].rsplit("/", 1)[-1]
        kind = kind_of(row["kind"])
        current = found.get(row["d"])
        if current is None:
            found[row["d"]] = Dataset(name, row["shape"], row["dtype"], row["sha"], kind)
        elif kind and current.used_by and kind not in current.used_by.split(", "):
            current.used_by = f"{current.used_by}, {kind}"
    return [found[key] for key in sorted(found, key=_tail_number)]


def models(run: "RunInfo") -> list[ModelFile]:
    rows = sorted(_ask(run, _MODELS), key=lambda r: _tail_number(r["m"]))
    return [ModelFile(r["location"], r["sha"], r["line"]) for r in rows]
