"""Zero-edit PyTorch capture: real training scripts in tests/data/torch, run under `python` and `provinstr run`.

Each script writes what it computed itself (losses, validation values, rates, final weights) to a
JSON file; the store must hold the same, and the training must be bit-identical with and without capture.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import provinstr
from fingerprints import documented_sha256

import torch  # noqa: E402,F401 - installed by `make test` (torch==2.13.0, the CPU build)

DATA = Path(__file__).resolve().parent / "data" / "torch"


def run_both(tmp_path: Path, cli, script: str, *args: str, env: dict | None = None):
    """The script under `python` and under `provinstr run`: (plain, captured) CompletedProcess and JSON."""
    env = {"PROVINSTR_STRICT": "1", **(env or {})}
    plain = subprocess.run([sys.executable, str(DATA / script), *args, str(tmp_path / "plain.json")],
                           cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    captured = cli("run", str(DATA / script), *args, str(tmp_path / "captured.json"), cwd=tmp_path, env=env)
    return plain, captured


def seen(tmp_path: Path, which: str) -> dict:
    return json.loads((tmp_path / f"{which}.json").read_text())


def store_of(tmp_path: Path):
    store = provinstr.open_store(tmp_path / ".provinstr")
    return store, store.runs()[-1]


def rows(store, run, sparql: str) -> list[dict]:
    return store.query(sparql, run=run.id).dicts()


def per_epoch(store, run, name: str) -> list:
    found = rows(store, run, f"""SELECT ?epoch ?value WHERE {{ ?t a pi:Training ; prov:generated ?m .
        ?m a pi:Metric ; pi:name "{name}" ; pi:epoch ?epoch ; prov:value ?value }} ORDER BY ?epoch""")
    assert [r["epoch"] for r in found] == list(range(len(found)))
    return [r["value"] for r in found]


def hyperparameters(store, run) -> dict:
    return {r["name"]: r["value"] for r in rows(store, run, """SELECT ?name ?value WHERE {
        ?t a pi:Training ; prov:used ?h . ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value }""")}


def adaptations(store, run) -> list[tuple]:
    return [(r["epoch"], r["old"], r["new"], r["trigger"]) for r in rows(store, run, """
        SELECT ?epoch ?old ?new ?trigger WHERE { ?t a pi:Training ; prov:wasInformedBy ?a .
          ?a a pi:Adaptation ; pi:epoch ?epoch ; pi:trigger ?trigger ; prov:used ?o ; prov:generated ?n .
          ?o pi:name "lr" ; prov:value ?old . ?n pi:name "lr" ; prov:value ?new } ORDER BY ?epoch""")]


def close(values, expected, tolerance=1e-6):
    return len(values) == len(expected) and all(abs(a - b) <= tolerance * max(1.0, abs(b))
                                                for a, b in zip(values, expected))


# -- a flat loop --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("flat")
    from conftest import provinstr_cli

    plain, captured = run_both(tmp_path, provinstr_cli, "flat.py")
    assert plain.returncode == 0, plain.stderr
    assert captured.returncode == 0, captured.stderr
    return tmp_path, plain, captured


def test_a_flat_loop_trains_bit_identically_and_prints_the_same(flat):
    tmp_path, plain, captured = flat
    assert captured.stdout == plain.stdout
    assert seen(tmp_path, "captured")["weights"] == seen(tmp_path, "plain")["weights"]


def test_a_flat_loop_records_each_epoch_as_the_script_computed_it(flat):
    tmp_path, _, _ = flat
    store, run = store_of(tmp_path)
    script = seen(tmp_path, "plain")
    assert close(per_epoch(store, run, "loss"), script["loss"])
    assert per_epoch(store, run, "val_loss") == script["val_loss"]
    assert per_epoch(store, run, "val_acc") == script["val_acc"]
    assert per_epoch(store, run, "lr") == script["lr"]
    assert per_epoch(store, run, "steps") == script["steps"]
    assert len(per_epoch(store, run, "epoch_seconds")) == 5


def test_a_step_lr_schedule_is_two_adaptations_at_the_epochs_it_took_effect(flat):
    store, run = store_of(flat[0])
    assert adaptations(store, run) == [(2, 0.1, 0.05, "StepLR"), (4, 0.05, 0.025, "StepLR")]


def test_the_optimizer_data_and_schedule_settings_in_effect_are_hyperparameters(flat):
    store, run = store_of(flat[0])
    found = hyperparameters(store, run)
    expected = {"optimizer": "SGD", "lr": 0.1, "momentum": 0.9, "dampening": 0, "nesterov": False,
                "weight_decay": 0, "epochs": 5, "batch_size": 32, "shuffle": True, "drop_last": False,
                "sampler": "RandomSampler", "lr_scheduler": "StepLR", "lr_scheduler.step_size": 2,
                "lr_scheduler.gamma": 0.5, "loss": "torch.nn.CrossEntropyLoss", "model": "torch.nn.Sequential",
                "parameters": 8 * 16 + 16 + 16 * 2 + 2}
    assert {name: found.get(name) for name in expected} == expected


def test_the_layers_are_the_module_tree_with_arguments_and_source_lines(flat):
    store, run = store_of(flat[0])
    layers = rows(store, run, """SELECT ?name ?class ?line ?index WHERE { ?t a pi:Training ; prov:used ?l .
        ?l a pi:Layer ; pi:name ?name ; pi:layerClass ?class ; pi:sourceLine ?line . OPTIONAL { ?l pi:index ?index } }
        ORDER BY ?index""")
    line = next(n for n, text in enumerate((DATA / "flat.py").read_text().splitlines(), 1) if "nn.Sequential(" in text)
    assert [(r["name"], r["class"], r["line"]) for r in layers if r["index"] is not None] == [
        ("0", "torch.nn.Linear", line), ("1", "torch.nn.ReLU", line), ("2", "torch.nn.Dropout", line),
        ("3", "torch.nn.Linear", line)]
    arguments = {(r["layer"], r["name"]): r["value"] for r in rows(store, run, """SELECT ?layer ?name ?value WHERE {
        ?l a pi:Layer ; pi:name ?layer ; pi:attribute [ pi:name ?name ; prov:value ?value ] }""")}
    assert arguments[("0", "in_features")] == 8 and arguments[("0", "out_features")] == 16
    assert arguments[("2", "p")] == 0.1 and arguments[("3", "parameters")] == 34


def test_the_training_data_is_fingerprinted_and_the_saved_model_is_its_file(flat):
    tmp_path, _, _ = flat
    store, run = store_of(tmp_path)
    import torch

    sys.path.insert(0, str(DATA))
    try:
        from common import blobs
    finally:
        sys.path.remove(str(DATA))
    X, y = blobs()
    digests = {r["name"]: r["sha"] for r in rows(store, run, """SELECT ?name ?sha WHERE { ?t a pi:Training ;
        prov:used ?d . ?d a pi:Dataset ; pi:name ?name ; pi:sha256 ?sha }""")}
    assert digests["train_data.tensors[0]"] == documented_sha256(X.numpy())
    assert digests["train_data.tensors[1]"] == documented_sha256(y.numpy())
    model = rows(store, run, """SELECT ?where ?sha WHERE { ?t a pi:Training ; prov:generated ?m .
        ?m a pi:Model ; prov:atLocation ?where ; pi:sha256 ?sha }""")
    assert model == [{"where": str(tmp_path / "model.pt"),
                      "sha": hashlib.sha256((tmp_path / "model.pt").read_bytes()).hexdigest()}]
    assert isinstance(torch.load(tmp_path / "model.pt"), dict)


def test_values_computed_after_the_last_epoch_are_a_test_informed_by_the_training(flat):
    tmp_path, _, _ = flat
    store, run = store_of(tmp_path)
    found = rows(store, run, """SELECT ?name ?value WHERE { ?test a pi:Test ; prov:wasInformedBy ?t ;
        prov:generated [ a pi:Metric ; pi:name ?name ; prov:value ?value ] . ?t a pi:Training }""")
    assert found == [{"name": "test_acc", "value": seen(tmp_path, "plain")["test_acc"]}]


# -- the tutorials' style -------------------------------------------------------------------------------
def test_an_epoch_loop_calling_train_and_test_functions_records_their_values(tmp_path, cli):
    plain, captured = run_both(tmp_path, cli, "functions.py")
    assert plain.returncode == 0 and captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    script = seen(tmp_path, "plain")
    assert seen(tmp_path, "captured")["weights"] == script["weights"]
    store, run = store_of(tmp_path)
    assert close(per_epoch(store, run, "loss"), script["loss"])
    assert per_epoch(store, run, "test_loss") == script["test_loss"]
    assert per_epoch(store, run, "correct") == script["correct"]
    assert per_epoch(store, run, "lr") == script["lr"]
    changes = [(e, old, new) for e, (old, new) in enumerate(zip(script["lr"], script["lr"][1:]), 1) if old != new]
    assert changes, "the script's scheduler should have reduced the rate"
    assert adaptations(store, run) == [(e, old, new, "ReduceLROnPlateau") for e, old, new in changes]
    found = hyperparameters(store, run)
    assert found["optimizer"] == "Adam" and json.loads(found["betas"]) == [0.9, 0.999] and found["eps"] == 1e-08
    assert found["amsgrad"] is False and found["model"] == "__main__.NeuralNetwork"
    names = {r["name"] for r in rows(store, run, "SELECT ?name WHERE { ?t a pi:Training ; prov:used [ a pi:Layer ; pi:name ?name ] }")}
    assert {"features", "features.0", "features.1", "head", "head.0", "head.1", "model"} <= names
    saved = rows(store, run, "SELECT ?where ?sha ?kind WHERE { ?m a pi:Model ; prov:atLocation ?where ; pi:sha256 ?sha ; pi:valueType ?kind }")
    assert saved == [{"where": str(tmp_path / "final.pt"), "kind": "__main__.NeuralNetwork",
                      "sha": hashlib.sha256((tmp_path / "final.pt").read_bytes()).hexdigest()}]


# -- other loop styles ------------------------------------------------------------------------------------
@pytest.mark.parametrize("style, steps", [("while", 4), ("lbfgs", 1), ("manual", 0), ("onecycle", 4), ("user", 4)])
def test_while_loops_accumulation_closures_and_manual_updates_get_their_epochs(tmp_path, cli, style, steps):
    plain, captured = run_both(tmp_path, cli, "styles.py", style)
    assert plain.returncode == 0 and captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    script = seen(tmp_path, "plain")
    assert seen(tmp_path, "captured")["weights"] == script["weights"]
    store, run = store_of(tmp_path)
    assert close(per_epoch(store, run, "loss"), script["losses"])
    assert per_epoch(store, run, "steps") == [steps] * 3
    if style == "onecycle":  # a per-batch schedule: a hyperparameter and the rate of each epoch, no adaptations
        assert adaptations(store, run) == []
        assert hyperparameters(store, run)["lr_schedule"] == "OneCycleLR (per step)"
        assert len(set(per_epoch(store, run, "lr"))) == 3
    if style == "user":
        assert adaptations(store, run) == [(2, 0.1, 0.025, "user code")]


def test_a_rewritten_copy_runs_with_plain_python_and_records_the_same_epochs(tmp_path, cli):
    for name in ("functions.py", "common.py"):
        (tmp_path / name).write_text((DATA / name).read_text())
    done = cli("rewrite", "functions.py", "-o", "functions_prov.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ran = subprocess.run([sys.executable, "functions_prov.py", str(tmp_path / "rewritten.json")], cwd=tmp_path,
                         env={**os.environ, "PROVINSTR_STRICT": "1"}, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    script = seen(tmp_path, "rewritten")
    store, run = store_of(tmp_path)
    assert close(per_epoch(store, run, "loss"), script["loss"])
    assert per_epoch(store, run, "test_loss") == script["test_loss"]


def test_a_script_that_only_uses_tensors_has_a_run_and_no_training(tmp_path, cli):
    plain, captured = run_both(tmp_path, cli, "tensors_only.py")
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    store, run = store_of(tmp_path)
    assert run.status == "completed"
    assert rows(store, run, "SELECT ?t WHERE { ?t a ?kind . VALUES ?kind { pi:Training pi:Test } }") == []


# -- failures ---------------------------------------------------------------------------------------------
def test_a_loop_that_raises_in_epoch_3_fails_as_under_python_and_keeps_epochs_0_to_2(tmp_path, cli):
    plain, captured = run_both(tmp_path, cli, "flat.py", "--fail-at", "3")
    assert plain.returncode == captured.returncode == 1
    assert captured.stderr == plain.stderr and "provinstr" not in captured.stderr
    assert 'flat.py", line' in captured.stderr and "the data ran out in epoch 3" in captured.stderr
    store, run = store_of(tmp_path)
    assert run.status == "failed"
    assert len(per_epoch(store, run, "loss")) == 3


@pytest.mark.parametrize("fault", ["modules", "optimizer", "step", "loss", "save"])
def test_a_fault_in_any_capture_hook_warns_once_and_training_completes(tmp_path, cli, fault, flat):
    plain_folder, plain, _ = flat
    captured = cli("run", str(DATA / "flat.py"), str(tmp_path / "captured.json"), cwd=tmp_path,
                   env={"PROVINSTR_TEST_FAULT": fault, "PROVINSTR_STRICT": "0"})
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    assert seen(tmp_path, "captured")["weights"] == seen(plain_folder, "plain")["weights"]
    warnings = [line for line in captured.stderr.splitlines() if "ProvinstrWarning" in line]
    assert len(warnings) == 1 and f"injected fault in {fault}" in warnings[0]
    strict = cli("run", str(DATA / "flat.py"), str(tmp_path / "strict.json"), cwd=tmp_path,
                 env={"PROVINSTR_TEST_FAULT": fault, "PROVINSTR_STRICT": "1"})
    assert strict.returncode != 0 and f"injected fault in {fault}" in strict.stderr


# -- steering -----------------------------------------------------------------------------------------------
STEERED = """
import json, time
import torch
from torch import nn

torch.manual_seed(0)
X = torch.randn(64, 4)
y = X.sum(1, keepdim=True)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.02}], lr=0.01)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
rates = []
for epoch in range(12):
    rates.append([group["lr"] for group in optimizer.param_groups])
    loss = nn.functional.mse_loss(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    time.sleep(0.4)
print(json.dumps(rates))
"""


def test_steer_sets_the_rate_of_every_group_at_the_next_epoch_and_the_scheduler_keeps_it(store_dir, tmp_path):
    from test_steer import steer_while_training

    script = tmp_path / "train.py"
    script.write_text(STEERED)
    run, applied, out = steer_while_training(store_dir, tmp_path, script, "lr=0.001")
    rates = json.loads(out.strip().splitlines()[-1])
    assert rates[applied] == [0.001, 0.001]  # every group, from the next epoch on
    assert rates[applied + 1] == [0.0005, 0.0005]  # StepLR's next step starts from the steered rate
    store = provinstr.open_store(store_dir)
    found = adaptations(store, store.run(run.id))
    # at that epoch: the scheduler's change, then the asker's
    assert {change for change in found if change[0] == applied} == {
        (applied, rates[applied - 1][0], rates[applied - 1][0] / 2, "StepLR"),
        (applied, rates[applied - 1][0] / 2, 0.001, "user")}
    assert [trigger for _, _, _, trigger in found].count("StepLR") == 11


# -- what third parties bring ---------------------------------------------------------------------------------
def test_custom_datasets_optimizers_and_wrapped_models_are_read_through_and_checkpoints_linked(tmp_path, cli):
    plain, captured = run_both(tmp_path, cli, "custom.py")
    assert plain.returncode == 0 and captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout  # a random transform in the dataset: its sample left the RNG as it was
    script = seen(tmp_path, "plain")
    assert seen(tmp_path, "captured")["weights"] == script["weights"]
    store, run = store_of(tmp_path)
    found = hyperparameters(store, run)
    assert (found["optimizer"], found["lr"], found["shrink"]) == ("PlainSGD", 0.2, 0.001)
    assert found["model"] == "torch.nn.Sequential"  # inside DataParallel(torch.compile(...))
    layers = {r["name"]: r["class"] for r in rows(store, run, """SELECT ?name ?class WHERE {
        ?t a pi:Training ; prov:used [ a pi:Layer ; pi:name ?name ; pi:layerClass ?class ] }""")}
    assert layers == {"0": "torch.nn.Linear", "1": "torch.nn.GELU", "2": "torch.nn.Linear", "model": "torch.nn.Sequential"}
    datasets = {r["name"]: r for r in rows(store, run, """SELECT ?name ?kind ?length ?sha ?comment WHERE {
        ?t a pi:Training ; prov:used ?d . ?d a pi:Dataset ; pi:name ?name ; pi:valueType ?kind ; rdfs:comment ?comment .
        OPTIONAL { ?d pi:cardinality ?length } OPTIONAL { ?d pi:sha256 ?sha } }""")}
    assert datasets["train_loader.dataset"]["length"] == 192 and len(datasets["train_loader.dataset"]["sha"]) == 64
    assert datasets["val_loader.dataset"]["sha"] is None and "not read" in datasets["val_loader.dataset"]["comment"]
    checkpoints = rows(store, run, """SELECT ?epoch ?where ?sha WHERE { ?t a pi:Training ; prov:generated ?m .
        ?m a pi:Model ; pi:epoch ?epoch ; prov:atLocation ?where ; pi:sha256 ?sha } ORDER BY ?epoch""")
    assert [(r["epoch"], Path(r["where"]).name) for r in checkpoints] == [(e, f"checkpoint_{e}.pt") for e in range(3)]
    assert all(r["sha"] == hashlib.sha256(Path(r["where"]).read_bytes()).hexdigest() for r in checkpoints)
    test = rows(store, run, """SELECT ?where ?value WHERE { ?test a pi:Test ; prov:used [ a pi:Model ; prov:atLocation ?where ] ;
        prov:generated [ pi:name "test_loss" ; prov:value ?value ] }""")
    assert test == [{"where": str(tmp_path / f"checkpoint_{script['best']}.pt"), "value": script["test_loss"]}]


def test_trainings_in_sequence_each_get_their_epochs_data_and_free_their_models(tmp_path, cli):
    plain, captured = run_both(tmp_path, cli, "sequences.py")
    assert plain.returncode == 0 and captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout  # the dataset's own generator drew exactly what it draws under python
    script = seen(tmp_path, "captured")
    assert script["weights"] == seen(tmp_path, "plain")["weights"]
    assert script["alive"] == [False] * 4  # a finished training keeps no model alive
    store, run = store_of(tmp_path)
    trainings = rows(store, run, """SELECT ?t (COUNT(DISTINCT ?epoch) AS ?epochs) (SAMPLE(?size) AS ?batch) WHERE {
        ?t a pi:Training ; prov:startedAtTime ?at ; prov:generated [ pi:name "loss" ; pi:epoch ?epoch ] .
        OPTIONAL { ?t prov:used [ a pi:Hyperparameter ; pi:name "batch_size" ; prov:value ?size ] } }
        GROUP BY ?t ?at ORDER BY ?at""")
    assert [(r["epochs"], r["batch"]) for r in trainings] == [(3, None), (2, None), (2, 16), (2, 16)]
    assert rows(store, run, "SELECT ?t WHERE { ?t a pi:Test }") == []
    assert "ProvinstrWarning" not in captured.stderr
