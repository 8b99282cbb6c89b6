"""Queries asked of a server without naming every run graph (store/scoping.py): the same answers as with them."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from provinstr.analysis import queries
from provinstr.analysis.store import _RUNS_QUERY
from provinstr.store.local import PREFIXES
from provinstr.store.scoping import scoped
from provinstr.vocab.terms import CATALOG_GRAPH, PI, PROV, RDF, RDFS, RUN_BASE

RUNS = [f"{RUN_BASE}{r:032x}" for r in range(12)]
# What a server holds beside the runs, all of it matching the queries' patterns: the catalog graph, another
# project's graph and the default graph. Naming the run graphs kept it out; the scoped query must too.
OTHERS = [CATALOG_GRAPH, "http://example.org/someone-elses-data", None]

SCOPED = [
    """SELECT DISTINCT ?run ?loss WHERE { GRAPH ?run {
         ?k pi:name "K" ; prov:value 24 .   ?l pi:name "L" ; prov:value 4 .
         ?m a pi:Metric ; pi:name "loss" ; pi:epoch 3 ; prov:value ?loss . } }""",
    """SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
         pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch""",
    _RUNS_QUERY,
    """SELECT ?g (COUNT(*) AS ?n) WHERE { { GRAPH ?g { ?m pi:epoch 2 } } UNION { GRAPH ?g { ?m pi:name "K" } } }
       GROUP BY ?g ORDER BY DESC(?n) ?g""",
    """SELECT ?run ?best WHERE { { SELECT ?run (MIN(?v) AS ?best) WHERE {
         GRAPH ?run { ?m pi:name "loss" ; prov:value ?v } } GROUP BY ?run } FILTER(?best < 0.2) }""",
    """SELECT ?run WHERE { GRAPH ?run { ?run a pi:Run } FILTER NOT EXISTS { GRAPH ?run { ?k prov:value 16 } } }""",
    """SELECT ?a ?b WHERE { GRAPH ?a { ?x pi:name "K" ; prov:value ?v } GRAPH ?b { ?y pi:name "K" ; prov:value ?v }
       FILTER(STR(?a) < STR(?b)) BIND(CONCAT(STR(?a), ",", STR(?b)) AS ?pair) }""",
    """ASK { GRAPH ?g { ?m pi:epoch 9 } }""",
    """CONSTRUCT { ?m pi:epoch ?e } WHERE { GRAPH ?run { ?m pi:epoch ?e ; pi:name "mae" FILTER(?e > 7) } }""",
    f"""SELECT ?name ?v WHERE {{ GRAPH <{RUNS[1]}> {{ ?k pi:name ?name ; prov:value ?v }} }}""",
    """SELECT ?run ?n WHERE { GRAPH ?run { ?m pi:name ?n } } VALUES ?n { "K" "L" }""",
    # a subquery's projection and modifiers are not triple patterns
    """SELECT * WHERE { { SELECT (COUNT(*) AS ?n) ?g WHERE { GRAPH ?g { ?m pi:epoch ?e } } GROUP BY ?g
       ORDER BY DESC(?n) ?g LIMIT 3 } }""",
]
UNSCOPED = {
    "a pattern outside GRAPH": """SELECT ?m WHERE { ?m pi:epoch 3 . GRAPH ?g { ?m pi:name "loss" } }""",
    "after a GRAPH group": """SELECT ?m WHERE { GRAPH ?g { ?m pi:name "loss" } ?m pi:epoch 3 }""",
    "in an OPTIONAL": """SELECT ?m WHERE { GRAPH ?g { ?m pi:name "loss" } OPTIONAL { ?m pi:epoch ?e } }""",
    "after a FILTER": """SELECT ?m WHERE { GRAPH ?g { ?m pi:name "loss" } FILTER(?g != <x:y>) ?m pi:epoch 1 }""",
    "a blank node subject": """SELECT ?e WHERE { [] pi:epoch ?e }""",
    "FROM": f"""SELECT ?m FROM <{RUNS[0]}> WHERE {{ GRAPH ?g {{ ?m pi:epoch 3 }} }}""",
    "DESCRIBE": """DESCRIBE ?m WHERE { GRAPH ?g { ?m pi:epoch 3 } }""",
    "CONSTRUCT WHERE": """CONSTRUCT WHERE { ?m pi:epoch 3 }""",
    "SERVICE": """SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } GRAPH ?g { ?s ?p ?o } }""",
    "unbalanced": """SELECT * WHERE { GRAPH ?g { ?s ?p ?o }""",
    "a blank node after a FILTER": """SELECT ?v WHERE { FILTER(true) [ pi:name "K" ; prov:value ?v ] }""",
    "a quoted triple": """SELECT ?n WHERE { << ?s pi:name ?o >> pi:note ?n }""",
    "the catalog graph by name": f"""SELECT ?s WHERE {{ GRAPH <{CATALOG_GRAPH}> {{ ?s a pi:Run }} }}""",
    "a graph by prefixed name": """PREFIX ex: <http://example.org/> SELECT ?s WHERE { GRAPH ex:theirs { ?s ?p ?o } }""",
    "a GRAPH inside a GRAPH": """SELECT ?a ?b WHERE { GRAPH ?a { GRAPH ?b { ?r a pi:Run } } }""",
    "a triple in an EXISTS of a projection": """SELECT * WHERE { { SELECT (EXISTS { ?s pi:epoch 1 } AS ?e)
       WHERE { GRAPH ?g { ?s ?p ?o } } } }""",
}


def _iri(term) -> ox.NamedNode:
    return ox.NamedNode(str(term))


@pytest.fixture(scope="module")
def dataset() -> ox.Store:
    """Runs of 10 epochs x 3 metrics, a training that used K and L, an adaptation; the same kind of data in
    OTHERS (there with K = 24 and L = 4, the values the seed's query asks for)."""
    store = ox.Store()
    quads = []
    for r, graph in enumerate(RUNS + OTHERS):
        where = ox.NamedNode(graph) if graph else ox.DefaultGraph()
        run = ox.NamedNode(graph or f"{RUN_BASE}in-the-default-graph")
        training = ox.NamedNode(f"{run.value}/training/1")
        quads += [ox.Quad(run, _iri(RDF.type), _iri(PI.Run), where),
                  ox.Quad(run, _iri(PROV.startedAtTime),
                          ox.Literal(f"2026-12-06T10:{r:02d}:00Z", datatype=ox.NamedNode(
                              "http://www.w3.org/2001/XMLSchema#dateTime")), where),
                  ox.Quad(run, _iri(RDFS.label), ox.Literal(f"run {r}"), where),
                  ox.Quad(run, _iri(PI.status), ox.Literal("completed"), where)]
        others = graph not in RUNS
        for name, value in (("K", 24 if others else (12, 16, 24)[r % 3]), ("L", 4 if others else (4, 8)[r % 2])):
            node = ox.NamedNode(f"{run.value}/hyperparameter/{name}")
            quads += [ox.Quad(node, _iri(RDF.type), _iri(PI.Hyperparameter), where),
                      ox.Quad(node, _iri(PI.name), ox.Literal(name), where),
                      ox.Quad(node, _iri(PROV.value), ox.Literal(value), where),
                      ox.Quad(training, _iri(PROV.used), node, where)]
        adaptation, old, new = (ox.NamedNode(f"{training.value}/adaptation/{i}") for i in (1, 2, 3))
        quads += [ox.Quad(adaptation, _iri(RDF.type), _iri(PI.Adaptation), where),
                  ox.Quad(adaptation, _iri(PI.epoch), ox.Literal(5), where),
                  ox.Quad(adaptation, _iri(PROV.used), old, where),
                  ox.Quad(adaptation, _iri(PROV.generated), new, where)]
        for node, value in ((old, 0.01), (new, 0.001)):
            quads += [ox.Quad(node, _iri(PI.name), ox.Literal("learning_rate"), where),
                      ox.Quad(node, _iri(PROV.value), ox.Literal(value), where)]
        for epoch in range(10):
            for metric in ("loss", "mae", "val_loss"):
                node = ox.NamedNode(f"{run.value}/epoch/{epoch}/metric/{metric}")
                quads += [ox.Quad(node, _iri(RDF.type), _iri(PI.Metric), where),
                          ox.Quad(node, _iri(PI.name), ox.Literal(metric), where),
                          ox.Quad(node, _iri(PI.epoch), ox.Literal(epoch), where),
                          ox.Quad(node, _iri(PROV.value), ox.Literal(1.0 / (epoch + r + 1)), where)]
    store.extend(quads)
    return store


def _answers(result) -> object:
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    if isinstance(result, ox.QueryTriples):
        return sorted(str(t) for t in result)
    return sorted(tuple(str(term) for term in row) for row in result)  # ties and unordered rows come in any order


def _as_before(store: ox.Store, sparql: str):
    """What a server answered when every run graph was named: the default graph their union, only they named."""
    graphs = [ox.NamedNode(g) for g in RUNS]
    return _answers(store.query(sparql, prefixes=PREFIXES, default_graph=graphs, named_graphs=graphs))


REQUIRED = {"epoch": "3", "name": "K"}  # values for the shipped queries' required parameters (and every epoch)


def _shipped() -> list[str]:
    return [query.bind({p.name: REQUIRED[p.name] for p in query.parameters if p.required or p.name == "epoch"})
            for query in queries.available().values()]


@pytest.mark.parametrize("sparql", SCOPED + _shipped())
def test_a_query_reading_only_graph_patterns_answers_the_same_over_the_whole_dataset(dataset, sparql):
    narrowed = scoped(sparql, RUN_BASE)
    assert narrowed is not None
    answered = _answers(dataset.query(narrowed, prefixes=PREFIXES))  # the server's dataset as it is
    assert answered and answered == _as_before(dataset, sparql)


@pytest.mark.parametrize("sparql", [SCOPED[0], _RUNS_QUERY])
def test_the_data_beside_the_runs_is_left_out(dataset, sparql):
    whole = {row[0] for row in _answers(dataset.query(sparql, prefixes=PREFIXES))}
    runs = {row[0] for row in _answers(dataset.query(scoped(sparql, RUN_BASE), prefixes=PREFIXES))}
    others = {f"<{graph}>" for graph in OTHERS if graph}
    assert others <= whole and not others & runs  # read without the FILTERs, not with them


def test_the_seed_queries_find_what_the_runs_hold(dataset):
    loss_at_3 = _answers(dataset.query(scoped(SCOPED[0], RUN_BASE), prefixes=PREFIXES))
    # K = 24 and L = 4 in runs 2 and 8 of the 12 (r % 3 == 2, r % 2 == 0); loss at epoch 3 = 1 / (4 + r)
    assert sorted(loss_at_3) == sorted((f"<{RUNS[r]}>", f'"{1.0 / (4 + r)}"^^<http://www.w3.org/2001/XMLSchema#double>')
                                       for r in (2, 8))


@pytest.mark.parametrize("why", list(UNSCOPED))
def test_a_query_that_may_read_the_default_graph_is_asked_as_before(why):
    assert scoped(UNSCOPED[why], RUN_BASE) is None
