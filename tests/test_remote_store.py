"""A SPARQL server as the store: runs are written through the local spool to a real Oxigraph server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import provinstr
from conftest_remote import (  # noqa: F401  (fixtures)
    OxigraphServer,
    auth_proxy,
    expected_quads,
    failing_server,
    free_port,
    plain_web_server,
    sparql_server,
)
from provinstr.capture.safety import ProvinstrWarning
from provinstr.store import StoreError
from logfiles import log_bytes, run_logs
from provinstr.store.logs import read_log, run_id_of
from provinstr.store.sync import pushed_path

SEED_QUERY = """SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
  pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch"""


@pytest.fixture
def spool(tmp_path, monkeypatch) -> Path:
    """Where runs recorded to a server keep their local logs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROVINSTR_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("PROVINSTR_PUSH_EXIT_WAIT", "5")
    return tmp_path / "spool"


def record(store: str, name: str = "train.py", epochs: int = 3, **options) -> provinstr.Run:
    with provinstr.run(name=name, store=store, **options) as run:
        provinstr.log_hyperparameter(learning_rate=0.05, batch_size=8)
        for epoch in range(epochs):
            provinstr.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
    return run


def only_log(spool: Path) -> Path:
    (log,) = run_logs(spool)
    return log


def test_a_run_recorded_to_a_server_is_queried_exactly_like_a_local_one(sparql_server, spool):
    run = record(sparql_server.url)

    remote, local = provinstr.open_store(sparql_server.url), provinstr.open_store(spool)
    (info,) = remote.runs()
    assert (info.id, info.name, info.status, info.unsent) == (run.id, "train.py", "completed", 0)
    assert info.host and info.pid
    assert remote.query(SEED_QUERY).rows == local.query(SEED_QUERY).rows == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert remote.run(run.id[:6]).query("ASK { ?r pi:status 'completed' }")
    assert sparql_server.quads() == expected_quads(only_log(spool))


@pytest.mark.slow
def test_four_processes_training_at_once_write_exact_counts_into_one_server(sparql_server, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import os, sys\n"
        "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "import numpy as np, keras, provinstr\n"
        "x = np.random.default_rng(int(sys.argv[1])).random((32, 4)).astype('float32')\n"
        "y = x.sum(axis=1, keepdims=True)\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
        "class Record(keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        provinstr.log_metric('loss', logs['loss'], epoch=epoch)\n"
        "with provinstr.run(name=f'worker-{sys.argv[1]}'):\n"
        "    provinstr.log_hyperparameter(epochs=2, batch_size=8)\n"
        "    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[Record()])\n"
    )
    env = {**os.environ, "PROVINSTR_STORE": sparql_server.url, "PROVINSTR_GROUP": "sweep-a",
           "PROVINSTR_SPOOL": str(tmp_path / "spool")}
    workers = [
        subprocess.Popen([sys.executable, str(script), str(i)], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err
        assert "provinstr:" not in err

    store = provinstr.open_store(sparql_server.url)
    runs = store.runs()
    assert sorted(r.name for r in runs) == [f"worker-{i}" for i in range(4)]
    assert {r.status for r in runs} == {"completed"} and {r.group for r in runs} == {"sweep-a"}
    assert len({r.pid for r in runs}) == 4
    per_run = store.query(
        "SELECT ?run (COUNT(?m) AS ?n) WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name 'loss' } } GROUP BY ?run"
    )
    assert sorted(n for _, n in per_run.rows) == [2, 2, 2, 2]
    sweep = store.query("SELECT DISTINCT ?run WHERE { ?s a pi:Sweep ; rdfs:label 'sweep-a' ; mls:hasPart ?run }")
    assert len(sweep.rows) == 4
    logs = run_logs(tmp_path / "spool")
    assert len(logs) == 4
    assert sparql_server.quads() == expected_quads(*logs)


@pytest.mark.slow
def test_a_server_killed_mid_training_loses_nothing_once_the_rest_is_pushed(tmp_path, spool, cli):
    server = OxigraphServer(tmp_path / "server-data").start()
    script = tmp_path / "train.py"
    script.write_text(
        "import os, sys, time\n"
        "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "import numpy as np, keras, provinstr\n"
        "x = np.random.default_rng(0).random((32, 4)).astype('float32'); y = x.sum(axis=1, keepdims=True)\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
        "class Pause(keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        provinstr.log_metric('loss', logs['loss'], epoch=epoch)\n"
        "        if epoch == 0:\n"
        "            provinstr.flush(); open('epoch0', 'w').close()\n"
        "            while not os.path.exists('resume'): time.sleep(0.05)\n"
        "with provinstr.run(name='long'):\n"
        "    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[Pause()])\n"
        "print('training finished')\n"
    )
    env = {**os.environ, "PROVINSTR_STORE": server.url, "PROVINSTR_PUSH_EXIT_WAIT": "3", "PROVINSTR_STRICT": "0"}
    try:
        worker = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (tmp_path / "epoch0").exists():
            assert worker.poll() is None and time.monotonic() < deadline, worker.stderr.read()
            time.sleep(0.05)
        server.kill()
        (tmp_path / "resume").touch()
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0 and "training finished" in out
        assert f"not on {server.url}" in err and "provinstr push" in err

        server.start()  # the same data folder: what was sent before the kill is still there
        log = only_log(spool)
        listed = provinstr.open_store(server.url)
        assert listed.runs()[0].unsent > 0
        pushed = cli("push", "--store", server.url, cwd=tmp_path, env=env)
        assert pushed.returncode == 0, pushed.stderr
        assert server.quads() == expected_quads(log)
        loss = listed.query("SELECT ?e WHERE { ?m pi:name 'loss' ; pi:epoch ?e } ORDER BY ?e")
        assert loss.rows == [(0,), (1,), (2,)]
        assert listed.runs()[0].status == "completed" and listed.runs()[0].unsent == 0
    finally:
        server.kill()


def test_an_unreachable_server_is_named_in_one_warning_and_nothing_is_lost(spool):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.warns(ProvinstrWarning, match=rf"cannot reach the SPARQL server {url}") as caught:
        started = time.monotonic()
        run = record(url, epochs=20)
        assert time.monotonic() - started < 5
    assert any(f"provinstr push --to {url}" in str(w.message) for w in caught)
    local = provinstr.open_store(spool)
    assert len(local.run(run.id).query("SELECT ?m WHERE { ?m a pi:Metric }")) == 20
    with pytest.raises(StoreError, match=rf"cannot reach the SPARQL server {url}/query .*is it running"):
        provinstr.open_store(url).runs()


def test_wrong_credentials_are_refused_clearly_and_never_written_anywhere(auth_proxy, sparql_server, spool,
                                                                       monkeypatch):
    monkeypatch.setenv("PROVINSTR_USER", "alice")
    monkeypatch.setenv("PROVINSTR_PASSWORD", "wrong-pass")
    with pytest.warns(ProvinstrWarning, match="refused the credentials .*HTTP 401.*PROVINSTR_TOKEN"):
        run = record(auth_proxy.url)
    assert sparql_server.quads() == set()

    monkeypatch.setenv("PROVINSTR_PASSWORD", "s3cret-pass")
    store = provinstr.open_store(auth_proxy.url)
    assert [r.unsent for r in store.runs()] == [len(read_log(only_log(spool)).decode().splitlines())]
    from provinstr.store.remote import Endpoint
    from provinstr.store.push import push_store

    push_store(provinstr.open_store(spool).backend, Endpoint(auth_proxy.url))
    assert store.run(run.id).status == "completed"
    assert sparql_server.quads() == expected_quads(only_log(spool))
    for path in spool.rglob("*"):
        if path.is_file() and path.suffix in (".nq", ".gz", ".pushed", ".json"):
            data = log_bytes(spool, run_id_of(path)) if run_id_of(path) else path.read_bytes()
            assert b"s3cret" not in data and b"wrong-pass" not in data


def test_credentials_in_the_url_are_used_but_never_shown(auth_proxy, sparql_server, spool):
    secret_url = auth_proxy.url.replace("http://", "http://alice:s3cret-pass@")
    run = record(secret_url)
    store = provinstr.open_store(secret_url)
    assert store.run(run.id).status == "completed"
    assert "s3cret" not in store.location
    pushed = json.loads(pushed_path(only_log(spool)).read_text())
    assert list(pushed) == [f"{auth_proxy.url}/update"]


def test_a_server_answering_500_gets_a_clear_message_and_training_goes_on(failing_server, spool):
    with pytest.warns(ProvinstrWarning, match=r"failed \(HTTP 500 .*the disk is on fire") as caught:
        run = record(failing_server.url, epochs=5)
    assert run.status == "completed"
    assert any("kept in" in str(w.message) for w in caught)
    assert "loss" in read_log(only_log(spool)).decode()
    with pytest.raises(StoreError, match="HTTP 500"):
        provinstr.open_store(failing_server.url).runs()


def test_a_web_server_that_is_not_sparql_is_named_as_such(plain_web_server, spool):
    with pytest.warns(ProvinstrWarning, match=rf"{plain_web_server}/update is not a SPARQL endpoint"):
        run = record(plain_web_server)
    assert run.status == "completed"
    assert read_log(only_log(spool)).decode().count("\n") > 20
    with pytest.raises(StoreError, match="is not a SPARQL endpoint .*Fuseki"):
        provinstr.open_store(plain_web_server).runs()


def test_a_malformed_query_to_a_server_says_what_the_server_found(sparql_server, spool):
    from provinstr.store import QuerySyntaxError

    record(sparql_server.url, epochs=1)
    with pytest.raises(QuerySyntaxError, match="malformed SPARQL"):
        provinstr.open_store(sparql_server.url).query("SELEC ?x WHERE { ?x ?y }")


def test_separate_query_and_update_urls_are_taken_from_the_environment(sparql_server, spool, monkeypatch):
    monkeypatch.setenv("PROVINSTR_QUERY_URL", f"{sparql_server.url}/query")
    monkeypatch.setenv("PROVINSTR_UPDATE_URL", f"{sparql_server.url}/update")
    run = record(f"{sparql_server.url}/some/dataset")
    assert provinstr.open_store(f"{sparql_server.url}/some/dataset").run(run.id).status == "completed"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert provinstr.open_store(sparql_server.url).runs()[0].id == run.id


@pytest.mark.slow
def test_a_keras_training_to_a_server_saves_its_model_in_the_spool_and_the_server_says_where(sparql_server, spool,
                                                                                           tmp_path):
    """Issue 14: the trained model went into a folder named `http:` in the working directory."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import hashlib

    import keras
    import numpy as np

    from conftest import REPO
    from provinstr.capture import calls
    from provinstr.rules import load_rule_file

    calls.activate(load_rule_file(REPO / "rules" / "keras.toml"))
    rng = np.random.default_rng(0)
    x = rng.random((32, 4), dtype=np.float32)
    y = (x.sum(axis=1) > 2).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert Path.cwd() == tmp_path
    with provinstr.run(name="keras.py", store=sparql_server.url) as run:
        calls.wrap(model.fit, ("keras.fit",), 1, None)(x, y, epochs=2, batch_size=16, verbose=0)

    assert not (tmp_path / "http:").exists() and not list(tmp_path.glob("http*"))
    store = provinstr.open_store(sparql_server.url)  # what the server answers, once the run's records are pushed
    assert store.run(run.id).unsent == 0
    ((where, sha),) = store.query("""SELECT ?where ?sha WHERE { ?m a pi:Model ; prov:atLocation ?where ;
        pi:sha256 ?sha ; prov:wasGeneratedBy ?t . ?t a pi:Training }""", run=run.id).rows
    saved = Path(where)
    assert saved.is_file() and saved.parent == (spool / "models" / run.id).resolve()
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha
    assert np.allclose(keras.saving.load_model(saved).predict(x, verbose=0), model.predict(x, verbose=0))
    assert sparql_server.quads() == expected_quads(only_log(spool))


def _train(store: str, name: str, epochs: int) -> provinstr.Run:
    from provinstr.capture.activity import Activity

    with provinstr.run(name=name, store=store) as run:
        provinstr.log_hyperparameter(learning_rate=0.05, batch_size=8)
        training = Activity(run, "Training", label="fit").start()
        for epoch in range(epochs):
            training.metric("loss", 1.0 / (epoch + 1), epoch=epoch)
        training.end()
    return run


def _count_listing_queries(monkeypatch) -> list[str]:
    from provinstr.analysis import listing

    asked: list[str] = []
    for name in ("listing_hyperparameters", "listing_metrics"):
        real = getattr(listing, name)
        monkeypatch.setattr(listing, name, lambda store, infos, real=real, name=name: (asked.append(name),
                                                                                      real(store, infos))[1])
    return asked


def test_a_server_listing_reads_the_summaries_push_keeps_for_ended_runs(sparql_server, spool, monkeypatch):
    runs = [_train(sparql_server.url, f"r{index}", index + 2) for index in range(2)]
    assert set(sparql_server.summaries()) == {run.iri for run in runs}  # one per ended run, beside the run graphs
    asked = _count_listing_queries(monkeypatch)
    listed = provinstr.open_store(sparql_server.url).runs()
    assert [(info.id, info.name, info.status) for info in listed] == [(r.id, f"r{i}", "completed")
                                                                         for i, r in enumerate(runs)]
    assert listed[1].params == {"learning_rate": 0.05, "batch_size": 8} and listed[0].params == listed[1].params
    assert listed[1].final == {"loss": 1.0 / 3} and listed[0].best == {"loss": 0.5}
    assert asked == []  # no query over the runs' metrics: one value per run
    local = {info.id: (info.params, info.final, info.best) for info in provinstr.open_store(spool).runs()}
    assert {info.id: (info.params, info.final, info.best) for info in listed} == local


def test_runs_without_a_summary_are_listed_from_their_records_asked_only_when_wanted(sparql_server, spool,
                                                                                     monkeypatch):
    from provinstr.store.remote import Endpoint
    from provinstr.vocab import CATALOG_GRAPH

    runs = [_train(sparql_server.url, f"r{index}", index + 2) for index in range(2)]
    # as a store pushed by a provinstr before summaries, or a summary of another catalog version
    Endpoint(sparql_server.url).update(f"DELETE WHERE {{ GRAPH <{CATALOG_GRAPH}> {{ <{runs[0].iri}> ?p ?o }} }} ;"
                                       f"DELETE WHERE {{ GRAPH <{CATALOG_GRAPH}> {{ <{runs[1].iri}> ?p ?o }} }} ;"
                                       f"INSERT DATA {{ GRAPH <{CATALOG_GRAPH}> {{ <{runs[1].iri}> "
                                       f"<https://w3id.org/provinstr#listingSummary> '{{\"version\": 0}}' }} }}")
    asked = _count_listing_queries(monkeypatch)
    listed = provinstr.open_store(sparql_server.url).runs()
    assert asked == []  # a plain listing: one query for the runs, none for their values
    assert listed[1].params == {"learning_rate": 0.05, "batch_size": 8} and asked == ["listing_hyperparameters"]
    assert listed[0].params == listed[1].params and asked == ["listing_hyperparameters"]  # asked once for all
    assert listed[1].final == {"loss": 1.0 / 3} and listed[0].best == {"loss": 0.5}
    assert asked == ["listing_hyperparameters", "listing_metrics"]
