"""`provinstr steer`: changing a running fit from another terminal, recorded as a pi:Adaptation."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from analysis_runs import invoke, start_running_run, write_run

import provinstr
from provinstr.analysis import facts

TRAIN = """
import json, time
import numpy as np
import keras

x = np.random.default_rng(0).random((200, 8)).astype("float32")
y = (x.sum(axis=1) > 4).astype("float32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="binary_crossentropy")
rates = []

class Slow(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.4)

history = model.fit(x, y, epochs=14, batch_size=50, verbose=0, callbacks=[Slow()])
print(json.dumps({"history": history.history.get("learning_rate"), "rates": rates}))
"""


def steer_while_training(store_dir, cwd, script, setting: str):
    """Run `script` under `provinstr run`, steer it with `--set setting` once an epoch is flushed, let it
    finish; returns (the run, the epoch the change was applied at, what the script printed)."""
    training = subprocess.Popen([sys.executable, "-m", "provinstr", "run", str(script), "--store", str(store_dir)],
                                cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run = _first_epoch_flushed(store_dir, training)
        steered = subprocess.run([sys.executable, "-m", "provinstr", "steer", run.id[:8], "--set", setting,
                                  "--store", str(store_dir)], cwd=cwd, capture_output=True, text=True, timeout=120)
    finally:
        out, err = training.communicate(timeout=240)
    assert training.returncode == 0, err
    assert steered.returncode == 0, steered.stderr
    assert setting in steered.stdout
    return run, int(steered.stdout.split("applied at epoch ")[1].split(":")[0]), out


def test_steer_changes_the_learning_rate_of_a_running_fit(store_dir, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    run, applied, out = steer_while_training(store_dir, tmp_path, script, "learning_rate=0.0005")

    seen = json.loads(out.strip().splitlines()[-1])
    rates = seen["rates"]
    assert rates[:applied] == [rates[0]] * applied and abs(rates[0] - 0.01) < 1e-9
    assert all(abs(rate - 0.0005) < 1e-9 for rate in rates[applied:])
    if seen["history"]:  # Keras logs the rate of each epoch: it agrees with the adaptation
        assert abs(seen["history"][applied] - 0.0005) < 1e-9 and abs(seen["history"][applied - 1] - 0.01) < 1e-9

    store = provinstr.open_store(store_dir)
    [adaptation] = [a for a in facts.adaptations(store.run(run.id)) if a.trigger == "user"]
    assert adaptation.epoch == applied and adaptation.name == "learning_rate"
    assert abs(adaptation.old - 0.01) < 1e-9 and abs(adaptation.new - 0.0005) < 1e-9
    assert adaptation.agent and "@" in adaptation.agent


def _first_epoch_flushed(store_dir, training):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert training.poll() is None, training.communicate()[1]
        if (store_dir / "runs").is_dir():
            store = provinstr.open_store(store_dir)
            for run in store.runs():
                if run.status == "running" and facts.epoch_metrics(run):
                    return run
        time.sleep(0.2)
    raise AssertionError("the training never flushed an epoch")


def test_steer_refuses_a_finished_run_and_a_value_that_cannot_change(store_dir, capsys):
    finished = write_run(store_dir, epochs=2)
    code, _, err = invoke(capsys, "steer", finished[:8], "--set", "learning_rate=0.1", "--store", str(store_dir))
    assert code == 2 and "it is completed and it has finished" in err
    live = start_running_run(store_dir)
    try:
        code, _, err = invoke(capsys, "steer", live.id[:8], "--set", "units=3", "--store", str(store_dir))
        assert code == 2 and "--set units: not adjustable" in err and "learning_rate" in err
        code, _, err = invoke(capsys, "steer", live.id[:8], "--set", "learning_rate=fast", "--store", str(store_dir))
        assert code == 2 and "learning_rate needs a number" in err
    finally:
        live.end()
    assert not (store_dir / "steer").exists()  # nothing was queued


def test_a_request_the_run_never_reached_is_reported_as_not_applied(store_dir, capsys):
    live = start_running_run(store_dir)
    try:
        code, out, err = invoke(capsys, "steer", live.id[:8], "--set", "learning_rate=0.2", "--wait", "0.5",
                                "--store", str(store_dir))
    finally:
        live.end()
    assert code == 0 and "asked run" in out and "not applied yet after 0.5s" in err
