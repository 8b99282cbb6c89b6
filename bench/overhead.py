"""Capture overhead on Keras training: the same small training plain vs captured, interleaved A/B.

Each trial trains a fresh small MLP for EPOCHS epochs (about 0.1-0.3 s each) with a ReduceLROnPlateau
callback, once plain and once through the capture engine (rules/keras.toml, model saving off so
only the per-epoch path is measured), alternating which goes first. Prints per-trial times and the
median and worst captured/plain ratio.

    python bench/overhead.py [--trials 5] [--epochs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import provinstr  # noqa: E402
from provinstr.capture import calls  # noqa: E402
from provinstr.rules import load_rule_file  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


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
    fit = calls.wrap(model.fit, ("bench.fit",), 1) if captured else model.fit
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
    rules = load_rule_file(REPO / "rules" / "keras.toml")
    fit_rule = next(r for r in rules if r.id == "keras.fit")
    calls.activate([replace(fit_rule, id="bench.fit", options={**fit_rule.options, "save_model": False})])
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 32), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    with tempfile.TemporaryDirectory() as store:
        train(x, y, 2, False, store), train(x, y, 2, True, store)  # warm up tracing and imports
        ratios = []
        for trial in range(args.trials):
            order = (False, True) if trial % 2 == 0 else (True, False)
            times = {captured: train(x, y, args.epochs, captured, store) for captured in order}
            ratios.append(times[True] / times[False])
            print(f"trial {trial}: plain {times[False]:.3f}s  captured {times[True]:.3f}s  "
                  f"({times[False] / args.epochs:.3f}s/epoch)  ratio {ratios[-1]:.4f}")
    print(f"median ratio {statistics.median(ratios):.4f}  worst {max(ratios):.4f}  "
          f"(overhead {100 * (statistics.median(ratios) - 1):+.2f} % median)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
