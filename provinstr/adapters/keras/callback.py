"""The callbacks provinstr adds to a fit: per-epoch metrics, learning-rate adaptations, the early stop.

A fit runs with the callbacks [head, u1, probe(u1), u2, probe(u2), ..., un, capture]: a fresh list
around the user's own (their list is never changed). Each probe reads the learning rate after the
callback before it, so a change is attributed to the callback that made it (pi:trigger = its class).
On the training thread they only read values and enqueue records; nothing runs per batch unless
the rule asks for per-batch metrics.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, Callable

import keras

from provinstr.adapters.keras.describe import (
    compile_hyperparameters,
    exact,
    node_in_run,
    optimizer_hyperparameters,
    record_layers,
    record_optimizer,
)
from provinstr.capture import steerable
from provinstr.capture.activity import Activity, now
from provinstr.capture.adaptation import record_adaptation
from provinstr.capture.safety import guard
from provinstr.vocab import PI

# Steering and other tools register callables (capture_callback, epoch) here; each is called,
# guarded, at every epoch begin of every captured fit, before the user's callbacks. A hook that
# changes hyperparameters only through capture_callback.adapt(...) (which records the adaptation)
# says so with `hook.records_adaptations = True`; after any other hook the learning rate is read
# again, so a change it made is attributed to it.
EPOCH_BEGIN_HOOKS: list[Callable[["CaptureCallback", int], Any]] = []

USER_CODE = "user code"  # the trigger of a change no callback made (between fits, in a train_step ...)

# The learning rate each optimizer had when its last captured fit ended: a change made by user
# code between two fits is an adaptation too.
_last_rates: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()


def settable_rate(optimizer: Any) -> float | None:
    """The learning rate an optimizer holds (exactly); None when a schedule or function drives it."""
    held = getattr(optimizer, "_learning_rate", None)
    if isinstance(held, keras.Variable) or isinstance(held, (int, float)):
        return exact(held)
    if held is None and hasattr(optimizer, "learning_rate"):  # optimizers not built on Keras 3's base
        value = optimizer.learning_rate
        return None if callable(value) and not hasattr(value, "numpy") else exact(value)
    return None


def effective_rate(optimizer: Any) -> float | None:
    """The learning rate the next step uses (a schedule evaluated at the optimizer's iterations)."""
    value = optimizer.learning_rate
    return exact(value) if hasattr(value, "numpy") or isinstance(value, (int, float)) else None


def read_hyperparameter(optimizer: Any, name: str) -> Any:
    if name == "learning_rate":
        return settable_rate(optimizer)
    return exact(getattr(optimizer, name))


def set_hyperparameter(optimizer: Any, name: str, value: Any) -> None:
    """Set an optimizer hyperparameter the way Keras does: a variable is assigned, anything else set."""
    if name == "learning_rate":
        optimizer.learning_rate = value
        return
    current = getattr(optimizer, name)
    if hasattr(current, "assign"):
        current.assign(value)
    else:
        setattr(optimizer, name, value)


def trigger_of(cause: Any) -> str:
    """What to name as pi:trigger: a callback by its class, a hook by its given name, else user code."""
    if cause is None:
        return USER_CODE
    return cause if isinstance(cause, str) else type(cause).__name__


class CaptureCallback(keras.callbacks.Callback):
    """Records one fit (a pi:Training): its epochs' metrics and every change of the learning rate."""

    def __init__(self, training: Activity, user_callbacks: list, initial_epoch: int = 0,
                 recorded: frozenset = frozenset()) -> None:
        super().__init__()
        self.training = training
        self.user_callbacks = list(user_callbacks)
        self.epoch = initial_epoch
        self.recorded = recorded  # hyperparameters the call already recorded from its arguments
        self.rate: float | None = None
        self._epoch_started = time.perf_counter()
        self.first_epoch = initial_epoch
        self.after_first_epoch: Callable[[], Any] | None = None  # called (guarded) once the first epoch ends

    def callbacks(self) -> list:
        """The list handed to Keras: head, each user callback followed by its probe, then this one."""
        chain: list = [_Probe(self, None, head=True)]
        for index, callback in enumerate(self.user_callbacks):
            chain.append(callback)
            if index < len(self.user_callbacks) - 1:
                chain.append(_Probe(self, callback))
        chain.append(self)
        return chain

    # -- learning rate ---------------------------------------------------------------------
    def check(self, cause: Any) -> None:
        """Record an adaptation if the learning rate changed since it was last read."""
        optimizer = self.model.optimizer
        rate = settable_rate(optimizer)
        if rate != self.rate and rate is not None and self.rate is not None:
            record_adaptation(self.training, "learning_rate", self.rate, rate, self.epoch, trigger_of(cause))
        self.rate = rate

    def adapt(self, name: str, new_value: Any, trigger: str, agent: str | None = None) -> None:
        """Set an optimizer hyperparameter now and record the pi:Adaptation (as for a callback's change)."""
        steerable.adapt(KerasSteering(self), name, new_value, self.epoch, trigger, agent)

    # -- begin -----------------------------------------------------------------------------
    def begin(self) -> None:
        """At train begin (the model is built): layers, optimizer, compile settings, steps."""
        model, training = self.model, self.training
        record_layers(training, model)
        optimizer = model.optimizer
        training.used(record_optimizer(training.run, optimizer))
        optimizer_hyperparameters(training, optimizer)
        compile_hyperparameters(training, model)
        steps = (self.params or {}).get("steps")
        if steps is not None and "steps_per_epoch" not in self.recorded:
            training.hyperparameter("steps_per_epoch", steps)
        for callback in self.user_callbacks:
            node = node_in_run(training.run, callback)
            if node is not None:
                training.used(node)
        self.rate = _last_rates.get(optimizer)
        self.check(None)  # changed by user code since the last fit of this optimizer

    def epoch_begin(self, epoch: int) -> None:
        # Nothing runs between an epoch's end (checked last by this callback) and the next one's
        # begin, so the rate is not read again here: each read is a ~0.1 ms TensorFlow op.
        self.epoch = epoch
        self._epoch_started = time.perf_counter()
        for hook in list(EPOCH_BEGIN_HOOKS):
            with guard("an epoch-begin hook"):
                hook(self, epoch)
            if not getattr(hook, "records_adaptations", False):
                self.check(getattr(hook, "__qualname__", None) or repr(hook))

    # -- Keras hooks of the last callback ------------------------------------------------------
    def on_train_begin(self, logs=None):
        with guard("recording a Keras training"):
            self.check(self.user_callbacks[-1] if self.user_callbacks else None)

    def on_epoch_begin(self, epoch, logs=None):
        with guard("recording a Keras epoch"):
            self.check(self.user_callbacks[-1] if self.user_callbacks else None)

    def on_epoch_end(self, epoch, logs=None):
        with guard("recording a Keras epoch"):
            self.check(self.user_callbacks[-1] if self.user_callbacks else None)
            self.record_epoch(epoch, logs or {})
            more_to_come = (self.params or {}).get("epochs", 0) > epoch + 1  # the work overlaps those epochs
            if self.after_first_epoch is not None and epoch == self.first_epoch and more_to_come:
                self.after_first_epoch()

    def record_epoch(self, epoch: int, logs: dict) -> None:
        """Every key of the epoch's logs as a pi:Metric, with the epoch's seconds and end time."""
        seconds = time.perf_counter() - self._epoch_started
        at = now()
        training, emit = self.training, self.training.run.emit
        values = dict(logs)
        values["epoch_seconds"] = seconds
        if "learning_rate" in values:  # a float32 rate as the decimal it is, as adaptations record it
            values["learning_rate"] = exact(values["learning_rate"])
        elif self.rate is not None:  # a settable rate is the one steps use; check() just read it
            values["learning_rate"] = self.rate
        else:
            values["learning_rate"] = effective_rate(self.model.optimizer)
        for name, value in values.items():
            node = training.metric(name, value, epoch=epoch, at=at)
            emit(node, [(PI.epochSeconds, seconds)])
        # No flush: the writer's poll picks these up. Waking it here, as the next epoch starts, took
        # the GIL from the training thread at its busiest (+0.5 ms per epoch, bench/overhead_parts.py).

    def on_train_end(self, logs=None):
        with guard("recording the end of a Keras training"):
            self.check(self.user_callbacks[-1] if self.user_callbacks else None)
            for callback in self.user_callbacks:
                if isinstance(callback, keras.callbacks.EarlyStopping) and callback.stopped_epoch > 0:
                    self.training.metric("stopped_epoch", callback.stopped_epoch)
                    if getattr(callback, "best_epoch", None) is not None:
                        self.training.metric("best_epoch", callback.best_epoch)
            if self.rate is not None:
                _last_rates[self.model.optimizer] = self.rate


class BatchCaptureCallback(CaptureCallback):
    """A CaptureCallback that also records every batch's metrics (the rule option per_batch)."""

    async_safe = True  # it only enqueues: Keras may keep dispatching batch ends asynchronously

    def on_train_batch_end(self, batch, logs=None):
        with guard("recording a Keras batch"):
            for name, value in (logs or {}).items():
                self.training.metric(name, value, epoch=self.epoch, batch=batch)


class _Probe(keras.callbacks.Callback):
    """Reads the learning rate after one user callback (or, as head, before all of them)."""

    def __init__(self, capture: CaptureCallback, after: Any, head: bool = False) -> None:
        super().__init__()
        self.capture, self.after, self.head = capture, after, head

    def on_train_begin(self, logs=None):
        with guard("recording a Keras training"):
            if self.head:
                self.capture.begin()
            else:
                self.capture.check(self.after)

    def on_epoch_begin(self, epoch, logs=None):
        with guard("recording a Keras epoch"):
            if self.head:
                self.capture.epoch_begin(epoch)
            else:
                self.capture.check(self.after)

    def on_epoch_end(self, epoch, logs=None):
        with guard("recording a Keras epoch"):
            self.capture.check(self.after)


class ResultCallback(keras.callbacks.Callback):
    """Records an evaluate's final logs as metrics of its pi:Test."""

    def __init__(self, test: Activity) -> None:
        super().__init__()
        self.test = test
        self.logs: dict | None = None

    def on_test_end(self, logs=None):
        with guard("recording a Keras evaluation"):
            self.logs = dict(logs or {})
            for name, value in self.logs.items():
                self.test.metric(name, value)


# -- `provinstr steer`: the Keras side of provinstr.capture.steerable --------------------------------
class KerasSteering:
    """A Keras fit as steering sees it (provinstr.capture.steerable.Steerable): its optimizer's values."""

    def __init__(self, capture: CaptureCallback) -> None:
        self.capture = capture

    def read(self, name: str) -> Any:
        return read_hyperparameter(self.capture.model.optimizer, name)

    def set(self, name: str, value: Any) -> None:
        set_hyperparameter(self.capture.model.optimizer, name, value)

    def record(self, name: str, old: Any, new: Any, epoch: int, trigger: str, agent: str | None) -> str:
        if name == "learning_rate":
            self.capture.rate = new  # the rate it set: check() compares the next read with it
        return record_adaptation(self.capture.training, name, old, new, epoch, trigger, agent)


def apply_steering(capture: CaptureCallback, epoch: int) -> None:
    """Epoch-begin hook: apply `provinstr steer`'s pending requests to this fit."""
    steerable.apply_pending(KerasSteering(capture), capture.training.run, epoch)


apply_steering.records_adaptations = True  # type: ignore[attr-defined]  # it changes values through adapt()
EPOCH_BEGIN_HOOKS.append(apply_steering)

__all__ = ["EPOCH_BEGIN_HOOKS", "BatchCaptureCallback", "CaptureCallback", "KerasSteering", "ResultCallback",
           "record_adaptation"]
