"""Runs from many machines: push local runs to a server, merge stores, group runs into a sweep."""

from __future__ import annotations

import pytest

import provinstr
from conftest_remote import expected_quads, free_port, sparql_server  # noqa: F401  (fixture)
from logfiles import log_bytes, reopen_log, run_logs


@pytest.fixture(autouse=True)
def spool(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROVINSTR_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("PROVINSTR_PUSH_EXIT_WAIT", "2")
    return tmp_path / "spool"


def record(store, name="train.py", epochs=2, **options) -> provinstr.Run:
    with provinstr.run(name=name, store=str(store), **options) as run:
        provinstr.log_hyperparameter(learning_rate=0.01)
        for epoch in range(epochs):
            provinstr.log_metric("loss", 2.0 - epoch, epoch=epoch)
    return run


def test_push_sends_local_runs_and_pushing_twice_adds_nothing(sparql_server, tmp_path, cli):
    local = tmp_path / "machine-a"
    first, second = record(local, "a.py"), record(local, "b.py")

    pushed = cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    assert "pushed 2 of 2 runs" in pushed.stdout
    assert sparql_server.quads() == expected_quads(*run_logs(local))

    again = cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path)
    assert "pushed 0 of 2 runs (0 records)" in again.stdout and "already on the server" in again.stdout
    for sidecar in (local / "runs").glob("*.pushed"):
        sidecar.unlink()  # forget what was sent: sending it all again still adds nothing
    cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path)
    assert sparql_server.quads() == expected_quads(*run_logs(local))
    names = sorted(r.name for r in provinstr.open_store(sparql_server.url).runs())
    assert names == ["a.py", "b.py"] and {first.id, second.id} == {r.id for r in provinstr.open_store(local).runs()}
    summaries = sparql_server.summaries()  # one listing summary per run, sent again with it, never doubled
    assert sorted(summaries) == sorted([first.iri, second.iri])
    assert summaries[first.iri]["hyperparameters"] == {"learning_rate": 0.01}


def test_queries_through_the_server_answer_as_the_local_store_with_other_data_beside_the_runs(
        sparql_server, tmp_path, cli):
    local = tmp_path / "machine-a"
    runs = [record(local, f"{name}.py", epochs=3) for name in "abc"]
    assert cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path).returncode == 0
    # another project's data on the same server, in a named graph and in the default graph
    other = "<http://example.org/m> a pi:Metric ; pi:name 'loss' ; pi:epoch 1 ; prov:value 9.0 ."
    provinstr.open_store(sparql_server.url).backend.endpoint.update(
        "PREFIX pi: <https://w3id.org/provinstr#> PREFIX prov: <http://www.w3.org/ns/prov#> "
        f"INSERT DATA {{ GRAPH <http://example.org/theirs> {{ {other} }} {other} }}")
    server, here = provinstr.open_store(sparql_server.url), provinstr.open_store(local)
    for sparql in (
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",  # only GRAPH patterns: no graph list sent
        "SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name 'loss' ; pi:epoch ?epoch ; "
        "prov:value ?loss } } ORDER BY ?epoch ?loss",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",  # the default graph: the union of the runs, as locally
    ):
        assert sorted(server.query(sparql).rows) == sorted(here.query(sparql).rows), sparql
    graphs = {row[0] for row in server.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows}
    assert graphs == {run.iri for run in runs}  # neither the catalog graph nor theirs


def test_push_of_named_runs_sends_only_those_and_later_only_the_rest(sparql_server, tmp_path, cli):
    local = tmp_path / "store"
    first, second = record(local, "a.py"), record(local, "b.py")
    one = cli("push", first.id[:8], "--to", sparql_server.url, "--store", str(local), cwd=tmp_path)
    assert "pushed 1 of 1 runs" in one.stdout
    assert [r.id for r in provinstr.open_store(sparql_server.url).runs()] == [first.id]
    rest = cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path)
    assert "pushed 1 of 2 runs" in rest.stdout
    assert {r.id for r in provinstr.open_store(sparql_server.url).runs()} == {first.id, second.id}


def _status_values(server, run_iri: str) -> list[str]:
    return [o for s, p, o, g in server.quads() if g == f"<{run_iri}>" and p.endswith("#status>")]


def test_many_runs_go_in_bulk_batches_each_line_once_and_a_half_written_run_ends_completed(
        sparql_server, tmp_path, cli):
    local = tmp_path / "sweep"
    runs = [record(local, f"r{number:02}.py") for number in range(24)]
    log = reopen_log(local, runs[0].id)
    full = log.read_bytes()
    torn = full.rindex(b"\n", 0, full.rindex(b'"completed"')) + 1  # the line of the final status
    log.write_bytes(full[:torn] + full[torn:torn + 30])  # still being written: a torn last line
    small = {"PROVINSTR_PUSH_BULK_BYTES": "4096"}  # a POST every few runs, a run split over two of them

    first = cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path, env=small)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1].startswith("pushed 24 of 24 runs (")  # 24 runs: no line for each
    assert len(first.stdout.splitlines()) == 1
    assert _status_values(sparql_server, runs[0].iri) == ['"running"']
    assert runs[0].id not in sparql_server.summaries()

    log.write_bytes(full)  # the run ends
    again = cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path, env=small)
    rest = full[torn:].count(b"\n")
    assert f"pushed 1 of 24 runs ({rest} records)" in again.stdout
    assert sparql_server.quads() == expected_quads(*run_logs(local))
    assert _status_values(sparql_server, runs[0].iri) == ['"completed"']
    assert sorted(sparql_server.summaries()) == sorted(run.iri for run in runs)
    listed = provinstr.open_store(sparql_server.url).runs()
    assert sorted((r.name, r.status) for r in listed) == [(f"r{n:02}.py", "completed") for n in range(24)]


def test_a_server_without_a_bulk_endpoint_gets_the_runs_by_sparql_update(sparql_server, tmp_path, cli):
    local = tmp_path / "store"
    record(local, "a.py"), record(local, "b.py")
    nowhere = {"PROVINSTR_DATA_URL": f"{sparql_server.url}/no-such-endpoint"}  # Oxigraph answers 404
    pushed = cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path, env=nowhere)
    assert pushed.returncode == 0, pushed.stderr
    assert "pushed 2 of 2 runs" in pushed.stdout
    assert sparql_server.quads() == expected_quads(*run_logs(local))
    assert len(sparql_server.summaries()) == 2
    off = cli("push", "--to", sparql_server.url, "--store", str(local), cwd=tmp_path,
              env={"PROVINSTR_DATA_URL": "none"})
    assert "pushed 0 of 2 runs (0 records)" in off.stdout


def test_push_without_a_server_or_to_a_dead_one_says_what_to_do(tmp_path, cli):
    record(tmp_path / "store")
    no_target = cli("push", "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert no_target.returncode == 2 and "push needs a server: provinstr push --to" in no_target.stderr
    url = f"http://127.0.0.1:{free_port()}"
    dead = cli("push", "--to", url, "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert dead.returncode == 2 and "Traceback" not in dead.stderr
    assert f"cannot reach the SPARQL server {url}/store" in dead.stderr  # the endpoint push POSTs its quads to
    missing = cli("push", "--to", url, "--store", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "no provinstr store at" in missing.stderr


def test_runs_recorded_while_the_server_was_down_are_listed_as_unsent_until_pushed(tmp_path, spool, cli):
    from conftest_remote import OxigraphServer

    server = OxigraphServer(tmp_path / "data")
    with pytest.warns(Warning, match="cannot reach the SPARQL server"):
        run = record(server.url)
    server.start()
    try:
        store = provinstr.open_store(server.url)
        (info,) = store.runs()
        assert (info.id, info.status) == (run.id, "completed")
        assert info.unsent == log_bytes(spool, run.id).count(b"\n")
        listed = cli("runs", "--store", server.url, cwd=tmp_path)
        assert f"run {run.id[:8]}: {info.unsent} records not yet on {server.url}" in listed.stdout
        assert "provinstr push" in listed.stdout
        pushed = cli("push", "--store", server.url, cwd=tmp_path)
        assert pushed.returncode == 0, pushed.stderr
        assert [r.unsent for r in store.runs()] == [0]
        assert server.quads() == expected_quads(*run_logs(spool))
    finally:
        server.kill()


def test_merge_combines_the_stores_of_several_machines_into_one(tmp_path, cli):
    a, b, into = tmp_path / "host-a", tmp_path / "host-b", tmp_path / "all"
    runs = [record(a, "a1.py"), record(a, "a2.py"), record(b, "b1.py")]

    merged = cli("merge", str(a), str(b), "--into", str(into), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "3 runs added or extended" in merged.stdout
    store = provinstr.open_store(into)
    assert {r.id for r in store.runs()} == {r.id for r in runs}
    assert len(store.query("SELECT ?m WHERE { ?m a pi:Metric ; pi:name 'loss' }")) == 6

    again = cli("merge", str(a), str(b), "--into", str(into), cwd=tmp_path)
    assert "0 runs added or extended, 3 already there" in again.stdout
    assert len(store.query("SELECT ?m WHERE { ?m a pi:Metric ; pi:name 'loss' }")) == 6


def test_merge_adds_what_a_run_wrote_after_the_last_merge(tmp_path, cli):
    a, into = tmp_path / "host-a", tmp_path / "all"
    run = record(a, "a.py")
    log = reopen_log(a, run.id)
    full = log.read_bytes()
    cut = full.index(b"\n", len(full) // 2) + 1
    log.write_bytes(full[:cut])  # the first merge sees the run half-written
    cli("merge", str(a), "--into", str(into), cwd=tmp_path)
    log.write_bytes(full)
    later = cli("merge", str(a), "--into", str(into), cwd=tmp_path)
    assert "extended" in later.stdout
    (info,) = provinstr.open_store(into).runs()
    assert info.status == "completed"
    assert log_bytes(into, run.id) == full


def test_merge_into_a_server_pushes_every_store(sparql_server, tmp_path, cli):
    a, b = tmp_path / "host-a", tmp_path / "host-b"
    record(a, "a.py"), record(b, "b.py")
    merged = cli("merge", str(a), str(b), "--into", sparql_server.url, cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert sorted(r.name for r in provinstr.open_store(sparql_server.url).runs()) == ["a.py", "b.py"]
    assert sparql_server.quads() == expected_quads(*run_logs(a), *run_logs(b))


def test_merge_of_a_folder_that_is_no_store_names_it(tmp_path, cli):
    (tmp_path / "empty").mkdir()
    result = cli("merge", str(tmp_path / "empty"), "--into", str(tmp_path / "all"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{tmp_path / 'empty'} is not a provinstr store" in result.stderr


def test_runs_of_a_sweep_from_the_environment_share_one_sweep_node(tmp_path, monkeypatch):
    store = tmp_path / "store"
    monkeypatch.setenv("PROVINSTR_GROUP", "lr sweep")
    first, second = record(store, "lr-0.1.py"), record(store, "lr-0.01.py")
    monkeypatch.delenv("PROVINSTR_GROUP")
    record(store, "other.py")
    opened = provinstr.open_store(store)
    assert sorted((r.name, r.group) for r in opened.runs()) == [
        ("lr-0.01.py", "lr sweep"), ("lr-0.1.py", "lr sweep"), ("other.py", None)]
    parts = opened.query("SELECT DISTINCT ?sweep ?run WHERE { ?sweep a pi:Sweep ; rdfs:label 'lr sweep' ; "
                         "mls:hasPart ?run }")
    assert {run for _, run in parts.rows} == {first.iri, second.iri}
    assert len({sweep for sweep, _ in parts.rows}) == 1


def test_runs_group_lists_only_the_runs_of_that_sweep(tmp_path, cli):
    store = tmp_path / "store"
    record(store, "in-sweep.py", group="sweep-7"), record(store, "alone.py")
    listed = cli("runs", "--group", "sweep-7", "--store", str(store), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "in-sweep.py" in listed.stdout and "alone.py" not in listed.stdout
