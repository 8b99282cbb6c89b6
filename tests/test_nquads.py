"""Records become N-Quads lines that a standard parser reads back as the typed values the vocabulary promises."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pyoxigraph as ox

from provinstr.capture.nquads import IRI, literal, render
from provinstr.store.results import to_python
from provinstr import vocab


GRAPH = "https://w3id.org/provinstr/run/test"
NODE = "https://w3id.org/provinstr/run/test/thing/1"


def read_back(value):
    """Render one value, parse the line with Oxigraph, return (the object term, its Python value)."""
    text = render(NODE, GRAPH, [(vocab.PI.name, value)])
    [quad] = list(ox.parse(text.encode(), format=ox.RdfFormat.N_QUADS))
    assert quad.graph_name == ox.NamedNode(GRAPH)
    return quad.object, to_python(quad.object)


def test_numbers_booleans_strings_and_times_come_back_with_their_xsd_types():
    cases = {
        3: (vocab.XSD.integer, 3),
        -7: (vocab.XSD.integer, -7),
        0.25: (vocab.XSD.double, 0.25),
        1e-05: (vocab.XSD.double, 1e-05),
        True: (vocab.XSD.boolean, True),
        "adam": (vocab.XSD.string, "adam"),
    }
    for value, (datatype, expected) in cases.items():
        term, back = read_back(value)
        assert term.datatype.value == str(datatype), value
        assert back == expected and type(back) is type(expected), value
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    term, back = read_back(when)
    assert term.datatype.value == str(vocab.XSD.dateTime) and back == when


def test_nan_and_infinities_are_doubles_not_magic_numbers():
    for value, text in ((math.nan, "NaN"), (math.inf, "INF"), (-math.inf, "-INF")):
        term, back = read_back(value)
        assert term.value == text and term.datatype.value == str(vocab.XSD.double)
    assert read_back(math.inf)[1] == math.inf


def test_numpy_scalars_are_plain_numbers():
    assert read_back(np.float32(0.5))[1] == 0.5
    assert read_back(np.int64(12))[0].datatype.value == str(vocab.XSD.integer)
    assert read_back(np.bool_(False))[1] is False


def test_lists_tuples_and_dicts_are_json_text():
    assert json.loads(read_back([1, 2.5, "x"])[1]) == [1, 2.5, "x"]
    assert json.loads(read_back((3, 3))[1]) == [3, 3]
    assert json.loads(read_back({"b": 1, "a": np.float64(2.0)})[1]) == {"a": 2.0, "b": 1}


def test_quotes_newlines_backslashes_and_unicode_survive_the_round_trip():
    text = 'say "hi"\\n\nnext line\r\ttab — ünïcode ✓'
    assert read_back(text)[1] == text


def test_a_lone_surrogate_still_gives_a_line_the_store_can_read():
    _, back = read_back("bad \udc80 byte")
    assert back.startswith("bad ") and back.endswith(" byte")


def test_iri_objects_and_rdflib_terms_are_iris_not_strings():
    assert literal(IRI("https://example.org/a")) == "<https://example.org/a>"
    term, _ = read_back(vocab.PI.Metric)
    assert isinstance(term, ox.NamedNode) and term.value == str(vocab.PI.Metric)


def test_none_objects_are_left_out():
    text = render(NODE, GRAPH, [(vocab.PI.name, None), (vocab.PI.epoch, 0)])
    assert text.count("\n") == 1 and '"0"' in text
