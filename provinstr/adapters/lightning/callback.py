"""The Lightning Callback provinstr adds to a Trainer call, and what it records of a fit once per epoch.

A captured fit/validate/test/predict runs with provinstr's callback appended to a new `trainer.callbacks`
list; when the call ends (it returns, or Lightning's on_exception reports its error) the trainer gets its
own list back, so the script sees the callbacks it gave. Meanwhile plain-loop PyTorch capture stands aside
(provinstr.adapters.torch.training.suspended): Lightning's optimizer steps belong to this Training.

An epoch is recorded when it is over, at the next epoch's start (or the fit's end): by then Lightning has
reduced what the module logged with `self.log` (on_epoch means), including what the module logs in its own
on_train_epoch_end, which runs after every callback's. Values are read (`.item()`) only then, once per epoch.
"""

from __future__ import annotations

import importlib
import time
import weakref
from types import SimpleNamespace
from typing import Any

from provinstr.adapters.lightning import describe
from provinstr.adapters.lightning.checkpoints import Checkpoints, used_file
from provinstr.adapters.torch import describe as torch_describe
from provinstr.adapters.torch.training import (
    TorchSteering,
    group_rates,
    metric_value,
    record_rate_changes,
    schedulers_moved,
    suspended,
)
from provinstr.capture import steerable
from provinstr.capture.activity import Activity, now
from provinstr.capture.safety import guard
from provinstr.vocab import PI, RDFS


# trainer -> the FitCapture of the fit it runs now (for a save_checkpoint the script makes meanwhile)
RUNNING: "weakref.WeakKeyDictionary[Any, FitCapture]" = weakref.WeakKeyDictionary()


class TrainerCall:
    """One captured Trainer call: provinstr's callback in trainer.callbacks and plain-loop capture suspended,
    from begin() until end() (after the call returns, or from Lightning's on_exception)."""

    def __init__(self, activity: Activity, trainer: Any) -> None:
        self.activity, self.trainer = activity, trainer
        self.callback: Any = None
        self._given: list | None = None  # the trainer's own list
        self._attached: list | None = None  # the list with provinstr's callback, handed to Lightning
        self._suspension: Any = None

    def begin(self) -> None:
        trainer = self.trainer
        _remove_strays(trainer)
        self.callback = callback_class(trainer)(self)
        self._given = trainer.callbacks
        self._attached = trainer.callbacks = [*self._given, self.callback]
        self._suspension = suspended()
        self._suspension.__enter__()

    def end(self) -> None:
        """Give the trainer its callbacks back and plain-loop capture its place (the first time only)."""
        suspension, self._suspension = self._suspension, None
        if suspension is not None:
            suspension.__exit__(None, None, None)
        callback, self.callback = self.callback, None
        if callback is None:
            return
        trainer = self.trainer
        if trainer.callbacks is self._attached:
            trainer.callbacks = self._given
        else:  # Lightning made a list of its own (a module's configure_callbacks): ours leaves it
            trainer.callbacks[:] = [c for c in trainer.callbacks if c is not callback]

    # -- what the callback hears (a Test or Inference needs only the end) --------------------------
    def failed(self, trainer: Any) -> None:
        self.end()


class FitCapture(TrainerCall):
    """One trainer.fit as a pi:Training: layers, optimizers, epochs, learning rates, checkpoints, early stop.

    It also offers what TorchSteering reads of a PyTorch loop (optimizers, rates, session.schedulers,
    activity), so `provinstr steer` changes a Lightning fit exactly as it changes a plain loop.
    """

    def __init__(self, activity: Activity, trainer: Any, module: Any, limit: int,
                 names: dict[int, str]) -> None:
        super().__init__(activity, trainer)
        self.run = activity.run
        self.module, self.limit, self.names = module, limit, names
        self.epoch: int | None = None  # the epoch running now (trainer.current_epoch at its start)
        self.started = time.perf_counter()
        self.steps_before = 0
        self.optimizers: list = []
        self.rates: dict[int, list] = {}  # id(optimizer) -> its groups' lr in effect this epoch
        self.scheduled: dict[int, int] = {}  # id(scheduler) -> its last_epoch at the last look
        self.per_step: set[int] = set()  # optimizers a per-step schedule drives (no adaptations)
        self.session = SimpleNamespace(schedulers={})  # optimizer -> its schedulers (TorchSteering scales)
        self.seen: dict[str, Any] = {}  # metric name -> the value object recorded last (seen again: stale)
        self.validation_described = False
        self.checkpoints = Checkpoints(activity)

    def begin(self) -> None:
        with guard("recording a Lightning checkpoint"):
            self.checkpoints.existing(self.trainer)
        super().begin()
        RUNNING[self.trainer] = self

    def end(self) -> None:
        if RUNNING.get(self.trainer) is self:
            del RUNNING[self.trainer]
        super().end()

    # -- the fit's start ---------------------------------------------------------------------------
    def train_started(self, trainer: Any, module: Any) -> None:
        """on_train_start (the module is set up, configure_optimizers has run): layers, optimizers, data."""
        activity = self.activity
        with guard("recording a Lightning module"):
            torch_describe.record_modules(activity, module)
        with guard("recording Lightning optimizers"):
            self.describe_optimizers(trainer)
        with guard("recording a Lightning checkpoint"):
            node = used_file(self.run, trainer.ckpt_path)  # resumed from a checkpoint
            if node is not None:
                activity.used(node)
        describe.record_loaders(activity, trainer.train_dataloader, "train", self.names, self.limit,
                                settings=True)
        self.describe_validation(trainer)

    def describe_optimizers(self, trainer: Any) -> None:
        activity, run = self.activity, self.run
        self.optimizers = list(trainer.optimizers)
        for index, optimizer in enumerate(self.optimizers):
            activity.used(torch_describe.record_component(run, optimizer, "Optimizer"))
            torch_describe.optimizer_hyperparameters(activity, optimizer, self.prefix(index))
            self.rates[id(optimizer)] = group_rates(optimizer)
        counts: dict[int, int] = {}
        for config in trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            optimizer = scheduler.optimizer
            index = next((i for i, o in enumerate(self.optimizers) if o is optimizer), 0)
            count = counts[id(optimizer)] = counts.get(id(optimizer), -1) + 1
            name = f"{self.prefix(index)}lr_scheduler" + (f".{count}" if count else "")
            self.session.schedulers.setdefault(optimizer, []).append(scheduler)
            self.scheduled[id(scheduler)] = getattr(scheduler, "last_epoch", 0)
            activity.used(torch_describe.record_component(run, scheduler))
            activity.hyperparameter(name, type(scheduler).__name__)
            for setting, value in torch_describe.scheduler_settings(scheduler).items():
                activity.hyperparameter(f"{name}.{setting}", value)
            activity.hyperparameter(f"{name}.interval", config.interval)
            activity.hyperparameter(f"{name}.frequency", config.frequency)
            if config.monitor:
                activity.hyperparameter(f"{name}.monitor", config.monitor)
            if config.interval == "step":  # OneCycleLR, warm-up: the schedule is the hyperparameter
                self.per_step.add(id(optimizer))
                schedule = f"{type(scheduler).__name__} (per step)"
                activity.hyperparameter(f"{self.prefix(index)}lr_schedule", schedule)

    def prefix(self, index: int) -> str:
        return "" if len(self.optimizers) <= 1 else f"optimizer.{index}."

    def describe_validation(self, trainer: Any) -> None:
        if self.validation_described:
            return
        loaders = getattr(trainer, "val_dataloaders", None)
        if loaders is not None:
            self.validation_described = True
            describe.record_loaders(self.activity, loaders, "val", self.names, self.limit)

    # -- epochs --------------------------------------------------------------------------------------
    def epoch_started(self, trainer: Any) -> None:
        """on_train_epoch_start: the last epoch is recorded; learning-rate changes; steering requests."""
        with guard("recording a Lightning epoch"):
            self.close_epoch(trainer)
        epoch = self.epoch = int(trainer.current_epoch)
        self.started = time.perf_counter()
        self.steps_before = int(trainer.global_step)
        with guard("recording a Lightning learning-rate change"):
            self.check_rates(epoch)
        steerable.apply_pending(TorchSteering(self), self.run, epoch)  # a refusal goes to the asker
        with guard("recording a Lightning checkpoint"):
            self.checkpoints.look(trainer, epoch - 1)

    def close_epoch(self, trainer: Any) -> None:
        """Record the epoch that just ended: what the module logged, the learning rates, steps and seconds."""
        epoch, self.epoch = self.epoch, None
        if epoch is None:
            return
        seconds = time.perf_counter() - self.started
        metrics = self.logged(trainer)
        for index, optimizer in enumerate(self.optimizers):
            rates = self.rates.get(id(optimizer)) or []
            for group, rate in enumerate(rates):
                if group == 0 or rate != rates[0]:
                    metrics[f"{self.prefix(index)}lr" + (f".{group}" if group else "")] = _number(rate)
        metrics["steps"] = int(trainer.global_step) - self.steps_before
        metrics["epoch_seconds"] = seconds
        at, emit = now(), self.run.emit
        for name, value in metrics.items():
            node = self.activity.metric(name, value, epoch=epoch, at=at)
            emit(node, [(PI.epochSeconds, seconds)])
        self.describe_validation(trainer)

    def logged(self, trainer: Any) -> dict[str, Any]:
        """What the module logged this epoch, by the names it logged them under (`x_step` forks left out).

        A value Lightning only kept from an earlier epoch (validation every n epochs) is the same object
        as the one recorded then, and is not recorded again.
        """
        metrics = trainer.callback_metrics
        fresh: dict[str, Any] = {}
        for name, value in list(metrics.items()):
            if self.seen.get(name) is value:
                continue
            if name.endswith("_step") and (name[:-5] in metrics or f"{name[:-5]}_epoch" in metrics):
                continue  # the per-step fork of a value logged on_step and on_epoch
            number = metric_value(value)
            if number is not None:
                self.seen[name] = value
                fresh[name] = number
        return fresh

    def check_rates(self, epoch: int) -> None:
        """Each learning rate that changed since the last epoch began is a pi:Adaptation at this epoch."""
        for index, optimizer in enumerate(self.optimizers):
            stepped, _, _ = schedulers_moved(self.session.schedulers.get(optimizer, []), self.scheduled)
            record_rate_changes(self.activity, optimizer, self.rates, epoch, stepped, self.prefix(index),
                                record=id(optimizer) not in self.per_step)

    # -- the fit's end ---------------------------------------------------------------------------------
    def train_ended(self, trainer: Any) -> None:
        """on_train_end: the last epoch, the checkpoints so far, EarlyStopping's stop."""
        with guard("recording a Lightning epoch"):
            self.close_epoch(trainer)
        with guard("recording a Lightning checkpoint"):
            self.checkpoints.look(trainer, int(trainer.current_epoch) - 1)
        with guard("recording Lightning's early stopping"):
            self.early_stopping(trainer)

    def early_stopping(self, trainer: Any) -> None:
        activity = self.activity
        stoppers = list(getattr(trainer, "early_stopping_callbacks", []) or [])
        for index, callback in enumerate(stoppers):
            prefix = "early_stopping." if len(stoppers) == 1 else f"early_stopping.{index}."
            for name in ("monitor", "mode", "patience", "min_delta"):
                value = getattr(callback, name, None)
                if value is not None:
                    activity.hyperparameter(f"{prefix}{name}", describe.plain(value))
            best = metric_value(getattr(callback, "best_score", None))
            if best is not None:
                activity.metric(f"{prefix}best_score", best)
            stopped = getattr(callback, "stopped_epoch", 0)
            if isinstance(stopped, int) and stopped > 0:
                name = "stopped_epoch" if len(stoppers) == 1 else f"{prefix}stopped_epoch"
                node = activity.metric(name, stopped)
                reason = getattr(callback, "stopping_reason_message", None)
                if isinstance(reason, str) and reason:
                    self.run.emit(node, [(RDFS.comment, reason)])

    def failed(self, trainer: Any) -> None:
        """on_exception: the files written so far are recorded (the epoch in flight is not)."""
        try:
            with guard("recording a Lightning checkpoint"):
                self.checkpoints.look(trainer, self.epoch)
        finally:
            self.end()

    def finished(self, trainer: Any) -> None:
        """After fit returned: the last files (and which is best); the trainer gets its callbacks back."""
        try:
            with guard("recording a Lightning checkpoint"):
                self.checkpoints.look(trainer, None)
                self.checkpoints.finish(trainer)
        finally:
            self.end()


def _number(value: Any) -> Any:
    return torch_describe.hyperparameter_value(value) if value is not None else None


# -- the Lightning Callback ----------------------------------------------------------------------------
class _Hooks:
    """The hooks of provinstr's Lightning callback (mixed into the Callback of the script's Lightning)."""

    def __init__(self, call: TrainerCall) -> None:
        super().__init__()
        self.provinstr_call = call

    def on_train_start(self, trainer, pl_module):
        with guard("recording a Lightning fit"):
            call = self.provinstr_call
            if isinstance(call, FitCapture):
                call.train_started(trainer, pl_module)

    def on_train_epoch_start(self, trainer, pl_module):
        with guard("recording a Lightning epoch"):
            call = self.provinstr_call
            if isinstance(call, FitCapture):
                call.epoch_started(trainer)

    def on_validation_end(self, trainer, pl_module):
        with guard("recording a Lightning checkpoint"):
            call = self.provinstr_call
            if isinstance(call, FitCapture) and not trainer.sanity_checking:
                call.checkpoints.look(trainer, call.epoch)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        with guard("recording a Lightning checkpoint"):
            call = self.provinstr_call
            if isinstance(call, FitCapture):
                call.checkpoints.announced(checkpoint.get("epoch"))

    def on_train_end(self, trainer, pl_module):
        with guard("recording the end of a Lightning fit"):
            call = self.provinstr_call
            if isinstance(call, FitCapture):
                call.train_ended(trainer)

    def on_exception(self, trainer, pl_module, exception):
        with guard("recording a failed Lightning call"):
            self.provinstr_call.failed(trainer)

    def __reduce__(self):
        # A spawned process (strategy="ddp_spawn") gets a callback that does nothing: records stay here.
        base = next(c for c in type(self).__mro__ if c.__name__ == "Callback")
        return _inert, (base.__module__,)


_classes: dict[Any, type] = {}


def callback_class(trainer: Any) -> type:
    """provinstr's Callback class for the Lightning a trainer is from (`lightning` or `pytorch_lightning`)."""
    base = describe.package_of(trainer).callbacks.Callback
    kind = _classes.get(base)
    if kind is None:
        kind = _classes[base] = type("ProvinstrCallback", (_Hooks, base), {"__module__": __name__})
    return kind


def _inert(module: str) -> Any:
    return importlib.import_module(module).Callback()


def _remove_strays(trainer: Any) -> None:
    """A callback an earlier call left behind (it failed before Lightning could report it) leaves now."""
    if any(isinstance(c, _Hooks) for c in trainer.callbacks):
        trainer.callbacks[:] = [c for c in trainer.callbacks if not isinstance(c, _Hooks)]


__all__ = ["RUNNING", "FitCapture", "TrainerCall", "callback_class"]
