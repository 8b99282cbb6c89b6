"""A store of many runs: index catch-up in one bulk load, rebuilds when the index is lost or old, compressed logs."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import provinstr
from provinstr.store import LocalStore
from provinstr.store.local import INDEX_FORMAT

ANSWERS = {
    "metrics": "SELECT (COUNT(?m) AS ?n) WHERE { ?m a pi:Metric }",
    "last losses": "SELECT ?run ?loss WHERE { GRAPH ?run { ?m pi:name 'loss' ; pi:epoch 2 ; prov:value ?loss } } "
                   "ORDER BY ?run",
    "statuses": "SELECT ?run ?status WHERE { GRAPH ?run { ?run pi:status ?status } } ORDER BY ?run",
    "quads": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
}


def record(store_dir, count, epochs=3, start=0):
    for index in range(start, start + count):
        with provinstr.run(name=f"r{index}", store=store_dir) as run:
            provinstr.log_hyperparameter(K=index % 4)
            for epoch in range(epochs):
                provinstr.log_metric("loss", 1.0 / (epoch + 1 + index), epoch=epoch)
                run.flush(wait=False)


def answers(store_dir):
    store = LocalStore(store_dir)
    return {name: store.query(text).rows for name, text in ANSWERS.items()}


def test_catching_up_in_steps_answers_as_a_rebuild_from_the_logs(store_dir):
    record(store_dir, 12)
    answers(store_dir)  # the index holds 12 runs
    record(store_dir, 13, start=12)
    stepwise = answers(store_dir)
    LocalStore(store_dir).reindex()
    assert answers(store_dir) == stepwise
    assert stepwise["metrics"] == [(75,)] and {s for _, s in stepwise["statuses"]} == {"completed"}
    assert len(stepwise["statuses"]) == 25


def test_a_backlog_split_among_parallel_bulk_loads_and_batches_answers_as_one_load_even_with_a_torn_line(store_dir, monkeypatch):
    import provinstr.store.local as local

    record(store_dir, 9)
    # A write cut short by a full disk in one log: half a line, then the next record.
    log = next((store_dir / "runs").glob("*.nq.gz"))
    text = gzip.decompress(log.read_bytes()).decode()
    lines = text.splitlines(keepends=True)
    log.write_bytes(gzip.compress(("".join(lines[:5]) + lines[5][:25] + "\n" + "".join(lines[5:])).encode()))
    monkeypatch.setattr(local, "PARALLEL_LOADS", 1)
    one = answers(store_dir)
    monkeypatch.setattr(local, "PARALLEL_LOADS", 3)
    monkeypatch.setattr(local, "PARALLEL_MIN_BYTES", 1)  # split even this small backlog three ways
    LocalStore(store_dir).reindex()
    assert answers(store_dir) == one
    monkeypatch.setattr(local, "BATCH_BYTES", 5000)  # and in batches of a few logs, one after the other
    LocalStore(store_dir).reindex()
    assert answers(store_dir) == one
    monkeypatch.setattr(local, "LARGE_BACKLOG_BYTES", 1)  # a "large" backlog: batches of an eighth of it
    assert local._batch_bytes(80_000) == 10_000
    LocalStore(store_dir).reindex()
    assert answers(store_dir) == one
    assert one["metrics"] == [(27,)] and len(one["statuses"]) == 9


def test_finished_logs_are_compressed_readable_by_zcat_and_read_everywhere(store_dir):
    record(store_dir, 2)
    packed = sorted((store_dir / "runs").glob("*.nq.gz"))
    assert len(packed) == 2 and not list((store_dir / "runs").glob("*.nq"))
    text = gzip.decompress(packed[0].read_bytes()).decode()
    assert "<https://w3id.org/provinstr#status> \"completed\"" in text
    if shutil.which("zcat"):
        assert subprocess.run(["zcat", str(packed[0])], capture_output=True).stdout.decode() == text
    store = provinstr.open_store(store_dir)
    assert sorted(r.status for r in store.runs()) == ["completed", "completed"]
    assert answers(store_dir)["metrics"] == [(6,)]
    from provinstr.analysis.export import export_run

    info = store.runs()[0]
    assert "pi:Metric" in export_run(store, store.run(info.id), "turtle") or "Metric" in export_run(
        store, store.run(info.id), "turtle")


def test_a_running_log_stays_plain_and_a_continued_run_appends_to_it_again(store_dir):
    run = provinstr.run(name="live", store=store_dir).start()
    try:
        run.flush()
        assert list((store_dir / "runs").glob("*.nq")) and not list((store_dir / "runs").glob("*.gz"))
        assert [r.status for r in provinstr.open_store(store_dir).runs()] == ["running"]
    finally:
        run.end()
    assert list((store_dir / "runs").glob("*.nq.gz"))
    with provinstr.run(name="live", store=store_dir, run_id=run.id):
        provinstr.log_metric("loss", 0.5, epoch=7)
    assert len(list((store_dir / "runs").iterdir())) == 1  # one log, compressed again
    assert answers(store_dir)["metrics"] == [(1,)]


@pytest.mark.parametrize("damage", ["offsets deleted", "offsets truncated", "offsets of format 1",
                                    "index deleted", "index of an older format"])
def test_a_lost_damaged_or_older_index_is_rebuilt_with_one_message_and_the_same_answers(store_dir, damage, capfd):
    record(store_dir, 5)
    before = answers(store_dir)
    offsets = store_dir / "index-offsets.json"
    if damage == "offsets deleted":
        offsets.unlink()
    elif damage == "offsets truncated":
        offsets.write_text(offsets.read_text()[:10])
    elif damage == "offsets of format 1":
        state = json.loads(offsets.read_text())
        offsets.write_text(json.dumps({f"{run_id}.nq": end for run_id, end in state["runs"].items()}))
    elif damage == "index deleted":
        shutil.rmtree(store_dir / "index")
    else:
        state = json.loads(offsets.read_text())
        offsets.write_text(json.dumps({**state, "format": INDEX_FORMAT - 1}))
        (store_dir / "store.json").write_text(json.dumps({"format": 1, "tool": "provinstr"}))
    capfd.readouterr()
    assert answers(store_dir) == before
    messages = [line for line in capfd.readouterr().err.splitlines() if "rebuilding the index" in line]
    assert len(messages) == 1 and str(store_dir) in messages[0]
    assert answers(store_dir) == before and "rebuilding" not in capfd.readouterr().err
    assert json.loads((store_dir / "store.json").read_text())["format"] >= 2


KILLED_READER = """
import sys
from provinstr.store import LocalStore
print("indexing", flush=True)
LocalStore(sys.argv[1]).read(len)
"""


def test_a_reader_killed_mid_catch_up_leaves_a_store_the_next_reader_repairs(store_dir, tmp_path):
    record(store_dir, 40, epochs=60)
    expected = None
    for delay in (0.3, 0.6):
        if (store_dir / "index").exists():
            LocalStore(store_dir).read(len, rebuild=True)  # start again from an empty index, killed anew
            shutil.rmtree(store_dir / "index")
            (store_dir / "index-offsets.json").unlink()
        script = tmp_path / "reader.py"
        script.write_text(KILLED_READER)
        reader = subprocess.Popen([sys.executable, str(script), str(store_dir)], stdout=subprocess.PIPE,
                                  env={**os.environ, "PYTHONPATH": os.getcwd()})
        assert reader.stdout.readline() == b"indexing\n"
        time.sleep(delay)
        reader.send_signal(signal.SIGKILL)
        reader.wait()
        got = answers(store_dir)
        assert got["metrics"] == [(40 * 60,)] and len(got["statuses"]) == 40
        assert {s for _, s in got["statuses"]} == {"completed"}
        if expected is None:
            LocalStore(store_dir).reindex()
            expected = answers(store_dir)
        assert got == expected


def test_reindex_on_a_terminal_shows_a_progress_bar_and_says_what_it_did(store_dir, tmp_path):
    import pty

    record(store_dir, 3)
    leader, follower = pty.openpty()  # stderr is a terminal, as in a user's shell
    done = subprocess.run([sys.executable, "-m", "provinstr", "reindex", "--store", str(store_dir)],
                          stdout=subprocess.PIPE, stderr=follower, env={**os.environ, "COLUMNS": "120"}, timeout=120)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == 0
    assert "indexing run logs" in shown.decode(errors="replace")
    assert done.stdout.decode().startswith(f"reindexed {store_dir}: ") and "from 3 run logs" in done.stdout.decode()
