"""Realistic runs for the analysis tests, written through the real recorder with the Python API."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

import provinstr
from provinstr.capture.activity import ENTITY, Activity
from provinstr.capture.nquads import IRI
from provinstr.vocab import MLS, PI, PROV, RDF, RDFS

LAYERS = [
    ("keras.layers.Dense", "hidden", 12, {"units": 16, "activation": "relu"}),
    ("keras.layers.Dropout", "drop", 13, {"rate": 0.25}),
    ("keras.layers.Dense", "out", 14, {"units": 1, "activation": "sigmoid"}),
]


def curve(epoch: int, scale: float = 1.0) -> dict[str, float]:
    """A plausible learning curve: loss falls, accuracy rises, val_loss bottoms out and climbs."""
    loss = scale * (0.9 * math.exp(-epoch / 3) + 0.1)
    val = scale * (0.8 * math.exp(-epoch / 3) + 0.15 + 0.01 * max(0, epoch - 5) ** 2)
    return {"loss": round(loss, 6), "accuracy": round(1 - loss / 2, 6), "val_loss": round(val, 6)}


def start_training(run, hyper: dict, layers=LAYERS) -> Activity:
    """A Training activity with its hyperparameters and the model's layers."""
    training = Activity(run, "Training", label="fit").start(sourceLine=30)
    training.hyperparameters(hyper)
    for index, (cls, name, line, args) in enumerate(layers):
        node = f"{run.iri}/layer/{index + 1}"
        run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Layer)), (PI.layerClass, cls),
                        (RDFS.label, name), (PI.index, index), (PI.sourceLine, line)])
        for key, value in args.items():
            attribute = f"{node}/attribute/{key}"
            run.emit(attribute, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Attribute)), (PI.name, key),
                                 (PROV.value, value)])
            run.emit(node, [(PI.attribute, IRI(attribute))])
        training.used(node)
    data = f"{run.iri}/dataset/1"
    run.emit(data, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Dataset)), (RDF.type, IRI(MLS.Dataset)),
                    (RDFS.label, "x_train"), (PI.shape, [200, 8]), (PI.dtype, "float32"),
                    (PI.sha256, "ab" * 32)])
    training.used(data)
    return training


def adapt(run, training: Activity, epoch: int, name: str, old, new, trigger: str, agent: str | None = None) -> None:
    """A pi:Adaptation as the Keras callback records one."""
    adaptation = Activity(run, "Adaptation", label=f"{name} by {trigger}").start(epoch=epoch, trigger=trigger)
    old_node, new_node = f"{adaptation.iri}/old/{name}", f"{adaptation.iri}/new/{name}"
    for node, value in ((old_node, old), (new_node, new)):
        run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Hyperparameter)), (PI.name, name),
                        (PROV.value, value)])
    adaptation.used(old_node)
    adaptation.generated(new_node)
    run.emit(training.iri, [(PROV.wasInformedBy, IRI(adaptation.iri))])
    if agent:
        person = f"https://w3id.org/provinstr/agent/person/{agent}"
        run.emit(person, [(RDF.type, IRI(PROV.Agent)), (RDF.type, IRI(PROV.Person)), (RDFS.label, agent)])
        run.emit(adaptation.iri, [(PROV.wasAssociatedWith, IRI(person))])
    adaptation.end()


def write_run(
    store: Path,
    name: str = "train.py",
    epochs: int = 6,
    hyper: dict | None = None,
    layers=LAYERS,
    scale: float = 1.0,
    adaptations: tuple = ((3, "learning_rate", 0.01, 0.005, "ReduceLROnPlateau"),),
    test: bool = True,
    model: bool = True,
) -> str:
    """Record a finished training run; returns its id."""
    hyper = {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": epochs, **(hyper or {})}
    with provinstr.run(name=name, store=str(store)) as run:
        training = start_training(run, hyper, layers)
        for epoch in range(epochs):
            for key, value in curve(epoch, scale).items():
                training.metric(key, value, epoch=epoch)
            for adaptation in adaptations:
                if adaptation[0] == epoch:
                    adapt(run, training, *adaptation)
        training.end()
        if test:
            with Activity(run, "Test", label="evaluate") as evaluation:
                evaluation.metric("loss", 0.2345)
                evaluation.metric("accuracy", 0.91)
        if model:
            node = f"{run.iri}/model/1"
            run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Model)), (PROV.atLocation, "/tmp/model.keras"),
                            (PI.sha256, "cd" * 32)])
            training.generated(node)
        return run.id


def start_running_run(store: Path, name: str = "live.py", epochs: int = 2):
    """A run left open (status running, its log held by this process); end it with .end()."""
    run = provinstr.run(name=name, store=str(store)).start()
    training = start_training(run, {"optimizer": "sgd", "learning_rate": 0.1})
    for epoch in range(epochs):
        for key, value in curve(epoch).items():
            training.metric(key, value, epoch=epoch)
    run.flush()
    return run


def invoke(capsys, *args: str) -> tuple[int, str, str]:
    """Run the real `provinstr` entry point in this process; (exit code, stdout, stderr)."""
    import sys

    from provinstr.cli import main

    capsys.readouterr()
    saved = sys.argv
    sys.argv = ["provinstr", *args]
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def denseed_layers(L: int) -> list:
    """The layers of a DenseED-like model (encoder / L dense layers / decoder), each with Keras's whole
    get_config() as its "config" argument, as the Keras rules record it."""
    def conv(name: str, filters: int, kernel: int, line: int):
        config = {"name": name, "filters": filters, "kernel_size": [kernel, kernel], "padding": "same",
                  "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                  "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                  "dtype": {"class_name": "DTypePolicy", "config": {"name": "float32"}}, "padding_note": "x" * 900}
        return ("keras.layers.Conv2D", name, line, {"filters": filters, "kernel_size": kernel, "padding": "same",
                                                    "kernel_initializer": "GlorotUniform",
                                                    "config": json.dumps(config)})

    found = [conv("first_conv", 16, 5, 111), conv("encoder_conv", 32, 3, 86)]
    for layer in range(L):
        found += [("keras.layers.BatchNormalization", f"bn_{layer}", 92, {"axis": -1}),
                  conv(f"dense_conv_{layer}", 24, 3, 94),
                  ("keras.layers.Concatenate", f"concat_{layer}", 95, {"axis": -1})]
    return found + [conv("decoder_conv", 32, 3, 106), conv("field", 1, 3, 115)]


def write_denseed_run(store: Path, L: int = 4, group: str | None = None, dense_blocks: int = 1) -> str:
    """A DenseED-like run: Encoder, `dense_blocks` DenseBlock(K=24, L) and Decoder transformations, then a fit."""
    with provinstr.run(name=f"denseed-L{L}", store=str(store), group=group) as run:
        for label, inputs, channels in [("Encoder", {"filters": 32, "padding": "same", "strides": 2}, 32),
                                        *[("DenseBlock", {"K": 24, "L": L}, 32 + 24 * L)] * dense_blocks,
                                        ("Decoder", {"filters": 32, "padding": "same", "strides": 2}, 32)]:
            with provinstr.transformation(label, **inputs) as call:
                call.output(output=np.zeros((2, 16, 16, channels), dtype="float32"))
        training = start_training(run, {"optimizer": "SGD", "learning_rate": 0.02, "epochs": 2},
                                  denseed_layers(L))
        for epoch in range(2):
            for key, value in curve(epoch, 1 + L / 100).items():
                training.metric(key, value, epoch=epoch)
        training.end()
        return run.id
