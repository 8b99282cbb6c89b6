"""One repetition of bench/overhead_grid.py's grid in one process, every variant on the same warm TensorFlow.

Started by `python bench/overhead_grid.py --in-process`, one fresh worker per repetition:

  python bench/grid_worker.py --rep R --store DIR --mlflow-uri URI --variants plain provinstr ...
                              --configs E/LR/DECAY/MOMENTUM ... [bench/models.py options, e.g. --samples 128]

The variants run bench/models.py's `train` in this process:
  plain         the module imported as usual
  plain-again   the same, timed again: the control whose ratio to plain is the run's noise floor
  provinstr     the module as `provinstr run` executes it: the same rules, the same rewritten code and
                runtime helper, inside `provinstr.run(store=...)` (a run per training, as per process)
  mlflow        the plain module with mlflow.keras.autolog(log_models=False) switched on around it
  mlflow+model  the same with log_models=True
What this leaves out is process start-up (interpreter, imports, the rewrite), which is the same for every
training and which bench/rewrite_speed.py measures.

Each variant is warmed up once (one epoch, not counted); then, per configuration, the variants run in the
rotated order bench/overhead_grid.py's process mode uses. Keras' global state is cleared and garbage
collected between trainings, outside the timed regions. Output, one line each, flushed:
  WARMUP {"variant", "total_s"}             (or "error")
  RECORD {"variant", "config", "rep", "fit_s", "train_s", "total_s", "epoch_median_s", "first_epoch_s",
          "test_loss"}                       (or "error" instead of the times)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
import traceback
import types
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mlflow  # noqa: E402  - before Keras, like the MLflow variants' script; Keras is patched only while they run
import keras  # noqa: E402
import models  # noqa: E402  - bench/models.py, plain (the workload; bench/ is this script's folder)
from benchlib.harness import (  # noqa: E402
    CONTROL,
    KNOWN_VARIANTS,
    SCRIPT,
    WARMUP_CONFIG,
    epoch_summary,
    mlflow_mode,
    parse_config,
    script_args,
)
from benchlib.stats import rotated  # noqa: E402

import provinstr  # noqa: E402


def parse_options(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """The worker's options, and the rest: bench/models.py options common to every training."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rep", type=int, required=True, help="the repetition (it shifts the variants' order)")
    parser.add_argument("--configs", nargs="+", required=True, metavar="E/LR/DECAY/MOMENTUM")
    parser.add_argument("--variants", nargs="+", required=True, choices=KNOWN_VARIANTS)
    parser.add_argument("--store", required=True, help="provinstr's store")
    parser.add_argument("--mlflow-uri", required=True, help="MLflow's tracking URI")
    return parser.parse_known_args(argv)


def load_captured(script: Path) -> tuple[types.ModuleType, str, int]:
    """The script as `provinstr run` would execute it, as a module; its argv[0] and how many calls are captured.

    The same steps as provinstr.rewrite.runner.execute (rules, rewrite, activation, module globals), but
    under a name that is not __main__, so the script's `if __name__ == "__main__"` block does not run.
    """
    from provinstr.capture import calls
    from provinstr.rewrite.runner import compile_target, fresh_module, plan_for, script_target
    from provinstr.rules import load_rules

    target = script_target(str(script))
    rules = load_rules(project_dir=os.path.dirname(target.filename))  # what `provinstr run` loads, no --rules
    code = compile_target(target, rules)
    calls.activate(rules, target.filename)
    module = fresh_module(target, f"{script.stem}_captured")
    exec(code, module.__dict__)
    plan = plan_for(target, rules)
    return module, target.argv0, len(plan.matches) if plan else 0


class Trainings:
    """The variants' ways of running one training in this process; `run` times one and returns its report."""

    def __init__(self, plain: types.ModuleType, captured: types.ModuleType, argv0: str, store: str) -> None:
        self.plain, self.captured, self.argv0, self.store = plain, captured, argv0, store

    def run(self, variant: str, argv: list[str]) -> dict:
        """bench/models.py's report plus total_s: train() and the variant's own set-up and tear-down."""
        args = self.plain.parse_arguments(argv)
        train = self._runner(variant)
        start = time.perf_counter()
        report = train(args, argv)
        report["total_s"] = time.perf_counter() - start
        return report

    def _runner(self, variant: str) -> Callable[[argparse.Namespace, list[str]], dict]:
        if variant in ("plain", CONTROL):
            return lambda args, argv: self.plain.train(args)
        if variant == "provinstr":
            return self._provinstr
        return lambda args, argv: self._mlflow(args, log_models=mlflow_mode(variant) == "model")

    def _provinstr(self, args: argparse.Namespace, argv: list[str]) -> dict:
        """A run like `provinstr run` starts: named after the script, its argv and script recorded."""
        with provinstr.run(store=self.store, script=self.captured.__file__, argv=[self.argv0, *argv]):
            return self.captured.train(args)

    def _mlflow(self, args: argparse.Namespace, log_models: bool) -> dict:
        """Autolog on around the plain training only: autolog(disable=True) reverts MLflow's patches of Keras."""
        mlflow.keras.autolog(log_models=log_models, silent=True)
        try:
            return self.plain.train(args)
        except BaseException:
            if mlflow.active_run() is not None:  # the fit raised inside the run autolog started
                mlflow.end_run("FAILED")
            raise
        finally:
            mlflow.keras.autolog(disable=True)


def settle() -> None:
    """Between trainings, untimed: drop Keras' graphs and names, collect garbage (each training starts alike)."""
    keras.backend.clear_session()
    gc.collect()


def emit(kind: str, data: dict) -> None:
    """One line for bench/overhead_grid.py, flushed at once (it streams them into its partial records)."""
    print(f"{kind} {json.dumps(data)}", flush=True)


def attempt(trainings: Trainings, variant: str, argv: list[str]) -> dict:
    """One training's report, or {"error": traceback} (the repetition goes on); the process is settled after."""
    try:
        return trainings.run(variant, argv)
    except Exception:  # noqa: BLE001 - reported in the record, as a failed process is in process mode
        return {"error": traceback.format_exc()[-2000:]}
    finally:
        settle()


def record(variant: str, config: tuple, rep: int, report: dict) -> dict:
    """The RECORD line's fields (bench/overhead_grid.py's record shape, in-process times)."""
    base = {"variant": variant, "config": list(config), "rep": rep}
    if "error" in report:
        return {**base, "error": report["error"]}
    return {**base, "fit_s": report["fit_s"], "train_s": report["train_s"], "total_s": report["total_s"],
            **epoch_summary(report["epoch_s"]), "test_loss": report["test_loss"]}


def main() -> None:
    options, extra = parse_options()
    configs = [parse_config(text) for text in options.configs]
    variants = tuple(options.variants)
    models.pin_threads(models.parse_arguments(extra).threads)  # before TensorFlow's first operation
    mlflow.set_tracking_uri(options.mlflow_uri)
    captured, argv0, matches = load_captured(SCRIPT)
    print(f"{matches} calls of {SCRIPT.name} rewritten for capture", flush=True)
    trainings = Trainings(models, captured, argv0, options.store)
    for variant in variants:
        report = attempt(trainings, variant, script_args(WARMUP_CONFIG, extra))
        emit("WARMUP", {"variant": variant, **({"error": report["error"]} if "error" in report
                                                else {"total_s": report["total_s"]})})
    for index, config in enumerate(configs):
        for variant in rotated(variants, options.rep * len(configs) + index):
            report = attempt(trainings, variant, script_args(config, extra))
            emit("RECORD", record(variant, config, options.rep, report))


if __name__ == "__main__":
    main()
