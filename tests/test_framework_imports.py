"""provinstr imports no framework the script did not, and the adapters share one record of the same data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import provinstr
from fingerprints import documented_sha256

DATA = Path(__file__).resolve().parent / "data"
FRAMEWORKS = ("tensorflow", "torch", "keras", "sklearn", "jax")


def ask(store: Path, sparql: str) -> list[dict]:
    return provinstr.open_store(store).query(sparql).dicts()


def libraries(store: Path) -> set[str]:
    return {r["name"] for r in ask(store, "SELECT ?name WHERE { ?e a pi:Environment ; pi:library [ pi:name ?name ] }")}


@pytest.mark.slow
def test_keras_on_the_torch_backend_never_loads_tensorflow_under_provinstr_run(cli, tmp_path):
    import torch  # noqa: F401 - installed by `make test` (torch==2.13.0, the CPU build)
    env = {"KERAS_BACKEND": "torch"}
    script = DATA / "keras" / "torch_backend.py"
    plain = subprocess.run([sys.executable, str(script), str(tmp_path / "plain.json")], cwd=tmp_path,
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr
    captured = cli("run", str(script), str(tmp_path / "captured.json"), cwd=tmp_path, env=env)
    assert captured.returncode == 0, captured.stderr

    plain_seen = json.loads((tmp_path / "plain.json").read_text())
    captured_seen = json.loads((tmp_path / "captured.json").read_text())
    assert plain_seen["backend"] == captured_seen["backend"] == "torch"
    assert "tensorflow" not in plain_seen["loaded"]
    assert captured_seen["loaded"] == plain_seen["loaded"]  # the same frameworks, tensorflow not among them

    store = tmp_path / ".provinstr"
    recorded = libraries(store)
    assert "tensorflow" not in recorded and {"keras", "torch"} <= recorded
    # and the capture did happen: layers, optimizer and epochs of the torch-backend fit
    layers = ask(store, "SELECT ?class WHERE { ?t a pi:Training ; prov:used [ a pi:Layer ; pi:layerClass ?class ] }")
    assert sorted(r["class"] for r in layers) == ["keras.layers.Dense", "keras.layers.Dense", "keras.layers.InputLayer"]
    losses = ask(store, 'SELECT ?e WHERE { ?m a pi:Metric ; pi:name "loss" ; pi:epoch ?e } ORDER BY ?e')
    assert [r["e"] for r in losses] == [0, 1]


def test_a_scikit_learn_script_loads_no_other_framework_under_provinstr_run(cli, tmp_path, run_python):
    source = (DATA / "sklearn" / "digits_search.py").read_text() + (
        "\nwith open(sys.argv[1] + '.frameworks', 'w') as out:\n"
        f"    json.dump([m for m in {FRAMEWORKS!r} if m in sys.modules], out)\n")
    plain = run_python(source, str(tmp_path / "plain.json"), name="search.py")
    assert plain.returncode == 0, plain.stderr
    captured = cli("run", "search.py", str(tmp_path / "captured.json"), cwd=tmp_path)
    assert captured.returncode == 0, captured.stderr
    loaded = json.loads((tmp_path / "captured.json.frameworks").read_text())
    assert loaded == json.loads((tmp_path / "plain.json.frameworks").read_text()) == ["sklearn"]
    assert not {"tensorflow", "keras", "torch"} & libraries(tmp_path / ".provinstr")


@pytest.mark.slow
def test_the_same_array_fitted_by_scikit_learn_and_by_keras_is_one_dataset(cli, tmp_path):
    done = cli("run", str(DATA / "mixed" / "keras_and_sklearn.py"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    features = np.load(tmp_path / "features.npy")
    found = ask(tmp_path / ".provinstr", """
        SELECT ?d ?name ?sha (COUNT(DISTINCT ?t) AS ?trainings) WHERE {
          ?t a pi:Training ; prov:used ?d . ?d a pi:Dataset ; pi:name ?name ; pi:sha256 ?sha .
          FILTER(?name = "features") } GROUP BY ?d ?name ?sha""")
    assert len(found) == 1, found  # one node, named as the script names it, with the documented sha256
    assert found[0]["sha"] == documented_sha256(features) and found[0]["trainings"] == 2
