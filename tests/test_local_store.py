"""The local store: versioned folder, logs as the truth, an index that catches up, rebuilds and skips torn lines."""

from __future__ import annotations

import json
import shutil

import pytest

import provinstr
from provinstr.analysis.catalog import open_store
from provinstr.config import store_location
from provinstr.store import LocalStore, QuerySyntaxError, StoreError, StoreFormatError
from provinstr.store.local import FORMAT_VERSION
from logfiles import reopen_log

COUNT_METRICS = "SELECT (COUNT(?m) AS ?n) WHERE { ?m a pi:Metric }"
LOSSES = "SELECT ?epoch ?loss WHERE { ?m a pi:Metric ; pi:name 'loss' ; pi:epoch ?epoch ; prov:value ?loss } ORDER BY ?epoch"


def record(store_dir, epochs=3, name="train"):
    """A finished run with `epochs` loss metrics; returns its id."""
    with provinstr.run(name=name, store=store_dir) as run:
        for epoch in range(epochs):
            provinstr.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
    return run.id


def count(store):
    return store.query(COUNT_METRICS).rows[0][0]


def test_a_new_store_carries_its_format_version(store_dir):
    record(store_dir, epochs=1)
    marker = json.loads((store_dir / "store.json").read_text())
    assert marker["format"] == FORMAT_VERSION and marker["tool"] == "provinstr"


def test_a_store_of_a_future_format_is_refused_with_a_clear_message(store_dir):
    record(store_dir, epochs=1)
    (store_dir / "store.json").write_text(json.dumps({"format": 99, "tool": "provinstr"}))
    with pytest.raises(StoreFormatError) as refused:
        open_store(store_dir)
    message = str(refused.value)
    assert "format 99" in message and str(store_dir) in message and "pip install -U provinstr" in message


def test_opening_a_missing_store_says_how_to_make_one(tmp_path):
    with pytest.raises(StoreError, match="no provinstr store at .*record a run first"):
        open_store(tmp_path / "nowhere")


def test_with_the_folder_unchanged_only_growing_logs_are_looked_at_and_a_new_log_is_found(store_dir, monkeypatch):
    import os
    import time

    from provinstr.store import logs

    finished = [record(store_dir, epochs=2, name=f"done{i}") for i in range(3)]
    growing = reopen_log(store_dir, record(store_dir, epochs=2, name="growing"))  # a plain log, appended to
    settle = lambda: os.utime(store_dir / "runs", ns=(time.time_ns() - 10**10,) * 2)  # changed 10 s ago
    settle()
    store = open_store(store_dir)
    assert count(store) == 8  # a whole scan: the folder's key and the growing log are remembered
    extra = (f"<https://w3id.org/provinstr/run/x/late/metric/loss> "
             f"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/provinstr#Metric> "
             f"<https://w3id.org/provinstr/run/{finished[0]}> .\n")
    with open(growing, "a") as handle:
        handle.write(extra)

    def no_whole_scan(runs_dir):
        raise AssertionError("the logs folder was listed although its names had not changed")

    with monkeypatch.context() as patch:
        patch.setattr(logs, "log_stats", no_whole_scan)
        assert count(store) == 9
    record(store_dir, epochs=1, name="new")  # a new log changes the folder
    settle()
    assert count(store) == 10


def test_a_torn_last_line_waits_for_its_end(store_dir):
    run_id = record(store_dir, epochs=2)
    store = open_store(store_dir)
    assert count(store) == 2
    log = reopen_log(store_dir, run_id)
    extra_metric = (
        f"<https://w3id.org/provinstr/run/{run_id}/late/metric/loss> "
        f"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/provinstr#Metric> "
        f"<https://w3id.org/provinstr/run/{run_id}> .\n"
    )
    with open(log, "a") as handle:
        handle.write(extra_metric[:40])  # a writer is half-way through a line
    assert count(store) == 2
    with open(log, "a") as handle:
        handle.write(extra_metric[40:])
    assert count(store) == 3


def test_a_torn_line_in_the_middle_is_skipped_and_the_rest_still_counts(store_dir):
    run_id = record(store_dir, epochs=1)
    log = reopen_log(store_dir, run_id)
    good = log.read_text()
    # What a write cut short by a full disk leaves: half a line, ended by the next successful write.
    torn = good.splitlines(keepends=True)[-1][:30] + "\n"
    with open(log, "a") as handle:
        handle.write(torn)
        handle.write(good.replace("/epoch/0/", "/epoch/9/").replace('"0"^^', '"9"^^'))
    store = open_store(store_dir)
    assert [epoch for epoch, _ in store.query(LOSSES)] == [0, 9]


def test_reindex_rebuilds_the_same_answers_and_the_last_status_wins(store_dir):
    record(store_dir, epochs=4, name="first")
    record(store_dir, epochs=2, name="second")
    store = open_store(store_dir)
    before = sorted(store.query(LOSSES).rows)
    statuses = store.query("SELECT ?run ?status WHERE { GRAPH ?run { ?run pi:status ?status } }").rows
    assert len(statuses) == 2 and {s for _, s in statuses} == {"completed"}
    assert LocalStore(store_dir).reindex() > 0
    assert sorted(store.query(LOSSES).rows) == before
    assert sorted(store.query("SELECT ?run ?status WHERE { GRAPH ?run { ?run pi:status ?status } }").rows) == sorted(
        statuses
    )
    assert [(r.name, r.status) for r in store.runs()] == [("first", "completed"), ("second", "completed")]


def test_a_later_status_read_in_a_later_query_replaces_the_earlier_one(store_dir):
    store_dir.mkdir()
    run = provinstr.run(name="live", store=store_dir).start()
    try:
        run.flush()
        store = open_store(store_dir)
        assert [r.status for r in store.runs()] == ["running"]
    finally:
        run.end()
    assert [r.status for r in store.runs()] == ["completed"]
    assert len(store.query("SELECT ?s WHERE { ?run pi:status ?s }").rows) == 1


def test_a_value_mentioning_the_status_property_does_not_change_the_status(store_dir):
    with provinstr.run(name="tricky", store=store_dir):
        provinstr.log_hyperparameter(note="<https://w3id.org/provinstr#status> done")
    assert [r.status for r in open_store(store_dir).runs()] == ["completed"]


def test_a_deleted_index_is_rebuilt_by_the_next_query(store_dir):
    record(store_dir, epochs=3)
    store = open_store(store_dir)
    assert count(store) == 3
    shutil.rmtree(store_dir / "index")
    assert count(store) == 3


def test_malformed_sparql_names_the_position_and_the_store_stays_usable(store_dir):
    record(store_dir, epochs=2)
    store = open_store(store_dir)
    with pytest.raises(QuerySyntaxError, match=r"malformed SPARQL: .*1:\d+"):
        store.query("SELEC ?x WHERE { ?x ?y ?z }")
    assert count(store) == 2  # the failed query let go of the index


def test_answers_become_a_dataframe(store_dir):
    record(store_dir, epochs=3)
    frame = open_store(store_dir).query(LOSSES).to_dataframe()
    assert list(frame.columns) == ["epoch", "loss"]
    assert frame["epoch"].tolist() == [0, 1, 2] and frame["loss"].iloc[1] == 0.5


def test_queries_can_be_limited_to_one_run(store_dir):
    record(store_dir, epochs=3, name="a")
    record(store_dir, epochs=2, name="b")
    store = open_store(store_dir)
    assert count(store) == 5
    second = store.run("last")
    assert second.name == "b" and second.query(COUNT_METRICS).rows[0][0] == 2


def test_store_location_precedence_is_explicit_then_environment_then_pyproject_then_default(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    monkeypatch.chdir(project / "src")
    assert store_location() == ".provinstr"
    (project / "pyproject.toml").write_text('[tool.provinstr]\nstore = "prov-data"\n')
    assert store_location() == str(project / "prov-data")
    monkeypatch.setenv("PROVINSTR_STORE", str(tmp_path / "from-env"))
    assert store_location() == str(tmp_path / "from-env")
    assert store_location(tmp_path / "explicit") == str(tmp_path / "explicit")


def test_a_run_without_a_store_argument_writes_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROVINSTR_STORE", str(tmp_path / "elsewhere"))
    with provinstr.run(name="env"):
        provinstr.log_metric("loss", 0.1, epoch=0)
    assert not (tmp_path / ".provinstr").exists()
    assert [r.name for r in open_store(tmp_path / "elsewhere").runs()] == ["env"]


def test_a_query_can_read_only_its_first_rows_and_say_there_are_more(store_dir):
    record(store_dir, epochs=5)
    store = open_store(store_dir)
    whole = store.query(LOSSES)
    first = store.query(LOSSES, most=2)
    assert first.rows == whole.rows[:2] and first.more and not whole.more
    exact = store.query(LOSSES, most=len(whole.rows))
    assert exact.rows == whole.rows and not exact.more


def test_a_run_copied_from_its_log_holds_what_the_index_holds_for_it(store_dir):
    from provinstr.analysis.snapshot import snapshot

    run_id = record(store_dir, epochs=2)
    log = reopen_log(store_dir, run_id)
    good = log.read_text()
    with open(log, "a") as handle:  # a torn line, a later epoch, and half a line still being written
        handle.write(good.splitlines(keepends=True)[-1][:30] + "\n")
        handle.write(good.replace("/epoch/0/", "/epoch/9/").replace('"0"^^', '"9"^^'))
        handle.write(good[:50])
    store = open_store(store_dir)
    (info,) = store.runs()
    copy = snapshot(store, [info])
    indexed = sorted(map(str, store.backend.run_quads(info.iri)))
    assert sorted(map(str, copy.backend.run_quads(info.iri))) == indexed
    assert [epoch for epoch, _ in copy.query(LOSSES)] == [0, 1, 9]
    assert copy.query("SELECT ?s WHERE { ?run pi:status ?s }").rows == [("completed",)]
