"""`provinstr watch`: following a training that runs in another process."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import provinstr

SLOW_TRAINING = """
import sys, time
import provinstr
from provinstr.capture.activity import Activity
with provinstr.run(name="slow.py", store=sys.argv[1]) as run:
    training = Activity(run, "Training", label="fit").start()
    for epoch in range(6):
        time.sleep(0.7)
        training.metric("loss", 1.0 / (epoch + 1), epoch=epoch)
        run.flush()
    training.end()
"""


def test_watch_follows_a_training_in_another_process_until_it_ends(store_dir, tmp_path, cli):
    script = tmp_path / "slow.py"
    script.write_text(SLOW_TRAINING)
    training = subprocess.Popen([sys.executable, str(script), str(store_dir)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not (store_dir / "runs").is_dir() or not any(r.status == "running" for r in _runs(store_dir)):
            assert time.monotonic() < deadline and training.poll() is None, "the training did not start"
            time.sleep(0.1)
        watched = cli("watch", "--interval", "0.2", "--store", str(store_dir), cwd=tmp_path, timeout=120)
    finally:
        training.wait(60)
    assert watched.returncode == 0, watched.stderr
    lines = watched.stdout.splitlines()
    assert "slow.py" in lines[0] and "(running)" in lines[0]
    epochs = [int(m[1]) for m in (re.match(r"epoch (\d+)  loss", line) for line in lines) if m]
    assert epochs == sorted(set(epochs)) and len(epochs) == 6
    assert "completed after 6 epochs" in lines[-1]


def _runs(store_dir):
    try:
        return provinstr.open_store(store_dir).runs()
    except Exception:  # noqa: BLE001 - the first run is still creating the store
        return []


def test_watch_without_a_running_run_says_so(store_dir, capsys):
    from analysis_runs import invoke, write_run

    write_run(store_dir, epochs=1)
    code, _, err = invoke(capsys, "watch", "--store", str(store_dir))
    assert code == 2 and "no run is running" in err


def test_watch_of_a_finished_run_prints_it_and_returns(store_dir, capsys):
    from analysis_runs import invoke, write_run

    run_id = write_run(store_dir, epochs=3)
    code, out, _ = invoke(capsys, "watch", run_id[:8], "--store", str(store_dir))
    assert code == 0
    assert "epoch 2  loss" in out and "completed after 3 epochs" in out
