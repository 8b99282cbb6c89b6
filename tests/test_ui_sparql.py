"""The SPARQL page in a real browser: the prefixes pre-declared and shown, the named queries (the seed's (a)
and (b) first) with inputs for their parameters, answers as the store gives them, CSV and JSON downloads,
syntax errors at their line and column, and SPARQL Update refused by the page and the API."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from ui_fixtures import http

import provinstr
from provinstr.analysis import queries
from provinstr.errors import QuerySyntaxError
from provinstr.vocab import PREFIXES

FIRST_EPOCHS = """SELECT ?run ?epoch ?loss WHERE {
  GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ; pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 2) }
} ORDER BY ?run ?epoch"""
# Line 3 misses the object of its triple.
BAD = """SELECT ?run ?loss WHERE {
  GRAPH ?run { ?m a pi:Metric ; pi:name "loss" .
    ?m prov:value
  }
}"""


def open_sparql(page, server, query: str = "") -> None:
    page.goto(f"{server.base}/sparql{query}")
    page.wait_for_function("document.body.dataset.ready === 'sparql'")


def run_query(page, text: str | None = None) -> None:
    if text is not None:
        page.fill("#sparql-editor", text)
    page.evaluate("document.body.dataset.ready = 'waiting'")
    page.click("#run-query")
    page.wait_for_function("document.body.dataset.ready === 'sparql'")


def table(page) -> list[list[str]]:
    """The result rows as the page shows them (an IRI cell by its full IRI, its tooltip)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('#results-table tbody tr')).map((tr) =>
        Array.from(tr.querySelectorAll('td:not(.rownum)')).map((td) => td.classList.contains('iri') ? td.title : td.innerText))""")


def lexical(result) -> list[list[str]]:
    """The store's own answer as text: each term's lexical form (IRIs whole), '' when unbound."""
    return [["" if term is None else term.value for term in row] for row in result.terms]


def api(server, body: dict, path: str = "/api/sparql"):
    return http(f"{server.base}{path}", "POST", {"Content-Type": "application/json"}, json.dumps(body))


def test_a_query_typed_in_the_editor_answers_what_the_store_answers(ui_store, ui_server, page):
    open_sparql(page, ui_server)
    shown = page.inner_text("#prefixes")
    for prefix, namespace in PREFIXES.items():  # pre-declared, and shown
        assert f"PREFIX {prefix}: <{namespace}>" in shown
    run_query(page, FIRST_EPOCHS)
    expected = provinstr.open_store(ui_store.path).query(FIRST_EPOCHS)
    assert len(expected.rows) == 2 * len(ui_store.runs) - 2 * 2  # two epochs of every run but the scikit-learn ones
    assert table(page) == lexical(expected)
    assert page.inner_text("#row-count") == f"{len(expected.rows)} rows"
    assert page.locator("#results-table td.num").count() == 2 * len(expected.rows)  # epochs and losses are numbers
    run_link = page.locator("#results-table td.iri a").first  # a run's IRI links to its page
    assert run_link.get_attribute("href").startswith("/run/")


def test_the_named_queries_are_one_click_away_the_seeds_first_with_inputs_for_their_parameters(ui_store, ui_server, page):
    open_sparql(page, ui_server)
    names = page.eval_on_selector_all("#named-list button.named", "bs => bs.map(b => b.dataset.name)")
    assert names[:2] == ["loss-for-k-l", "first-epochs"] and set(names) == set(queries.available())
    assert "seed query (a)" in page.inner_text("#named-list button.named >> nth=0")
    store = provinstr.open_store(ui_store.path)

    page.click("button.named[data-name='loss-for-k-l']")  # (a): the keras run's DenseBlock has K=8, L=2; 6 epochs
    assert page.input_value("#sparql-editor") == queries.find("loss-for-k-l").sparql
    page.fill("input[data-param='K']", "8")
    page.fill("input[data-param='L']", "2")
    page.fill("input[data-param='epoch']", "5")
    run_query(page)
    expected = queries.run_named(store, "loss-for-k-l", {"K": "8", "L": "2", "epoch": "5"})
    assert len(expected.rows) == 1 and table(page) == lexical(expected)
    assert "named query loss-for-k-l" in page.inner_text("#result-meta")

    page.click("button.named[data-name='first-epochs']")  # (b), for one run given by an id prefix
    run = ui_store.id("keras-plateau")
    page.fill("input[data-param='run']", run[:10])
    page.fill("input[data-param='epochs']", "3")
    run_query(page)
    expected = queries.run_named(store, "first-epochs", {"run": run[:10], "epochs": "3"})
    assert len(expected.rows) == 3 and table(page) == lexical(expected)

    page.fill("input[data-param='run']", "nosuchrun")
    run_query(page)
    assert "no run matches 'nosuchrun'" in page.inner_text("#sparql-error")


def test_a_malformed_query_shows_its_line_and_column_and_marks_the_line(ui_store, ui_server, page):
    with pytest.raises(QuerySyntaxError) as raised:
        provinstr.open_store(ui_store.path).query(BAD)
    line, column = map(int, re.search(r"(\d+):(\d+)", str(raised.value)).groups())
    open_sparql(page, ui_server)
    run_query(page, BAD)
    error = page.inner_text("#sparql-error")
    assert error.startswith(f"line {line}, column {column}: malformed SPARQL")
    assert page.inner_text("#gutter span.bad") == str(line)  # the line is marked in the editor's margin
    where = page.inner_text("#error-where")
    assert where.splitlines()[0].endswith(BAD.splitlines()[line - 1]) and where.splitlines()[1].strip() == "^"
    assert page.is_hidden("#results-card")
    answer = api(ui_server, {"query": BAD})
    assert answer.status == 400 and (answer.json()["line"], answer.json()["column"]) == (line, column)


@pytest.mark.parametrize("update", [
    'INSERT DATA { GRAPH <https://w3id.org/provinstr/run/x> { <urn:a> <urn:b> "c" } }',
    "PREFIX ex: <urn:ex:>\n# a comment first\nDELETE WHERE { ?s ?p ?o }",
    "clear all",
])
def test_sparql_update_is_refused_by_the_page_and_by_the_api_and_changes_nothing(ui_store, ui_server, page, update):
    store = provinstr.open_store(ui_store.path)
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    before = store.query(count).rows
    open_sparql(page, ui_server)
    run_query(page, update)
    message = page.inner_text("#sparql-error")
    assert "SPARQL Update" in message and "refused" in message and "read" in message
    assert page.get_attribute("#sparql-error", "data-kind") == "update"
    assert api(ui_server, {"query": update}).status == 403
    assert http(f"{ui_server.base}/api/sparql?query={quote(update)}").status == 405  # queries are POSTed
    assert api(ui_server, {"query": update}, "/api/sparql/download?format=csv").status == 403
    assert store.query(count).rows == before


def test_the_answer_downloads_whole_as_sparql_results_csv_and_json(ui_store, ui_server, page):
    open_sparql(page, ui_server)
    page.select_option("#row-limit", "100")
    query = "SELECT ?run ?name ?epoch ?value WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name ?name ; pi:epoch ?epoch ; " \
            "prov:value ?value } } ORDER BY ?run ?name ?epoch"
    run_query(page, query)
    expected = provinstr.open_store(ui_store.path).query(query)
    assert len(expected.rows) > 100 and page.locator("#results-table tbody tr").count() == 100
    assert "showing the first 100" in page.inner_text("#result-meta")
    with page.expect_download() as csv_file:
        page.click("#download-csv")
    rows = list(csv.reader(io.StringIO(Path(csv_file.value.path()).read_text(encoding="utf-8"))))
    assert csv_file.value.suggested_filename == "query.csv"
    assert rows[0] == ["run", "name", "epoch", "value"] and rows[1:] == lexical(expected)
    with page.expect_download() as json_file:
        page.click("#download-json")
    document = json.loads(Path(json_file.value.path()).read_text(encoding="utf-8"))
    assert document["head"]["vars"] == ["run", "name", "epoch", "value"]
    bindings = document["results"]["bindings"]
    assert len(bindings) == len(expected.rows)
    assert bindings[0]["run"]["type"] == "uri" and bindings[0]["epoch"]["datatype"].endswith("#integer")


def test_a_query_in_the_url_is_loaded_and_answered_and_ask_answers_true_or_false(ui_store, ui_server, page):
    open_sparql(page, ui_server, "?query=" + quote("ASK { ?r a pi:Run ; pi:group \"sweep\" }"))
    assert page.inner_text("#ask-answer") == "true"
    open_sparql(page, ui_server, "?name=first-epochs&epochs=1")
    assert page.input_value("input[data-param='epochs']") == "1"
    expected = queries.run_named(provinstr.open_store(ui_store.path), "first-epochs", {"epochs": "1"})
    assert table(page) == lexical(expected)
