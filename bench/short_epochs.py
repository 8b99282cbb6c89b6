"""Capture overhead on very short epochs (~0.05-0.1 s, where DLProv measured +31.6 %), per epoch and per batch.

Same harness as bench/overhead_grid.py (interleaved processes, rotating order, one uncounted warm-up
per variant), one configuration of the seed grid (lr 0.001, weight decay 1e-4, momentum 0.9) with
a tiny epoch: --samples 64 --batch-size 16 (4 batches an epoch), 100 epochs by default.

Variants (model saving off everywhere, so like is compared with like):
  plain            python bench/models.py
  provinstr-epoch  provinstr run, the shipped keras.fit rule with save_model = false  (per-epoch metrics)
  provinstr-batch  the same rule with per_batch = true                                 (every batch's metrics)
  mlflow           mlflow.keras.autolog(log_models=False)                              (per-epoch metrics)
  mlflow-batch     mlflow.keras.autolog(log_models=False, log_every_epoch=False, log_every_n_steps=1)

Two measures: the whole fit (in-process, includes the first epoch's graph tracing) and the steady
epoch, (fit - first epoch) / (epochs - 1), which carries every per-epoch and per-batch capture cost.

  python bench/short_epochs.py --quick        # 3 repetitions, ~8 min on a quiet 2-core machine
  python bench/short_epochs.py                # 5 repetitions
  python bench/short_epochs.py --hooks        # provinstr's callback cost per epoch, in-process (seconds)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchlib import KERAS_RULES, RESULTS
from benchlib.harness import measure, measured_command, rebuilt
from benchlib.machine import finished, machine
from benchlib.stats import format_table, percent, ratios, summarize

VARIANTS = ("plain", "provinstr-epoch", "provinstr-batch", "mlflow", "mlflow-batch")
CONFIG = (100, 0.001, 1e-4, 0.9)
SCRIPT_ARGS = ["--samples", "64", "--batch-size", "16"]


def fit_rule(save_model: bool, per_batch: bool) -> str:
    """The shipped keras.fit rule (same id: it overrides the builtin one) with other options."""
    text = KERAS_RULES.read_text()
    blocks = re.split(r"(?m)^(?=\[\[rule\]\])", text)
    block = next(b for b in blocks if re.search(r'(?m)^id = "keras\.fit"', b))
    options = (f"options = {{ save_model = {str(save_model).lower()}, per_batch = {str(per_batch).lower()}, "
               "hash_limit_mb = 256 }")
    return re.sub(r"(?m)^options = .*$", options, block)


def write_rules(work: Path) -> None:
    (work / "rules-provinstr-epoch.toml").write_text(fit_rule(save_model=False, per_batch=False))
    (work / "rules-provinstr-batch.toml").write_text(fit_rule(save_model=False, per_batch=True))


def add_steady(records: list[dict]) -> None:
    for record in records:
        if "first_epoch_s" in record:
            epochs = record["config"][0]
            record["steady_epoch_s"] = (record["fit_s"] - record["first_epoch_s"]) / (epochs - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=CONFIG[0])
    parser.add_argument("--out", default=str(RESULTS / "short_epochs.json"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--from-log", default=None, metavar="LOG",
                        help="measure nothing: rebuild the records of a run cut short from its printed output")
    parser.add_argument("--hooks", action="store_true",
                        help="only time provinstr's callbacks per epoch in-process (5 x 300 epochs) and add "
                             "the result to --out")
    options = parser.parse_args()
    if options.hooks:
        out = Path(options.out)
        data = json.loads(out.read_text()) if out.exists() else {}
        runs = [hook_cost() for _ in range(5)]
        data["hook_ms"] = {label: statistics.median(r[label] for r in runs) * 1e3 for label in runs[0]}
        data["hook_command"] = "python bench/short_epochs.py --hooks"
        ab = inprocess_ab()
        data["inprocess_ab"] = ab
        pairs = ratios(ab["provinstr fit/epoch"], ab["plain fit/epoch"])
        print(f"in-process A/B, fit seconds per epoch: plain {statistics.median(ab['plain fit/epoch']):.4f}, "
              f"provinstr callbacks {statistics.median(ab['provinstr fit/epoch']):.4f}; "
              f"median paired ratio {percent(statistics.median(pairs))}")
        out.write_text(json.dumps(data, indent=1))
        for label, ms in data["hook_ms"].items():
            print(f"{label:35s} {ms:.3f} ms per epoch (median of 5 x 300 epochs)")
        return
    repeat = options.repeat or (3 if options.quick else 5)
    config = (options.epochs, *CONFIG[1:])
    work = Path(options.work) if options.work else Path(tempfile.mkdtemp(prefix="provinstr-short-"))
    work.mkdir(parents=True, exist_ok=True)
    write_rules(work)
    info = machine()
    started = time.perf_counter()
    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if options.from_log:
        records, repeat = rebuilt(options.from_log, info)
    else:
        partial = out.with_suffix(".partial.jsonl")
        partial.unlink(missing_ok=True)
        records = measure([config], VARIANTS, repeat, SCRIPT_ARGS, work, partial=partial)
    add_steady(records)
    finished(info, started)
    out.write_text(json.dumps({"machine": info, "repeat": repeat, "variants": list(VARIANTS),
                               "script_args": SCRIPT_ARGS, "command": measured_command(),
                               "records": records}, indent=1))
    plain = [r["epoch_median_s"] for r in records if r["variant"] == "plain" and "epoch_median_s" in r]
    if plain:
        print(f"\nplain epoch length (median of the user's epoch timer): {statistics.median(plain):.3f} s")
    for metric in ("fit_s", "steady_epoch_s", "wall_s", "cpu_s"):
        print(f"\n## median {metric}\n")
        print(format_table(summarize(records, VARIANTS, metric), VARIANTS, metric, records))
    print(f"\nraw records: {out}  ({info['seconds']:.0f} s)")
    if not options.work:
        shutil.rmtree(work, ignore_errors=True)


def hook_cost(epochs: int = 300) -> dict:
    """Training-thread seconds per epoch of provinstr's Keras callbacks, timed in-process without training.

    The callbacks a captured fit gets (head probe, the user's callback, capture) are called as Keras
    calls them at each epoch's begin and end, on a compiled SGD model, recording into a real store;
    the same loop with the user's callback alone is the baseline. Robust to machine load, unlike fit times.
    """
    import keras
    import numpy as np

    import provinstr
    from provinstr.adapters.keras.callback import BatchCaptureCallback, CaptureCallback
    from provinstr.capture.activity import Activity

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.001, momentum=0.9, weight_decay=1e-4),
                  loss="mse", metrics=["mae"])
    model.fit(np.zeros((8, 4)), np.zeros((8, 1)), verbose=0)
    logs = {"loss": 0.25, "mae": 0.4}
    steps = 4

    def loop(chain: list, batches: bool) -> float:
        for callback in chain:
            callback.set_model(model)
            callback.set_params({"epochs": epochs, "steps": steps, "verbose": 0})
        for callback in chain:
            callback.on_train_begin()
        start = time.perf_counter()
        for epoch in range(epochs):
            for callback in chain:
                callback.on_epoch_begin(epoch)
            if batches:
                for batch in range(steps):
                    for callback in chain:
                        callback.on_train_batch_end(batch, logs)
            for callback in chain:
                callback.on_epoch_end(epoch, dict(logs))
        seconds = (time.perf_counter() - start) / epochs
        for callback in chain:
            callback.on_train_end()
        return seconds

    work = Path(tempfile.mkdtemp(prefix="provinstr-hooks-"))
    result = {}
    try:
        result["user callback only"] = loop([keras.callbacks.Callback()], batches=True)
        for label, kind, batches in (("provinstr per epoch", CaptureCallback, False),
                                     ("provinstr per batch (4 batches)", BatchCaptureCallback, True)):
            with provinstr.run(name="hooks", store=str(work / ".provinstr")) as run:
                training = Activity(run, "Training", label="fit").start()
                capture = kind(training, [keras.callbacks.Callback()])
                result[label] = loop(capture.callbacks(), batches)
                training.end()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def inprocess_ab(rounds: int = 6, epochs: int = 30) -> dict:
    """One process, one compiled model, fits alternating with and without provinstr's callbacks.

    Seconds per epoch (median of the script's own epoch timer, and fit time / epochs) for plain fits and
    for fits with the callbacks of a captured fit (recording into a real store, with its writer thread):
    the per-epoch cost without process start-up, graph tracing or model saving, and with load drift
    cancelled by alternation. Uses bench/models.py's network and short-epoch data.
    """
    import keras

    import provinstr
    from provinstr.adapters.keras.callback import CaptureCallback
    from provinstr.capture.activity import Activity

    import models  # the workload, bench/models.py (bench/ is this script's folder)

    models.pin_threads(1)

    (x, y), _ = models.make_data(64, 16, 0)
    model = models.build_model(16, 12, 4)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.001, momentum=0.9, weight_decay=1e-4),
                  loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)  # trace the graph once
    work = Path(tempfile.mkdtemp(prefix="provinstr-ab-"))
    result: dict[str, list[float]] = {"plain epoch": [], "provinstr epoch": [], "plain fit/epoch": [],
                                      "provinstr fit/epoch": []}
    try:
        with provinstr.run(name="ab", store=str(work / ".provinstr")) as run:
            for index in range(2 * rounds):
                captured = index % 2 == 1
                timer = models.EpochTimes()
                callbacks = [timer]
                if captured:
                    training = Activity(run, "Training", label="fit").start()
                    callbacks = CaptureCallback(training, [timer]).callbacks()
                start = time.perf_counter()
                model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=callbacks)
                seconds = time.perf_counter() - start
                if captured:
                    training.end()
                label = "provinstr" if captured else "plain"
                result[f"{label} epoch"].append(statistics.median(timer.seconds))
                result[f"{label} fit/epoch"].append(seconds / epochs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
