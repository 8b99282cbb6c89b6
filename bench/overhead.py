"""Capture overhead on Keras training: the same small training plain vs captured, interleaved A/B.

Each trial trains a fresh small MLP for EPOCHS epochs (about 0.1-0.3 s each) with a ReduceLROnPlateau
callback, once plain and once through the capture engine (rules/keras.toml, model saving off so
only the per-epoch path is measured), alternating which goes first. Prints per-trial times and the
median and worst captured/plain ratio.

    python bench/overhead.py [--trials 5] [--epochs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np

from benchlib.fits import fit_of, keras, keras_rules
from benchlib.stats import rotated

import provinstr
from provinstr.capture import calls


def build(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(x, y, epochs: int, captured: bool, store: str) -> float:
    model = build(0)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2)
    fit = fit_of(model, captured, "bench.fit")
    started = time.perf_counter()
    if captured:
        with provinstr.run(store=store, name="bench"):
            fit(x, y, epochs=epochs, batch_size=64, validation_split=0.2, callbacks=[plateau], verbose=0)
    else:
        fit(x, y, epochs=epochs, batch_size=64, validation_split=0.2, callbacks=[plateau], verbose=0)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=1500)
    args = parser.parse_args(argv)
    fit_rule = next(r for r in keras_rules() if r.id == "keras.fit")
    calls.activate([replace(fit_rule, id="bench.fit", options={**fit_rule.options, "save_model": False})])
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 32), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    with tempfile.TemporaryDirectory() as store:
        train(x, y, 2, False, store), train(x, y, 2, True, store)  # warm up tracing and imports
        ratios = []
        for trial in range(args.trials):
            times = {captured: train(x, y, args.epochs, captured, store) for captured in rotated((False, True), trial)}
            ratios.append(times[True] / times[False])
            print(f"trial {trial}: plain {times[False]:.3f}s  captured {times[True]:.3f}s  "
                  f"({times[False] / args.epochs:.3f}s/epoch)  ratio {ratios[-1]:.4f}")
    print(f"median ratio {statistics.median(ratios):.4f}  worst {max(ratios):.4f}  "
          f"(overhead {100 * (statistics.median(ratios) - 1):+.2f} % median)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
