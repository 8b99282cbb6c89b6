"""The Keras capture suite's key cases on both Keras 3 backends, TensorFlow and PyTorch, by `provinstr run`.

The backend is fixed when Keras is imported, so each backend is one child process: tests/data/keras/
backends.py runs every case once with plain `python` and once under `provinstr run`, and each test
asks the store what the user would ask. The answers must be the same on both backends.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import VOCAB, provinstr_cli
from fingerprints import documented_sha256

import provinstr

SCRIPT = Path(__file__).resolve().parent / "data" / "keras" / "backends.py"
SOURCE = SCRIPT.read_text().splitlines()
BACKENDS = ("tensorflow", "torch")

pytestmark = pytest.mark.slow


@dataclass
class Ran:
    """One backend's two runs of the script: what each saw, and the captured run's store."""

    backend: str
    folder: Path
    plain: dict
    seen: dict
    store: Path
    run: str

    def rows(self, sparql: str) -> list[tuple]:
        return provinstr.open_store(self.store).query(sparql, run=self.run).rows

    def trainings(self, case: str) -> list[str]:
        """The Trainings that fitted the model named `case` (each generated a model labelled so), in order."""
        return [t for t, _ in self.rows(f"""SELECT DISTINCT ?t ?start WHERE {{ ?t a pi:Training ;
            prov:startedAtTime ?start ; prov:generated ?m . ?m a pi:Model ; rdfs:label "{case}" }}
            ORDER BY ?start""")]

    def training(self, case: str) -> str:
        (training,) = self.trainings(case)
        return training

    def hyperparameters(self, case: str) -> dict:
        return dict(self.rows(f"""SELECT ?name ?value WHERE {{ <{self.training(case)}> prov:used ?h .
            ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value }}"""))

    def adaptations(self, case: str) -> list[tuple]:
        return self.rows(f"""SELECT ?epoch ?old ?new ?trigger WHERE {{
            <{self.training(case)}> prov:wasInformedBy ?a .
            ?a a pi:Adaptation ; pi:epoch ?epoch ; pi:trigger ?trigger ; prov:used ?o ; prov:generated ?n .
            ?o pi:name "learning_rate" ; prov:value ?old . ?n pi:name "learning_rate" ; prov:value ?new .
        }} ORDER BY ?epoch""")

    def array(self, name: str) -> np.ndarray:
        return np.load(self.folder / "captured" / f"{name}.npy")


def line_of(text: str) -> int:
    """The script's line that holds `text` (once)."""
    (line,) = [number for number, source in enumerate(SOURCE, 1) if text in source]
    return line


def f32(value: float) -> float:
    return float(str(np.float32(value)))


@pytest.fixture(scope="module", params=BACKENDS)
def ran(request, tmp_path_factory) -> Ran:
    """The script run on one backend by `python` and by `provinstr run` (strict: a capture error fails it)."""
    backend = request.param
    if backend == "torch":
        import torch  # noqa: F401 - installed by `make test` (torch==2.13.0, the CPU build)
    folder = tmp_path_factory.mktemp(f"keras-{backend}")
    # strict mode asked for explicitly too (conftest's session-wide strict_capture also sets it)
    env = {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PROVINSTR_STRICT": "1"}
    plain = subprocess.run([sys.executable, str(SCRIPT), str(folder / "plain")], check=False, cwd=folder,
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr[-3000:]
    store = folder / "store"
    captured = provinstr_cli("run", "--store", str(store), str(SCRIPT), str(folder / "captured"), cwd=folder,
                             env=env)
    assert captured.returncode == 0, captured.stderr[-3000:]
    (run,) = provinstr.open_store(store).runs()
    assert run.status == "completed"
    seen = json.loads((folder / "captured" / "seen.json").read_text())
    assert seen["backend"] == backend
    return Ran(backend, folder, json.loads((folder / "plain" / "seen.json").read_text()), seen, store, run.id)


# -- fit: epochs, metrics, hyperparameters, layers ----------------------------------------------------
def fits(ran: Ran):
    """(case, Training, History) for every fit of the script."""
    for case, history in ran.seen["histories"].items():
        histories = history if isinstance(history, list) else [history]
        trainings = ran.trainings(case)
        assert len(trainings) == len(histories), case
        yield from ((case, training, one) for training, one in zip(trainings, histories))


def test_every_epoch_of_every_fit_has_the_historys_metrics_with_epoch_seconds(ran):
    for case, training, history in fits(ran):
        found = ran.rows(f"""SELECT ?epoch ?name ?value ?seconds WHERE {{ <{training}> prov:generated ?m .
            ?m a pi:Metric ; pi:epoch ?epoch ; pi:name ?name ; prov:value ?value ;
               pi:epochSeconds ?seconds }}""")
        by_epoch: dict[int, dict] = {}
        for epoch, name, value, seconds in found:
            by_epoch.setdefault(epoch, {})[name] = value
            assert seconds > 0
        first = dict(ran.rows(f"""SELECT ?n ?v WHERE {{ <{training}> prov:used ?h .
            ?h pi:name ?n ; prov:value ?v . FILTER(?n = "initial_epoch") }}""")).get("initial_epoch", 0)
        assert sorted(by_epoch) == list(range(first, first + len(history["loss"]))), case
        for epoch, values in by_epoch.items():
            assert set(values) == {*history, "learning_rate", "epoch_seconds"}, case
            assert values["epoch_seconds"] > 0
            for name, series in history.items():
                expected = f32(series[epoch - first]) if name == "learning_rate" else series[epoch - first]
                assert values[name] == expected, (case, epoch, name)
    rates = [v for _, v in ran.rows(f"""SELECT ?epoch ?v WHERE {{
        <{ran.training('metrics')}> prov:generated ?m .
        ?m pi:name "learning_rate" ; pi:epoch ?epoch ; prov:value ?v }} ORDER BY ?epoch""")]
    assert rates == [0.05, 0.05, 0.05]


def test_a_fit_uses_its_arguments_defaults_compile_settings_and_the_optimizer_configuration(ran):
    used = ran.hyperparameters("metrics")
    assert used["epochs"] == 3 and used["batch_size"] == 32 and used["shuffle"] is True
    assert used["initial_epoch"] == 0 and used["steps_per_epoch"] == 8  # 240 samples in batches of 32
    assert used["optimizer"] == "SGD" and used["learning_rate"] == 0.05
    assert used["momentum"] == 0.9 and used["nesterov"] is True
    assert used["loss"] == "sparse_categorical_crossentropy" and used["metrics"] == '["accuracy"]'
    adam = ran.hyperparameters("stopping")  # compile(optimizer="adam")
    assert adam["optimizer"] == "Adam" and adam["learning_rate"] == 0.001
    assert adam["beta_1"] == 0.9 and adam["epsilon"] == 1e-07
    optimizers = ran.rows(f"""SELECT ?class ?momentum WHERE {{ <{ran.training('metrics')}> prov:used ?o .
        ?o pi:name ?class ; pi:attribute [ pi:name "momentum" ; prov:value ?momentum ] }}""")
    assert optimizers == [("keras.optimizers.SGD", 0.9)]
    # the torch backend resolves "adam" to its own subclass: named by the public class all the same
    resolved = ran.rows(f"""SELECT ?class ?line ?beta WHERE {{ <{ran.training('stopping')}> prov:used ?o .
        ?o pi:name ?class ; pi:sourceLine ?line ; pi:attribute [ pi:name "beta_1" ; prov:value ?beta ] }}""")
    assert resolved == [("keras.optimizers.Adam", line_of("model.compile("), 0.9)]


def test_layers_are_recorded_with_their_source_lines_and_arguments(ran):
    found = ran.rows(f"""SELECT ?label ?class ?index ?line ?units ?activation WHERE {{
        <{ran.training('metrics')}> prov:used ?l .
        ?l a pi:Layer ; rdfs:label ?label ; pi:layerClass ?class ; pi:index ?index .
        OPTIONAL {{ ?l pi:sourceLine ?line }}
        OPTIONAL {{ ?l pi:attribute [ pi:name "units" ; prov:value ?units ] }}
        OPTIONAL {{ ?l pi:attribute [ pi:name "activation" ; prov:value ?activation ] }} }}
        ORDER BY ?index""")
    assert found == [
        ("features", "keras.layers.InputLayer", 0, None, None, None),
        ("hidden", "keras.layers.Dense", 1, line_of('name="hidden"'), 8, "relu"),
        ("scores", "keras.layers.Dense", 2, line_of('name="scores"'), 2, "softmax"),
    ]
    ((config,),) = ran.rows(f"""SELECT ?config WHERE {{ <{ran.training('metrics')}> prov:used ?l .
        ?l rdfs:label "scores" ; pi:attribute [ pi:name "config" ; prov:value ?config ] }}""")
    assert '"kernel_initializer"' in config


# -- learning-rate adaptations, early stopping ---------------------------------------------------------
def test_reduce_lr_on_plateau_records_each_reduction_with_its_epoch_and_values(ran):
    assert ran.adaptations("plateau") == [
        (1, 0.05, 0.025, "ReduceLROnPlateau"),
        (2, 0.025, 0.0125, "ReduceLROnPlateau"),
    ]
    callback = ran.rows(f"""SELECT ?factor WHERE {{ <{ran.training('plateau')}> prov:used ?c .
        ?c pi:name "keras.callbacks.ReduceLROnPlateau" ;
           pi:attribute [ pi:name "factor" ; prov:value ?factor ] }}""")
    assert callback == [(0.5,)]


def test_learning_rate_scheduler_records_the_changes_it_made_at_epoch_begin(ran):
    assert ran.adaptations("scheduler") == [
        (1, 0.1, 0.05, "LearningRateScheduler"),
        (2, 0.05, f32(0.1 / 3), "LearningRateScheduler"),
    ]
    rates = ran.rows(f"""SELECT ?epoch ?v WHERE {{ <{ran.training('scheduler')}> prov:generated ?m .
        ?m pi:name "learning_rate" ; pi:epoch ?epoch ; prov:value ?v }} ORDER BY ?epoch""")
    assert [v for _, v in rates] == [0.1, 0.05, f32(0.1 / 3)]


def test_a_learning_rate_schedule_is_a_hyperparameter_and_a_per_epoch_metric_not_adaptations(ran):
    assert ran.adaptations("schedule") == []
    value = ran.hyperparameters("schedule")["learning_rate"]
    assert "ExponentialDecay" in value and '"decay_rate": 0.5' in value
    rates = ran.rows(f"""SELECT ?epoch ?v WHERE {{ <{ran.training('schedule')}> prov:generated ?m .
        ?m pi:name "learning_rate" ; pi:epoch ?epoch ; prov:value ?v }} ORDER BY ?epoch""")
    assert [v for _, v in rates] == [f32(0.1 * 0.5**8), f32(0.1 * 0.5**16)]  # 8 steps per epoch


def test_a_rate_the_script_set_between_two_fits_is_an_adaptation_of_the_second(ran):
    first, second = ran.trainings("refit")
    assert ran.rows(f"""SELECT ?a WHERE {{ <{first}> prov:wasInformedBy ?a . ?a a pi:Adaptation }}""") == []
    found = ran.rows(f"""SELECT ?epoch ?old ?new ?trigger WHERE {{ <{second}> prov:wasInformedBy ?a .
        ?a a pi:Adaptation ; pi:epoch ?epoch ; pi:trigger ?trigger ; prov:used [ prov:value ?old ] ;
           prov:generated [ prov:value ?new ] }}""")
    assert found == [(1, 0.05, 0.01, "user code")]


def test_early_stopping_records_the_epoch_it_stopped_at(ran):
    assert len(ran.seen["histories"]["stopping"]["loss"]) == 2
    assert ran.rows(f"""SELECT ?v WHERE {{ <{ran.training('stopping')}> prov:generated ?m .
        ?m pi:name "stopped_epoch" ; prov:value ?v }}""") == [(1,)]
    assert ran.adaptations("metrics") == ran.adaptations("stopping") == []


# -- data, the model, test, inference --------------------------------------------------------------------
def test_datasets_are_fingerprinted_by_shape_dtype_and_the_documented_sha256(ran):
    found = {label: (shape, dtype, sha) for label, shape, dtype, sha in ran.rows(f"""
        SELECT ?label ?shape ?dtype ?sha WHERE {{ <{ran.training('metrics')}> prov:used ?d .
          ?d a pi:Dataset, mls:Dataset ; rdfs:label ?label ; pi:shape ?shape ; pi:dtype ?dtype ;
             pi:sha256 ?sha }}""")}
    x, y, xv, yv = (ran.array(name) for name in ("x", "y", "xv", "yv"))
    assert found == {
        "x": ("[240, 4]", "float32", documented_sha256(x)),
        "y": ("[240]", "int32", documented_sha256(y)),
        "xv": ("[60, 4]", "float32", documented_sha256(xv)),
        "yv": ("[60]", "int32", documented_sha256(yv)),
    }


def tensor_datasets(ran: Ran) -> list[tuple]:
    return ran.rows(f"""SELECT ?shape ?dtype ?sha WHERE {{ <{ran.training('tensors')}> prov:used ?d .
        ?d a pi:Dataset ; pi:shape ?shape ; pi:dtype ?dtype ; pi:sha256 ?sha }} ORDER BY ?shape""")


def test_the_backends_own_tensors_have_the_fingerprint_of_their_values(ran):
    x, y = ran.array("x")[:120], ran.array("y")[:120]
    assert [(shape, sha) for shape, _, sha in tensor_datasets(ran)] == [
        ("[120, 4]", documented_sha256(x)), ("[120]", documented_sha256(y))]


def test_a_tensors_dtype_is_named_as_an_arrays_is(ran):
    assert [dtype for _, dtype, _ in tensor_datasets(ran)] == ["float32", "int32"]


def test_the_backends_own_stream_is_described_by_its_element_spec_and_cardinality(ran):
    ((kind, spec, cardinality),) = ran.rows(f"""SELECT ?kind ?spec ?n WHERE {{
        <{ran.training('stream')}> prov:used ?d .
        ?d a pi:Dataset ; pi:valueType ?kind ; pi:elementSpec ?spec ; pi:cardinality ?n }}""")
    assert cardinality == 5  # 240 samples in batches of 48
    if ran.backend == "tensorflow":
        assert "TensorSpec(shape=(None, 4), dtype=tf.float32" in spec
    else:
        assert kind == "torch.utils.data.DataLoader"
        assert spec == ("(TensorSpec(shape=(None, 4), dtype=torch.float32), "
                        "TensorSpec(shape=(None,), dtype=torch.int32))")


def assert_weights(model, saved: Path) -> None:
    """The model's weights are, bit for bit, those the script saved with np.savez."""
    expected = np.load(saved)
    weights = model.get_weights()
    assert len(weights) == len(expected.files)
    assert all(np.array_equal(w, expected[f"arr_{i}"]) for i, w in enumerate(weights))


def test_the_trained_model_is_saved_into_the_store_and_evaluate_predict_are_informed_by_the_training(ran):
    import keras  # any backend reads the file: the .keras format does not depend on the one that wrote it

    training = ran.training("metrics")
    ((location, sha),) = ran.rows(f"""SELECT ?where ?sha WHERE {{ <{training}> prov:generated ?m .
        ?m a pi:Model, mls:Model ; rdfs:label "metrics" ; prov:atLocation ?where ; pi:sha256 ?sha ;
           prov:wasGeneratedBy <{training}> }}""")
    assert Path(location).parent == (ran.store / "models" / ran.run).resolve() and location.endswith(".keras")
    assert hashlib.sha256(Path(location).read_bytes()).hexdigest() == sha
    assert_weights(keras.saving.load_model(location, compile=False), ran.folder / "captured" / "weights.npz")

    tested = dict(ran.rows(f"""SELECT ?name ?value WHERE {{ ?e a pi:Test ; prov:wasInformedBy <{training}> ;
        prov:used ?m ; prov:generated ?r . ?m a pi:Model ; rdfs:label "metrics" .
        ?r a pi:Metric ; pi:name ?name ; prov:value ?value }}"""))
    loss, accuracy = ran.seen["results"]["evaluate"]
    assert tested == {"loss": loss, "accuracy": accuracy}
    ((sha_predictions,),) = ran.rows(f"""SELECT ?sha WHERE {{ ?i a pi:Inference ;
        prov:wasInformedBy <{training}> ; prov:generated ?d . ?d a pi:Dataset ; pi:sha256 ?sha }}""")
    assert sha_predictions == documented_sha256(ran.array("predictions"))


def test_a_model_the_script_saves_is_the_file_with_its_sha256_generated_by_the_last_training(ran):
    import keras

    training = ran.training("stream")
    saved_by_user = (ran.folder / "captured" / "saved.keras").resolve()
    assert ran.rows(f"""SELECT ?sha WHERE {{ ?m a pi:Model ; prov:atLocation "{saved_by_user}" ;
        pi:sha256 ?sha ; prov:wasGeneratedBy <{training}> . <{training}> prov:generated ?m }}""") == [
        (hashlib.sha256(saved_by_user.read_bytes()).hexdigest(),)]
    streamed = ran.folder / "captured" / "streamed.npz"
    assert_weights(keras.saving.load_model(saved_by_user, compile=False), streamed)


def test_a_keras_run_passes_the_validator(ran):
    from provinstr.analysis.validate import check_run

    assert check_run(provinstr.open_store(ran.store), ran.run, VOCAB / "prov-o.nq") == []


# -- semantics: the same training, the same frameworks ------------------------------------------------
def test_a_seeded_script_trains_identical_weights_and_histories_with_and_without_capture(ran):
    assert ran.seen["histories"] == ran.plain["histories"]
    assert ran.seen["results"] == ran.plain["results"]
    captured = np.load(ran.folder / "captured" / "weights.npz")
    plain = np.load(ran.folder / "plain" / "weights.npz")
    assert captured.files == plain.files
    for name in plain.files:
        assert captured[name].tobytes() == plain[name].tobytes()
    assert ran.array("predictions").tobytes() == np.load(ran.folder / "plain" / "predictions.npy").tobytes()


def test_capture_loads_no_framework_the_script_did_not(ran):
    assert ran.seen["loaded"] == ran.plain["loaded"]
    assert ran.seen["loaded_at_end"] == ran.plain["loaded_at_end"]
    libraries = {name for (name,) in ran.rows(
        "SELECT ?name WHERE { ?e a pi:Environment ; pi:library [ pi:name ?name ] }")}
    assert {"keras", ran.backend} <= libraries
    # the store names what the program loaded in the end (the script's model.save may load TensorFlow)
    assert ("tensorflow" in libraries) == ("tensorflow" in ran.seen["loaded_at_end"])
    if ran.backend == "torch":
        # every fit, evaluate, predict and provinstr's own saves of the trained models: no TensorFlow
        assert "tensorflow" not in ran.seen["loaded"]
