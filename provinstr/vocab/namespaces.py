"""provinstr's terms as rdflib namespaces (URIRefs; a misspelt term raises AttributeError), built from the
term lists in `provinstr.vocab.terms`."""

from __future__ import annotations

import types

from rdflib.namespace import PROV, RDF, RDFS, XSD, DefinedNamespace, Namespace
from rdflib.term import URIRef

from provinstr.vocab.terms import MLS_NS, MLS_TERMS, PI_NS, PI_TERMS

__all__ = ["PI", "MLS", "PROV", "RDF", "RDFS", "XSD"]


def _defined(name: str, base: str, terms: tuple[str, ...], doc: str) -> type[DefinedNamespace]:
    body = {"__module__": __name__, "__qualname__": name, "__doc__": doc,
            "__annotations__": {term: URIRef for term in terms}, "_fail": True, "_NS": Namespace(base)}
    return types.new_class(name, (DefinedNamespace,), {}, lambda namespace: namespace.update(body))


PI = _defined("PI", PI_NS, PI_TERMS, "provinstr's own terms (https://w3id.org/provinstr#); see provinstr.ttl.")
MLS = _defined("MLS", MLS_NS, MLS_TERMS, "The ML-Schema terms provinstr aligns to (http://www.w3.org/ns/mls#).")
