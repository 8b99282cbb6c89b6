"""`provinstr plot`: learning curves as a picture, adaptations marked."""

from __future__ import annotations

import struct

from analysis_runs import invoke, start_running_run, write_run


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_plot_draws_the_curves_of_several_runs_at_the_asked_size(store_dir, tmp_path, capsys):
    first, second = write_run(store_dir, epochs=6), write_run(store_dir, epochs=4, scale=0.5)
    out_file = tmp_path / "out" / "curves.png"
    code, out, err = invoke(capsys, "plot", first[:8], second[:8], "--metric", "loss", "--metric", "val_loss",
                            "-o", str(out_file), "--width", "6", "--height", "4", "--store", str(store_dir))
    assert code == 0, err
    assert f"wrote {out_file}" in out
    assert png_size(out_file) == (600, 400)


def test_plot_marks_adaptations_on_the_curve(store_dir, tmp_path, capsys):
    run_id = write_run(store_dir, epochs=6)
    svg = tmp_path / "curve.svg"
    code, _, err = invoke(capsys, "plot", run_id[:8], "-o", str(svg), "--store", str(store_dir))
    assert code == 0, err
    text = svg.read_text()
    assert "learning_rate: 0.01→0.005" in text and "ReduceLROnPlateau" in text


def test_plot_explains_a_missing_metric_and_a_run_without_epochs(store_dir, tmp_path, capsys):
    run_id = write_run(store_dir, epochs=3)
    empty = write_run(store_dir, epochs=0, adaptations=())
    code, _, err = invoke(capsys, "plot", run_id[:8], "--metric", "f1", "-o", str(tmp_path / "x.png"),
                          "--store", str(store_dir))
    assert code == 2 and "no epoch metric f1" in err and "it has: loss, accuracy, val_loss" in err
    code, _, err = invoke(capsys, "plot", empty[:8], "-o", str(tmp_path / "x.png"), "--store", str(store_dir))
    assert code == 2 and "has no epoch metrics; nothing to plot" in err
    code, _, err = invoke(capsys, "plot", run_id[:8], "-o", str(tmp_path / "x.jpeg"), "--store", str(store_dir))
    assert code == 2 and "name the file .png, .svg or .pdf" in err


def test_plot_of_a_running_run_draws_what_was_flushed(store_dir, tmp_path, capsys):
    live = start_running_run(store_dir, epochs=2)
    try:
        code, _, err = invoke(capsys, "plot", live.id[:8], "-o", str(tmp_path / "live.png"), "--store", str(store_dir))
    finally:
        live.end()
    assert code == 0, err
    assert png_size(tmp_path / "live.png") == (800, 500)
