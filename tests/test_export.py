"""Exporting a run: RDF formats give back the stored graph; PROV-JSON/N/XML/JSONLD carry the same provenance."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from prov.model import ProvDocument
from rdflib import Graph
from rdflib.compare import isomorphic

import provinstr
from provinstr.analysis.export import FORMATS, export_run, prov_document


@provinstr.track_transformation(name="DenseBlock", outputs=["channels"])
def dense_block(channels: int, k: int = 24, layers: int = 4) -> int:
    return channels + k * layers


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One run with hyperparameters, transformations and per-epoch metrics; (store, run)."""
    path = tmp_path_factory.mktemp("export") / ".provinstr"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROVINSTR_STRICT", "1")
        with provinstr.run(name="export-me", store=str(path)):
            provinstr.log_hyperparameter(learning_rate=0.05, optimizer="adam", sizes=[32, 16])
            dense_block(16, k=12)
            with provinstr.transformation("Encoder", padding="same", strides=2) as encoder:
                for epoch in range(3):
                    provinstr.log_metric("loss", 0.5 / (epoch + 1), epoch=epoch)
                encoder.output(flag=True)
            provinstr.log_metric("accuracy", 0.75)
    store = provinstr.open_store(path)
    return store, store.runs()[0]


def stored_graph(store, run) -> Graph:
    """The run's graph as it is in the store, as an rdflib Graph."""
    data = ox.serialize((q.triple for q in store.backend.run_quads(run.iri)), format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=data.decode(), format="nt")


def activity_names(store, run) -> set[str]:
    rows = store.query("SELECT ?a WHERE { ?a a prov:Activity }", run=run).rows
    return {iri for (iri,) in rows}


def document_activities(document: ProvDocument) -> set[str]:
    return {str(record.identifier.uri) for record in document.get_records() if record.get_type().localpart == "Activity"}


def test_turtle_export_parses_back_into_the_runs_graph(recorded):
    store, run = recorded
    text = export_run(store, run, "turtle")
    assert "@prefix pi: <https://w3id.org/provinstr#>" in text
    assert isomorphic(Graph().parse(data=text, format="turtle"), stored_graph(store, run))


@pytest.mark.parametrize("fmt, rdf_format", [("trig", ox.RdfFormat.TRIG), ("nquads", ox.RdfFormat.N_QUADS)])
def test_quad_exports_hold_the_runs_graph_named_by_its_iri(recorded, fmt, rdf_format):
    store, run = recorded
    quads = list(ox.parse(export_run(store, run, fmt).encode(), format=rdf_format))
    assert {q.graph_name.value for q in quads} == {run.iri}
    exported = ox.serialize((q.triple for q in quads), format=ox.RdfFormat.N_TRIPLES).decode()
    assert isomorphic(Graph().parse(data=exported, format="nt"), stored_graph(store, run))


def test_prov_json_export_round_trips_to_an_equal_document(recorded):
    store, run = recorded
    built = prov_document(store.backend.run_quads(run.iri), run.iri)
    parsed = ProvDocument.deserialize(content=export_run(store, run, "prov-json"), format="json")
    assert parsed == built
    kinds = {record.get_type().localpart for record in parsed.get_records()}
    assert kinds >= {"Activity", "Entity", "Agent", "Usage", "Generation", "Association"}


def test_prov_json_holds_activities_relations_and_values(recorded):
    store, run = recorded
    data = json.loads(export_run(store, run, "prov-json"))
    activities = data["activity"]
    assert len(activities) == len(activity_names(store, run)) == 3  # the run and two transformations
    labels = {a.get("prov:label") for a in activities.values()}
    assert {"export-me", "DenseBlock", "Encoder"} <= labels
    generations = {(g["prov:entity"], g["prov:activity"]) for g in data["wasGeneratedBy"].values()}
    assert ("run:transformation/2/epoch/1/metric/loss", "run:transformation/2") in generations
    usages = {(u["prov:activity"], u["prov:entity"]) for u in data["used"].values()}
    assert (f"runs:{run.id}", "run:hyperparameter/learning_rate") in usages
    assert any(a["prov:activity"] == f"runs:{run.id}" for a in data["wasAssociatedWith"].values())
    hyper = data["entity"]["run:hyperparameter/learning_rate"]
    assert hyper["pi:name"] == "learning_rate" and hyper["prov:value"] == {"$": "0.05", "type": "xsd:double"}


def test_a_nan_metric_exports_as_strict_json(store_dir):
    with provinstr.run(name="diverged", store=str(store_dir)):
        provinstr.log_metric("val_loss", float("nan"))
    store = provinstr.open_store(store_dir)

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    data = json.loads(export_run(store, "last", "prov-json"), parse_constant=refuse)
    assert data["entity"]["run:metric/val_loss"]["prov:value"] == {"$": "NaN", "type": "xsd:double"}


@pytest.mark.parametrize("fmt, parser", [("prov-n", "provn"), ("prov-xml", "xml"), ("jsonld", "jsonld")])
def test_prov_n_xml_and_jsonld_exports_parse_and_hold_every_activity(recorded, fmt, parser):
    store, run = recorded
    text = export_run(store, run, fmt)
    document = ProvDocument.deserialize(content=text, format=parser)
    assert document_activities(document) == activity_names(store, run)
    json_document = ProvDocument.deserialize(content=export_run(store, run, "prov-json"), format="json")
    assert len(list(document.get_records())) == len(list(json_document.get_records()))


def test_every_format_is_exported_from_a_run_id_prefix(recorded):
    store, run = recorded
    for fmt in FORMATS:
        assert run.id in export_run(store, run.id[:6], fmt), fmt
