"""The compare, provenance and SPARQL pages over a SPARQL server store (a real `oxigraph serve` holding the
session's runs): the same curves, graph and answers as over the local store they were pushed from."""

from __future__ import annotations

import json

import pytest
from ui_fixtures import http

import provinstr

FIRST_EPOCHS = """SELECT ?run ?epoch ?loss WHERE {
  GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ; pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 2) }
} ORDER BY ?run ?epoch"""


def test_the_pages_over_a_sparql_server_show_what_they_show_over_the_local_store(ui_store, ui_server, server_ui, page):
    page.goto(f"{server_ui.base}/compare?group={ui_store.group}")
    page.wait_for_function("document.body.dataset.ready === 'compare'")
    assert page.evaluate("document.getElementById('curves').data.length") == 3
    here = http(f"{ui_server.base}/api/compare?group={ui_store.group}").json()
    there = http(f"{server_ui.base}/api/compare?group={ui_store.group}").json()
    assert there["curves"] == here["curves"] and there["sweep"]["params"] == here["sweep"]["params"]

    run = ui_store.id("keras-plateau")
    page.goto(f"{server_ui.base}/graph/{run}")
    page.wait_for_function("document.body.dataset.ready === 'graph'")
    local_graph = http(f"{ui_server.base}/api/graph/{run}").json()
    assert sorted(page.eval_on_selector_all("#graph-canvas g.node", "gs => gs.map(g => g.id)")) == sorted(local_graph["nodes"])

    answer = http(f"{server_ui.base}/api/sparql", "POST", {"Content-Type": "application/json"},
                  json.dumps({"query": FIRST_EPOCHS})).json()
    expected = provinstr.open_store(ui_store.path).query(FIRST_EPOCHS)
    assert [[cell["v"] for cell in row] for row in answer["rows"]] == [[t.value for t in row] for row in expected.terms]
    refused = http(f"{server_ui.base}/api/sparql", "POST", {"Content-Type": "application/json"},
                   json.dumps({"query": "DROP ALL"}))
    assert refused.status == 403
