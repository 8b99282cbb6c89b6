"""The Python API: runs, @track_transformation, transformation(), log_* — as a user queries them afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys

import numpy as np
import pytest

import provinstr
from provinstr.analysis.catalog import open_store

ATTRIBUTES = """
SELECT ?label ?direction ?name ?value WHERE {
  ?t a pi:Transformation ; rdfs:label ?label .
  { ?t prov:used ?a . BIND("input" AS ?direction) } UNION { ?t prov:generated ?a . BIND("output" AS ?direction) }
  ?a a pi:Attribute ; pi:name ?name ; prov:value ?value .
} ORDER BY ?label ?direction ?name
"""

RUN_FACTS = """
SELECT ?label ?status ?argv ?script ?sha ?user ?tool ?version ?python ?cpus ?memory WHERE {
  ?run a pi:Run, prov:Activity, mls:Run ; rdfs:label ?label ; pi:status ?status ; pi:argv ?argv ;
       prov:startedAtTime ?start ; prov:endedAtTime ?end ;
       prov:used ?s, ?env ; prov:wasAssociatedWith ?person, ?agent .
  ?s a pi:Script ; prov:atLocation ?script ; pi:sha256 ?sha .
  ?person a prov:Person ; rdfs:label ?user .
  ?agent a prov:SoftwareAgent ; rdfs:label ?tool ; pi:version ?version .
  ?env a pi:Environment ; pi:pythonVersion ?python ; pi:cpuCount ?cpus ; pi:memoryBytes ?memory .
  FILTER(?end >= ?start)
}
"""


def attributes(store):
    return [tuple(row) for row in open_store(store).query(ATTRIBUTES)]


def test_track_transformation_records_inputs_defaults_and_named_outputs(store_dir):
    @provinstr.track_transformation(name="DenseBlock", outputs=["features", "growth"])
    def dense_block(x, K=24, L=4, padding="same"):
        return x * 2, (K, L)

    with provinstr.run(store=store_dir):
        features, growth = dense_block(np.ones((8, 3), dtype="float32"), L=6)
    assert features.shape == (8, 3) and growth == (24, 6)
    rows = attributes(store_dir)
    values = {(direction, name): value for _, direction, name, value in rows}
    assert values[("input", "K")] == 24 and values[("input", "L")] == 6 and values[("input", "padding")] == "same"
    assert json.loads(values[("input", "x")]) == {"type": "numpy.ndarray", "shape": [8, 3], "dtype": "float32"}
    assert json.loads(values[("output", "features")])["shape"] == [8, 3]
    assert json.loads(values[("output", "growth")]) == [24, 6]
    assert {label for label, *_ in rows} == {"DenseBlock"}


def test_a_bare_decorator_is_named_after_the_function_and_keeps_only_the_named_inputs(store_dir):
    @provinstr.track_transformation
    def normalise(values, scale=1.0):
        return [v / scale for v in values]

    @provinstr.track_transformation(inputs=["scale"])
    def rescale(values, scale):
        return [v * scale for v in values]

    with provinstr.run(store=store_dir):
        assert normalise((2.0, 4.0), scale=2.0) == [1.0, 2.0]
        assert rescale([1.0], 3.0) == [3.0]
    rows = attributes(store_dir)
    assert ("normalise", "input", "values", "[2.0, 4.0]") in rows
    assert ("normalise", "output", "output", "[1.0, 2.0]") in rows
    assert [name for label, direction, name, _ in rows if label == "rescale" and direction == "input"] == ["scale"]


def test_the_decorated_function_runs_exactly_once_and_user_errors_pass_through_unchanged(store_dir):
    calls = []

    class Diverged(Exception):
        pass

    @provinstr.track_transformation()
    def step(value):
        calls.append(value)
        if value < 0:
            raise Diverged(f"loss went to {value}")
        return value + 1

    with provinstr.run(store=store_dir):
        assert step(1) == 2
        with pytest.raises(Diverged, match="loss went to -1") as raised:
            step(-1)
    assert calls == [1, -1]
    assert type(raised.value) is Diverged
    errors = open_store(store_dir).query(
        "SELECT ?type ?message WHERE { ?t a pi:Transformation ; pi:exceptionType ?type ; pi:exceptionMessage ?message }"
    )
    assert errors.rows == [("Diverged", "loss went to -1")]


def test_the_transformation_context_manager_records_inputs_and_outputs(store_dir):
    with provinstr.run(store=store_dir):
        with provinstr.transformation("Encoder", padding="same", strides=2) as step:
            step.output(channels=64, shape=(None, 32, 32, 64))
    rows = attributes(store_dir)
    assert ("Encoder", "input", "padding", "same") in rows and ("Encoder", "input", "strides", 2) in rows
    assert ("Encoder", "output", "channels", 64) in rows
    assert ("Encoder", "output", "shape", "[null, 32, 32, 64]") in rows


def test_logged_hyperparameters_and_epoch_metrics_answer_the_seed_queries(store_dir):
    with provinstr.run(name="DenseED", store=store_dir):
        provinstr.log_hyperparameter(K=24, L=4)
        provinstr.log_hyperparameter("optimizer", "adam")
        for epoch in range(201):
            provinstr.log_metric("loss", np.float32(1.0 / (epoch + 1)), epoch=epoch)
        provinstr.log_metric("test_accuracy", 0.9)
    store = open_store(store_dir)
    (loss,), = store.query("""
        SELECT DISTINCT ?loss WHERE { GRAPH ?run {
          ?k pi:name "K" ; prov:value 24 .   ?l pi:name "L" ; prov:value 4 .
          ?m a pi:Metric ; pi:name "loss" ; pi:epoch 200 ; prov:value ?loss . } }""").rows
    assert loss == pytest.approx(1 / 201)
    first = store.query("""
        SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
          pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch""").rows
    assert [epoch for epoch, _ in first] == [0, 1, 2, 3] and first[1][1] == 0.5
    hyper = store.query("SELECT ?n ?v WHERE { ?run a pi:Run ; prov:used ?h . ?h a pi:Hyperparameter ; pi:name ?n ; prov:value ?v }")
    assert sorted(hyper.rows) == [("K", 24), ("L", 4), ("optimizer", "adam")]


def test_an_explicit_run_records_script_argv_agents_environment_and_completion(store_dir):
    with provinstr.run(name="sweep-1", store=store_dir) as run:
        provinstr.log_metric("loss", 0.5, epoch=0)
    store = open_store(store_dir)
    [facts] = store.query(RUN_FACTS).dicts()
    script = os.path.realpath(sys.argv[0])
    assert facts["label"] == "sweep-1" and facts["status"] == "completed"
    assert json.loads(facts["argv"]) == sys.argv
    assert facts["script"] == script
    with open(script, "rb") as handle:
        assert facts["sha"] == hashlib.sha256(handle.read()).hexdigest()
    assert facts["tool"] == "provinstr" and facts["version"] == provinstr.__version__
    assert facts["python"].endswith(platform.python_version()) and facts["cpus"] == os.cpu_count()
    assert facts["memory"] > 0
    libraries = store.query("SELECT ?n ?v WHERE { ?env pi:library ?lib . ?lib pi:name ?n ; pi:version ?v }")
    assert ("numpy", np.__version__) in libraries.rows
    [info] = store.runs()
    assert (info.id, info.name, info.status, info.pid) == (run.id, "sweep-1", "completed", os.getpid())
    assert info.duration is not None and info.duration >= 0


def test_an_explicit_run_that_raises_is_failed_with_the_exception(store_dir):
    with pytest.raises(ValueError, match="bad batch"):
        with provinstr.run(name="broken", store=store_dir):
            provinstr.log_metric("loss", 0.5, epoch=0)
            raise ValueError("bad batch")
    [info] = open_store(store_dir).runs()
    assert info.status == "failed" and info.error == "bad batch"
    types = open_store(store_dir).query("SELECT ?t WHERE { ?r a pi:Run ; pi:exceptionType ?t }")
    assert types.rows == [("ValueError",)]


def test_flush_makes_everything_recorded_so_far_queryable_while_the_run_goes_on(store_dir):
    with provinstr.run(store=store_dir):
        for epoch in range(5):
            provinstr.log_metric("accuracy", epoch / 10, epoch=epoch)
        provinstr.flush()
        store = open_store(store_dir)
        assert store.query("SELECT (COUNT(?m) AS ?n) WHERE { ?m a pi:Metric }").rows == [(5,)]
        assert [r.status for r in store.runs()] == ["running"]


def test_a_plain_script_gets_an_implicit_run_with_no_setup(run_python, tmp_path):
    result = run_python(
        """
        import sys
        import numpy as np
        import provinstr

        @provinstr.track_transformation(outputs=["scaled"])
        def scale(data, factor=2):
            return data * factor

        print(scale(np.arange(6).reshape(2, 3)).sum())
        """,
        "--epochs", "3",
        name="prepare.py",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "30" and result.stderr == ""
    store = open_store(tmp_path / ".provinstr")
    [info] = store.runs()
    assert info.name == "prepare.py" and info.status == "completed"
    facts = store.query("SELECT ?argv ?sha WHERE { ?r pi:argv ?argv ; prov:used ?s . ?s pi:sha256 ?sha }").dicts()
    assert json.loads(facts[0]["argv"])[1:] == ["--epochs", "3"]
    assert facts[0]["sha"] == hashlib.sha256((tmp_path / "prepare.py").read_bytes()).hexdigest()
    assert ("scale", "input", "factor", 2) in attributes(tmp_path / ".provinstr")
