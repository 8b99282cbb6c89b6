"""The trained model's .keras file, written off the training thread.

At the end of a fit the training thread only takes a snapshot of the model's weights (a memory
copy) and queues the model; a background thread writes the file while the script goes on
(typically to evaluate). The next captured fit, compile, load_weights or set_weights of the same
model waits for that save first, and the run waits for every pending save before it ends. Before
and after writing, the saver compares the model with the snapshot (weights, trainable variables,
optimizer steps): a model that changed in between in a way provinstr did not see (another model
sharing its layers trained, layer.set_weights, trainable flags) is not saved, since the file would
not be what the fit generated; a warning and an rdfs:comment on the model's node say so.
Models whose weights exceed the size limit are saved on the training thread, as the fit ends:
a second copy of them is not worth holding.

The saver holds the GIL while Keras walks the model, so a save slows whatever Python the training
thread runs meanwhile (evaluate's tracing). What does not depend on the final weights is done by the
same thread during the fit, while the training thread is inside TensorFlow: see warm_up.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from provinstr.capture.safety import report
from provinstr.vocab import RDFS

WHERE = "saving the trained Keras model"

# Weights above this size are saved on the training thread (a snapshot would double their memory).
SNAPSHOT_LIMIT_BYTES = 512 * 1024 * 1024

Record = Callable[[Any, str, Path, Any], None]  # emits the written file's location and sha256


class ModelChanged(RuntimeError):
    """The model changed between the end of its fit and its save."""


@dataclass
class _Save:
    run: Any
    node: str
    path: Path
    model: Any
    record: Record
    steps: int | None
    weights: list
    trainable: tuple
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _WarmUp:
    model: "weakref.ref[Any]"


_jobs: "queue.Queue[_Save | _WarmUp]" = queue.Queue()
_pending: "weakref.WeakKeyDictionary[Any, _Save]" = weakref.WeakKeyDictionary()
_failures: list[BaseException] = []  # kept for the training thread to raise in strict mode
_lock = threading.Lock()
_worker: threading.Thread | None = None
_drained_runs: "weakref.WeakSet[Any]" = weakref.WeakSet()


def write(model: Any, path: Path) -> None:
    """Keras' own .keras writer (not model.save: a user's override of save must not run on the saver)."""
    import keras

    keras.saving.save_model(model, path)


def steps_of(model: Any) -> int | None:
    """How many training steps the model's optimizer has taken (None without an optimizer)."""
    iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
    if iterations is None:
        return None
    value = iterations.numpy() if hasattr(iterations, "numpy") else iterations
    return int(value)


def weight_bytes(model: Any) -> int:
    """The size of the model's weights, from their shapes (nothing is read)."""
    total = 0
    for variable in getattr(model, "weights", []):
        try:
            itemsize = np.dtype(getattr(variable, "dtype", "float32")).itemsize
        except TypeError:  # a dtype numpy does not name (bfloat16 ...)
            itemsize = 4
        total += int(np.prod(variable.shape)) * itemsize
    return total


def save_later(run: Any, node: str, path: Path, model: Any, record: Record,
               limit_bytes: int = SNAPSHOT_LIMIT_BYTES) -> None:
    """Save `model` to `path` off the training thread; `record(run, node, path, model)` once it is written.

    At most one save is pending at a time, so a loop of trainings cannot pile models up in memory.
    """
    if weight_bytes(model) > limit_bytes:  # too big to copy: save it now, as the fit ends
        write(model, path)
        record(run, node, path, model)
        return
    _wait_for_saves()
    job = prepare(run, node, path, model, record)
    with _lock:
        _pending[model] = job
        if run not in _drained_runs:
            _drained_runs.add(run)
            run.before_end(drain)
    _start_worker()
    _jobs.put(job)


def prepare(run: Any, node: str, path: Path, model: Any, record: Record) -> _Save:
    """A save of the model as it is now: its weights copied, its trainable variables and steps noted."""
    return _Save(run, node, path, model, record, steps_of(model), model.get_weights(), _trainable(model))


def warm_up(model: Any) -> None:
    """Make the end-of-fit snapshot and the save cheap: their first-time costs, paid now by the saver thread.

    Called while the fit still has epochs to run, so this Python runs while the training thread is
    inside TensorFlow (GIL released). Two costs: TensorFlow builds a read kernel the first time a
    variable of each shape is read eagerly (~0.7 ms each, 15 ms for a small CNN); and Keras' saver
    builds an attribute skip-set per object type (~45 ms), cached per thread (see _prime_keras_saving).
    """
    _start_worker()
    _jobs.put(_WarmUp(weakref.ref(model)))


def _warm(job: _WarmUp) -> None:
    # Only speed-ups: the snapshot and the save do all of it anyway.
    with contextlib.suppress(Exception):
        _prime_keras_saving()
    with contextlib.suppress(Exception):
        model = job.model()
        if model is None:
            return
        seen = set()
        for variable in [*model.weights, getattr(getattr(model, "optimizer", None), "iterations", None)]:
            key = (tuple(getattr(variable, "shape", ())), str(getattr(variable, "dtype", "")))
            if variable is not None and key not in seen:
                seen.add(key)
                variable.numpy()


# The object types Keras' saver asks skip-sets for (keras/src/saving/saving_lib.py, get_attr_skipset).
_SAVEABLE_TYPES = ("Operation", "Layer", "Functional", "Sequential", "Metric", "Optimizer", "Loss")


def _prime_keras_saving() -> None:
    """Build Keras' per-type attribute skip-sets in this (the saver's) thread, where they are cached."""
    from keras.src.saving import saving_lib

    for kind in _SAVEABLE_TYPES:
        saving_lib.get_attr_skipset(kind)
    _keep_keras_skipsets()


def _keep_keras_skipsets() -> None:
    """Make Keras find the skip-sets it built: otherwise every save builds them again.

    Keras 3 stores each skip-set under "saving_attr_skipset_<type>" but looks it up under
    "saving_attr_skiplist_<type>", so each save makes a reference Layer, Metric ... and dir() of each:
    about half of a small model's save, holding the GIL. Storing them under the looked-up name too makes
    the lookup hit. The state is this thread's (Keras keeps it in a threading.local) until
    keras.backend.clear_session() resets it; a Keras that finds them itself is left as it is.
    """
    with contextlib.suppress(Exception):  # a Keras without this state: nothing to keep
        from keras.src.backend.common import global_state

        for kind in (*_SAVEABLE_TYPES, "Cross", "Feature"):
            built = global_state.get_global_attribute(f"saving_attr_skipset_{kind}")
            looked_up = f"saving_attr_skiplist_{kind}"
            if built is not None and global_state.get_global_attribute(looked_up) is None:
                global_state.set_global_attribute(looked_up, built)


def wait_for(model: Any) -> None:
    """Block until the pending save of `model` (if any) is written: before the model changes."""
    if threading.current_thread() is _worker:
        return  # a captured call made by the save itself
    try:
        job = _pending.get(model)
    except TypeError:  # not a model (unhashable): nothing of it is being saved
        job = None
    if job is not None:
        job.done.wait()
    _raise_failures()


def drain() -> None:
    """Block until every queued save is written (the run is ending)."""
    if threading.current_thread() is _worker:
        return
    _wait_idle()
    _raise_failures()


def _wait_for_saves() -> None:
    """Block until no save is pending (a warm-up may still run: the next save queues behind it)."""
    if _jobs.unfinished_tasks:
        _start_worker()
    with _lock:
        jobs = list(_pending.values())
    for job in jobs:
        job.done.wait()


def _wait_idle() -> None:
    if _jobs.unfinished_tasks:
        _start_worker()  # alive unless something killed it; then a new one takes the queue
    _jobs.join()


def _start_worker() -> None:
    global _worker
    with _lock:
        if _worker is not None and _worker.is_alive():
            return
        first = _worker is None
        _worker = threading.Thread(target=_work, name="provinstr-model-saver", daemon=True)
    _worker.start()
    if first:  # registered after h5py's own exit handler, so it runs before it: files are complete
        atexit.register(_drain_at_exit)


def _drain_at_exit() -> None:
    with contextlib.suppress(Exception):
        _wait_idle()


def _work() -> None:
    while True:
        job = _jobs.get()
        if isinstance(job, _WarmUp):
            _warm(job)
            _jobs.task_done()
            continue
        try:
            write_checked(job)
            _keep_keras_skipsets()  # the next save in this process finds them
        except BaseException as error:  # noqa: BLE001 - the saver outlives any one problem
            _fail(error)
        finally:
            job.done.set()
            with _lock:
                if _pending.get(job.model) is job:
                    del _pending[job.model]
            job.model = job.weights = None  # the model may be freed now
            _jobs.task_done()


def write_checked(job: _Save) -> None:
    """Write the file if the model is still as `prepare` saw it (raises ModelChanged, keeping no file, if not).

    The weights are compared once, after the write: a change before it is still there then, and each
    comparison reads every variable while the training thread may be running Python of its own.
    """
    try:
        _check_unchanged(job, read_weights=False)  # trained again or re-flagged: no file is written
        write(job.model, job.path)
        _check_unchanged(job, read_weights=True)
    except BaseException as error:
        with contextlib.suppress(Exception):  # a file that is not what the fit generated is not kept
            job.path.unlink(missing_ok=True)
        with contextlib.suppress(Exception):
            job.run.emit(job.node, [(RDFS.comment, f"the trained model was not saved: {error}")])
        raise
    job.record(job.run, job.node, job.path, job.model)


def _trainable(model: Any) -> tuple:
    return tuple(id(variable) for variable in getattr(model, "trainable_weights", []))


def _check_unchanged(job: _Save, read_weights: bool) -> None:
    model = job.model
    same = steps_of(model) == job.steps and _trainable(model) == job.trainable
    if same and read_weights:
        same = _same_weights(model.get_weights(), job.weights)
    if not same:
        name = getattr(model, "name", "the model")
        raise ModelChanged(f"{name} changed between the end of its fit and its save (trained or given other "
                           f"weights by code provinstr does not capture, or its trainable flags changed), so that "
                           f"save was dropped; save the model yourself with model.save")


def _same_weights(now: list, then: list) -> bool:
    """Bit for bit (NaN weights included)."""
    if len(now) != len(then):
        return False
    for a, b in zip(now, then):
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():
            return False
    return True


def _fail(error: BaseException) -> None:
    if not isinstance(error, Exception):
        error = RuntimeError(f"{type(error).__name__} in the model saver")
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
