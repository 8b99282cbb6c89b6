"""`provinstr compare`: runs side by side, only what differs unless --all."""

from __future__ import annotations

import struct

from analysis_runs import LAYERS, invoke, write_run


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
