"""The background indexer: a run that ends leaves the catalog and the index caught up by a detached process,
which works in steps, stands aside for readers and is never needed for a right answer."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time

from test_store_scale import answers, record

from provinstr.store import LocalStore, background, logs
from provinstr.store.catalog import CATALOG_FILE


def caught_up(store_dir) -> bool:
    """True when index-offsets.json says every log is in the index to its end (no reader involved)."""
    try:
        state = json.loads((store_dir / "index-offsets.json").read_text())
    except (FileNotFoundError, ValueError):
        return False
    sizes = {run_id: logs.uncompressed_size(log) for run_id, log in logs.log_files(store_dir / "runs").items()}
    return bool(sizes) and all(state["runs"].get(run_id) == size for run_id, size in sizes.items())


def wait_for(pid: int, seconds: float = 120) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    raise AssertionError(f"the background indexer {pid} still runs after {seconds} s")


def test_a_run_that_ends_leaves_catalog_and_index_caught_up_without_any_reader(store_dir, run_python):
    script = f"""
        import provinstr
        with provinstr.run(name="swept", store={str(store_dir)!r}) as run:
            provinstr.log_hyperparameter(K=24)
            for epoch in range(3):
                provinstr.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
        print(run.id)
    """
    done = run_python(script, env={background.ENV: "1"})
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    deadline = time.monotonic() + 120
    while not caught_up(store_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert caught_up(store_dir), "the index was not brought up to date after the run ended"
    with sqlite3.connect(store_dir / CATALOG_FILE) as db:
        assert db.execute("SELECT id, status FROM runs").fetchall() == [(run_id, "completed")]
    assert answers(store_dir)["metrics"] == [(3,)]


def test_steps_load_a_backlog_in_parts_and_end_with_the_answers_of_a_rebuild(store_dir):
    record(store_dir, 8)
    store = LocalStore(store_dir)
    steps = 1
    while store.index_some(most_bytes=4096) is False:
        steps += 1
    assert steps >= 4  # 8 logs of a few KB each, at most 4 KB a step (a larger log is a step of its own)
    assert store.index_some() is True  # nothing is left
    stepwise = answers(store_dir)
    store.reindex()
    assert answers(store_dir) == stepwise and stepwise["metrics"] == [(24,)]


def test_it_stands_aside_while_a_reader_holds_the_index_and_when_turned_off(store_dir, monkeypatch):
    record(store_dir, 2)
    store = LocalStore(store_dir)
    with open(store_dir / "index.lock", "a+") as reader:
        fcntl.flock(reader, fcntl.LOCK_EX)  # a reader catching up or querying
        assert store.index_some() is None
        monkeypatch.setenv(background.ENV, "1")
        assert background.start(store_dir) is None
    monkeypatch.setenv(background.ENV, "0")
    assert background.start(store_dir) is None
    assert not caught_up(store_dir)


def test_a_reader_that_comes_while_it_works_gets_every_run(store_dir, monkeypatch):
    record(store_dir, 30)
    monkeypatch.setenv(background.ENV, "1")
    pid = background.start(store_dir)
    assert pid is not None
    meanwhile = answers(store_dir)  # waits for at most one step, then catches up the rest itself
    assert meanwhile["metrics"] == [(90,)] and len(meanwhile["statuses"]) == 30
    assert wait_for(pid) == 0
    assert caught_up(store_dir) and answers(store_dir) == meanwhile
