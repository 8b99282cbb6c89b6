"""A synthetic DenseED sweep, the same runs written into provinstr (its real recorder) and into MLflow.

Run `index` of the sweep is fully determined by its index (seeded by it), so the two systems get the
same hyperparameters and the same metric values, and a store can be grown run by run:

  hyperparameters  K (12, 16, 24, 32), L (4, 8), learning_rate (0.1 ... 0.001), weight_decay, momentum,
                   optimizer, epochs, batch_size: every combination of K, L and learning_rate recurs
                   every 40 runs, so `learning_rate < 0.01 and K = 24` keeps a tenth of the runs
  group            sweep-NNNN, a block of GROUP_SIZE consecutive runs (one sweep)
  metrics          loss, mae, val_loss, learning_rate, epoch_seconds at each of `epochs` epochs
  status           completed; every FAILED_EVERY-th run fails part-way (fewer epochs, status failed)

`write_provinstr` records through `provinstr.run(...)` and an `Activity` as a training does (a flush
per epoch, as the Keras callback asks); `write_mlflow` logs one MLflow run per sweep run into a SQLite
tracking store with `MlflowClient().log_batch` (params, the group tag, metrics with steps, up to
MLFLOW_BATCH per call), as a script that logs a finished training's history would.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

METRICS = ("loss", "mae", "val_loss", "learning_rate", "epoch_seconds")
LEARNING_RATES = (0.1, 0.03, 0.01, 0.003, 0.001)
GROUP_SIZE = 100
FAILED_EVERY = 50
EXPERIMENT = "scale"
MLFLOW_BATCH = 1000  # MLflow's limit of metrics per log_batch call


@dataclass(frozen=True)
class SweepRun:
    """One synthetic run: its name, group, hyperparameters, epochs recorded, and whether it failed."""

    index: int
    epochs: int

    @property
    def name(self) -> str:
        return f"denseed-{self.index:05d}"

    @property
    def group(self) -> str:
        return group_of(self.index)

    @property
    def failed(self) -> bool:
        return self.index % FAILED_EVERY == FAILED_EVERY - 1

    @property
    def recorded_epochs(self) -> int:
        """Epochs with metrics: all of them, or (a failed run) the part before it failed."""
        return self.epochs // 2 + self.index % 7 if self.failed else self.epochs

    def hyperparameters(self) -> dict:
        i = self.index
        return {"K": (12, 16, 24, 32)[i % 4], "L": (4, 8)[(i // 4) % 2],
                "learning_rate": LEARNING_RATES[(i // 8) % len(LEARNING_RATES)],
                "weight_decay": (1e-4, 1e-6)[(i // 40) % 2], "momentum": 0.9,
                "optimizer": "SGD", "epochs": self.epochs, "batch_size": 32}

    def metrics(self):
        """(epoch, [(name, value) for each of METRICS]) for each recorded epoch."""
        rng = random.Random(self.index)
        params = self.hyperparameters()
        rate = params["learning_rate"]
        decay = 0.995 - 0.25 * rate - 0.01 * rng.random()
        loss = 1.0 + 0.1 * rng.random()
        for epoch in range(self.recorded_epochs):
            loss *= decay + 0.004 * rng.random()
            yield epoch, [("loss", loss), ("mae", loss ** 0.5), ("val_loss", loss * (1.05 + 0.1 * rng.random())),
                          ("learning_rate", rate), ("epoch_seconds", 0.1 + 0.01 * rng.random())]


def group_of(index: int) -> str:
    return f"sweep-{index // GROUP_SIZE:04d}"


def sweep(start: int, count: int, epochs: int) -> list[SweepRun]:
    return [SweepRun(index, epochs) for index in range(start, start + count)]


def metric_values(runs: int, epochs: int) -> int:
    """How many metric values the first `runs` runs of the sweep record."""
    return sum(len(METRICS) * run.recorded_epochs for run in sweep(0, runs, epochs))


def _progress(label: str, done: int, count: int, began: float, every: int) -> None:
    if done % every == 0 or done == count:
        elapsed = time.perf_counter() - began
        print(f"    {label}: {done}/{count} runs written, {elapsed:.0f} s "
              f"({done / elapsed:.1f} runs/s)", file=sys.stderr, flush=True)


def write_provinstr(store: Path, runs: list[SweepRun], every: int = 500) -> float:
    """Record the runs into the local store at `store` through the real recorder; seconds taken."""
    import provinstr
    from provinstr.capture.activity import Activity

    began = time.perf_counter()
    for done, spec in enumerate(runs, 1):
        with provinstr.run(name=spec.name, store=str(store), group=spec.group) as run:
            training = Activity(run, "Training", label="fit").start()
            training.hyperparameters(spec.hyperparameters())
            for epoch, values in spec.metrics():
                for name, value in values:
                    training.metric(name, value, epoch=epoch)
                run.flush(wait=False)  # as the Keras callback does at every epoch end
            error = RuntimeError("loss is nan") if spec.failed else None
            training.end(error)
            if error is not None:
                run.end(error)  # status failed, as an exception out of the training would leave it
        _progress("provinstr", done, len(runs), began, every)
    return time.perf_counter() - began


def write_mlflow(uri: str, runs: list[SweepRun], every: int = 500) -> float:
    """Log the runs into the MLflow tracking store at `uri` (one MLflow run each); seconds taken."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    began = time.perf_counter()
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
    for done, spec in enumerate(runs, 1):
        run = client.create_run(experiment_id, run_name=spec.name, tags={"group": spec.group})
        run_id = run.info.run_id
        stamp = int(time.time() * 1000)
        params = [Param(k, str(v)) for k, v in spec.hyperparameters().items()]
        metrics = [Metric(name, value, stamp, epoch) for epoch, values in spec.metrics() for name, value in values]
        client.log_batch(run_id, params=params, tags=[RunTag("mlflow.source.name", "denseed.py")])
        for first in range(0, len(metrics), MLFLOW_BATCH):
            client.log_batch(run_id, metrics=metrics[first:first + MLFLOW_BATCH])
        client.set_terminated(run_id, status="FAILED" if spec.failed else "FINISHED")
        _progress("MLflow", done, len(runs), began, every)
    return time.perf_counter() - began
