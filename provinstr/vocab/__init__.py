"""The RDF vocabulary: namespaces that fail on a misspelt term, and the shipped ontology."""

from __future__ import annotations

import functools
from importlib import resources

from rdflib.namespace import PROV, RDF, RDFS, XSD, DefinedNamespace, Namespace
from rdflib.term import URIRef

__all__ = ["PI", "MLS", "PROV", "RDF", "RDFS", "XSD", "PREFIXES", "RUN_BASE", "CATALOG_GRAPH", "ontology_path", "prov_kinds"]


class PI(DefinedNamespace):
    """provinstr's own terms (https://w3id.org/provinstr#); see provinstr.ttl."""

    _fail = True
    _NS = Namespace("https://w3id.org/provinstr#")

    # classes
    Run: URIRef
    Script: URIRef
    Environment: URIRef
    Training: URIRef
    Adaptation: URIRef
    Test: URIRef
    Inference: URIRef
    Transformation: URIRef
    Hyperparameter: URIRef
    Metric: URIRef
    Attribute: URIRef
    Layer: URIRef
    Estimator: URIRef
    Dataset: URIRef
    Model: URIRef
    Sweep: URIRef
    # properties
    status: URIRef
    run: URIRef
    name: URIRef
    epoch: URIRef
    epochSeconds: URIRef
    attribute: URIRef
    layerClass: URIRef
    index: URIRef
    sourceLine: URIRef
    trigger: URIRef
    sha256: URIRef
    shape: URIRef
    dtype: URIRef
    elementSpec: URIRef
    cardinality: URIRef
    argv: URIRef
    host: URIRef
    processId: URIRef
    exceptionType: URIRef
    exceptionMessage: URIRef
    version: URIRef
    pythonVersion: URIRef
    platform: URIRef
    cpuCount: URIRef
    memoryBytes: URIRef
    gpu: URIRef
    library: URIRef
    valueType: URIRef
    group: URIRef
    redacted: URIRef
    redaction: URIRef
    listingSummary: URIRef


class MLS(DefinedNamespace):
    """The ML-Schema terms provinstr aligns to (http://www.w3.org/ns/mls#)."""

    _fail = True
    _NS = Namespace("http://www.w3.org/ns/mls#")

    Run: URIRef
    HyperParameterSetting: URIRef
    ModelEvaluation: URIRef
    Dataset: URIRef
    Model: URIRef
    Experiment: URIRef
    hasPart: URIRef


# Every node a run writes lives under this base: <RUN_BASE><uuid>/<role path>.
RUN_BASE = "https://w3id.org/provinstr/run/"
AGENT_BASE = "https://w3id.org/provinstr/agent/"
# A server store's derived listing data (pi:listingSummary per ended run): not a run graph.
CATALOG_GRAPH = "https://w3id.org/provinstr/catalog"

PREFIXES = {
    "prov": str(PROV),
    "pi": str(PI._NS),
    "mls": str(MLS._NS),
    "xsd": str(XSD),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
}


def ontology_path():
    """Path of the shipped ontology file provinstr.ttl."""
    return resources.files(__name__).joinpath("provinstr.ttl")


@functools.lru_cache(maxsize=1)
def prov_kinds() -> dict[str, str]:
    """Each class of the shipped ontology that specialises a PROV class -> "activity"/"entity"/"agent"."""
    import pyoxigraph as ox

    kinds = {str(PROV.Activity): "activity", str(PROV.Entity): "entity", str(PROV.Agent): "agent"}
    kinds.update({str(PROV[a]): "agent" for a in ("Person", "SoftwareAgent", "Organization")})
    parents = [
        (t.subject.value, t.object.value)
        for t in ox.parse(path=str(ontology_path()), format=ox.RdfFormat.TURTLE)
        if t.predicate.value == str(RDFS.subClassOf) and isinstance(t.object, ox.NamedNode)
    ]
    for _ in range(len(parents)):  # follow subclass chains to their PROV ancestor
        found = {child: kinds[parent] for child, parent in parents if parent in kinds and child not in kinds}
        if not found:
            break
        kinds.update(found)
    return kinds
