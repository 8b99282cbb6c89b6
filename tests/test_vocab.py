"""The shipped ontology: it parses, matches the PI namespace term for term, and aligns to real PROV-O / ML-Schema terms."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from provinstr.vocab import MLS, PI, PROV, ontology_path

PI_NS = str(PI._NS)
VOCAB = Path(__file__).resolve().parent / "data" / "vocab"


@pytest.fixture(scope="module")
def ontology() -> Graph:
    graph = Graph()
    graph.parse(str(ontology_path()), format="turtle")
    return graph


def terms_in(graph: Graph, namespace: str) -> set[str]:
    """Every IRI of `namespace` used anywhere in `graph`."""
    return {str(t) for triple in graph for t in triple if isinstance(t, URIRef) and str(t).startswith(namespace)}


def pi_terms() -> set[str]:
    return {PI_NS + name for name in PI.__annotations__}


def test_the_ontology_file_parses_as_turtle(ontology):
    assert (URIRef("https://w3id.org/provinstr"), RDF.type, OWL.Ontology) in ontology


def test_every_pi_term_of_the_namespace_is_declared_in_the_ontology(ontology):
    declared = {str(s) for s in ontology.subjects(RDF.type, None) if str(s).startswith(PI_NS)}
    missing = pi_terms() - declared
    assert not missing, f"add these terms to provinstr.ttl: {sorted(missing)}"


def test_every_pi_term_of_the_ontology_is_in_the_namespace(ontology):
    extra = terms_in(ontology, PI_NS) - pi_terms()
    assert not extra, f"add these terms to PI_TERMS in provinstr/vocab/terms.py: {sorted(extra)}"


def test_every_term_has_a_label_and_a_comment(ontology):
    for term in pi_terms():
        node = URIRef(term)
        assert ontology.value(node, RDFS.label) is not None, f"{term} has no rdfs:label"
        assert ontology.value(node, RDFS.comment) is not None, f"{term} has no rdfs:comment"


def test_classes_are_aligned_to_prov_o_and_ml_schema(ontology):
    expected = {
        PI.Run: {PROV.Activity, MLS.Run},
        PI.Training: {PROV.Activity, MLS.Run},
        PI.Test: {PROV.Activity, MLS.Run},
        PI.Inference: {PROV.Activity},
        PI.Adaptation: {PROV.Activity},
        PI.Transformation: {PROV.Activity},
        PI.Hyperparameter: {PROV.Entity, MLS.HyperParameterSetting},
        PI.Metric: {PROV.Entity, MLS.ModelEvaluation},
        PI.Dataset: {PROV.Entity, MLS.Dataset},
        PI.Model: {PROV.Entity, MLS.Model},
        PI.Layer: {PROV.Entity},
        PI.Attribute: {PROV.Entity},
        PI.Script: {PROV.Entity},
        PI.Environment: {PROV.Entity},
    }
    for cls, parents in expected.items():
        assert set(ontology.objects(cls, RDFS.subClassOf)) >= parents, cls


def test_every_property_has_a_range(ontology):
    properties = set(ontology.subjects(RDF.type, OWL.ObjectProperty)) | set(
        ontology.subjects(RDF.type, OWL.DatatypeProperty)
    )
    assert properties, "the ontology declares no properties"
    for prop in properties:
        assert ontology.value(prop, RDFS.range) is not None, f"{prop} has no rdfs:range"


def test_every_prov_and_mls_term_referenced_exists_in_those_ontologies(ontology):
    known_prov = {q.subject.value for q in ox.parse(path=str(VOCAB / "prov-o.nq"), format=ox.RdfFormat.N_QUADS)}
    known_mls = {t.subject.value for t in ox.parse(path=str(VOCAB / "mls.ttl"), format=ox.RdfFormat.TURTLE)}
    unknown = (terms_in(ontology, str(PROV)) - known_prov - {str(PROV)}) | (
        terms_in(ontology, str(MLS._NS)) - known_mls
    )
    assert not unknown, f"not defined by PROV-O / ML-Schema: {sorted(unknown)}"


def test_a_misspelt_pi_term_raises():
    with pytest.raises(AttributeError):
        PI.Hyperparamter  # noqa: B018
    with pytest.raises(AttributeError):
        MLS.HyperparameterSetting  # noqa: B018


def test_the_plain_string_terms_are_the_rdflib_terms_and_survive_copying():
    import copy
    import pickle

    from provinstr.vocab import terms

    assert terms.PI.status == str(PI.status) and terms.MLS.Run == str(MLS.Run)
    assert set(terms.PI_TERMS) == set(PI.__annotations__)
    with pytest.raises(AttributeError):
        terms.PI.stauts  # a misspelt term fails, as rdflib's closed namespace does
    assert copy.deepcopy(terms.PI).epoch == terms.PI.epoch
    assert pickle.loads(pickle.dumps(PI)) is PI
