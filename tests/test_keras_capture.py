"""Keras capture in-process: the shipped rules/keras.toml and the Keras adapter, on real tiny trainings.

Calls are wrapped the way rewritten code wraps them (calls.wrap(callee, rule ids, line, name)).
"""

from __future__ import annotations

import hashlib
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

import provinstr  # noqa: E402
from provinstr.adapters.keras import EPOCH_BEGIN_HOOKS  # noqa: E402
from fingerprints import documented_sha256  # noqa: E402
from provinstr.capture.records import fingerprint  # noqa: E402
from provinstr.capture import calls, safety  # noqa: E402
from provinstr.rules import load_rule_file  # noqa: E402

from conftest import REPO, VOCAB  # noqa: E402

RULES = load_rule_file(REPO / "rules" / "keras.toml")


@pytest.fixture(autouse=True)
def keras_rules():
    calls.activate(RULES)


def wrapped(callee, rule_id, line=1, name=None):
    """The callable rewritten code would call for `callee` at `line`."""
    return calls.wrap(callee, (rule_id,), line, name)


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4), dtype=np.float32)
    return x, (x.sum(axis=1) > 2).astype("int32")


def small_model(optimizer=None, learning_rate=0.05, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit(model, x, y, line=30, **kwargs):
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("batch_size", 32)
    return wrapped(model.fit, "keras.fit", line)(x, y, **kwargs)


def rows(store_dir, run, sparql):
    return provinstr.open_store(store_dir).query(sparql, run=run.id).rows


def adaptations(store_dir, run):
    return rows(store_dir, run, """
        SELECT ?epoch ?old ?new ?trigger WHERE {
          ?a a pi:Adaptation ; pi:epoch ?epoch ; pi:trigger ?trigger ; prov:used ?o ; prov:generated ?n .
          ?o pi:name "learning_rate" ; prov:value ?old . ?n pi:name "learning_rate" ; prov:value ?new .
        } ORDER BY ?epoch""")


def epoch_metrics(store_dir, run, name):
    return rows(store_dir, run, f"""
        SELECT ?epoch ?value WHERE {{ ?m a pi:Metric ; pi:name "{name}" ; pi:epoch ?epoch ; prov:value ?value }}
        ORDER BY ?epoch""")


def f32(value):
    return float(str(np.float32(value)))


# -- fit: epochs, metrics, hyperparameters ------------------------------------------------------------
def test_fit_records_every_key_of_the_epoch_logs_with_epoch_seconds_and_end_time(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        history = fit(small_model(), x, y, epochs=3, validation_split=0.25)
    found = rows(store_dir, run, """
        SELECT ?epoch ?name ?value ?seconds ?at WHERE { ?t a pi:Training ; prov:generated ?m .
          ?m a pi:Metric ; pi:epoch ?epoch ; pi:name ?name ; prov:value ?value ; pi:epochSeconds ?seconds ;
             prov:generatedAtTime ?at }""")
    by_epoch = {}
    for epoch, name, value, seconds, _at in found:
        by_epoch.setdefault(epoch, {})[name] = value
        assert seconds > 0
    assert sorted(by_epoch) == [0, 1, 2]
    for epoch, values in by_epoch.items():
        assert set(values) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_seconds"}
        assert values["loss"] == history.history["loss"][epoch]
        assert values["learning_rate"] == 0.05
    # the seed's query (b): loss of each of the first epochs, one short query
    seed_b = provinstr.open_store(store_dir).query("""
        SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
          pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch""").rows
    assert [loss for _, loss in seed_b] == history.history["loss"]


def test_fit_uses_its_arguments_defaults_compile_settings_and_the_optimizer_configuration(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        model = small_model(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True))
        fit(model, x, y, epochs=2)
    used = dict(rows(store_dir, run, """SELECT ?name ?value WHERE { ?t a pi:Training ; prov:used ?h .
        ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value }"""))
    assert used["epochs"] == 2 and used["batch_size"] == 32 and used["shuffle"] is True
    assert used["initial_epoch"] == 0 and used["steps_per_epoch"] == 3
    assert used["optimizer"] == "SGD" and used["learning_rate"] == 0.05
    assert used["momentum"] == 0.9 and used["nesterov"] is True
    assert used["loss"] == "sparse_categorical_crossentropy" and used["metrics"] == '["accuracy"]'


def test_a_string_optimizer_given_to_compile_is_resolved_to_the_real_one(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="softmax")])
        wrapped(model.compile, "keras.compile", 12)(optimizer="adam", loss="sparse_categorical_crossentropy")
        fit(model, x, y, epochs=1)
    optimizers = rows(store_dir, run, """SELECT ?class ?line ?beta WHERE { ?t a pi:Training ; prov:used ?o .
        ?o pi:name ?class ; pi:sourceLine ?line ; pi:attribute [ pi:name "beta_1" ; prov:value ?beta ] }""")
    assert optimizers == [("keras.optimizers.Adam", 12, 0.9)]
    used = dict(rows(store_dir, run, """SELECT ?name ?value WHERE { ?t a pi:Training ; prov:used ?h .
        ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value }"""))
    assert used["optimizer"] == "Adam" and used["learning_rate"] == 0.001 and used["epsilon"] == 1e-07


def test_layers_are_recorded_from_the_model_and_the_ones_the_rewriter_saw_carry_their_source_line(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        keras.utils.set_random_seed(0)
        dense = wrapped(layers.Dense, "keras.layer", 7, "keras.layers.Dense")(8, activation="relu", name="seen")
        model = keras.Sequential([keras.Input((4,), name="features"), dense,
                                  layers.Dense(2, activation="softmax", name="unseen")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        fit(model, x, y, epochs=1)
    found = rows(store_dir, run, """SELECT ?label ?class ?index ?line ?units ?activation WHERE {
        ?t a pi:Training ; prov:used ?l . ?l a pi:Layer ; rdfs:label ?label ; pi:layerClass ?class ; pi:index ?index .
        OPTIONAL { ?l pi:sourceLine ?line }
        OPTIONAL { ?l pi:attribute [ pi:name "units" ; prov:value ?units ] }
        OPTIONAL { ?l pi:attribute [ pi:name "activation" ; prov:value ?activation ] } } ORDER BY ?index""")
    assert found == [
        ("features", "keras.layers.InputLayer", 0, None, None, None),
        ("seen", "keras.layers.Dense", 1, 7, 8, "relu"),
        ("unseen", "keras.layers.Dense", 2, None, 2, "softmax"),
    ]
    configs = rows(store_dir, run, """SELECT ?config WHERE { ?l rdfs:label "unseen" ;
        pi:attribute [ pi:name "config" ; prov:value ?config ] }""")
    assert '"kernel_initializer"' in configs[0][0]


def test_the_users_callbacks_list_is_left_unchanged(store_dir):
    x, y = data()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=5)
    given = [stop]
    with provinstr.run(store=store_dir):
        fit(small_model(), x, y, epochs=2, callbacks=given)
    assert given == [stop] and len(given) == 1


# -- learning-rate adaptations ---------------------------------------------------------------------
def test_reduce_lr_on_plateau_records_each_reduction_with_its_epoch_and_values(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        plateau = wrapped(keras.callbacks.ReduceLROnPlateau, "keras.callback", 20,
                          "keras.callbacks.ReduceLROnPlateau")(monitor="loss", factor=0.5, patience=0, min_delta=10)
        fit(small_model(learning_rate=0.05), x, y, epochs=3, callbacks=[plateau])
    # epoch 0 sets the best loss; every later epoch misses it by min_delta and halves the rate
    assert adaptations(store_dir, run) == [
        (1, 0.05, 0.025, "ReduceLROnPlateau"),
        (2, 0.025, 0.0125, "ReduceLROnPlateau"),
    ]
    callback = rows(store_dir, run, """SELECT ?factor WHERE { ?t a pi:Training ; prov:used ?c .
        ?c pi:name "keras.callbacks.ReduceLROnPlateau" ; pi:attribute [ pi:name "factor" ; prov:value ?factor ] }""")
    assert callback == [(0.5,)]


def test_learning_rate_scheduler_records_the_changes_it_made_at_epoch_begin(store_dir):
    x, y = data()
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    with provinstr.run(store=store_dir) as run:
        fit(small_model(learning_rate=0.1), x, y, epochs=3, callbacks=[scheduler])
    assert adaptations(store_dir, run) == [
        (1, 0.1, 0.05, "LearningRateScheduler"),
        (2, 0.05, f32(0.1 / 3), "LearningRateScheduler"),
    ]
    assert [v for _, v in epoch_metrics(store_dir, run, "learning_rate")] == [0.1, 0.05, f32(0.1 / 3)]


def test_a_learning_rate_schedule_is_a_hyperparameter_and_a_per_epoch_metric_not_adaptations(store_dir):
    x, y = data()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    with provinstr.run(store=store_dir) as run:
        fit(small_model(optimizer=keras.optimizers.SGD(learning_rate=schedule)), x, y, epochs=2)
    assert adaptations(store_dir, run) == []
    (value,) = rows(store_dir, run, """SELECT ?v WHERE { ?t a pi:Training ; prov:used ?h .
        ?h a pi:Hyperparameter ; pi:name "learning_rate" ; prov:value ?v }""")[0]
    assert "ExponentialDecay" in value and '"decay_rate": 0.5' in value
    rates = [v for _, v in epoch_metrics(store_dir, run, "learning_rate")]
    assert rates == [f32(0.1 * 0.5**3), f32(0.1 * 0.5**6)]  # 3 steps per epoch


def test_a_rate_changed_by_user_code_between_fits_is_an_adaptation(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        model = small_model(learning_rate=0.05)
        fit(model, x, y, epochs=2)
        model.optimizer.learning_rate = 0.01
        fit(model, x, y, epochs=4, initial_epoch=2)
    assert adaptations(store_dir, run) == [(2, 0.05, 0.01, "user code")]


def test_adapt_and_epoch_begin_hooks_let_a_steering_tool_change_the_rate(store_dir):
    x, y = data()
    seen = []

    def steer(capture, epoch):
        seen.append(epoch)
        if epoch == 1:
            capture.adapt("learning_rate", 0.02, trigger="steering", agent="alice")

    EPOCH_BEGIN_HOOKS.append(steer)
    try:
        with provinstr.run(store=store_dir) as run:
            model = small_model(learning_rate=0.05)
            fit(model, x, y, epochs=3)
    finally:
        EPOCH_BEGIN_HOOKS.remove(steer)
    assert seen == [0, 1, 2]
    assert float(model.optimizer.learning_rate.numpy()) == np.float32(0.02)
    assert adaptations(store_dir, run) == [(1, 0.05, 0.02, "steering")]
    assert rows(store_dir, run, """SELECT ?who WHERE { ?a a pi:Adaptation ; prov:wasAssociatedWith ?g .
        ?g rdfs:label ?who }""") == [("alice",)]


def test_early_stopping_records_the_epoch_it_stopped_at(store_dir):
    x, y = data()
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10, patience=1)
    with provinstr.run(store=store_dir) as run:
        history = fit(small_model(), x, y, epochs=10, callbacks=[stop])
    assert len(history.history["loss"]) == 2
    assert rows(store_dir, run, """SELECT ?v WHERE { ?t a pi:Training ; prov:generated ?m .
        ?m pi:name "stopped_epoch" ; prov:value ?v }""") == [(1,)]


def test_per_batch_metrics_are_recorded_only_when_the_rule_asks(store_dir):
    x, y = data()
    per_batch = [r for r in RULES if r.id == "keras.fit"][0]
    per_batch = type(per_batch)(**{**per_batch.__dict__, "id": "test.fit-per-batch",
                                   "options": {**per_batch.options, "per_batch": True}})
    calls.activate([per_batch])
    with provinstr.run(store=store_dir) as run:
        model = small_model()
        fit(model, x, y, epochs=1)
        calls.wrap(model.fit, ("test.fit-per-batch",), 40)(x, y, epochs=1, batch_size=32, verbose=0)
    batches = rows(store_dir, run, """SELECT ?t ?batch WHERE { ?t a pi:Training ; prov:generated ?m .
        ?m pi:name "loss" ; pi:index ?batch } ORDER BY ?batch""")
    assert [b for _, b in batches] == [0, 1, 2] and len({t for t, _ in batches}) == 1


# -- data, model, test, inference ------------------------------------------------------------------
def test_datasets_are_fingerprinted_by_shape_dtype_and_sha256(store_dir):
    x, y = data()
    xv, yv = data(32, seed=1)
    with provinstr.run(store=store_dir) as run:
        fit(small_model(), x, y, epochs=1, validation_data=(xv, yv))
    found = {label: (shape, dtype, sha) for label, shape, dtype, sha in rows(store_dir, run, """
        SELECT ?label ?shape ?dtype ?sha WHERE { ?t a pi:Training ; prov:used ?d .
          ?d a pi:Dataset, mls:Dataset ; rdfs:label ?label ; pi:shape ?shape ; pi:dtype ?dtype ; pi:sha256 ?sha }""")}
    assert found == {
        "x": ("[96, 4]", "float32", documented_sha256(x)),
        "y": ("[96]", "int32", documented_sha256(y)),
        "validation_x": ("[32, 4]", "float32", documented_sha256(xv)),
        "validation_y": ("[32]", "int32", documented_sha256(yv)),
    }


def test_an_array_over_the_limit_is_fingerprinted_from_a_documented_sample():
    big = np.arange(100_000, dtype=np.int64).reshape(10_000, 10)
    whole = fingerprint(big, limit_bytes=big.nbytes)
    assert whole.sha256 == documented_sha256(big) and whole.note is None
    sampled = fingerprint(big, limit_bytes=1000)
    assert sampled.sha256 != whole.sha256 and "evenly spaced rows of 10000" in sampled.note
    changed = big.copy()
    changed[0, 0] = -1
    assert fingerprint(changed, limit_bytes=1000).sha256 != sampled.sha256


def test_a_tf_data_input_records_its_element_spec_and_cardinality(store_dir):
    x, y = data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    with provinstr.run(store=store_dir) as run:
        wrapped(small_model().fit, "keras.fit", 3)(dataset, epochs=1, verbose=0)
    ((spec, cardinality),) = rows(store_dir, run, """SELECT ?spec ?n WHERE { ?t a pi:Training ; prov:used ?d .
        ?d a pi:Dataset ; pi:elementSpec ?spec ; pi:cardinality ?n }""")
    assert "TensorSpec(shape=(None, 4), dtype=tf.float32" in spec and cardinality == 3


def test_the_trained_model_is_saved_into_the_store_and_evaluate_predict_are_informed_by_the_training(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        model = small_model()
        fit(model, x, y, epochs=2)
        loss, accuracy = wrapped(model.evaluate, "keras.evaluate", 50)(x, y, verbose=0)
        predictions = wrapped(model.predict, "keras.predict", 51)(x, verbose=0)
    ((location, sha, training),) = rows(store_dir, run, """SELECT ?where ?sha ?t WHERE {
        ?m a pi:Model, mls:Model ; prov:atLocation ?where ; pi:sha256 ?sha ; prov:wasGeneratedBy ?t .
        ?t a pi:Training }""")
    assert location == str((store_dir / "models" / run.id / "1.keras").resolve())
    with open(location, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == sha
    assert np.allclose(keras.saving.load_model(location).predict(x, verbose=0), predictions)
    tested = dict(rows(store_dir, run, """SELECT ?name ?value WHERE { ?e a pi:Test ; prov:wasInformedBy ?t ;
        prov:used ?m ; prov:generated ?r . ?t a pi:Training . ?m a pi:Model . ?r a pi:Metric ; pi:name ?name ;
        prov:value ?value }"""))
    assert tested == {"loss": loss, "accuracy": accuracy}
    ((sha_predictions,),) = rows(store_dir, run, """SELECT ?sha WHERE { ?i a pi:Inference ;
        prov:wasInformedBy ?t ; prov:generated ?d . ?t a pi:Training . ?d a pi:Dataset ; pi:sha256 ?sha }""")
    assert sha_predictions == documented_sha256(predictions)


def test_each_fit_of_one_model_saves_the_model_exactly_as_that_fit_left_it(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        model = small_model()
        fit(model, x, y, epochs=1)
        after_first = model.get_weights()  # the save runs in the background meanwhile
        fit(model, x, y, epochs=2)  # waits for the first save before training further
        after_second = model.get_weights()
    files = rows(store_dir, run, """SELECT ?where WHERE { ?t a pi:Training ; prov:generated ?m ; prov:startedAtTime ?s .
        ?m prov:atLocation ?where } ORDER BY ?s ?where""")
    assert len(files) == 2
    for (location,), expected in zip(files, (after_first, after_second)):
        saved = keras.saving.load_model(location).get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(saved, expected))


def test_load_weights_right_after_a_fit_waits_for_the_save_of_the_model_the_fit_left(store_dir, tmp_path):
    x, y = data()
    other = small_model(seed=1)
    other.save_weights(tmp_path / "other.weights.h5")
    with provinstr.run(store=store_dir) as run:
        model = small_model()
        fit(model, x, y, epochs=2)
        after_fit = model.get_weights()
        wrapped(model.load_weights, "keras.load_weights", 40)(tmp_path / "other.weights.h5")
    ((location,),) = rows(store_dir, run, "SELECT ?where WHERE { ?m a pi:Model ; prov:atLocation ?where }")
    saved = keras.saving.load_model(location).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(saved, after_fit))
    assert not all(np.array_equal(a, b) for a, b in zip(saved, other.get_weights()))


def test_a_model_changed_by_uncaptured_code_before_its_save_is_not_saved_and_its_node_says_why(store_dir):
    from provinstr.adapters.keras import saving

    x, y = data()
    with provinstr.run(store=store_dir) as run:
        model = small_model()
        node, path = run.new_iri("model"), store_dir / "changed.keras"
        job = saving.prepare(run, node, path, model, lambda *facts: None)
        layer = model.layers[0]
        layer.set_weights([w + 1 for w in layer.get_weights()])  # uncaptured: a layer shared with another model
        with pytest.raises(saving.ModelChanged, match="changed between the end of its fit and its save"):
            saving.write_checked(job)
    assert not path.exists()
    ((comment,),) = rows(store_dir, run, f"SELECT ?c WHERE {{ <{node}> rdfs:comment ?c }}")
    assert comment.startswith("the trained model was not saved: ") and "model.save" in comment


def test_an_epoch_begin_hook_that_sets_the_rate_itself_is_named_as_the_trigger(store_dir):
    x, y = data()

    def halve_at_epoch_1(capture, epoch):
        if epoch == 1:
            capture.model.optimizer.learning_rate = 0.025

    EPOCH_BEGIN_HOOKS.append(halve_at_epoch_1)
    try:
        with provinstr.run(store=store_dir) as run:
            fit(small_model(learning_rate=0.05), x, y, epochs=3, callbacks=[keras.callbacks.TerminateOnNaN()])
    finally:
        EPOCH_BEGIN_HOOKS.remove(halve_at_epoch_1)
    ((epoch, old, new, trigger),) = adaptations(store_dir, run)
    assert (epoch, old, new) == (1, 0.05, 0.025)
    assert trigger.endswith("halve_at_epoch_1")


def test_a_rule_option_turns_saving_the_trained_model_off(store_dir):
    x, y = data()
    base = [r for r in RULES if r.id == "keras.fit"][0]
    no_save = type(base)(**{**base.__dict__, "id": "test.fit-no-save", "options": {"save_model": False}})
    calls.activate([no_save])
    with provinstr.run(store=store_dir) as run:
        model = small_model()
        calls.wrap(model.fit, ("test.fit-no-save",), 3)(x, y, epochs=1, verbose=0)
    assert rows(store_dir, run, "SELECT ?m WHERE { ?m a pi:Model }") == []
    assert not (store_dir / "models").exists()


def test_a_keras_run_passes_the_validator(store_dir):
    from provinstr.analysis.validate import check_run

    x, y = data()
    with provinstr.run(store=store_dir) as run:
        plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10)
        model = small_model()
        fit(model, x, y, epochs=2, callbacks=[plateau], validation_split=0.2)
        wrapped(model.evaluate, "keras.evaluate", 8)(x, y, verbose=0)
    store = provinstr.open_store(store_dir)
    assert check_run(store, run.id, VOCAB / "prov-o.nq") == []


# -- semantics and safety ---------------------------------------------------------------------------
def test_a_seeded_training_gives_identical_weights_and_history_with_and_without_capture(store_dir):
    x, y = data()
    plain = small_model(seed=3)
    plain_history = plain.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.2, shuffle=True)
    with provinstr.run(store=store_dir):
        captured = small_model(seed=3)
        captured_history = fit(captured, x, y, epochs=3, batch_size=16, validation_split=0.2, shuffle=True)
    assert captured_history.history == plain_history.history
    for mine, theirs in zip(captured.get_weights(), plain.get_weights()):
        assert np.array_equal(mine, theirs)


class Boom(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 3:
            raise RuntimeError("boom at epoch 3")


def test_an_error_in_a_user_callback_mid_fit_propagates_and_leaves_the_finished_epochs_queryable(store_dir):
    x, y = data()
    with pytest.raises(RuntimeError, match="boom at epoch 3"):
        with provinstr.run(store=store_dir) as run:
            fit(small_model(), x, y, epochs=6, callbacks=[Boom()])
    info = provinstr.open_store(store_dir).run(run.id)
    assert info.status == "failed"
    assert [e for e, _ in epoch_metrics(store_dir, run, "loss")] == [0, 1, 2]
    assert rows(store_dir, run, "SELECT ?m WHERE { ?t a pi:Training ; pi:exceptionMessage ?m }") == [
        ("boom at epoch 3",)]


class BadConfig(layers.Dense):
    def get_config(self):
        raise NotImplementedError("no config here")


def test_a_capture_error_never_stops_fit_and_warns_once(store_dir, monkeypatch):
    monkeypatch.delenv("PROVINSTR_STRICT")
    monkeypatch.setattr(safety, "_warned", set())
    x, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with provinstr.run(store=store_dir) as run:
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((4,)), BadConfig(3), BadConfig(2, activation="softmax")])
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
            history = fit(model, x, y, epochs=2)
    assert len(history.history["loss"]) == 2
    ours = [w for w in caught if issubclass(w.category, safety.ProvinstrWarning)]
    assert len(ours) == 1 and "no config here" in str(ours[0].message)
    assert [e for e, _ in epoch_metrics(store_dir, run, "loss")] == [0, 1]


def test_an_unwritable_store_warns_once_and_training_completes(tmp_path, monkeypatch):
    monkeypatch.delenv("PROVINSTR_STRICT")
    monkeypatch.setattr(safety, "_warned", set())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    x, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with provinstr.run(store=blocker / "store"):
            model = small_model()
            history = fit(model, x, y, epochs=2)
            wrapped(model.evaluate, "keras.evaluate", 5)(x, y, verbose=0)
    assert len(history.history["loss"]) == 2
    assert len([w for w in caught if issubclass(w.category, safety.ProvinstrWarning)]) == 1


def test_a_fit_with_a_misspelt_argument_raises_the_users_own_type_error_and_its_training_records_it(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        model = small_model()
        with pytest.raises(TypeError, match=r"fit\(\) got an unexpected keyword argument 'epoch'"):
            wrapped(model.fit, "keras.fit", 9)(x, y, epoch=2, verbose=0)
        provinstr.log_metric("after_the_failed_fit", 1.0)
    assert rows(store_dir, run, """SELECT ?type WHERE { ?t a pi:Training ; pi:exceptionType ?type ;
        prov:endedAtTime ?end }""") == [("TypeError",)]
    # the failed Training is closed: what the script records next belongs to the run, not to it
    assert rows(store_dir, run, """SELECT ?kind WHERE { ?m pi:name "after_the_failed_fit" ;
        prov:wasGeneratedBy ?a . ?a a ?kind . FILTER(?kind IN (pi:Run, pi:Training)) }""") == [(
        "https://w3id.org/provinstr#Run",)]


def test_a_training_whose_capture_fails_before_fit_is_still_ended_when_fit_returns(store_dir, monkeypatch):
    from provinstr.adapters.keras import datasets

    def broken(*args, **kwargs):
        raise RuntimeError("fingerprinting exploded")

    monkeypatch.setenv("PROVINSTR_STRICT", "0")
    monkeypatch.setattr(safety, "_warned", set())
    monkeypatch.setattr(datasets, "record", broken)
    x, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with provinstr.run(store=store_dir) as run:
            history = fit(small_model(), x, y, epochs=2)
            provinstr.log_metric("after_the_fit", 1.0)
    assert len(history.history["loss"]) == 2
    ours = [w for w in caught if issubclass(w.category, safety.ProvinstrWarning)]
    assert len(ours) == 1 and "fingerprinting exploded" in str(ours[0].message)
    assert rows(store_dir, run, """SELECT ?kind WHERE { ?m pi:name "after_the_fit" ;
        prov:wasGeneratedBy ?a . ?a a ?kind . FILTER(?kind IN (pi:Run, pi:Training)) }""") == [(
        "https://w3id.org/provinstr#Run",)]
    ((ended_before_run,),) = rows(store_dir, run, """SELECT (?end < ?run_end AS ?before) WHERE {
        ?t a pi:Training ; prov:endedAtTime ?end . ?r a pi:Run ; prov:endedAtTime ?run_end }""")
    assert ended_before_run is True


def test_functional_helpers_that_return_tensors_record_the_class_and_name_of_the_layer_they_made(store_dir):
    x, y = data()
    with provinstr.run(store=store_dir) as run:
        keras.utils.set_random_seed(0)
        inputs = wrapped(layers.Input, "keras.layer", 3, "keras.layers.Input")(shape=(4,), name="features")
        left, right = layers.Dense(3, name="left")(inputs), layers.Dense(3, name="right")(inputs)
        added = wrapped(layers.add, "keras.layer", 5, "keras.layers.add")([left, right])
        model = keras.Model(inputs, layers.Dense(2, activation="softmax", name="out")(added))
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        fit(model, x, y, epochs=1)
    found = rows(store_dir, run, """SELECT ?line ?class ?label WHERE { ?t a pi:Training ; prov:used ?l .
        ?l a pi:Layer ; pi:sourceLine ?line ; pi:layerClass ?class ; rdfs:label ?label } ORDER BY ?line""")
    add_layer = added._keras_history.operation
    assert found == [(3, "keras.layers.InputLayer", "features"), (5, "keras.layers.Add", add_layer.name)]


def test_a_subclass_fit_calling_super_fit_is_one_training_not_two(store_dir):
    class Logged(keras.Sequential):
        def fit(self, *args, **kwargs):  # as rewritten in the user's script: super().fit(...) is wrapped too
            return wrapped(super().fit, "keras.fit", 90)(*args, **kwargs)

    keras.utils.set_random_seed(0)
    model = Logged([keras.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="sparse_categorical_crossentropy")
    x, y = data()
    with provinstr.run(store=str(store_dir)) as run:
        history = fit(model, x, y, epochs=2)
    assert len(history.history["loss"]) == 2
    assert rows(store_dir, run, "SELECT (COUNT(?t) AS ?n) WHERE { ?t a pi:Training }") == [(1,)]
    assert [epoch for epoch, _ in epoch_metrics(store_dir, run, "loss")] == [0, 1]
