"""The trained model's .keras file, written off the training thread.

At the end of a fit the training thread only queues the model with its optimizer's step count; a
background thread writes the file, while the script goes on (typically to evaluate). A later
captured fit or compile of the same model waits for that save first, and the run waits for every
pending save before it ends, so each file is the model exactly as its fit left it. A model that
uncaptured code trains further before the save runs (a custom loop, train_on_batch) is not saved:
the file would not be what the fit generated, and a warning says so.
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from provinstr.capture.safety import report

WHERE = "saving the trained Keras model"


class ModelChanged(RuntimeError):
    """The model was trained further before its save ran."""


@dataclass
class _Save:
    run: Any
    node: str
    path: Path
    model: Any
    steps: int | None
    record: Callable[[Any, str, Path, Any], None]  # emits the file's location and sha256
    done: threading.Event = field(default_factory=threading.Event)


_jobs: "queue.Queue[_Save]" = queue.Queue()
_pending: "weakref.WeakKeyDictionary[Any, _Save]" = weakref.WeakKeyDictionary()
_failures: list[BaseException] = []  # kept for the training thread to raise in strict mode
_lock = threading.Lock()
_worker: threading.Thread | None = None
_drained_runs: "weakref.WeakSet[Any]" = weakref.WeakSet()


def steps_of(model: Any) -> int | None:
    """How many training steps the model's optimizer has taken (None without an optimizer)."""
    iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
    if iterations is None:
        return None
    value = iterations.numpy() if hasattr(iterations, "numpy") else iterations
    return int(value)


def save_later(run: Any, node: str, path: Path, model: Any,
               record: Callable[[Any, str, Path, Any], None]) -> None:
    """Queue the save of `model` to `path`; `record(run, node, path, model)` runs once it is written."""
    global _worker
    job = _Save(run, node, path, model, steps_of(model), record)
    with _lock:
        _pending[model] = job
        if run not in _drained_runs:
            _drained_runs.add(run)
            run.before_end(drain)
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="provinstr-model-saver", daemon=True)
            _worker.start()
    _jobs.put(job)


def wait_for(model: Any) -> None:
    """Block until the pending save of `model` (if any) is written: before it is trained or compiled again."""
    try:
        job = _pending.get(model)
    except TypeError:  # not a model (unhashable): nothing of it is being saved
        job = None
    if job is not None:
        job.done.wait()
    _raise_failures()


def drain() -> None:
    """Block until every queued save is written (the run is ending)."""
    _jobs.join()
    _raise_failures()


def _work() -> None:
    while True:
        job = _jobs.get()
        try:
            _save(job)
        except Exception as error:  # noqa: BLE001 - a capture error never reaches the user's program
            if job.path.exists():
                job.path.unlink(missing_ok=True)
            _fail(error)
        finally:
            job.done.set()
            with _lock:
                if _pending.get(job.model) is job:
                    del _pending[job.model]
            job.model = None  # the model may be freed now
            _jobs.task_done()


def _save(job: _Save) -> None:
    _check_unchanged(job, "before")
    job.model.save(job.path)
    _check_unchanged(job, "while")
    job.record(job.run, job.node, job.path, job.model)


def _check_unchanged(job: _Save, moment: str) -> None:
    if steps_of(job.model) != job.steps:
        name = getattr(job.model, "name", "the model")
        raise ModelChanged(f"{name} was trained further {moment} its save at the end of the fit, so that "
                           f"save was dropped; save the model yourself with model.save")


def _fail(error: BaseException) -> None:
    try:
        report(error, WHERE)
    except Exception:  # noqa: BLE001 - strict mode: raise it on the training thread instead
        with _lock:
            _failures.append(error)


def _raise_failures() -> None:
    with _lock:
        failures, _failures[:] = list(_failures), []
    for error in failures:
        report(error, WHERE)


def _forget_after_fork() -> None:
    # The parent's saver thread and its queue do not exist in a forked child.
    global _jobs, _worker, _lock
    _jobs, _worker, _lock = queue.Queue(), None, threading.Lock()
    _pending.clear()
    _failures.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
