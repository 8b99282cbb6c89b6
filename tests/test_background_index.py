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


def wait_idle(store_dir, seconds: float = 120) -> None:
    """Until no indexer holds the store's background lock and the index holds every log (it is never our
    child: it cannot be waited for)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not logs.locked_elsewhere(store_dir / background.LOCK_NAME) and caught_up(store_dir):
            return
        time.sleep(0.05)
    raise AssertionError(f"the background indexer of {store_dir} still works after {seconds} s")


def indexer_log(store_dir) -> str:
    path = store_dir / background.LOG_NAME
    return path.read_text() if path.exists() else ""


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
    wait_idle(store_dir)
    assert answers(store_dir) == meanwhile
    assert indexer_log(store_dir) == ""


def test_a_sweep_of_runs_starts_one_indexer_at_a_time_and_leaves_no_child_behind(store_dir, run_python):
    script = f"""
        import os, time
        import provinstr
        from provinstr.store import background
        started = []
        real_start = background.start
        def counted(path):
            pid = real_start(path)
            started.append(pid)
            return pid
        background.start = counted
        for index in range(20):
            with provinstr.run(name=f"r{{index}}", store={str(store_dir)!r}):
                provinstr.log_metric("loss", 1.0, epoch=0)
        # The indexers are not this process's children: nothing for os.wait() to return.
        try:
            os.wait()
        except ChildProcessError:
            print("no child")
        print(len(started), sum(pid is not None for pid in started))
    """
    done = run_python(script, env={background.ENV: "1"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "no child"
    asked, spawned = map(int, lines[1].split())
    assert asked == 20 and 1 <= spawned < 20  # one works while the others end: they start none
    wait_idle(store_dir)
    assert (store_dir / background.LOG_NAME).exists()  # its stderr, empty when all went well
    assert len(answers(store_dir)["statuses"]) == 20 and indexer_log(store_dir) == ""


def test_a_run_that_ends_while_it_works_is_indexed_before_it_stops(store_dir, monkeypatch):
    record(store_dir, 2)
    real = LocalStore.index_some
    ended = []

    def and_meanwhile(self, most_bytes):
        answer = real(self, most_bytes)
        if answer is True and not ended:  # its last step: a run ends now and finds the lock held
            record(store_dir, 1, start=2)
            ended.append(1)
        return answer

    monkeypatch.setattr(LocalStore, "index_some", and_meanwhile)
    assert background.catch_up(store_dir) == "done"
    assert caught_up(store_dir) and len(answers(store_dir)["statuses"]) == 3


def test_it_stops_when_the_store_is_deleted_and_leaves_nothing_behind(store_dir, monkeypatch):
    import shutil

    record(store_dir, 3)
    real = LocalStore.index_some

    def deleted_after_a_step(self, most_bytes):
        real(self, most_bytes)
        shutil.rmtree(store_dir)  # the user's `rm -rf` while it works
        return False

    monkeypatch.setattr(LocalStore, "index_some", deleted_after_a_step)
    assert background.catch_up(store_dir) == "gone"
    assert not store_dir.exists()


def test_a_damaged_index_is_left_to_the_reader_which_says_why(store_dir, capfd):
    record(store_dir, 3)
    before = answers(store_dir)
    (store_dir / "index-offsets.json").write_text('{"format": 2, "ru')  # torn
    assert LocalStore(store_dir).index_some() is None
    assert background.catch_up(store_dir) == "busy"
    capfd.readouterr()
    assert answers(store_dir) == before
    assert "rebuilding the index" in capfd.readouterr().err


def test_small_loads_are_compacted_aside_while_a_reader_adds_runs(store_dir, monkeypatch):
    from provinstr.store import compaction

    for index in range(12):  # one load per run, as a sweep's ends make them
        record(store_dir, 1, start=index)
        answers(store_dir)
    store = LocalStore(store_dir)
    piled = compaction.sst_files(store.index_dir)
    assert compaction.due(store.index_dir, store.read_record()), piled
    real = compaction._with_index
    meanwhile = []

    def with_a_reader(path, work):
        real(path, work)
        if path.name == compaction.COPY_NAME and not meanwhile:  # the copy is compacted; the index is free
            record(store_dir, 2, start=12)
            meanwhile.append(answers(store_dir))

    monkeypatch.setattr(compaction, "_with_index", with_a_reader)
    assert compaction.compact_aside(store) == "compacted"
    files = compaction.sst_files(store.index_dir)
    assert files < piled and store.read_record()[compaction.STATE_KEY] == files
    assert not (store_dir / compaction.COPY_NAME).exists() and not (store_dir / compaction.REPLACED_NAME).exists()
    assert not compaction.due(store.index_dir, store.read_record())
    # The copy was taken before the 2 runs: the next reader loads them again into it.
    after = answers(store_dir)
    assert after == meanwhile[0] and len(after["statuses"]) == 14
    store.reindex()
    assert answers(store_dir) == after


def test_compaction_stands_aside_for_a_reader_and_for_a_damaged_index(store_dir):
    from provinstr.store import compaction

    record(store_dir, 2)
    answers(store_dir)
    store = LocalStore(store_dir)
    with open(store_dir / "index.lock", "a+") as reader:
        fcntl.flock(reader, fcntl.LOCK_EX)
        assert compaction.compact_aside(store) == "busy"
    (store_dir / "index-offsets.json").unlink()
    assert compaction.compact_aside(store) == "unsound"
    assert not (store_dir / compaction.COPY_NAME).exists()


def test_reindex_leaves_a_compacted_index(store_dir, monkeypatch):
    import provinstr.store.local as local
    from provinstr.store import compaction

    record(store_dir, 6)
    monkeypatch.setattr(local, "BATCH_BYTES", 2048)  # a load per log
    store = LocalStore(store_dir)
    store.reindex()
    files = compaction.sst_files(store.index_dir)
    assert store.read_record()[compaction.STATE_KEY] == files
    assert not compaction.due(store.index_dir, store.read_record())
    assert len(answers(store_dir)["statuses"]) == 6


def test_a_catalog_busy_in_another_process_is_reported_not_deleted(store_dir, monkeypatch):
    from provinstr.errors import StoreError
    from provinstr.store import catalog as catalog_module

    record(store_dir, 2)
    runs = catalog_module.RunCatalog(store_dir)
    assert len(runs.entries()) == 2
    record(store_dir, 1, start=2)  # the next listing must write
    monkeypatch.setattr(catalog_module, "BUSY_TIMEOUT_SECONDS", 0.2)
    other = sqlite3.connect(store_dir / CATALOG_FILE, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another provinstr updating it
    try:
        try:
            runs.entries()
        except StoreError as error:
            assert "locked by another provinstr process" in str(error)
        else:
            raise AssertionError("a busy catalog was not reported")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(runs.entries()) == 3


def test_what_stops_it_is_written_to_its_log_with_the_time_and_pid(store_dir, monkeypatch, capfd):
    record(store_dir, 1)

    def broken(path, lock_fd=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(background, "catch_up", broken)
    assert background.main([str(store_dir)]) == 1
    line = capfd.readouterr().err  # its stderr is <store>/background.log when a run starts it
    assert f"provinstr background indexer (pid {os.getpid()}) stopped: OSError: [Errno 28] No space left on device" in line


def test_a_copy_of_an_index_rebuilt_meanwhile_is_dropped(store_dir, monkeypatch):
    from provinstr.store import compaction

    record(store_dir, 3)
    before = answers(store_dir)
    store = LocalStore(store_dir)
    real = compaction._with_index

    def rebuilt_meanwhile(path, work):
        real(path, work)
        if path.name == compaction.COPY_NAME:
            LocalStore(store_dir).reindex()  # `provinstr reindex` while the copy is compacted

    monkeypatch.setattr(compaction, "_with_index", rebuilt_meanwhile)
    assert compaction.compact_aside(store) == "changed"
    assert answers(store_dir) == before and not (store_dir / compaction.COPY_NAME).exists()
