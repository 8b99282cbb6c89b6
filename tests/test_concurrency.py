"""Many processes record into one local store at once while others query it."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import provinstr
from provinstr.analysis.catalog import open_store
from provinstr.capture.recorder import Recorder

COUNT = "SELECT (COUNT(?m) AS ?n) WHERE { ?m a pi:Metric }"

WRITER = """
import sys, time, provinstr
with provinstr.run(name=sys.argv[1], store=sys.argv[2]):
    for epoch in range(int(sys.argv[3])):
        provinstr.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
        if epoch % 50 == 49:  # an "epoch" of 50 metrics: flush as the Keras adapter does, train a little
            provinstr.flush()
            time.sleep(0.02)
print("done", flush=True)
"""

READER = """
import json, sys, time
from provinstr import open_store
from provinstr.store import StoreError

expected, deadline = int(sys.argv[2]), time.monotonic() + 120
counts, errors = [], []
while time.monotonic() < deadline:
    try:
        counts.append(open_store(sys.argv[1]).query("SELECT (COUNT(?m) AS ?n) WHERE { ?m a pi:Metric }").rows[0][0])
    except StoreError as error:  # the store folder may not exist before the first writer starts
        errors.append(str(error))
    if len(counts) + len(errors) == 1:
        print("ready", flush=True)
    if counts and counts[-1] >= expected:
        break
print(json.dumps({"counts": counts, "errors": errors}))
"""


def python(tmp_path, name: str, source: str, *args: str) -> subprocess.Popen:
    script = tmp_path / name
    if not script.exists():  # rewriting it while another process starts to read it would race
        script.write_text(textwrap.dedent(source))
    return subprocess.Popen(
        [sys.executable, str(script), *args], cwd=tmp_path, env=os.environ.copy(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_four_writers_and_a_querying_reader_end_with_exact_counts_the_reader_saw_grow(tmp_path, store_dir):
    store_dir.mkdir()
    (store_dir / "runs").mkdir()
    reader = python(tmp_path, "reader.py", READER, str(store_dir), "4000")
    assert reader.stdout.readline().strip() == "ready"
    writers = [python(tmp_path, "writer.py", WRITER, f"w{i}", str(store_dir), "1000") for i in range(4)]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0 and out.strip() == "done", err
    out, err = reader.communicate(timeout=150)
    assert reader.returncode == 0, err
    seen = json.loads(out)
    assert seen["errors"] == [] and seen["counts"], seen
    assert seen["counts"] == sorted(seen["counts"]), "the reader saw a count go down"
    assert seen["counts"][-1] == 4000
    assert len(set(seen["counts"])) > 1, "the reader never queried while the writers wrote"
    store = open_store(store_dir)
    assert store.query(COUNT).rows == [(4000,)]
    runs = store.runs()
    assert sorted(r.name for r in runs) == ["w0", "w1", "w2", "w3"] and {r.status for r in runs} == {"completed"}


def test_a_writer_never_waits_for_a_reader_holding_the_index(tmp_path, store_dir):
    store_dir.mkdir()
    with provinstr.run(name="first", store=store_dir):
        provinstr.log_metric("loss", 1.0, epoch=0)
    with open(store_dir / "index.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a reader is busy with the index for as long as this lasts
        writer = python(tmp_path, "writer.py", WRITER, "second", str(store_dir), "200")
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0 and out.strip() == "done", err
    assert open_store(store_dir).query(COUNT).rows == [(201,)]


def test_reader_threads_and_a_writer_thread_in_one_process_share_the_store(store_dir):
    errors, counts = [], []

    def read():
        store = open_store(store_dir)
        for _ in range(10):
            try:
                counts.append(store.query(COUNT).rows[0][0])
            except Exception as error:  # noqa: BLE001 - collected for the assertion below
                errors.append(error)

    with provinstr.run(name="threads", store=store_dir):
        provinstr.flush()
        readers = [threading.Thread(target=read) for _ in range(3)]
        for thread in readers:
            thread.start()
        for epoch in range(300):
            provinstr.log_metric("loss", 0.1, epoch=epoch)
            if epoch % 30 == 29:
                provinstr.flush()
        for thread in readers:
            thread.join(60)
    assert errors == [] and len(counts) == 30
    assert open_store(store_dir).query(COUNT).rows == [(300,)]


class SlowSink:
    """A sink slower than the producer, so the recorder's bound is reached."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> None:
        time.sleep(0.01)
        self.lines += text.count("\n")

    def close(self) -> None:
        pass


def test_a_full_queue_makes_the_producer_wait_and_no_record_is_dropped():
    sink = SlowSink()
    recorder = Recorder(sink, "https://w3id.org/provinstr/run/bounded", maxsize=100)
    most = 0
    for i in range(2000):
        recorder.put(f"https://w3id.org/provinstr/run/bounded/{i}", [("https://w3id.org/provinstr#index", i)])
        most = max(most, recorder.backlog)
    recorder.close()
    assert most <= 100
    assert sink.lines == 2000 and recorder.dropped == 0
