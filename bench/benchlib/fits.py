"""In-process Keras fits of the benchmarks' model (bench/models.py), plain or captured as `provinstr run` captures them.

Importing this imports Keras and TensorFlow (quiet: TF_CPP_MIN_LOG_LEVEL 3 unless set).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import models  # noqa: E402  - the workload, bench/models.py (bench/ is the running script's folder)

from benchlib import KERAS_RULES  # noqa: E402
from provinstr.adapters.keras import saving  # noqa: E402
from provinstr.capture import calls  # noqa: E402
from provinstr.capture.run import current_run  # noqa: E402
from provinstr.rules import load_rule_file  # noqa: E402


def keras_rules() -> list:
    """The shipped Keras rules (rules/keras.toml)."""
    return load_rule_file(KERAS_RULES)


def activate_keras_rules() -> None:
    """Capture as `provinstr run` does with the shipped Keras rules, for fits wrapped by `fit_of`."""
    calls.activate(keras_rules())


def fit_of(model, captured: bool, rule: str = "keras.fit"):
    """model.fit, or model.fit as a call matched by `rule` (the capture engine wraps it; rules must be active)."""
    return calls.wrap(model.fit, (rule,), 1) if captured else model.fit


def add_model_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The model's and fit's options: --batch-size, --grid, --K, --L, --threads (bench/models.py's defaults)."""
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--grid", type=int, default=16)
    parser.add_argument("--K", type=int, default=12)
    parser.add_argument("--L", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    return parser


def model_defaults() -> argparse.Namespace:
    """The defaults of add_model_arguments: the model and fit every in-process measurement uses."""
    return add_model_arguments(argparse.ArgumentParser()).parse_args([])


def new_model(args) -> keras.Model:
    """The grid's DenseED-like model (args.grid, args.K, args.L), compiled as bench/models.py compiles it."""
    keras.utils.set_random_seed(0)
    model = models.build_model(args.grid, args.K, args.L)
    model.compile(optimizer=keras.optimizers.SGD(0.001, momentum=0.9, weight_decay=1e-4), loss="mse",
                  metrics=["mae"])
    return model


def fresh_model(args) -> keras.Model:
    """A new model in a new Keras session: its first fit traces everything again."""
    keras.backend.clear_session()
    gc.collect()
    return new_model(args)


class Timeline(keras.callbacks.Callback):
    """The user's view: when each epoch began and ended."""

    def __init__(self) -> None:
        super().__init__()
        self.begins: list[float] = []
        self.ends: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.begins.append(time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def timed_fit(variant: str, model, data, epochs: int, batch_size: int, then=None, probes: tuple = (),
              behaviour=None) -> tuple[Timeline, float, float, float]:
    """The fit's timeline, start and end; and the seconds of `then()` (run right after it, as a script goes on).

    Every variant but "plain" is captured (inside a provinstr run, the Keras rules active). `probes`: more
    callbacks of the user's, given to the fit after the timeline. `behaviour(variant)`: a context manager
    the fit runs in (bench/overhead_parts.py's earlier behaviours); none by default.
    """
    timeline = Timeline()
    fit = fit_of(model, variant != "plain")
    with behaviour(variant) if behaviour else contextlib.nullcontext():
        current_run().recorder._wake.set()  # the writer takes this variant's poll interval now
        start = time.perf_counter()
        fit(*data, epochs=epochs, batch_size=batch_size, callbacks=[timeline, *probes], verbose=0)
        end = time.perf_counter()
        if then is not None:
            then()
        after = time.perf_counter() - end
        saving.drain()  # the model's file is written before the next variant runs
    return timeline, start, end, after
