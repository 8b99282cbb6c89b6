"""What a crashed training process leaves behind: flushed epochs stay queryable, the run says how it ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from provinstr.analysis.catalog import open_store

EPOCH_LOSSES = "SELECT ?epoch WHERE { ?m a pi:Metric ; pi:name 'loss' ; pi:epoch ?epoch } ORDER BY ?epoch"

TRAINING = """
import sys, time
import provinstr

for epoch in range(int(sys.argv[1])):
    provinstr.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
    provinstr.flush()  # what the Keras adapter does at every epoch end
print("flushed", flush=True)
{after}
"""


def start(tmp_path, epochs: int, after: str) -> subprocess.Popen:
    """Start a training-like script that records `epochs` flushed epochs, prints a marker, then runs `after`."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TRAINING).format(after=after))
    process = subprocess.Popen(
        [sys.executable, str(script), str(epochs)], cwd=tmp_path, env=os.environ.copy(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout.readline().strip() == "flushed", process.stderr.read()
    return process


def test_a_run_killed_with_sigkill_keeps_its_flushed_epochs_and_shows_as_interrupted(tmp_path):
    process = start(tmp_path, 3, after="time.sleep(120)")
    try:
        store = open_store(tmp_path / ".provinstr")
        assert [r.status for r in store.runs()] == ["running"]  # the process holds its log lock
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    store = open_store(tmp_path / ".provinstr")
    assert [row[0] for row in store.query(EPOCH_LOSSES)] == [0, 1, 2]
    [run] = store.runs()
    assert run.status == "interrupted" and run.name == "train.py" and run.ended is None


def test_an_uncaught_exception_leaves_the_run_failed_with_its_message(tmp_path):
    process = start(tmp_path, 2, after='raise RuntimeError("loss diverged at epoch 2")')
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr.rstrip().endswith("RuntimeError: loss diverged at epoch 2")  # the user's traceback, unchanged
    store = open_store(tmp_path / ".provinstr")
    [run] = store.runs()
    assert run.status == "failed" and run.error == "loss diverged at epoch 2" and run.ended is not None
    assert store.query("SELECT ?t WHERE { ?r a pi:Run ; pi:exceptionType ?t }").rows == [("RuntimeError",)]
    assert [row[0] for row in store.query(EPOCH_LOSSES)] == [0, 1]


def test_sigterm_marks_the_run_failed_and_still_ends_the_process_by_that_signal(tmp_path):
    process = start(tmp_path, 2, after="time.sleep(120)")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGTERM
    [run] = open_store(tmp_path / ".provinstr").runs()
    assert run.status == "failed" and run.error == "terminated by signal SIGTERM"


def test_a_forked_child_that_outlives_a_killed_parent_does_not_keep_its_run_alive(tmp_path):
    # Data-loader workers are forked children; they must not hold the parent's log lock.
    child_pid_file = tmp_path / "child.pid"
    process = start(tmp_path, 1, after=f"""
import os
pid = os.fork()
if pid == 0:
    time.sleep(120)
    os._exit(0)
open({str(child_pid_file)!r}, "w").write(str(pid))
print("forked", flush=True)
time.sleep(120)
""")
    assert process.stdout.readline().strip() == "forked"
    child = int(child_pid_file.read_text())
    try:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)  # not communicate(): the child still holds the output pipes
        os.kill(child, 0)  # the child still lives
        [run] = open_store(tmp_path / ".provinstr").runs()
        assert run.status == "interrupted"
    finally:
        os.kill(child, signal.SIGKILL)
        process.stdout.close()
        process.stderr.close()
