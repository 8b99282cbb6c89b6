"""Capture never breaks the caller: faults give one clear warning (or raise in strict mode), data waits for the disk."""

from __future__ import annotations

import errno
import shutil
import subprocess
import uuid
import warnings

import pytest

import provinstr
from provinstr.analysis.catalog import open_store
from provinstr.capture import safety
from provinstr.capture.safety import ProvinstrWarning

SCRIPT = """
import provinstr
{fault}

@provinstr.track_transformation(outputs=["doubled"])
def double(x):
    return 2 * x

with provinstr.transformation("Cleaning", rows=10) as step:
    step.output(rows=8)
provinstr.log_hyperparameter(learning_rate=0.01)
for epoch in range(3):
    provinstr.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
    provinstr.flush()
print(double(21), double(2))
"""

RECORDER_RAISES = """
from provinstr.capture.recorder import Recorder

def broken_put(self, subject, pairs):
    raise RuntimeError("recorder exploded")

Recorder.put = broken_put
"""


@pytest.fixture
def lenient(monkeypatch):
    """Production mode (no PROVINSTR_STRICT) with a fresh memory of which warnings were given."""
    monkeypatch.setenv("PROVINSTR_STRICT", "0")
    monkeypatch.setattr(safety, "_warned", set())


def test_an_unwritable_store_gives_one_warning_and_the_script_runs_on(run_python, tmp_path):
    (tmp_path / "blocker").write_text("a regular file where the store's parent folder should be")
    store = tmp_path / "blocker" / "store"
    result = run_python(SCRIPT.format(fault=""), env={"PROVINSTR_STRICT": "0", "PROVINSTR_STORE": str(store)})
    assert result.returncode == 0 and result.stdout.split() == ["42", "4"], result.stderr
    assert result.stderr.count("ProvinstrWarning") == 1, result.stderr
    assert f"opening the provenance store {store} failed (NotADirectoryError" in result.stderr
    assert "script.py:9: ProvinstrWarning" in result.stderr  # points at the user's first captured line
    assert "point store= or PROVINSTR_STORE at a writable folder" in result.stderr


def test_a_recorder_that_raises_gives_one_warning_and_the_script_runs_on(run_python, tmp_path):
    result = run_python(SCRIPT.format(fault=RECORDER_RAISES), env={"PROVINSTR_STRICT": "0"})
    assert result.returncode == 0 and result.stdout.split() == ["42", "4"], result.stderr
    assert result.stderr.count("ProvinstrWarning") == 1, result.stderr
    assert "RuntimeError: recorder exploded" in result.stderr and "Traceback" not in result.stderr


def test_strict_mode_raises_what_production_mode_only_reports(tmp_path):
    (tmp_path / "blocker").write_text("")
    with pytest.raises(NotADirectoryError):
        with provinstr.run(store=tmp_path / "blocker" / "store"):
            pass

    @provinstr.track_transformation()
    def identity(x):
        return x

    with provinstr.run(store=tmp_path / "good") as run:
        run.recorder.put = lambda subject, pairs: (_ for _ in ()).throw(RuntimeError("recorder exploded"))
        with pytest.raises(RuntimeError, match="recorder exploded"):
            identity(1)
        del run.recorder.put


def test_warnings_turned_into_errors_still_cannot_break_the_program(tmp_path, lenient, capsys):
    (tmp_path / "blocker").write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with provinstr.run(store=tmp_path / "blocker" / "store"):
            provinstr.log_metric("loss", 0.5, epoch=0)
    assert "ProvinstrWarning: provinstr: opening the provenance store" in capsys.readouterr().err


class SmallDisk:
    """A folder on a 512 KiB filesystem (room for a whole run once freed) that can be filled and
    freed: a real tmpfs when this machine lets us mount one, else the run log's writes fail the
    way a full disk makes them fail."""

    def __init__(self, root) -> None:
        self.path = root / "disk"
        self.path.mkdir()
        self.mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(self.path)], capture_output=True
        ).returncode == 0
        self._handle = None

    def fill(self, run) -> None:
        if self.mounted:
            with open(self.path / "filler", "wb", buffering=0) as filler:
                try:
                    while True:
                        filler.write(b"\0" * 1024)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
        else:
            self._handle = run.recorder.sink._handle
            run.recorder.sink._handle = _FullHandle(self._handle)

    def free(self, run) -> None:
        if self.mounted:
            (self.path / "filler").unlink()
        else:
            run.recorder.sink._handle = self._handle

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=True)


class _FullHandle:
    """What a log's file handle does on a full disk: a short write, then ENOSPC."""

    def __init__(self, handle) -> None:
        self.handle, self.short_write_done = handle, False

    def write(self, data) -> int:
        if not self.short_write_done:
            self.short_write_done = True
            return self.handle.write(bytes(data[:37]))
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):  # close() and the rest behave as the real handle's
        return getattr(self.handle, name)


@pytest.fixture
def small_disk(tmp_path):
    disk = SmallDisk(tmp_path)
    yield disk
    disk.unmount()


def record_through_a_full_disk(disk, store):
    """Record epoch 0, fill the disk, record epochs 1-20 (flushes fail), free the disk, end the run."""
    with provinstr.run(name="full-disk", store=store) as run:
        provinstr.log_metric("loss", 1.0, epoch=0)
        provinstr.flush()
        disk.fill(run)
        failures = []
        for epoch in range(1, 21):
            provinstr.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
            try:
                provinstr.flush()
            except OSError as error:  # strict mode
                failures.append(error)
        disk.free(run)
        provinstr.flush()
    return failures


def readable_copy(store, tmp_path):
    """The store's logs copied to a roomy disk (the index needs more than the small disk holds)."""
    copy = tmp_path / f"copy-{uuid.uuid4().hex[:6]}"
    shutil.copytree(store, copy, ignore=shutil.ignore_patterns("index*"))
    return open_store(copy)


def test_a_full_disk_that_frees_up_later_gets_everything_that_was_pending(small_disk, tmp_path, lenient):
    with pytest.warns(ProvinstrWarning) as warned:
        failures = record_through_a_full_disk(small_disk, small_disk.path / "store")
    assert failures == []
    messages = [str(w.message) for w in warned]
    assert len(messages) == 1 and "No space left on device" in messages[0], messages
    assert "retries" in messages[0] and str(small_disk.path / "store") in messages[0]
    store = readable_copy(small_disk.path / "store", tmp_path)
    epochs = [row[0] for row in store.query("SELECT ?e WHERE { ?m pi:name 'loss' ; pi:epoch ?e } ORDER BY ?e")]
    assert epochs == list(range(21))
    assert [r.status for r in store.runs()] == ["completed"]


def test_in_strict_mode_a_full_disk_raises_and_the_data_still_arrives_when_it_frees(small_disk, tmp_path):
    failures = record_through_a_full_disk(small_disk, small_disk.path / "store")
    assert failures and {error.errno for error in failures} == {errno.ENOSPC}
    store = readable_copy(small_disk.path / "store", tmp_path)
    assert store.query("SELECT (COUNT(?m) AS ?n) WHERE { ?m a pi:Metric }").rows == [(21,)]


def test_statements_a_full_disk_never_takes_back_are_reported_as_lost(small_disk, tmp_path, lenient):
    with pytest.warns(ProvinstrWarning) as warned:
        with provinstr.run(name="never-freed", store=small_disk.path / "store") as run:
            provinstr.flush()
            small_disk.fill(run)
            provinstr.log_metric("loss", 0.5, epoch=0)
        small_disk.free(run)
    messages = [str(w.message) for w in warned]
    assert len(messages) == 2 and "No space left on device" in messages[0]
    assert "statements were never written" in messages[1] and "they are lost" in messages[1]
    assert run.recorder.dropped > 0
