"""Keras capture end to end: `provinstr run` on a real script using every import and model style."""

from __future__ import annotations

from pathlib import Path

import provinstr

SCRIPT = Path(__file__).parent / "data" / "keras" / "styles.py"


def test_every_import_style_and_model_style_is_captured_through_provinstr_run(tmp_path, cli):
    store = tmp_path / "store"
    done = cli("run", "--store", str(store), str(SCRIPT), cwd=tmp_path,
               env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "done" in done.stdout
    opened = provinstr.open_store(store)
    (run,) = opened.runs()
    assert run.status == "completed"
    trained = opened.query("""SELECT ?model ?label ?line WHERE { ?t a pi:Training ; prov:used ?l .
        ?l a pi:Layer ; rdfs:label ?label . OPTIONAL { ?l pi:sourceLine ?line }
        BIND(STRAFTER(STR(?t), "/training/") AS ?model) }""", run=run).rows
    layers = {label: line for _, label, line in trained}
    # import keras / from keras import layers / from tensorflow import keras / tf.keras.layers.X /
    # from tensorflow.keras.layers import Conv2D as C: seen by the rewriter, with their lines
    assert layers["conv_alias"] == 32 and layers["pool_tf"] == 33 and layers["conv_tfkeras"] == 34
    assert layers["dropout_from"] == 36 and layers["dense_keras"] == 37 and layers["func_dense"] == 43
    # L = tf.keras.layers, a subclassed model, a tf.data training: recorded from the model itself
    for label in ("flatten_L", "sub_flatten", "sub_dense", "data_dense"):
        assert label in layers and layers[label] is None
    assert {model for model, _, _ in trained} == {"1", "2", "3", "4"}
    # the custom GradientTape loop: no Training, but its optimizer and layers are recorded
    assert opened.query("""SELECT ?m WHERE { ?o pi:name "keras.optimizers.SGD" ; pi:sourceLine 69 ;
        pi:attribute [ pi:name "momentum" ; prov:value ?m ] }""", run=run).rows == [(0.5,)]
    assert opened.query("""ASK { ?l a pi:Layer ; rdfs:label "tape_dense" ; pi:sourceLine 68 }""", run=run)
    assert opened.query("""ASK { ?d pi:elementSpec ?s ; pi:cardinality 4 }""", run=run)
