"""Zero-edit Lightning capture: real Lightning trainings (tests/data/lightning) under `python` and `provinstr run`.

The scripts print what they saw themselves (their own callback's copy of trainer.callback_metrics per epoch,
the rates, the test results, the best checkpoint); the store must hold the same, and the training must be
identical with and without capture (same output, byte-identical checkpoint).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import provinstr
from provinstr.capture import calls
from provinstr.rules import load_rule_file

import lightning  # noqa: E402,F401 - installed by `make test` (the lightning extra)
import pytorch_lightning  # noqa: E402,F401

DATA = Path(__file__).resolve().parent / "data" / "lightning"
RULES = Path(__file__).resolve().parent.parent / "rules" / "lightning.toml"


def run_script(cwd: Path, cli, *args: str, captured: bool = True):
    """train.py under `provinstr run` (or plain `python`), in `cwd`; returns (CompletedProcess, printed JSON)."""
    env = {"PROVINSTR_STRICT": "1"}
    if captured:
        done = cli("run", "--store", str(cwd / ".provinstr"), str(DATA / "train.py"), *args, cwd=cwd, env=env)
    else:
        done = subprocess.run([sys.executable, str(DATA / "train.py"), *args], cwd=cwd, capture_output=True,
                              text=True, timeout=300, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(done.stdout.strip().splitlines()[-1])


def line_of(text: str, script: str = "train.py") -> int:
    """The line of the script that holds `text`."""
    lines = (DATA / script).read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def sha256_of(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def lightning_run(tmp_path_factory):
    """train.py with `import lightning.pytorch as pl`: plain first, then captured, in one folder (same paths)."""
    from conftest import provinstr_cli

    folder = tmp_path_factory.mktemp("lightning")
    _, plain = run_script(folder, provinstr_cli, captured=False)
    plain_checkpoint = sha256_of(plain["best"])
    plain_saved = sha256_of(folder / "final.ckpt")
    for leftover in [*(folder / "checkpoints").iterdir(), folder / "final.ckpt"]:
        leftover.unlink()
    _, seen = run_script(folder, provinstr_cli)
    store = provinstr.open_store(folder / ".provinstr")
    (run,) = store.runs()
    return {"store": store, "run": run, "seen": seen, "plain": plain, "plain_checkpoint": plain_checkpoint,
            "plain_saved": plain_saved, "folder": folder}


@pytest.fixture(scope="module")
def early_run(tmp_path_factory):
    """train.py --pl: `import pytorch_lightning as pl`, with an EarlyStopping that stops at epoch 2."""
    from conftest import provinstr_cli

    folder = tmp_path_factory.mktemp("pytorch_lightning")
    _, seen = run_script(folder, provinstr_cli, "--pl")
    store = provinstr.open_store(folder / ".provinstr")
    (run,) = store.runs()
    return {"store": store, "run": run, "seen": seen}


def rows(found: dict, sparql: str) -> list[dict]:
    return found["store"].query(sparql, run=found["run"].id).dicts()


def per_epoch(found: dict) -> dict[int, dict]:
    table: dict[int, dict] = {}
    for row in rows(found, """SELECT ?epoch ?name ?value WHERE { ?t a pi:Training ; prov:generated ?m .
            ?m a pi:Metric ; pi:name ?name ; pi:epoch ?epoch ; prov:value ?value }"""):
        table.setdefault(row["epoch"], {})[row["name"]] = row["value"]
    return table


def training_hyperparameters(found: dict) -> dict:
    """name -> value of the Training's pi:Hyperparameters (a name with two nodes holding one value appears once)."""
    values: dict = {}
    for row in rows(found, """SELECT ?name ?value WHERE { ?t a pi:Training ; prov:used ?h .
            ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value }"""):
        values.setdefault(row["name"], set()).add(row["value"] if not isinstance(row["value"], list) else
                                                  json.dumps(row["value"]))
    return {name: next(iter(v)) if len(v) == 1 else v for name, v in values.items()}


# -- capture changes nothing ------------------------------------------------------------------------------
def test_capture_changes_nothing_the_script_sees_nor_the_checkpoint_it_writes(lightning_run):
    seen, plain = lightning_run["seen"], lightning_run["plain"]
    assert seen == plain  # every logged value, rate, test result, the best checkpoint's path and score
    assert sha256_of(seen["best"]) == lightning_run["plain_checkpoint"]  # byte-identical checkpoints
    assert sha256_of(lightning_run["folder"] / "final.ckpt") == lightning_run["plain_saved"]
    assert seen["callbacks_kept"] and seen["callbacks"] == ["Seen", "ModelCheckpoint"]
    assert lightning_run["run"].status == "completed"


# -- epochs -------------------------------------------------------------------------------------------------
def test_every_value_the_module_logged_is_a_metric_of_its_epoch_under_its_own_name(lightning_run):
    seen, table = lightning_run["seen"], per_epoch(lightning_run)
    assert sorted(table) == [0, 1, 2]
    for epoch, logged in enumerate(seen["epochs"]):
        for name in ("train_loss", "train_loss_epoch", "val_loss", "val_acc"):
            assert table[epoch][name] == logged[name], (epoch, name)
        assert "train_loss_step" not in table[epoch]  # the per-step fork of an on_step + on_epoch value
        assert table[epoch]["epoch_seconds"] > 0 and table[epoch]["steps"] == 4
    # what the module logs in its own on_train_epoch_end (after every callback's) belongs to that epoch
    later = [*seen["epochs"][1:], seen["final"]]
    assert [table[epoch]["lr_seen"] for epoch in range(3)] == [values["lr_seen"] for values in later]


def test_the_learning_rate_of_each_epoch_and_each_steplr_change_are_recorded_exactly(lightning_run):
    table = per_epoch(lightning_run)
    assert [table[epoch]["lr"] for epoch in range(3)] == lightning_run["seen"]["rates"] == [0.1, 0.05, 0.025]
    changes = rows(lightning_run, """SELECT ?epoch ?old ?new ?trigger WHERE { ?t a pi:Training ; prov:wasInformedBy ?a .
        ?a a pi:Adaptation ; pi:epoch ?epoch ; pi:trigger ?trigger ; prov:used ?o ; prov:generated ?n .
        ?o pi:name "lr" ; prov:value ?old . ?n pi:name "lr" ; prov:value ?new } ORDER BY ?epoch""")
    assert [tuple(c.values()) for c in changes] == [(1, 0.1, 0.05, "StepLR"), (2, 0.05, 0.025, "StepLR")]


# -- configuration ------------------------------------------------------------------------------------------
def test_hparams_trainer_settings_optimizer_and_scheduler_are_hyperparameters_of_the_training(lightning_run):
    values = training_hyperparameters(lightning_run)
    # save_hyperparameters(): hidden, lr, gamma (lr has a node of its own next to the optimizer's lr)
    assert values["hidden"] == 8 and values["gamma"] == 0.5 and values["lr"] == 0.1
    assert len(rows(lightning_run, 'SELECT ?h WHERE { ?t a pi:Training ; prov:used ?h . ?h pi:name "lr" }')) == 2
    # the Trainer's settings in effect, defaults included
    assert values["max_epochs"] == 3 and values["gradient_clip_val"] == 1.0 and values["precision"] == "32-true"
    assert values["accelerator"] == "cpu" and values["devices"] == 1 and values["strategy"] == "single_device"
    assert values["accumulate_grad_batches"] == 1 and values["check_val_every_n_epoch"] == 1
    assert values["limit_train_batches"] == 1.0 and values["val_check_interval"] == 1.0
    assert values["deterministic"] is False and values["num_sanity_val_steps"] == 2
    assert values["callbacks"] == '["Seen", "ModelCheckpoint"]'
    # configure_optimizers: SGD with every value in effect, StepLR's settings and interval
    assert values["optimizer"] == "SGD" and values["momentum"] == 0.9 and values["weight_decay"] == 0
    assert values["lr_scheduler"] == "StepLR" and values["lr_scheduler.step_size"] == 1
    assert values["lr_scheduler.gamma"] == 0.5 and values["lr_scheduler.interval"] == "epoch"
    # the training loader's settings
    assert values["batch_size"] == 16 and values["shuffle"] is True
    # the Trainer(...) call as written is a component the Training used
    written = rows(lightning_run, """SELECT ?name ?value WHERE { ?t a pi:Training ; prov:used ?c .
        ?c pi:name "lightning.pytorch.Trainer" ; pi:attribute [ pi:name ?name ; prov:value ?value ] }""")
    assert {r["name"]: r["value"] for r in written}["max_epochs"] == 3


def test_the_modules_layers_and_the_data_it_trained_on_are_recorded(lightning_run):
    layers = {r["label"]: r for r in rows(lightning_run, """SELECT ?label ?class ?line WHERE {
        ?t a pi:Training ; prov:used ?l . ?l a pi:Layer ; rdfs:label ?label ; pi:layerClass ?class .
        OPTIONAL { ?l pi:sourceLine ?line } }""")}
    assert layers["net.0"]["class"] == "torch.nn.Linear" and layers["net.0"]["line"] == line_of("nn.Sequential(")
    assert layers["model"]["class"] == "__main__.TwoLayer"
    data = {r["name"]: r for r in rows(lightning_run, """SELECT ?name ?shape WHERE {
        ?t a pi:Training ; prov:used ?d . ?d a pi:Dataset ; pi:name ?name . OPTIONAL { ?d pi:shape ?shape } }""")}
    assert json.loads(data["train_set.tensors[0]"]["shape"]) == [64, 4]
    assert json.loads(data["val_set.tensors[0]"]["shape"]) == [32, 4]


# -- checkpoints, test, predict -------------------------------------------------------------------------------
def test_modelcheckpoint_files_are_models_of_the_training_with_their_epoch_and_sha256(lightning_run):
    seen = lightning_run["seen"]
    models = {r["path"]: r for r in rows(lightning_run, """SELECT ?path ?sha ?epoch ?comment WHERE {
        ?t a pi:Training ; prov:generated ?m . ?m a pi:Model ; prov:wasGeneratedBy ?t ; prov:atLocation ?path ;
        pi:sha256 ?sha ; pi:epoch ?epoch . OPTIONAL { ?m rdfs:comment ?comment } }""")}
    best = models[seen["best"]]
    assert best["sha"] == sha256_of(seen["best"]) and best["epoch"] == 2
    assert best["comment"] == f"the best checkpoint of ModelCheckpoint (val_loss = {seen['best_score']})"
    assert sorted(m["epoch"] for m in models.values()) == [0, 1, 2]  # each epoch's file, replaced by the next
    assert all("removed" in m["comment"] for path, m in models.items() if path != seen["best"])


def test_test_results_are_metrics_of_a_test_and_predict_an_inference_both_informed_by_the_training(lightning_run):
    seen = lightning_run["seen"]
    tests = rows(lightning_run, """SELECT ?name ?value ?label WHERE { ?x a pi:Test ; rdfs:label "test", ?label ;
        prov:wasInformedBy ?t ; prov:generated ?m . ?t a pi:Training . ?m pi:name ?name ; prov:value ?value }""")
    assert tests == [{"name": "test_acc", "value": seen["test"][0]["test_acc"], "label": "test"}]
    predictions = rows(lightning_run, """SELECT ?shape WHERE { ?i a pi:Inference ; prov:wasInformedBy ?t ;
        prov:generated ?d . ?t a pi:Training . ?d a pi:Dataset ; pi:name "predictions" ; pi:shape ?shape }""")
    assert [json.loads(r["shape"]) for r in predictions] == [seen["predictions"]]


def test_validate_of_the_best_checkpoint_is_a_test_that_used_that_checkpoints_model(lightning_run):
    seen = lightning_run["seen"]
    found = rows(lightning_run, """SELECT ?name ?value ?path ?sha WHERE { ?x a pi:Test ; rdfs:label "validate" ;
        prov:wasInformedBy ?t ; prov:used ?m ; prov:generated ?metric . ?t a pi:Training ; prov:generated ?m .
        ?m a pi:Model ; prov:atLocation ?path ; pi:sha256 ?sha . ?metric pi:name ?name ; prov:value ?value }""")
    assert {r["name"]: r["value"] for r in found} == seen["validate"][0]  # val_loss and val_acc, as returned
    assert {(r["path"], r["sha"]) for r in found} == {(seen["best"], sha256_of(seen["best"]))}


def test_save_checkpoint_is_a_model_generated_by_the_training(lightning_run):
    path = lightning_run["folder"] / "final.ckpt"
    found = rows(lightning_run, """SELECT ?path ?sha ?line WHERE { ?m a pi:Model ; prov:atLocation ?path ;
        pi:sha256 ?sha ; pi:sourceLine ?line ; prov:wasGeneratedBy [ a pi:Training ] }""")
    assert found == [{"path": str(path), "sha": sha256_of(path), "line": line_of("trainer.save_checkpoint(")}]


# -- pytorch_lightning, EarlyStopping -------------------------------------------------------------------------
def test_pytorch_lightning_imports_work_and_early_stopping_records_its_stop(early_run):
    seen, table = early_run["seen"], per_epoch(early_run)
    assert seen["stopped_epoch"] == 2 and sorted(table) == [0, 1, 2]
    for epoch, logged in enumerate(seen["epochs"]):
        assert table[epoch]["val_acc"] == logged["val_acc"]
    stops = rows(early_run, """SELECT ?name ?value WHERE { ?t a pi:Training ; prov:generated ?m .
        ?m pi:name ?name ; prov:value ?value . FILTER NOT EXISTS { ?m pi:epoch ?e } }""")
    assert {r["name"]: r["value"] for r in stops} == {"stopped_epoch": 2, "early_stopping.best_score": 0.65625}
    values = training_hyperparameters(early_run)
    assert values["early_stopping.monitor"] == "val_acc" and values["early_stopping.patience"] == 2
    assert values["callbacks"] == '["Seen", "EarlyStopping", "ModelCheckpoint"]'
    assert rows(early_run, 'SELECT ?c WHERE { ?t a pi:Training ; prov:used ?c . ?c pi:name "pytorch_lightning.Trainer" }')
    assert seen["callbacks_kept"]


# -- steering --------------------------------------------------------------------------------------------------
def test_steer_sets_the_rate_at_the_next_epoch_and_steplr_continues_from_it(store_dir, tmp_path):
    from test_steer import steer_while_training

    run, applied, out = steer_while_training(store_dir, tmp_path, DATA / "steered.py", "lr=0.001")
    rates = json.loads(out.strip().splitlines()[-1])
    expected, rate = [], 0.1
    for epoch in range(16):
        if epoch and epoch % 3 == 0:
            rate *= 0.5  # StepLR(step_size=3, gamma=0.5) ...
        if epoch == applied:
            rate = 0.001  # ... and from the steered epoch on, from the steered rate
        expected.append(rate)
    assert rates == expected
    store = provinstr.open_store(store_dir)
    from provinstr.analysis import facts

    [asked] = [a for a in facts.adaptations(store.run(run.id)) if a.trigger == "user"]
    assert (asked.epoch, asked.name, asked.old, asked.new) == (applied, "lr", expected[applied - 1] * (
        0.5 if applied % 3 == 0 else 1), 0.001)
    assert asked.agent and "@" in asked.agent
    lr = {m.epoch: m.value for m in facts.epoch_metrics(store.run(run.id)) if m.name == "lr"}
    assert [lr[epoch] for epoch in range(16)] == expected


# -- in this process: errors and faults -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    """A two-layer LightningModule (its training_step raises when asked) and a loader, built in this process."""
    import lightning.pytorch as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    class Tiny(pl.LightningModule):
        def __init__(self, fail_at_step=None, schedule=None, extra_callback=None):
            super().__init__()
            self.fail_at_step, self.schedule, self.extra_callback = fail_at_step, schedule, extra_callback
            self.net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))

        def training_step(self, batch, index):
            if self.global_step == self.fail_at_step:
                raise ValueError("the user's own error")
            loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
            self.log("loss", loss)
            return loss

        def validation_step(self, batch, index):
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

        def configure_optimizers(self):
            optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
            if self.schedule == "one_cycle":
                scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=8)
                return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
            return optimizer

        def configure_callbacks(self):
            return [self.extra_callback] if self.extra_callback is not None else []

    torch.manual_seed(0)
    x = torch.randn(32, 4)
    return pl, Tiny, DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=8)


def trainer_of(pl, **settings):
    """A Trainer built as rewritten code builds it (calls.wrap with the lightning rules)."""
    calls.activate(load_rule_file(RULES))
    settings = {"max_epochs": 2, "logger": False, "enable_progress_bar": False, "enable_model_summary": False,
                "accelerator": "cpu", "enable_checkpointing": False, **settings}
    return calls.wrap(pl.Trainer, ("lightning.trainer",), 1, "lightning.pytorch.Trainer")(**settings)


def fit(pl, module, loader, trainer=None, val=None, **settings):
    """trainer.fit as rewritten code calls it; the trainer's callbacks are its own list again afterwards."""
    trainer = trainer or trainer_of(pl, **settings)
    given, before = trainer.callbacks, list(trainer.callbacks)
    try:
        calls.wrap(trainer.fit, ("lightning.fit",), 2)(module, loader, val)
    finally:
        if module.extra_callback is None:
            assert trainer.callbacks is given and given == before
    return trainer


def metrics_of(store_dir, training: int = 1) -> dict[str, list]:
    """name -> [epoch, ...] of the metrics the n-th Training recorded per epoch."""
    found: dict[str, list] = {}
    for row in provinstr.open_store(store_dir).query(f"""SELECT ?name ?e WHERE {{ ?t a pi:Training ;
            prov:generated ?m . ?m pi:name ?name ; pi:epoch ?e . FILTER(STRENDS(STR(?t), "/training/{training}"))
            }} ORDER BY ?e""").dicts():
        found.setdefault(row["name"], []).append(row["e"])
    return found


def test_a_users_error_in_training_step_reaches_the_user_and_the_trainer_is_left_as_it_was(store_dir, tiny):
    from provinstr.adapters.torch.training import SESSION

    pl, Tiny, loader = tiny
    with provinstr.run(store=store_dir):
        with pytest.raises(ValueError, match="the user's own error"):
            fit(pl, Tiny(fail_at_step=5), loader)
        assert SESSION.suspended == 0  # plain-loop capture is back
    [training] = provinstr.open_store(store_dir).query("""SELECT ?type ?message WHERE { ?t a pi:Training ;
        pi:exceptionType ?type ; pi:exceptionMessage ?message }""").dicts()
    assert training == {"type": "ValueError", "message": "the user's own error"}
    epochs = provinstr.open_store(store_dir).query("""SELECT ?e WHERE { ?t a pi:Training ; prov:generated ?m .
        ?m pi:name "loss" ; pi:epoch ?e }""").dicts()
    assert epochs == [{"e": 0}]  # the first epoch completed; the one in flight is not recorded


def test_a_capture_fault_warns_once_and_the_fit_completes(store_dir, tiny, monkeypatch):
    from provinstr.adapters.lightning.callback import FitCapture

    def boom(self, trainer):
        raise RuntimeError("injected fault in close_epoch")

    monkeypatch.setattr(FitCapture, "close_epoch", boom)
    monkeypatch.setenv("PROVINSTR_STRICT", "0")
    pl, Tiny, loader = tiny
    module = Tiny()
    with provinstr.run(store=store_dir), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = fit(pl, module, loader)
    assert trainer.current_epoch == 2 and trainer.global_step == 8
    faults = [w for w in caught if "injected fault in close_epoch" in str(w.message)]
    assert len(faults) == 1
    store = provinstr.open_store(store_dir)
    assert store.query('ASK { ?t a pi:Training ; prov:used [ pi:name "max_epochs" ; prov:value 2 ] }')


def test_a_value_lightning_only_kept_from_an_earlier_epoch_is_not_recorded_again(store_dir, tiny):
    pl, Tiny, loader = tiny
    with provinstr.run(store=store_dir):
        fit(pl, Tiny(), loader, val=loader, max_epochs=3, check_val_every_n_epoch=2, num_sanity_val_steps=0)
    found = metrics_of(store_dir)
    assert found["loss"] == [0, 1, 2] and found["val_loss"] == [1]  # validated after the second epoch only


def test_a_per_step_schedule_is_a_hyperparameter_not_a_stream_of_adaptations(store_dir, tiny):
    pl, Tiny, loader = tiny
    with provinstr.run(store=store_dir):
        fit(pl, Tiny(schedule="one_cycle"), loader)
    store = provinstr.open_store(store_dir)
    assert store.query('ASK { ?t a pi:Training ; prov:used [ pi:name "lr_schedule" ; '
                       'prov:value "OneCycleLR (per step)" ] }')
    assert store.query('ASK { ?t a pi:Training ; prov:used [ pi:name "lr_scheduler.interval" ; prov:value "step" ] }')
    assert not store.query("ASK { ?a a pi:Adaptation }")


def test_callbacks_a_module_configures_stay_and_provinstrs_leaves(store_dir, tiny):
    pl, Tiny, loader = tiny
    extra = pl.callbacks.LambdaCallback(on_train_start=lambda trainer, module: None)
    with provinstr.run(store=store_dir):
        trainer = fit(pl, Tiny(extra_callback=extra), loader)
    assert trainer.callbacks == [extra]  # what Lightning itself leaves: the module's callback, nothing of ours
    assert metrics_of(store_dir)["loss"] == [0, 1]


def test_a_second_fit_records_only_the_checkpoints_it_wrote(store_dir, tiny, tmp_path):
    pl, Tiny, loader = tiny
    module = Tiny()
    with provinstr.run(store=store_dir):
        trainer = trainer_of(pl, max_epochs=1, enable_checkpointing=True, default_root_dir=str(tmp_path))
        fit(pl, module, loader, trainer=trainer)
        trainer.fit_loop.max_epochs = 2  # train on for one more epoch
        fit(pl, module, loader, trainer=trainer)
    found = provinstr.open_store(store_dir).query("""SELECT ?t ?path ?e WHERE { ?t a pi:Training ;
        prov:generated ?m . ?m a pi:Model ; prov:atLocation ?path ; pi:epoch ?e }""").dicts()
    assert sorted((r["t"].rsplit("/", 1)[-1], Path(r["path"]).name, r["e"]) for r in found) == [
        ("1", "epoch=0-step=4.ckpt", 0), ("2", "epoch=1-step=8.ckpt", 1)]


def test_the_adapter_package_imports_no_framework():
    code = ("import sys, provinstr.adapters.lightning as a; assert a.OPTIONS; "
            "assert not {'lightning', 'pytorch_lightning', 'torch'} & set(sys.modules), sorted(sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
