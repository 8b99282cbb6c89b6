"""The vocabulary's IRIs as plain strings, without rdflib: what the store and the command line need.

`provinstr.vocab` gives the same terms as rdflib namespaces (URIRefs) to the code that builds
records; this module is the single list of provinstr's own terms, and importing it costs nothing.
"""

from __future__ import annotations

PI_NS = "https://w3id.org/provinstr#"
MLS_NS = "http://www.w3.org/ns/mls#"
PROV_NS = "http://www.w3.org/ns/prov#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"

# provinstr's own terms (see provinstr.ttl): classes, then properties
PI_TERMS = (
    "Run", "Script", "Environment", "Training", "Adaptation", "Test", "Inference", "Transformation",
    "Hyperparameter", "Metric", "Attribute", "Layer", "Estimator", "Dataset", "Model", "Sweep",
    "status", "run", "name", "epoch", "epochSeconds", "attribute", "layerClass", "index", "sourceLine",
    "trigger", "sha256", "shape", "dtype", "elementSpec", "cardinality", "argv", "host", "processId",
    "exceptionType", "exceptionMessage", "version", "pythonVersion", "platform", "cpuCount", "memoryBytes",
    "gpu", "library", "valueType", "group", "redacted", "redaction", "listingSummary",
)
# The ML-Schema terms provinstr aligns to.
MLS_TERMS = ("Run", "HyperParameterSetting", "ModelEvaluation", "Dataset", "Model", "Experiment", "hasPart")

# Every node a run writes lives under this base: <RUN_BASE><uuid>/<role path>.
RUN_BASE = "https://w3id.org/provinstr/run/"
AGENT_BASE = "https://w3id.org/provinstr/agent/"
# A server store's derived listing data (pi:listingSummary per ended run): not a run graph.
CATALOG_GRAPH = "https://w3id.org/provinstr/catalog"

PREFIXES = {"prov": PROV_NS, "pi": PI_NS, "mls": MLS_NS, "xsd": XSD_NS, "rdf": RDF_NS, "rdfs": RDFS_NS}


class Terms:
    """A namespace whose terms are IRI strings (`PI.status`); with `names`, a misspelt term fails."""

    def __init__(self, base: str, names: tuple[str, ...] | None = None) -> None:
        self._NS = base
        self._names = frozenset(names) if names is not None else None

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):  # not a term (copy and pickle look such names up before __init__)
            raise AttributeError(name)
        if self._names is not None and name not in self._names:
            raise AttributeError(f"term {name!r} not in namespace {self._NS}")
        return self._NS + name

    def __getitem__(self, name: str) -> str:
        return self.__getattr__(name)

    def __str__(self) -> str:
        return self._NS


PI = Terms(PI_NS, PI_TERMS)
MLS = Terms(MLS_NS, MLS_TERMS)
PROV = Terms(PROV_NS)
RDF = Terms(RDF_NS)
RDFS = Terms(RDFS_NS)
XSD = Terms(XSD_NS)
