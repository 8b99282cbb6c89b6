"""`provinstr graph`: the provenance graph in PROV notation, via Graphviz when it is installed."""

from __future__ import annotations

import re
import shutil

import pytest
from analysis_runs import invoke, write_denseed_run, write_run


def test_graph_draws_activities_entities_and_agents_in_prov_notation(store_dir, tmp_path, capsys):
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is needed for this test: apt-get install graphviz")
    run_id = write_run(store_dir, name="train.py", epochs=5)
    svg = tmp_path / "graph.svg"
    code, out, err = invoke(capsys, "graph", run_id[:8], "-o", str(svg), "--store", str(store_dir))
    assert code == 0, err
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for label in ("Run", "train.py", "Training", "fit", "Test", "evaluate", "Adaptation", "trigger: ReduceLROnPlateau"):
        assert f">{label}<" in text, label
    assert ">5 epochs (0–4)<" in text  # the loss of five epochs as one node
    for edge in ("used", "wasGeneratedBy", "wasAssociatedWith", "wasInformedBy"):
        assert f">{edge}<" in text
    png = tmp_path / "graph.png"
    assert invoke(capsys, "graph", run_id[:8], "-o", str(png), "--store", str(store_dir))[0] == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_graph_full_draws_every_epoch_and_the_dot_text_uses_prov_shapes(store_dir, tmp_path, capsys):
    run_id = write_run(store_dir, epochs=3)
    collapsed, full = tmp_path / "g.dot", tmp_path / "full.dot"
    invoke(capsys, "graph", run_id[:8], "-o", str(collapsed), "--store", str(store_dir))
    invoke(capsys, "graph", run_id[:8], "-o", str(full), "--full", "--store", str(store_dir))
    short, everything = collapsed.read_text(), full.read_text()
    assert "shape=box" in short and "shape=ellipse" in short and "shape=house" in short
    assert short.count("Metric\\nloss") == 2  # the training's three epochs in one node + the test's loss
    assert everything.count('"Metric\\nloss = ') == 4  # each epoch and the test separately
    assert "units = 16" in everything and '"attribute"' in everything


def test_graph_without_graphviz_writes_dot_and_says_how_to_get_pictures(store_dir, tmp_path, capsys, monkeypatch):
    run_id = write_run(store_dir, epochs=2)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    code, _, err = invoke(capsys, "graph", run_id[:8], "-o", str(tmp_path / "g.svg"), "--store", str(store_dir))
    assert code == 2
    assert "dot` program is not installed" in err and "apt-get install graphviz" in err
    assert (tmp_path / "g.dot").read_text().startswith("digraph provenance")
    assert not (tmp_path / "g.svg").exists()


def test_graph_of_a_denseed_run_draws_its_layers_as_one_node_and_stays_readable(store_dir, tmp_path, capsys):
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is needed for this test: apt-get install graphviz")
    run_id = write_denseed_run(store_dir, L=8)
    svg, full = tmp_path / "graph.svg", tmp_path / "full.dot"
    assert invoke(capsys, "graph", run_id[:8], "-o", str(svg), "--store", str(store_dir))[0] == 0
    assert invoke(capsys, "graph", run_id[:8], "-o", str(full), "--full", "--store", str(store_dir))[0] == 0
    text = svg.read_text()
    for label in ("Layers", "28 layers", "Conv2D ×12", "DenseBlock", "K = 24", "L = 8", "Attributes"):
        assert f">{label}<" in text, label
    assert ">dense_conv_0<" not in text and "padding_note" not in text
    size = re.search(r'<svg width="(\d+)pt" height="(\d+)pt"', text)
    assert size and int(size[1]) < 2500 and int(size[2]) < 2500, size and size[0]  # was 126,862 pt wide
    everything = full.read_text()
    assert everything.count('"Conv2D\\n') == 12 and "dense_conv_0" in everything
    assert max(len(line) for line in everything.splitlines()) < 400  # a layer's config is cut short
