"""A change of a value during training, as a pi:Adaptation: what every framework adapter records.

Keras records its callbacks' learning-rate changes and its users' steering requests with it;
any other framework's adapter does the same (see provinstr.capture.steerable).
"""

from __future__ import annotations

from typing import Any

from provinstr.capture.activity import Activity, safe_segment
from provinstr.capture.nquads import IRI
from provinstr.vocab import PROV, RDF, RDFS

__all__ = ["record_adaptation"]


def record_adaptation(training: Activity, name: str, old: Any, new: Any, epoch: int, trigger: str,
                      agent: str | None = None) -> str:
    """A pi:Adaptation at `epoch`: it used the old value, generated the new one; the Training was informed by it."""
    run = training.run
    adaptation = Activity(run, "Adaptation", label=f"{name} by {trigger}")
    adaptation.start(epoch=int(epoch), trigger=trigger)
    adaptation.hyperparameter(name, old, iri=f"{adaptation.iri}/old/{safe_segment(name)}")
    adaptation.hyperparameter(name, new, iri=f"{adaptation.iri}/new/{safe_segment(name)}", generated=True)
    if agent is not None:
        who = agent if "://" in agent else f"{run.iri}/agent/{safe_segment(agent)}"
        if who != agent:
            run.emit(who, [(RDF.type, IRI(PROV.Agent)), (RDFS.label, agent)])
        run.emit(adaptation.iri, [(PROV.wasAssociatedWith, IRI(who))])
    run.emit(training.iri, [(PROV.wasInformedBy, IRI(adaptation.iri))])
    adaptation.end()
    return adaptation.iri
