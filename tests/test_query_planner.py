"""The order of triple patterns the store asks Oxigraph in (store/planner.py): data-aware, same answers."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from provinstr.store import planner
from provinstr.store.local import PREFIXES
from provinstr.vocab.terms import PI, PROV, RDF

QUERY_A = """SELECT ?run ?loss WHERE { GRAPH ?run {
  ?k pi:name "K" ; prov:value 24 .   ?l pi:name "L" ; prov:value 4 .
  ?m a pi:Metric ; pi:name "loss" ; pi:epoch 9 ; prov:value ?loss . } }"""
QUERIES = [
    QUERY_A,
    """SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
       pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch ?loss""",
    """PREFIX ex: <http://example.org/>
       SELECT ?k ?v WHERE { ?k pi:name "K" . ?k prov:value ?v . OPTIONAL { ?k pi:epoch ?e . ?k a pi:Metric } }""",
    """SELECT ?v WHERE { VALUES ?v { 24 12 } ?k prov:value ?v ; pi:name "K" . }""",
    """SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?m a pi:Metric . ?m pi:epoch 3 } }""",
    """SELECT ?m WHERE { GRAPH ?g { ?m pi:name "loss", "mae" ; pi:epoch 2 . } }""",
    """SELECT ?x WHERE { ?x pi:name/prov:value ?y . ?x a pi:Metric }""",  # a path: as written
    """ASK { ?m a pi:Metric ; pi:epoch 9 }""",
]


@pytest.fixture(scope="module")
def index() -> ox.Store:
    """40 runs of 10 epochs x 2 metrics with hyperparameters K and L, one graph each."""
    return _runs(40, 10, hyperparameters=True)


def _runs(runs: int, epochs: int, hyperparameters: bool = False) -> ox.Store:
    """An index of `runs` graphs, each with the metrics loss and mae at `epochs` epochs (and K, L)."""
    store = ox.Store()
    quads = []
    for r in range(runs):
        run = ox.NamedNode(f"https://w3id.org/provinstr/run/{r:032x}")
        for name, value in (("K", (12, 16, 24, 32)[r % 4]), ("L", (4, 8)[(r // 4) % 2])) if hyperparameters else ():
            node = ox.NamedNode(f"{run.value}/hyperparameter/{name}")
            quads += [ox.Quad(node, ox.NamedNode(str(PI.name)), ox.Literal(name), run),
                      ox.Quad(node, ox.NamedNode(str(PROV.value)), ox.Literal(value), run)]
        for epoch in range(epochs):
            for metric in ("loss", "mae"):
                node = ox.NamedNode(f"{run.value}/epoch/{epoch}/metric/{metric}")
                quads += [ox.Quad(node, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(PI.Metric)), run),
                          ox.Quad(node, ox.NamedNode(str(PI.name)), ox.Literal(metric), run),
                          ox.Quad(node, ox.NamedNode(str(PI.epoch)), ox.Literal(epoch), run),
                          ox.Quad(node, ox.NamedNode(str(PROV.value)), ox.Literal(1.0 / (epoch + r + 1)), run)]
    store.extend(quads)
    return store


def _ask(store: ox.Store, text: str):
    answer = store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True)
    if isinstance(answer, ox.QueryBoolean):
        return bool(answer)
    return sorted(tuple(str(term) for term in row) for row in answer)


def _select(store: ox.Store):
    def select(text: str):
        return [[None if t is None else t.value for t in row]
                for row in store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True)]
    return select


@pytest.mark.parametrize("text", QUERIES)
def test_a_reordered_query_gives_the_same_answers(index, text):
    planned = planner.reorder(text, _select(index))
    assert _ask(index, planned) == _ask(index, text)


def test_query_a_as_the_contract_writes_it_starts_from_the_values(index):
    planned = planner.reorder(QUERY_A, _select(index))
    lines = [line.strip() for line in planned.splitlines() if line.strip().startswith("?")]
    assert lines[0] == "?k prov:value 24 ." and lines[1] == '?k pi:name "K" .'
    assert lines.index('?m pi:epoch 9 .') < lines.index('?m pi:name "loss" .') < lines.index("?m a pi:Metric .")
    assert len(_ask(index, planned)) == 5  # K = 24 and L = 4: runs 2, 10, ... one in eight


def test_what_it_cannot_read_stays_as_written(index):
    for text in ('SELECT ?x WHERE { ?x pi:name/prov:value ?y . ?x a pi:Metric }',
                 'SELECT * WHERE { ?s ?p "unterminated }', 'CONSTRUCT { ?a ?b ?c . ?c ?d ?e } WHERE { ?a ?b ?c }'):
        assert planner.reorder(text, _select(index)) == text


@pytest.fixture(scope="module")
def big_index() -> ox.Store:
    """40 runs of 30 epochs x 2 metrics: every metric pattern matches more than COUNT_CAP over all runs."""
    return _runs(40, 30)


QUERY_B = """SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
  pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch ?loss"""
FILTERED = [
    QUERY_B,
    """SELECT ?run ?m WHERE { GRAPH ?run { FILTER(?e >= 28 && ?e != 29) ?m pi:epoch ?e . ?m pi:name ?n .
       ?m prov:value ?v . FILTER(STR(?n) = "mae") } }""",
    """SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?m pi:name "loss" . ?m pi:epoch ?e . FILTER(?e IN (1, 2)) } }""",
    # not moved: another filter reads the pattern's variable (twice the same filter too), a filter whose
    # comparisons read as an IRI, an OPTIONAL in the group, a filter over two patterns, EXISTS, a named graph,
    # no GRAPH
    """SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ; pi:epoch ?epoch ;
       prov:value ?loss . FILTER(?epoch < 4) FILTER(?loss < 1.0 / (?epoch + 1)) } }""",
    """SELECT ?m WHERE { GRAPH ?run { ?m pi:epoch ?e . ?m prov:value ?v . ?m a pi:Metric .
       FILTER(?e < 2) FILTER(COALESCE(?e, -1) != 1) } }""",
    """SELECT ?m WHERE { GRAPH ?run { ?m pi:epoch ?e . ?m prov:value ?v . ?m a pi:Metric . FILTER(?e < 2)
       FILTER(?e < 2) } }""",
    """SELECT ?m ?e ?v WHERE { GRAPH ?run { ?m pi:epoch ?e . ?m prov:value ?v . ?m a pi:Metric .
       FILTER(?e<2&&?v>0.01) } }""",
    """SELECT ?m WHERE { GRAPH ?run { ?m pi:epoch ?e . ?m prov:value ?v . ?m a pi:Metric .
       FILTER(?e<2)FILTER(?v>0.03) } }""",
    """SELECT ?m ?v WHERE { GRAPH ?run { ?m pi:epoch ?e . ?m pi:name "loss" . OPTIONAL { ?m prov:value ?v }
       FILTER(?e < 2) } }""",
    """SELECT ?m WHERE { GRAPH ?run { ?m pi:epoch ?e . ?m prov:value ?v . ?m a pi:Metric . FILTER(?e < 2 && ?v > 0.3) } }""",
    """SELECT ?m WHERE { GRAPH ?run { ?m pi:epoch ?e . ?m a pi:Metric . ?m pi:name "loss" .
       FILTER(?e < 2 && EXISTS { ?m prov:value ?v }) } }""",
    """SELECT ?m WHERE { GRAPH <https://w3id.org/provinstr/run/00000000000000000000000000000003> {
       ?m pi:epoch ?e . ?m a pi:Metric . ?m pi:name "loss" . FILTER(?e < 2) } }""",
    """SELECT ?m WHERE { ?m pi:epoch ?e . ?m a pi:Metric . ?m pi:name "loss" . FILTER(?e < 2) }""",
]


@pytest.mark.parametrize("text", FILTERED)
def test_a_query_with_a_filter_moved_first_gives_the_same_answers(big_index, text):
    planned = planner.reorder(text, _select(big_index))
    assert _ask(big_index, planned) == _ask(big_index, text)
    moved = "{ SELECT * WHERE { GRAPH" in planned
    assert moved == (text in FILTERED[:3]), planned


def test_query_b_asks_its_filtered_epochs_first_and_the_rest_of_the_graph_after(big_index):
    planned = planner.reorder(QUERY_B, _select(big_index))
    first, rest = planned.split("\n", 1)
    assert "{ SELECT * WHERE { GRAPH ?run { ?m pi:epoch ?epoch FILTER (?epoch < 4) } } }" in first
    assert "pi:epoch" not in rest and "FILTER" not in rest  # moved, not asked twice
    assert len(_ask(big_index, planned)) == 40 * 4


def test_a_filter_is_left_in_place_where_a_pattern_has_few_matches(index):
    # 40 runs x 10 epochs: every count is exact and below COUNT_CAP, so nothing is moved (small stores as before)
    text = QUERY_B.replace("ORDER BY ?epoch ?loss", "")
    assert "SELECT * WHERE" not in planner.reorder(text, _select(index))
