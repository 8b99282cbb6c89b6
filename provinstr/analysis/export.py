"""Export one run: its PROV-O graph as Turtle/TriG/N-Quads, or as PROV-JSON/PROV-N/PROV-XML/PROV-JSONLD."""

from __future__ import annotations

import datetime as _dt
import math
from collections import defaultdict
from typing import TYPE_CHECKING, Iterable

import pyoxigraph as ox
from prov.constants import PROV_LABEL, PROV_LOCATION, PROV_TYPE, PROV_VALUE, XSD_DOUBLE
from prov.model import Literal as ProvLiteral
from prov.model import ProvDocument, QualifiedName

from provinstr.vocab import AGENT_BASE, PREFIXES, PROV, RDF, RDFS, RUN_BASE, XSD, prov_kinds

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo, Store

RDF_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
}
# Through the prov package; "jsonld" is the W3C PROV-JSONLD submission's compact form.
PROV_FORMATS = {"prov-json": "json", "prov-n": "provn", "prov-xml": "xml", "jsonld": "jsonld"}
FORMATS = (*PROV_FORMATS, *RDF_FORMATS)

_KINDS = {str(PROV.Activity): "activity", str(PROV.Entity): "entity", str(PROV.Agent): "agent"}
_ORDER = {"agent": 0, "activity": 1, "entity": 2}  # records are written agents first, then activities
# PROV-O's binary relations: predicate -> (prov method, subject kind, object kind, swap arguments).
_RELATIONS = {
    str(PROV.used): ("used", "activity", "entity", False),
    str(PROV.wasGeneratedBy): ("wasGeneratedBy", "entity", "activity", False),
    str(PROV.generated): ("wasGeneratedBy", "activity", "entity", True),  # the inverse of wasGeneratedBy
    str(PROV.wasAssociatedWith): ("wasAssociatedWith", "activity", "agent", False),
    str(PROV.wasInformedBy): ("wasInformedBy", "activity", "activity", False),
    str(PROV.wasDerivedFrom): ("wasDerivedFrom", "entity", "entity", False),
    str(PROV.wasAttributedTo): ("wasAttributedTo", "entity", "agent", False),
    str(PROV.actedOnBehalfOf): ("actedOnBehalfOf", "agent", "agent", False),
    str(PROV.wasInvalidatedBy): ("wasInvalidatedBy", "entity", "activity", False),
    str(PROV.hadMember): ("hadMember", "entity", "entity", False),
}
# Properties that become arguments of a PROV record, or PROV-DM's own attributes.
_START, _END, _GENERATED_AT = str(PROV.startedAtTime), str(PROV.endedAtTime), str(PROV.generatedAtTime)
_PROV_ATTRIBUTES = {
    str(RDFS.label): PROV_LABEL,
    str(PROV.value): PROV_VALUE,
    str(PROV.atLocation): PROV_LOCATION,
}
_INTEGERS = {str(XSD[t]) for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger",
                                   "positiveInteger", "unsignedInt", "unsignedLong", "negativeInteger",
                                   "nonPositiveInteger")}
_RDF_TYPE = str(RDF.type)


def export_run(store: "Store", run: "RunInfo | str", fmt: str) -> str:
    """One run's graph in `fmt` (one of FORMATS), as text."""
    info = run if not isinstance(run, str) else store.run(run)
    quads = store.backend.run_quads(info.iri)
    if fmt in RDF_FORMATS:
        items: Iterable = quads if fmt != "turtle" else (q.triple for q in quads)
        return ox.serialize(items, format=RDF_FORMATS[fmt], prefixes=PREFIXES).decode("utf-8")
    if fmt in PROV_FORMATS:
        document = prov_document(quads, info.iri)
        indent = {"indent": 2} if fmt in ("prov-json", "jsonld") else {}
        return document.serialize(format=PROV_FORMATS[fmt], **indent)
    raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")


# -- PROV-O graph -> PROV document -------------------------------------------------------
class _Names:
    """IRIs as PROV qualified names, registering a namespace for every prefix used."""

    def __init__(self, document: ProvDocument, run_iri: str) -> None:
        self.document = document
        spaces = {**PREFIXES, "run": f"{run_iri}/", "runs": RUN_BASE, "agent": AGENT_BASE}
        spaces.pop("prov")  # prov's own namespace is built in
        self._spaces = sorted(spaces.items(), key=lambda item: -len(item[1]))
        self._registered: dict[str, object] = {}
        self._extra = 0

    def __call__(self, iri: str) -> QualifiedName:
        if iri.startswith(str(PROV)):
            return self.document.valid_qualified_name(f"prov:{iri[len(str(PROV)):]}")
        for prefix, uri in self._spaces:
            if iri.startswith(uri) and len(iri) > len(uri):
                return self._namespace(prefix, uri)[iri[len(uri):]]
        cut = max(iri.rfind("#"), iri.rfind("/")) + 1
        uri = iri[:cut] or iri
        prefix = next((p for p, u in self._spaces if u == uri), None)
        if prefix is None:
            self._extra += 1
            prefix = f"ns{self._extra}"
            self._spaces.append((prefix, uri))
        return self._namespace(prefix, uri)[iri[cut:]]

    def _namespace(self, prefix: str, uri: str):
        namespace = self._registered.get(prefix)
        if namespace is None:
            namespace = self._registered[prefix] = self.document.add_namespace(prefix, uri)
        return namespace


def prov_document(quads: Iterable[ox.Quad], run_iri: str) -> ProvDocument:
    """A ProvDocument of a run's PROV-O graph: activities, entities, agents, relations and every attribute."""
    by_subject: dict[str, list[tuple[str, ox.Term]]] = defaultdict(list)
    for quad in quads:
        by_subject[quad.subject.value].append((quad.predicate.value, quad.object))
    kinds = _node_kinds(by_subject)
    document = ProvDocument()
    name = _Names(document, run_iri)
    relations: set[tuple[str, str, str]] = set()
    generated_at: dict[str, list[_dt.datetime]] = defaultdict(list)
    nodes = set(by_subject) | set(kinds)  # nodes only named as a relation's object are declared too
    for subject in sorted(nodes, key=lambda s: (min(_ORDER[k] for k in kinds.get(s) or {"entity"}), s)):
        is_activity = "activity" in kinds.get(subject, ())
        times: dict[str, _dt.datetime] = {}
        attributes: list[tuple[QualifiedName, object]] = []
        for predicate, obj in sorted(by_subject.get(subject, ()), key=lambda po: (po[0], str(po[1]))):
            if predicate == _RDF_TYPE:
                if obj.value not in _KINDS:
                    attributes.append((PROV_TYPE, name(obj.value)))
            elif predicate in _RELATIONS and isinstance(obj, ox.NamedNode):
                method, _, _, swap = _RELATIONS[predicate]
                relations.add((method, obj.value, subject) if swap else (method, subject, obj.value))
            elif predicate == _GENERATED_AT and isinstance(obj, ox.Literal):
                generated_at[subject].append(_value(obj, name))
            elif predicate in (_START, _END) and is_activity and isinstance(obj, ox.Literal):
                times[predicate] = _value(obj, name)
            else:
                key = _PROV_ATTRIBUTES.get(predicate) or name(predicate)
                attributes.append((key, _value(obj, name)))
        for kind in sorted(kinds.get(subject, {"entity"})):
            if kind == "activity":
                document.activity(name(subject), times.get(_START), times.get(_END), attributes)
            else:
                getattr(document, kind)(name(subject), attributes)
    _add_relations(document, name, relations, generated_at)
    return document



def _node_kinds(by_subject: dict[str, list[tuple[str, ox.Term]]]) -> dict[str, set[str]]:
    """Each node's PROV kinds: its rdf:types (or their PROV superclass), else its role in a relation."""
    kinds: dict[str, set[str]] = defaultdict(set)
    inferred = prov_kinds()
    for subject, pairs in by_subject.items():
        for predicate, obj in pairs:
            if predicate == _RDF_TYPE:
                kind = inferred.get(obj.value)
                if kind:
                    kinds[subject].add(kind)
    for subject, pairs in by_subject.items():
        for predicate, obj in pairs:
            if predicate in _RELATIONS and isinstance(obj, ox.NamedNode):
                _, subject_kind, object_kind, _ = _RELATIONS[predicate]
                if not kinds.get(subject):
                    kinds[subject].add(subject_kind)
                if not kinds.get(obj.value):
                    kinds[obj.value].add(object_kind)
    return kinds


def _add_relations(document: ProvDocument, name: _Names, relations: set, generated_at: dict) -> None:
    """Relations in a stable order; a generation carries its entity's prov:generatedAtTime."""
    generations = {entity for method, entity, _ in relations if method == "wasGeneratedBy"}
    for method, first, second in sorted(relations):
        if method == "wasGeneratedBy":
            times = generated_at.get(first) or [None]
            for time in times:
                document.wasGeneratedBy(name(first), name(second), time)
        else:
            getattr(document, method)(name(first), name(second))
    for entity in sorted(set(generated_at) - generations):  # a generation time without a known activity
        for time in generated_at[entity]:
            document.wasGeneratedBy(name(entity), None, time)


def _value(term: ox.Term, name: _Names) -> object:
    """An RDF term as a PROV attribute value: Python scalars for the usual XSD types, typed literals otherwise."""
    if isinstance(term, ox.NamedNode):
        return name(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    datatype = term.datatype.value
    text = term.value
    try:
        if term.language:
            return ProvLiteral(text, langtag=term.language)
        if datatype == str(XSD.string):
            return text
        if datatype in _INTEGERS:
            return int(text)
        if datatype in (str(XSD.double), str(XSD.float)):
            number = float(text)
            # NaN/INF stay typed literals: JSON has no such numbers and NaN never equals itself
            return number if math.isfinite(number) else ProvLiteral(text, datatype=XSD_DOUBLE)
        if datatype == str(XSD.boolean):
            return text in ("true", "1")
        if datatype == str(XSD.dateTime):
            return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    return ProvLiteral(text, datatype=name(datatype))

