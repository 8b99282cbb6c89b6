"""The benchmarks' training script: a small DenseED-like CNN on generated fields, timed around model.fit.

Run as `python bench/models.py ARGS` (plain Keras), `provinstr run bench/models.py ARGS`, or with
`--mlflow off|nomodel|model`, which puts `mlflow.keras.autolog(...)` at the top of the script
(before Keras is imported), exactly as a user would. It is a plain Keras script: no provinstr import.

The last line it prints is `BENCH {json}`: in-process seconds of model.fit (what the seed paper's
overhead refers to), of each epoch, of `train` (seed, data, model, compile, fit, evaluate) and of the
whole script (from its first line to its end).

Imported as a module (bench/grid_worker.py runs it plain and rewritten by provinstr, in one process),
it parses no arguments, sets up no MLflow and pins no threads: the importer calls `parse_arguments`,
`pin_threads` and `train` itself.
"""

from __future__ import annotations

import time

_SCRIPT_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--decay", type=float, default=1e-4, help="weight decay of SGD")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--samples", type=int, default=256, help="training fields (the epoch length)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--grid", type=int, default=16, help="fields are GRID x GRID")
    parser.add_argument("--K", type=int, default=12, help="dense block growth rate")
    parser.add_argument("--L", type=int, default=4, help="dense block layers")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mlflow", choices=("off", "nomodel", "model", "batch"), default="off",
                        help="mlflow.keras.autolog at the top: off, log_models=False, log_models=True, "
                             "or per batch (log_every_n_steps=1, log_models=False)")
    return parser.parse_args(argv)


if __name__ == "__main__":  # run as a script (plain or by `provinstr run`), not imported
    ARGS = parse_arguments()

    if ARGS.mlflow != "off":  # "the same script + mlflow.keras.autolog() at the top"
        import mlflow

        if ARGS.mlflow == "batch":
            mlflow.keras.autolog(log_models=False, log_every_epoch=False, log_every_n_steps=1, silent=True)
        else:
            mlflow.keras.autolog(log_models=ARGS.mlflow == "model", silent=True)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402


def pin_threads(threads: int) -> None:
    """TensorFlow's intra- and inter-op threads; must run before TensorFlow's first operation."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran in this process: its thread pools are fixed
        pass


def make_data(samples: int, grid: int, seed: int):
    """Smooth fields (sums of Gaussian bumps) and their coarse, noisy versions; 20 % held out."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(0.0, 1.0, grid, dtype=np.float32)
    y, x = np.meshgrid(axis, axis, indexing="ij")
    count = samples + samples // 4
    fields = np.zeros((count, grid, grid), dtype=np.float32)
    for _ in range(3):
        cx, cy = rng.uniform(0.1, 0.9, (2, count, 1, 1)).astype(np.float32)
        width = rng.uniform(0.1, 0.3, (count, 1, 1)).astype(np.float32)
        height = rng.normal(0.0, 1.0, (count, 1, 1)).astype(np.float32)
        fields += height * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
    fields = fields[..., None]
    coarse = fields.reshape(count, grid // 4, 4, grid // 4, 4, 1).mean(axis=(2, 4))
    inputs = coarse.repeat(4, axis=1).repeat(4, axis=2) + rng.normal(0, 0.05, fields.shape).astype(np.float32)
    return (inputs[:samples], fields[:samples]), (inputs[samples:], fields[samples:])


def encoder(x, filters: int, padding: str = "same", strides: int = 2):
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return layers.Conv2D(filters, 3, strides=strides, padding=padding, use_bias=False)(x)


def dense_block(x, K: int, L: int):
    for _ in range(L):
        y = layers.BatchNormalization()(x)
        y = layers.ReLU()(y)
        y = layers.Conv2D(K, 3, padding="same", use_bias=False)(y)
        x = layers.Concatenate()([x, y])
    return x


def decoder(x, filters: int, padding: str = "same", strides: int = 2):
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return layers.Conv2DTranspose(filters, 3, strides=strides, padding=padding, use_bias=False)(x)


def build_model(grid: int, K: int, L: int) -> keras.Model:
    inputs = keras.Input(shape=(grid, grid, 1))
    x = layers.Conv2D(16, 3, padding="same")(inputs)
    x = encoder(x, filters=16)
    x = dense_block(x, K=K, L=L)
    x = decoder(x, filters=16)
    outputs = layers.Conv2D(1, 3, padding="same")(x)
    return keras.Model(inputs, outputs, name=f"denseed_K{K}_L{L}")


class EpochTimes(keras.callbacks.Callback):
    """Seconds of each epoch (the user's own timing, the same in every variant)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def train(args: argparse.Namespace) -> dict:
    """One training as the benchmarks time it; seconds of fit, of each epoch and of all of train()."""
    train_start = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = make_data(args.samples, args.grid, args.seed)
    model = build_model(args.grid, args.K, args.L)
    optimizer = keras.optimizers.SGD(learning_rate=args.lr, momentum=args.momentum, weight_decay=args.decay)
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    epoch_times = EpochTimes()
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, callbacks=[epoch_times], verbose=0)
    fit_s = time.perf_counter() - start
    test_loss, _ = model.evaluate(x_test, y_test, batch_size=args.batch_size, verbose=0)
    return {"fit_s": fit_s, "epoch_s": epoch_times.seconds, "test_loss": float(test_loss),
            "train_s": time.perf_counter() - train_start}


def main() -> None:
    pin_threads(ARGS.threads)
    report = train(ARGS)
    report["script_s"] = time.perf_counter() - _SCRIPT_START
    print("BENCH " + json.dumps(report), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
