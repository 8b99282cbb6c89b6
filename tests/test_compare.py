"""`provinstr compare`: runs side by side, only what differs unless --all."""

from __future__ import annotations

import struct

from analysis_runs import LAYERS, invoke, write_denseed_run, write_run


def rows(out: str) -> dict[str, list[str]]:
    """{row label: cells} of the comparison tables."""
    found = {}
    for line in out.splitlines():
        cells = [c for c in line.split("  ") if c.strip()]
        if len(cells) >= 3:
            found[cells[0].strip()] = [c.strip() for c in cells[1:]]
    return found


def test_compare_shows_what_differs_and_the_results_side_by_side(store_dir, tmp_path, capsys):
    wide = [("keras.layers.Dense", "hidden", 12, {"units": 64, "activation": "relu"}), *LAYERS[1:]]
    first = write_run(store_dir, name="a.py", epochs=5)
    second = write_run(store_dir, name="b.py", epochs=3, hyper={"learning_rate": 0.001}, layers=wide)
    picture = tmp_path / "curves.png"
    code, out, err = invoke(capsys, "compare", first[:8], second[:8], "--store", str(store_dir),
                            "--plot", str(picture))
    assert code == 0, err
    table = rows(out)
    assert table["learning_rate"] == ["0.01", "0.001"]
    assert table["epochs"] == ["5", "3"]
    assert "optimizer" not in table and "batch_size" not in table
    assert "2 hyperparameters identical (--all shows them)" in out
    assert table["layer 0"] == ["Dense hidden (units=16, activation=relu)", "Dense hidden (units=64, activation=relu)"]
    assert "layer 1" not in table
    assert table["loss final"][0] != table["loss final"][1]
    assert table["val_loss best"][0].endswith("(epoch 4)")
    assert picture.stat().st_size > 0 and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", picture.read_bytes()[16:24]) == (800, 500)

    code, out, _ = invoke(capsys, "compare", first[:8], second[:8], "--all", "--store", str(store_dir))
    table = rows(out)
    assert table["optimizer"] == ["adam", "adam"] and table["layer 1"][0] == table["layer 1"][1]


def test_compare_needs_two_runs(store_dir, capsys):
    run_id = write_run(store_dir, epochs=1)
    code, _, err = invoke(capsys, "compare", run_id[:8], "--store", str(store_dir))
    assert code == 2 and "at least two runs" in err


def test_compare_shows_the_transformation_attributes_that_differ(store_dir, capsys):
    shallow, deep = write_denseed_run(store_dir, L=4), write_denseed_run(store_dir, L=8)
    code, out, err = invoke(capsys, "compare", shallow[:8], deep[:8], "--store", str(store_dir))
    assert code == 0, err
    table = rows(out)
    assert table["DenseBlock.L"] == ["4", "8"]
    assert table["DenseBlock → output"] == ["ndarray [2, 16, 16, 128] float32", "ndarray [2, 16, 16, 224] float32"]
    assert "Encoder.filters" not in table and "transformation values identical" in out
    assert "3 hyperparameters all identical" in out
    assert table["layers"] == ["16 layers: Conv2D ×8, BatchNormalization ×4, Concatenate ×4",
                               "28 layers: Conv2D ×12, BatchNormalization ×8, Concatenate ×8"]
    assert "different numbers of layers" in out
    code, out, _ = invoke(capsys, "compare", shallow[:8], deep[:8], "--all", "--store", str(store_dir))
    assert rows(out)["layer 3"][0].startswith("Conv2D dense_conv_0 (filters=24, kernel_size=3, padding=same")
    assert "padding_note" not in out and max(len(line) for line in out.splitlines()) < 300


def test_compare_group_compares_every_run_of_a_sweep(store_dir, capsys):
    members = [write_denseed_run(store_dir, L=L, group="depth") for L in (2, 4, 6)]
    write_denseed_run(store_dir, L=8)  # not in the sweep
    code, out, err = invoke(capsys, "compare", "--group", "depth", "--store", str(store_dir))
    assert code == 0, err
    assert rows(out)["DenseBlock.L"] == ["2", "4", "6"]
    assert all(member[:8] in out for member in members)
    code, _, err = invoke(capsys, "compare", "--group", "width", "--store", str(store_dir))
    assert code == 2 and "no run belongs to group 'width'" in err and "depth" in err
