"""The RDF vocabulary: namespaces that fail on a misspelt term, and the shipped ontology.

PI, MLS, PROV, RDF, RDFS and XSD are rdflib namespaces (their terms are URIRefs), loaded on first
use: importing this package does not import rdflib. `provinstr.vocab.terms` has the same terms as
plain strings, for code that only needs IRIs.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from provinstr.vocab.terms import AGENT_BASE, CATALOG_GRAPH, PREFIXES, PROV_NS, RDFS_NS, RUN_BASE

__all__ = ["PI", "MLS", "PROV", "RDF", "RDFS", "XSD", "PREFIXES", "RUN_BASE", "AGENT_BASE", "CATALOG_GRAPH",
           "ontology_path", "prov_kinds"]

_RDFLIB_NAMESPACES = ("PI", "MLS", "PROV", "RDF", "RDFS", "XSD")


def __getattr__(name: str) -> Any:
    if name in _RDFLIB_NAMESPACES:
        from provinstr.vocab import namespaces

        return getattr(namespaces, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def ontology_path():
    """Path of the shipped ontology file provinstr.ttl."""
    return resources.files(__name__).joinpath("provinstr.ttl")


@functools.lru_cache(maxsize=1)
def prov_kinds() -> dict[str, str]:
    """Each class of the shipped ontology that specialises a PROV class -> "activity"/"entity"/"agent"."""
    import pyoxigraph as ox

    kinds = {PROV_NS + "Activity": "activity", PROV_NS + "Entity": "entity", PROV_NS + "Agent": "agent"}
    kinds.update({PROV_NS + a: "agent" for a in ("Person", "SoftwareAgent", "Organization")})
    parents = [
        (t.subject.value, t.object.value)
        for t in ox.parse(path=str(ontology_path()), format=ox.RdfFormat.TURTLE)
        if t.predicate.value == RDFS_NS + "subClassOf" and isinstance(t.object, ox.NamedNode)
    ]
    for _ in range(len(parents)):  # follow subclass chains to their PROV ancestor
        found = {child: kinds[parent] for child, parent in parents if parent in kinds and child not in kinds}
        if not found:
            break
        kinds.update(found)
    return kinds
