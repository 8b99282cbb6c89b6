"""Activities inside a run (Training, Test, Transformation ...) and the values they use and generate."""

from __future__ import annotations

import datetime as _dt
import functools
from typing import TYPE_CHECKING, Any, Mapping

from provinstr.capture.nquads import IRI
from provinstr.vocab import MLS, PI, PROV, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.run import Run

ACTIVITY = IRI(PROV.Activity)
ENTITY = IRI(PROV.Entity)
_HYPERPARAMETER = (IRI(PI.Hyperparameter), IRI(MLS.HyperParameterSetting))
_METRIC = (IRI(PI.Metric), IRI(MLS.ModelEvaluation))
_ATTRIBUTE = IRI(PI.Attribute)
# Predicates as plain strings: the metric path runs on the training thread and rdflib's
# namespace lookup costs about a microsecond per attribute.
_TYPE, _NAME, _VALUE = str(RDF.type), str(PI.name), str(PROV.value)
_EPOCH, _INDEX, _GENERATED_AT = str(PI.epoch), str(PI.index), str(PROV.generatedAtTime)
_GENERATED_BY, _GENERATED = str(PROV.wasGeneratedBy), str(PROV.generated)
_METRIC_TYPE_OBJECTS = (ENTITY, *_METRIC)
_METRIC_PREDICATES = (
    *(_TYPE for _ in _METRIC_TYPE_OBJECTS), _NAME, _VALUE, _EPOCH, _INDEX, _GENERATED_AT, _GENERATED_BY
)
_UTC = _dt.timezone.utc


def now() -> _dt.datetime:
    return _dt.datetime.now(_UTC)


def safe_segment(name: Any) -> str:
    """A name made safe for use inside an IRI path."""
    return _safe_text(str(name))


@functools.lru_cache(maxsize=4096)  # the same few names recur every epoch
def _safe_text(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "_"


class Activity:
    """One prov:Activity of a run; `kind` is its pi: class (Training, Test, Transformation ...)."""

    def __init__(self, run: "Run", kind: str, label: str | None = None, iri: str | None = None) -> None:
        self.run = run
        self.kind = kind
        self.label = label
        self.iri = iri or run.new_iri(kind.lower())
        self.started: _dt.datetime | None = None
        self.ended: _dt.datetime | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, **properties: Any) -> "Activity":
        self.started = now()
        self.run.emit(
            self.iri,
            [
                (RDF.type, ACTIVITY),
                (RDF.type, IRI(PI[self.kind])),
                (RDFS.label, self.label),
                (PI.run, None if self.run is self else IRI(self.run.iri)),
                (PROV.startedAtTime, self.started),
                *((PI[k], v) for k, v in properties.items()),
            ],
        )
        self.run.push_activity(self)
        return self

    def end(self, error: BaseException | None = None) -> None:
        if self.ended is not None:
            return
        self.ended = now()
        pairs: list[tuple[str, Any]] = [(PROV.endedAtTime, self.ended)]
        if error is not None:
            pairs += [(PI.exceptionType, type(error).__name__), (PI.exceptionMessage, str(error))]
        self.run.emit(self.iri, pairs)
        self.run.pop_activity(self)

    def __enter__(self) -> "Activity":
        return self if self.started else self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.end(exc)

    # -- relations ---------------------------------------------------------------------
    def used(self, entity: str) -> None:
        self.run.emit(self.iri, [(PROV.used, IRI(entity))])

    def generated(self, entity: str) -> None:
        """Record that this activity generated `entity` (both directions, as PROV-O allows)."""
        self.run.emit(self.iri, [(PROV.generated, IRI(entity))])
        self.run.emit(entity, [(PROV.wasGeneratedBy, IRI(self.iri))])

    # -- values ------------------------------------------------------------------------
    def hyperparameter(self, name: str, value: Any, iri: str | None = None, generated: bool = False) -> str:
        """A pi:Hyperparameter this activity used (or, with `generated`, produced); returns its IRI."""
        node = iri or f"{self.iri}/hyperparameter/{safe_segment(name)}"
        self.run.emit(node, _value_pairs(_HYPERPARAMETER, name, value))
        if generated:
            self.generated(node)
        else:
            self.used(node)
        return node

    def hyperparameters(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            self.hyperparameter(name, value)

    def metric(
        self,
        name: str,
        value: Any,
        epoch: int | None = None,
        batch: int | None = None,
        at: _dt.datetime | None = None,
        iri: str | None = None,
    ) -> str:
        """A pi:Metric this activity generated (per epoch when `epoch` is given); returns its IRI.

        `batch` is stored as pi:index (a batch, a search candidate ...); `iri` overrides the node's IRI.
        """
        node = self.iri
        if epoch is not None:
            node += f"/epoch/{int(epoch)}"
        if batch is not None:
            node += f"/batch/{int(batch)}"
        node += f"/metric/{safe_segment(name)}"
        node = iri or node
        # One flat tuple zipped with constant predicates: fewer objects for the garbage collector
        # to count and walk on the training thread than a list of pairs.
        objects = (
            *_METRIC_TYPE_OBJECTS,
            str(name),
            value if value is not None else "None",
            None if epoch is None else int(epoch),
            None if batch is None else int(batch),
            at or now(),
            IRI(self.iri),
        )
        self.run.emit(node, zip(_METRIC_PREDICATES, objects))
        self.run.emit(self.iri, ((_GENERATED, IRI(node)),))
        return node

    def attribute(self, name: str, value: Any, direction: str = "input") -> str:
        """A pi:Attribute of this activity: an input it used or an output it generated."""
        node = f"{self.iri}/{direction}/{safe_segment(name)}"
        self.run.emit(node, _value_pairs((_ATTRIBUTE,), name, value))
        if direction == "input":
            self.used(node)
        else:
            self.generated(node)
        return node


def _value_pairs(types: tuple[str, ...], name: str, value: Any) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [(_TYPE, ENTITY)]
    pairs += [(_TYPE, t) for t in types]
    pairs += [(_NAME, str(name)), (_VALUE, value if value is not None else "None")]
    return pairs
