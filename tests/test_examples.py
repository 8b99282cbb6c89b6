"""The examples: DenseED under `provinstr run` answers the seed's queries; the scripts are plain Keras."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import provinstr
import pytest
from conftest import REPO

DENSEED = REPO / "examples" / "denseed"
DIGITS = REPO / "examples" / "digits"
TORCH = REPO / "examples" / "torch"


def _demo_module():
    """examples/denseed/demo.py, imported, so the test asks exactly the queries `make demo` asks."""
    spec = importlib.util.spec_from_file_location("denseed_demo", DENSEED / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_denseed_under_provinstr_run_answers_seed_queries_a_and_b(tmp_path, cli):
    store = tmp_path / "store"
    result = cli(
        "run", "--rules", str(DENSEED / "rules.toml"), str(DENSEED / "train.py"),
        "--K", "24", "--L", "4", "--epochs", "2", "--samples", "64", "--out", str(tmp_path / "model"),
        cwd=tmp_path, env={"PROVINSTR_STORE": str(store)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "model" / "denseed_K24_L4.keras").is_file()

    demo = _demo_module()
    runs = provinstr.open_store(store)
    (loss,), = runs.query(demo.QUERY_A.format(K=24, L=4, epoch=1)).rows  # (a) at the last epoch trained
    assert isinstance(loss, float) and loss > 0
    first_epochs = runs.query(demo.QUERY_B).rows  # (b): only two epochs were trained
    assert [epoch for epoch, _ in first_epochs] == [0, 1]
    assert all(isinstance(value, float) for _, value in first_epochs)
    assert first_epochs[1][1] == loss

    # rules.toml made the user's own encoder record its padding and strides, with no change to train.py
    encoder = runs.query(
        'SELECT ?name ?value WHERE { GRAPH ?run { ?t a pi:Transformation ; rdfs:label "Encoder" ; prov:used ?a .'
        ' ?a pi:name ?name ; prov:value ?value } } ORDER BY ?name'
    ).rows
    assert ("padding", "same") in encoder and ("strides", 2) in encoder


def test_digits_under_provinstr_run_records_reduce_lr_on_plateau_halving_the_learning_rate(tmp_path, cli):
    store = tmp_path / "store"
    result = cli("run", str(DIGITS / "train.py"), "--epochs", "8", "--out", str(tmp_path / "model"),
                 cwd=tmp_path, env={"PROVINSTR_STORE": str(store)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    adaptations = provinstr.open_store(store).query(
        'SELECT ?epoch ?old ?new ?trigger WHERE { GRAPH ?run { ?a a pi:Adaptation ; pi:epoch ?epoch ;'
        ' pi:trigger ?trigger ; prov:used ?u ; prov:generated ?g .'
        ' ?u pi:name "learning_rate" ; prov:value ?old . ?g pi:name "learning_rate" ; prov:value ?new } }'
        ' ORDER BY ?epoch'
    ).rows
    assert adaptations, "the plateau callback never acted within 8 epochs"
    epoch, old, new, trigger = adaptations[0]
    assert 0 < epoch < 8 and new == pytest.approx(old / 2) and "ReduceLROnPlateau" in trigger


def test_digits_example_runs_with_plain_python_and_saves_its_model(tmp_path):
    result = subprocess.run(
        [sys.executable, str(DIGITS / "train.py"), "--epochs", "1", "--out", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout
    assert (tmp_path / "digits_cnn.keras").is_file()


def test_the_pytorch_example_under_provinstr_run_answers_the_seeds_query_b(tmp_path, cli):
    result = cli("run", str(TORCH / "train.py"), "--epochs", "4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = [float(line.split("train_loss ")[1].split()[0]) for line in result.stdout.splitlines()
               if line.startswith("epoch ")]
    store = provinstr.open_store(tmp_path / ".provinstr")
    rows = store.query(_demo_module().QUERY_B).rows
    assert [epoch for epoch, _ in rows] == [0, 1, 2, 3]
    assert [round(loss, 4) for _, loss in rows] == printed  # the script prints its mean loss to 4 places
    run = store.runs()[-1]
    changes = store.query("""SELECT ?epoch ?trigger WHERE { ?a a pi:Adaptation ; pi:epoch ?epoch ;
        pi:trigger ?trigger } ORDER BY ?epoch""", run=run.id).rows
    assert changes == [(2, "StepLR")]
    assert (tmp_path / "small_cnn.pt").is_file()


def test_the_lightning_example_under_provinstr_run_records_its_logged_epochs(tmp_path, cli):
    result = cli("run", str(TORCH / "lightning_train.py"), "--epochs", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    store = provinstr.open_store(tmp_path / ".provinstr")
    run = store.runs()[-1]
    names = {name for name, in store.query("""SELECT DISTINCT ?name WHERE { ?t a pi:Training ; prov:generated ?m .
        ?m a pi:Metric ; pi:epoch 1 ; pi:name ?name }""", run=run.id).rows}
    assert {"train_loss", "val_loss", "val_acc"} <= names
    assert store.query("SELECT ?v WHERE { ?m a pi:Metric ; pi:name 'test_acc' ; prov:value ?v }", run=run.id).rows


def test_example_training_scripts_do_not_import_provinstr():
    for script in (DENSEED / "train.py", DIGITS / "train.py", TORCH / "train.py", TORCH / "lightning_train.py"):
        tree = ast.parse(script.read_text(), str(script))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "provinstr" not in imported, f"{script.name} imports provinstr"
        assert imported & {"keras", "torch"}
