"""`provinstr show RUN`: one screen that says what a run was."""

from __future__ import annotations

import pytest
from analysis_runs import invoke, start_running_run, write_denseed_run, write_run


def epoch_column(out: str) -> list[str]:
    """The first column of the metrics table of `show`'s output."""
    lines = out.split("Metrics per epoch", 1)[1].splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["epoch"])
    rows = []
    for line in lines[header + 1:]:
        if not line.strip() or "epochs;" in line:
            break
        rows.append(line.split()[0])
    return rows


def test_show_answers_what_was_this_run(store_dir, capsys):
    run_id = write_run(store_dir, name="train.py", epochs=6)
    code, out, err = invoke(capsys, "show", run_id[:8], "--store", str(store_dir))
    assert code == 0, err
    assert run_id in out and "train.py" in out and "completed" in out
    assert "Hyperparameters" in out and "learning_rate" in out and "adam" in out
    layer_rows = [line.split() for line in out.splitlines() if "hidden" in line or "drop" in line]
    assert ["0", "Dense", "hidden", "units=16,", "activation=relu", "12"] in layer_rows
    assert ["1", "Dropout", "drop", "rate=0.25", "13"] in layer_rows
    assert epoch_column(out) == ["0", "1", "2", "3", "4", "5"]
    assert "0.01 -> 0.005" in out and "ReduceLROnPlateau" in out
    assert "Test results" in out and "0.2345" in out
    assert "x_train" in out and "[200, 8]" in out and "float32" in out
    assert "/tmp/model.keras" in out
    assert "CPython" in out  # the environment


def test_show_of_a_long_run_keeps_first_last_and_best_epochs(store_dir, capsys):
    run_id = write_run(store_dir, epochs=14)
    code, out, _ = invoke(capsys, "show", run_id[:8], "--store", str(store_dir))
    assert code == 0
    assert epoch_column(out) == ["0", "1", "2", "…", "7", "…", "11", "12", "13"]  # 7: val_loss's best epoch
    assert "14 epochs" in out


def test_show_of_a_running_run_says_it_is_still_running(store_dir, capsys):
    live = start_running_run(store_dir, epochs=2)
    try:
        code, out, _ = invoke(capsys, "show", live.id[:8], "--store", str(store_dir))
    finally:
        live.end()
    assert code == 0
    assert "running" in out and "still running" in out
    assert "sgd" in out


def test_show_of_a_run_without_epochs_says_there_are_none(store_dir, capsys):
    run_id = write_run(store_dir, epochs=0, adaptations=(), test=False, model=False)
    code, out, _ = invoke(capsys, "show", run_id[:8], "--store", str(store_dir))
    assert code == 0
    assert "no epoch metrics recorded" in out


COMMANDS = [
    ["show", "RUN"],
    ["compare", "RUN", "RUN"],
    ["graph", "RUN", "-o", "g.svg"],
    ["plot", "RUN", "-o", "p.png"],
    ["watch", "RUN"],
    ["steer", "RUN", "--set", "learning_rate=0.1"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_analysis_command_explains_missing_stores_and_unknown_or_ambiguous_runs(command, tmp_path,
                                                                                     store_dir, capsys):
    def run(ref: str, store) -> tuple[int, str, str]:
        args = [str(tmp_path / a) if a.endswith((".svg", ".png")) else (ref if a == "RUN" else a) for a in command]
        return invoke(capsys, *args, "--store", str(store))

    code, out, err = run("abc", tmp_path / "nowhere")
    assert code == 2 and "no provinstr store" in err and "Traceback" not in err + out

    ids = [write_run(store_dir, epochs=1)]
    while len({i[0] for i in ids}) == len(ids):  # until two runs share a first character
        ids.append(write_run(store_dir, epochs=1))
    code, out, err = run("zzzz", store_dir)
    assert code == 2 and "no run matches 'zzzz'" in err
    code, out, err = run(ids[-1][0], store_dir)
    assert code == 2 and "ambiguous" in err and "Traceback" not in err


KERAS_SCRIPT = """
import numpy as np
import keras

x = np.random.default_rng(1).random((200, 8)).astype("float32")
y = (x.sum(axis=1) > 4).astype("float32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu", name="hidden"),
                          keras.layers.Dropout(0.25), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0)
model.evaluate(x, y, verbose=0)
"""


def test_show_and_graph_of_a_real_keras_run(store_dir, tmp_path, cli, capsys):
    (tmp_path / "train.py").write_text(KERAS_SCRIPT)
    done = cli("run", "train.py", "--store", str(store_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    code, out, err = invoke(capsys, "show", "last", "--store", str(store_dir))
    assert code == 0, err
    assert "train.py" in out and "completed" in out and "keras" in out
    assert "learning_rate" in out and "Adam" in out.replace("adam", "Adam")
    hidden = next(line.split() for line in out.splitlines() if " hidden " in f" {line} ")
    assert hidden[1:] == ["Dense", "hidden", "units=16,", "activation=relu,", "…", "7"]  # 7: its source line
    assert epoch_column(out) == ["0", "1", "2"]
    assert "val_loss" in out and "Test results" in out
    svg = tmp_path / "g.svg"
    assert invoke(capsys, "graph", "last", "-o", str(svg), "--store", str(store_dir))[0] == 0
    assert ">Training<" in svg.read_text() and ">3 epochs (0–2)<" in svg.read_text()


def test_show_lists_transformations_with_calls_grouped_and_every_line_stays_short(store_dir, capsys):
    run_id = write_denseed_run(store_dir, L=4, dense_blocks=3)
    code, out, err = invoke(capsys, "show", run_id[:8], "--store", str(store_dir))
    assert code == 0, err
    section = out.split("Transformations", 1)[1].split("Layers", 1)[0]
    rows = [line.split() for line in section.splitlines() if line.strip()]
    assert rows[0] == ["transformation", "calls", "inputs", "outputs", "line"]
    assert rows[1][:5] == ["Encoder", "×1", "filters=32", "padding=same", "strides=2"]
    assert rows[2][:4] == ["DenseBlock", "×3", "K=24", "L=4"]
    assert "ndarray [2, 16, 16, 128] float32" in section
    assert "Conv2D" in out and "GlorotUniform" not in out  # key arguments only ...
    assert "padding_note" not in out and max(len(line) for line in out.splitlines()) < 200  # ... never the config
