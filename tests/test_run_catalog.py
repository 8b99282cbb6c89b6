"""The run catalog and `provinstr runs` filtering: the runs a sweep user expects, kept current from the logs.

Stores of many small runs written with the real recorder: completed, failed, still running and
interrupted runs, two sweeps, hyperparameters compared as numbers and as text, ties, missing keys;
the catalog deleted, truncated or from an older version gives the same listing; a growing run is
refreshed. Speed is measured by bench/, not asserted here.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from analysis_runs import curve, start_running_run, write_run

import provinstr
from provinstr.analysis.listing import listing_facts
from provinstr.analysis.selection import WhereError
from provinstr.analysis.store import RunInfo
from provinstr.capture.activity import Activity
from provinstr.capture.run import GROUP_ENV
from provinstr.store.catalog import CATALOG_FILE

# (group, K, learning_rate, optimizer, scale): scale sets the curve, so equal scales tie on every metric.
SWEEP = [
    ("sweep-a", 12, 0.001, "adam", 1.0),
    ("sweep-a", 24, 0.001, "sgd", 0.8),
    ("sweep-a", 12, 0.01, "adam", 1.2),
    ("sweep-a", 24, 0.005, "rmsprop", 0.8),  # ties run 1 on val_loss
    ("sweep-b", 24, 0.1, "sgd", 0.9),
    ("sweep-b", 12, 0.05, "adam", 1.1),
    ("sweep-b", None, 0.002, "adagrad", 0.7),  # no K at all
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """{'store': path, 'ids': [...SWEEP order], 'failed', 'interrupted', 'running': the open Run}."""
    store = tmp_path_factory.mktemp("catalog") / ".provinstr"
    ids = []
    for group, K, rate, optimizer, scale in SWEEP:
        hyper = {"learning_rate": rate, "optimizer": optimizer, **({"K": K} if K is not None else {})}
        os.environ[GROUP_ENV] = group  # the sweep, as `provinstr run --group` passes it on
        try:
            ids.append(write_run(store, epochs=5, hyper=hyper, scale=scale, test=False, model=False))
        finally:
            del os.environ[GROUP_ENV]
    with pytest.raises(ValueError):
        with provinstr.run(name="broken", store=str(store)) as run:
            failed = run.id
            raise ValueError("bad shape")
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, provinstr
        run = provinstr.run(name="killed", store={str(store)!r}).__enter__()
        provinstr.log_metric("loss", 0.5, epoch=0)
        provinstr.flush()
        print(run.id)
        os._exit(9)
    """)], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    running = start_running_run(store, name="live.py", epochs=2)
    yield {"store": store, "ids": ids, "failed": failed, "interrupted": killed.stdout.strip(), "running": running}
    running.end()


def ids_of(infos) -> list[str]:
    return [info.id for info in infos]


def test_every_run_is_listed_oldest_first_with_its_status(sweep):
    infos = provinstr.open_store(sweep["store"]).runs()
    status = {info.id: info.status for info in infos}
    assert [status[i] for i in sweep["ids"]] == ["completed"] * len(SWEEP)
    assert status[sweep["failed"]] == "failed"
    assert status[sweep["interrupted"]] == "interrupted"
    assert status[sweep["running"].id] == "running"
    assert [i.started for i in infos] == sorted(i.started for i in infos)
    assert next(i for i in infos if i.id == sweep["failed"]).error == "bad shape"


def test_the_catalog_holds_what_show_reads_from_the_index(sweep):
    store = provinstr.open_store(sweep["store"])
    for info in store.runs():
        if info.id not in sweep["ids"]:
            continue
        assert info.params == info.hyperparameters()  # the SPARQL answer
        last = info.metrics().iloc[-1]
        assert info.final == {name: last[name] for name in last.index}
        assert info.best["val_loss"] == min(info.metrics()["val_loss"])
        assert info.best["accuracy"] == max(info.metrics()["accuracy"])


def test_a_server_store_lists_the_same_facts_through_sparql(sweep):
    store = provinstr.open_store(sweep["store"])
    catalogued = store.runs()
    queried = [RunInfo(id=i.id, iri=i.iri, name=i.name, started=i.started, ended=i.ended, status=i.status)
               for i in catalogued]
    listing_facts(store, queried)  # what a SPARQL server store does (no local catalog)
    for mine, theirs in zip(catalogued, queried):
        assert (theirs.params, theirs.final, theirs.best) == (mine.params, mine.final, mine.best)


def test_where_compares_numbers_as_numbers(sweep):
    store, ids = provinstr.open_store(sweep["store"]), sweep["ids"]
    assert ids_of(store.runs(where="learning_rate < 0.01 and K = 24")) == [ids[1], ids[3]]
    live = sweep["running"].id  # learning_rate 0.1, optimizer sgd, no K
    assert ids_of(store.runs(where="learning_rate >= 0.01")) == [ids[2], ids[4], ids[5], live]
    assert ids_of(store.runs(where="K = 24.0 and learning_rate <= 0.005")) == [ids[1], ids[3]]
    assert ids_of(store.runs(where="K > 12 or learning_rate = 2e-3")) == [ids[1], ids[3], ids[4], ids[6]]


def test_where_compares_strings_as_strings_quoted_either_way(sweep):
    store, ids = provinstr.open_store(sweep["store"]), sweep["ids"]
    assert ids_of(store.runs(where="optimizer = 'sgd'")) == [ids[1], ids[4], sweep["running"].id]
    assert ids_of(store.runs(where='optimizer = "sgd" and K = 24')) == [ids[1], ids[4]]
    assert ids_of(store.runs(where="optimizer < 'adb'")) == [ids[0], ids[2], ids[5], ids[6]]  # adam, adagrad
    assert ids_of(store.runs(where="optimizer = 'SGD'")) == []  # text is compared exactly
    assert ids_of(store.runs(where="name = 'broken'")) == [sweep["failed"]]


def test_where_on_final_metrics_with_parentheses(sweep):
    store, ids = provinstr.open_store(sweep["store"]), sweep["ids"]
    threshold = curve(4, 0.9)["val_loss"]  # run 4's final val_loss
    chosen = store.runs(where=f"(val_loss <= {threshold} and K = 24) or optimizer = 'adagrad'")
    assert ids_of(chosen) == [ids[1], ids[3], ids[4], ids[6]]
    assert all(info.final["val_loss"] <= threshold for info in chosen)
    assert ids_of(store.runs(where=f"best.val_loss < {curve(4, 0.75)['val_loss']}")) == [ids[6]]


def test_a_run_lacking_a_key_matches_no_comparison_of_it(sweep):
    store, ids = provinstr.open_store(sweep["store"]), sweep["ids"]
    assert ids[6] not in ids_of(store.runs(where="K != 24"))
    assert ids_of(store.runs(where="K != 24")) == [ids[0], ids[2], ids[5]]
    assert ids_of(store.runs(where="not K = 24 and group = 'sweep-b'")) == [ids[5], ids[6]]


def test_group_status_and_limit(sweep):
    store, ids = provinstr.open_store(sweep["store"]), sweep["ids"]
    assert ids_of(store.runs(group="sweep-b")) == ids[4:7]
    assert ids_of(store.runs(status="failed")) == [sweep["failed"]]
    assert ids_of(store.runs(status="interrupted")) == [sweep["interrupted"]]
    assert ids_of(store.runs(status="running")) == [sweep["running"].id]
    assert ids_of(store.runs(group="sweep-a", limit=2)) == ids[:2]
    assert store.runs(group="sweep-a", limit=0) == []


def test_sort_ties_keep_the_oldest_first_and_runs_lacking_the_key_go_last(sweep):
    store, ids = provinstr.open_store(sweep["store"]), sweep["ids"]
    ascending = ids_of(store.runs(group="sweep-a", sort="val_loss"))
    assert ascending == [ids[1], ids[3], ids[0], ids[2]]  # 1 and 3 tie (scale 0.8): listing order
    descending = ids_of(store.runs(group="sweep-a", sort="-val_loss"))
    assert descending == [ids[2], ids[0], ids[1], ids[3]]  # a tie stays oldest first when descending too
    by_k = ids_of(store.runs(group="sweep-b", sort="-K"))
    assert by_k == [ids[4], ids[5], ids[6]]  # run 6 has no K: last
    assert ids_of(store.runs(sort="val_loss"))[-2:] == [sweep["failed"], sweep["interrupted"]]  # no val_loss
    assert ids_of(store.runs(where="K = 24", sort="optimizer,-learning_rate")) == [ids[3], ids[4], ids[1]]
    assert ids_of(store.runs(where="K = 24", sort="-val_loss", limit=1)) == [ids[4]]


def test_a_malformed_expression_names_the_position_and_what_to_write(sweep):
    store = provinstr.open_store(sweep["store"])
    for text, fragment in [("K < ", "at the end"), ("K 24", "position 3"), ("(K = 24", "missing ')'"),
                           ("K = 'x", "unclosed quote at position 5"), ("K = 24 learning_rate", "position 8"),
                           ("K ~ 2", "'~' at position 3"), ("24 = 24", "two values")]:
        with pytest.raises(WhereError) as caught:
            store.runs(where=text)
        assert fragment in str(caught.value) and "NAME OP VALUE" in str(caught.value), (text, caught.value)
    with pytest.raises(WhereError):
        store.runs(sort="-")


def _as_format_2(path, stale_ids=()) -> None:
    """Turn the catalog at `path` into one of catalog format 2 (one `details` column), with an empty entry per id."""
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE runs")
        db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, log TEXT, size INTEGER, mtime_ns INTEGER, offset INTEGER,"
                   " state TEXT, name TEXT, started TEXT, ended TEXT, status TEXT, host TEXT, pid INTEGER, grp TEXT,"
                   " error TEXT, details TEXT)")
        db.executemany("INSERT INTO runs (id, started, details) VALUES (?, '2020-01-01T00:00:00+00:00', '{}')",
                       [(run_id,) for run_id in stale_ids])
        db.execute("PRAGMA user_version = 2")


def test_a_deleted_truncated_or_older_catalog_is_rebuilt_with_the_same_listing(sweep, tmp_path):
    store_dir = tmp_path / ".provinstr"
    shutil.copytree(sweep["store"], store_dir, ignore=shutil.ignore_patterns("index*", CATALOG_FILE + "*"))
    store = provinstr.open_store(store_dir)

    def listing():
        return [(i.id, i.status, i.params, i.final, i.best) for i in store.runs(sort="-val_loss")]

    expected = listing()
    catalog = store_dir / CATALOG_FILE
    catalog.unlink()
    assert listing() == expected
    catalog.write_bytes(catalog.read_bytes()[:3000])  # truncated
    assert listing() == expected
    catalog.write_bytes(b"not a database at all" * 100)
    assert listing() == expected
    _as_format_2(catalog, [run_id for run_id, *_ in expected])  # an older catalog, stale entries
    assert listing() == expected
    with sqlite3.connect(catalog) as db:  # stale entries under a version number no catalog has: rebuilt
        db.execute("UPDATE runs SET metrics = '{}', status = NULL")
        db.execute("PRAGMA user_version = 0")
    assert listing() == expected


def test_a_finished_run_is_summarised_once_and_a_summary_not_matching_its_log_is_ignored(sweep, tmp_path):
    store_dir = tmp_path / ".provinstr"
    shutil.copytree(sweep["store"], store_dir, ignore=shutil.ignore_patterns("index*", CATALOG_FILE + "*"))
    finished = [run_id for run_id in sweep["ids"]]
    summaries = store_dir / "summaries"
    assert sorted(p.stem for p in summaries.iterdir()) == sorted(finished + [sweep["failed"]])

    def listing():
        (store_dir / CATALOG_FILE).unlink(missing_ok=True)  # a new catalog: it reads the summaries
        return [(i.id, i.status, i.params, i.final, i.best) for i in provinstr.open_store(store_dir).runs()]

    with_summaries = listing()
    parsed = tmp_path / "parsed"
    shutil.copytree(store_dir, parsed, ignore=shutil.ignore_patterns("summaries"))
    (parsed / CATALOG_FILE).unlink(missing_ok=True)
    assert [(i.id, i.status, i.params, i.final, i.best) for i in provinstr.open_store(parsed).runs()] == with_summaries

    # A summary that lies about its log's size (the log was continued), of an older version, or unreadable:
    # the log is parsed instead, with the same answer.
    first, second, third = (summaries / f"{run_id}.json" for run_id in finished[:3])
    record = json.loads(first.read_text())
    first.write_text(json.dumps({**record, "size": record["size"] + 1, "entry": {**record["entry"], "name": "lie"}}))
    record = json.loads(second.read_text())
    second.write_text(json.dumps({**record, "version": 0, "entry": {**record["entry"], "name": "old"}}))
    third.write_text("{ not json")
    assert listing() == with_summaries


def test_a_catalog_of_the_previous_format_is_rebuilt_from_the_summaries_not_the_finished_logs(
        sweep, tmp_path, monkeypatch):
    from provinstr.store import catalog

    store_dir = tmp_path / ".provinstr"
    shutil.copytree(sweep["store"], store_dir, ignore=shutil.ignore_patterns("index*", CATALOG_FILE + "*"))
    listing = lambda: [(i.id, i.status, i.params, i.final, i.best) for i in provinstr.open_store(store_dir).runs()]
    expected = listing()
    _as_format_2(store_dir / CATALOG_FILE)  # as provinstr's catalog format 2 left it
    parsed = []
    real_add = catalog.RunSummary.add
    monkeypatch.setattr(catalog.RunSummary, "add", lambda self, data: (parsed.append(self.run_iri), real_add(self, data)))
    assert listing() == expected
    sealed = {p.name.split(".")[0] for p in (store_dir / "runs").iterdir() if p.name.endswith(".gz")}
    assert sealed and not sealed & {iri.rsplit("/", 1)[-1] for iri in parsed}  # only the live runs' logs were read


def test_a_log_read_in_pieces_gives_the_same_entry_as_read_whole(store_dir, tmp_path):
    run_id = write_run(store_dir, epochs=4)
    whole = provinstr.open_store(store_dir).runs()[0]
    log = provinstr.open_store(store_dir).backend.log_path(run_id)
    log = gzip.decompress(log.read_bytes()) if log.name.endswith(".gz") else log.read_bytes()  # finished: compressed
    lines = log.splitlines(keepends=True)
    for cut in (len(lines) // 3, len(lines) // 2 + 1, len(lines) - 3):  # inside a record, mid-line too
        other = tmp_path / f"cut{cut}"
        (other / "runs").mkdir(parents=True)
        shutil.copy(store_dir / "store.json", other / "store.json")
        piece = other / "runs" / f"{run_id}.nq"
        head = b"".join(lines[:cut])
        piece.write_bytes(head + lines[cut][:10])
        early = provinstr.open_store(other).runs()
        piece.write_bytes(log)
        late = provinstr.open_store(other).runs()[0]
        assert len(early) == 1 and early[0].status == "interrupted"
        assert (late.status, late.params, late.final, late.best) == (whole.status, whole.params, whole.final,
                                                                     whole.best)


def test_a_running_run_is_refreshed_as_it_grows(store_dir):
    run = start_running_run(store_dir, name="growing.py", epochs=2)
    store = provinstr.open_store(store_dir)
    first = store.run(run.id)
    assert first.status == "running" and first.final["loss"] == curve(1)["loss"]
    training = Activity(run, "Training", label="fit", iri=f"{run.iri}/training/1")
    for epoch in (2, 3):
        for key, value in curve(epoch).items():
            training.metric(key, value, epoch=epoch)
    run.flush()
    assert store.run(run.id).final["loss"] == curve(3)["loss"]
    assert store.run(run.id).best["accuracy"] == curve(3)["accuracy"]
    run.end()
    done = store.run(run.id)
    assert done.status == "completed" and done.ended is not None and done.final["val_loss"] == curve(3)["val_loss"]


def _settle(folder, seconds_ago: float) -> None:
    """Date the logs folder back, as minutes after its last change (the catalog trusts a settled mtime)."""
    then = time.time() - seconds_ago
    os.utime(folder, (then, then))


def test_a_settled_logs_folder_is_not_listed_again_but_every_change_still_shows(store_dir, monkeypatch):
    from provinstr.store import logs

    listed = []
    real = logs.log_stats
    monkeypatch.setattr(logs, "log_stats", lambda folder: (listed.append(folder), real(folder))[1])
    finished = write_run(store_dir, name="done.py", epochs=2)
    run = start_running_run(store_dir, name="growing.py", epochs=2)
    runs_dir = store_dir / "runs"
    store = provinstr.open_store(store_dir)
    _settle(runs_dir, 60)
    assert [r.name for r in store.runs()] == ["done.py", "growing.py"] and len(listed) == 1  # listed whole once
    assert [r.name for r in store.runs()] == ["done.py", "growing.py"] and len(listed) == 1  # then trusted
    training = Activity(run, "Training", label="fit", iri=f"{run.iri}/training/1")
    training.metric("loss", 0.125, epoch=2)
    run.flush()  # a live log grows in place: the folder's names do not change
    assert store.run(run.id).final["loss"] == 0.125 and len(listed) == 1
    third = write_run(store_dir, name="new.py", epochs=2)  # a log added: the folder changed
    _settle(runs_dir, 30)
    assert [r.name for r in store.runs()] == ["done.py", "growing.py", "new.py"] and len(listed) == 2
    (runs_dir / f"{finished}.nq.gz").unlink()
    _settle(runs_dir, 20)
    assert [r.id for r in store.runs()] == [run.id, third] and len(listed) == 3
    run.end()  # the live log compressed: a name changed
    _settle(runs_dir, 10)
    assert [(r.name, r.status) for r in store.runs()] == [("growing.py", "completed"), ("new.py", "completed")]
    assert len(listed) == 4


def test_runs_frame_has_a_column_per_hyperparameter_and_final_metric(sweep):
    frame = provinstr.open_store(sweep["store"]).runs_frame(group="sweep-a", sort="val_loss")
    assert list(frame.index) == [sweep["ids"][i] for i in (1, 3, 0, 2)]
    for column in ("name", "status", "K", "learning_rate", "optimizer", "loss", "val_loss", "accuracy",
                   "best.val_loss", "best.accuracy"):
        assert column in frame.columns, column
    assert frame.loc[sweep["ids"][0], "val_loss"] == curve(4, 1.0)["val_loss"]
    assert frame.loc[sweep["ids"][1], "optimizer"] == "sgd"


def test_the_cli_filters_sorts_and_limits_as_csv_and_json(sweep, cli, tmp_path):
    ids = sweep["ids"]
    common = ["runs", "--store", str(sweep["store"]), "--where", "learning_rate < 0.05 and K = 24 or K = 12",
              "--sort", "-val_loss", "--limit", "3"]
    done = cli(*common, "--format", "csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["id"] for r in rows] == [ids[2], ids[5], ids[0]]
    assert [float(r["val_loss"]) for r in rows] == sorted((float(r["val_loss"]) for r in rows), reverse=True)
    assert rows[0]["optimizer"] == "adam" and rows[0]["K"] == "12" and rows[0]["status"] == "completed"

    done = cli(*common, "--format", "json", cwd=tmp_path)
    runs = json.loads(done.stdout)
    assert [r["id"] for r in runs] == [ids[2], ids[5], ids[0]]
    assert runs[0]["hyperparameters"]["learning_rate"] == 0.01
    assert runs[0]["metrics"]["val_loss"]["final"] == curve(4, 1.2)["val_loss"]
    assert json.loads(cli(*common, "--json", cwd=tmp_path).stdout) == runs  # the old flag still works

    table = cli("runs", "--store", str(sweep["store"]), "--group", "sweep-b", "--sort", "K", cwd=tmp_path,
                env={"COLUMNS": "200"})
    assert table.returncode == 0 and "sweep-b" in table.stdout and table.stdout.index(ids[4][:8]) > \
        table.stdout.index(ids[5][:8])


def test_the_cli_reports_a_bad_expression_on_one_line_with_exit_2(sweep, cli, tmp_path):
    done = cli("runs", "--store", str(sweep["store"]), "--where", "K = = 24", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "position 5" in lines[0] and "Traceback" not in done.stderr
    done = cli("runs", "--store", str(sweep["store"]), "--status", "failed", "--where", "K = 99", cwd=tmp_path)
    assert done.returncode == 0 and "no runs match" in done.stdout


def test_a_listed_run_copies_with_dataclasses_replace_and_compares_equal(sweep):
    import dataclasses

    listed = provinstr.open_store(sweep["store"]).runs()[0]
    copy = dataclasses.replace(listed, name="renamed")
    assert (copy.name, copy.params, copy.final, copy.best) == ("renamed", listed.params, listed.final, listed.best)
    assert dataclasses.replace(listed) == listed


def test_a_listed_run_survives_deepcopy_and_pickle_with_its_values(sweep):
    import copy
    import pickle

    listed = provinstr.open_store(sweep["store"]).runs()[0]
    for copied in (copy.deepcopy(listed), pickle.loads(pickle.dumps(listed)), copy.copy(listed)):
        assert (copied.params, copied.final, copied.best) == (listed.params, listed.final, listed.best)
        assert copied.params and copied.final


def test_a_read_only_catalog_still_lists_every_run(store_dir, monkeypatch):
    from provinstr.store import catalog

    write_run(store_dir, name="a.py", epochs=2)
    write_run(store_dir, name="b.py", epochs=2)
    assert [r.name for r in provinstr.open_store(store_dir).runs()] == ["a.py", "b.py"]
    with sqlite3.connect(store_dir / CATALOG_FILE) as db:  # as a catalog written before the folder key
        db.execute("DROP TABLE folder")
    _settle(store_dir / "runs", 60)
    real = sqlite3.connect  # SQLite's own read-only mode (a test run as root could write a 0444 file)
    monkeypatch.setattr(catalog.sqlite3, "connect",
                        lambda path, **options: real(f"file:{path}?mode=ro", uri=True, **options))
    for _ in range(2):
        assert [r.name for r in provinstr.open_store(store_dir).runs()] == ["a.py", "b.py"]
    assert (store_dir / CATALOG_FILE).exists()


def test_a_read_only_catalog_of_an_older_version_or_behind_its_logs_still_lists_every_run(store_dir, monkeypatch):
    from provinstr.store import catalog

    write_run(store_dir, name="a.py", epochs=2)
    write_run(store_dir, name="b.py", epochs=2)
    expected = [(r.name, r.status, r.params, r.final) for r in provinstr.open_store(store_dir).runs()]
    path = store_dir / CATALOG_FILE
    _as_format_2(path)  # version 2's layout, entries not to be trusted
    older = path.read_bytes()
    real = sqlite3.connect  # SQLite's own read-only mode (a test run as root could write a 0444 file)
    read_only = lambda where, **options: real(where if where == ":memory:" else f"file:{where}?mode=ro", uri=True,
                                              **options)
    monkeypatch.setattr(catalog.sqlite3, "connect", read_only)
    listing = lambda: [(r.name, r.status, r.params, r.final) for r in provinstr.open_store(store_dir).runs()]
    assert listing() == expected and path.read_bytes() == older  # derived in memory, the file left as it was

    monkeypatch.setattr(catalog.sqlite3, "connect", real)
    assert listing() == expected  # writable again: upgraded in place
    write_run(store_dir, name="c.py", epochs=2)  # a new log the read-only catalog has not seen
    monkeypatch.setattr(catalog.sqlite3, "connect", read_only)
    assert [name for name, *_ in listing()] == ["a.py", "b.py", "c.py"]


def test_a_group_listing_reads_only_that_sweep_and_follows_a_live_run_of_it(store_dir, monkeypatch):
    monkeypatch.setenv(GROUP_ENV, "sweep-x")
    finished, run = write_run(store_dir, name="done.py", epochs=2), start_running_run(store_dir, name="growing.py")
    monkeypatch.setenv(GROUP_ENV, "sweep-y")
    other = write_run(store_dir, name="other.py", epochs=2)
    monkeypatch.delenv(GROUP_ENV)
    alone = write_run(store_dir, name="alone.py", epochs=2)
    store = provinstr.open_store(store_dir)
    _settle(store_dir / "runs", 60)
    assert ids_of(store.runs(group="sweep-x")) == [finished, run.id]
    assert ids_of(store.runs(group="sweep-y")) == [other] and store.runs(group="nobody") == []
    assert ids_of(store.runs()) == [finished, run.id, other, alone]
    training = Activity(run, "Training", label="fit", iri=f"{run.iri}/training/1")
    training.metric("loss", 0.125, epoch=2)
    run.flush()  # the folder's names unchanged: only the live log is read again
    assert [(r.name, r.status, r.final["loss"]) for r in store.runs(group="sweep-x", status="running")] == [
        ("growing.py", "running", 0.125)]
    run.end()
    assert [(r.name, r.status) for r in store.runs(group="sweep-x")] == [("done.py", "completed"),
                                                                          ("growing.py", "completed")]
