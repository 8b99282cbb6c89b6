"""A plain PyTorch training loop as a pi:Training: its epochs, losses, steps, learning rates and adaptations.

What tells provinstr about a loop, all without a change to the script:
- the epoch loop (rewritten by the `torch.epochs` rule): each iteration is an epoch (TorchTraining is its
  observer, capture.epochs);
- `loss.backward()` (the `torch.backward` hook rule): the loss is kept, detached, on the device; its epoch
  mean is read once, when the epoch ends (no .item() and no device synchronisation per step);
- one global optimizer-step hook (torch.optim.optimizer.register_optimizer_step_post_hook): steps are
  counted and every optimizer, a third-party one included, is described when it first steps;
- one global module forward pre-hook, only until the model's first forward: which module is trained;
- `_get_iterator` of every DataLoader the script builds: which loaders an epoch iterates.
The pi:Training starts at the first backward or optimizer step: a loop that trains nothing records nothing.
Assignments the `torch.values` rule matches (val_loss, correct ...) are the epoch's metrics under the
script's names; after the last epoch they are the metrics of a pi:Test (the evaluation pass).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import weakref
from typing import Any, Iterator

from provinstr.adapters.torch import describe
from provinstr.capture import records, steerable
from provinstr.capture.activity import Activity, now
from provinstr.capture.adaptation import record_adaptation
from provinstr.capture.nquads import IRI
from provinstr.capture.run import active_run
from provinstr.capture.hooks import name_in_frame
from provinstr.capture.records import DEFAULT_HASH_LIMIT
from provinstr.capture.safety import guard
from provinstr.vocab import PI, PROV

USER_CODE = "user code"  # the trigger of a learning-rate change no scheduler made
FOLD_LOSSES = 1024  # kept losses are summed on their device every this many (bounded memory, no sync)
# Group keys a steered learning rate scales with it, so a scheduler's next step keeps the change.
_SCALED_WITH_LR = ("initial_lr", "max_lr", "min_lr")
_NAMES = {"learning_rate": "lr", "epsilon": "eps"}


class Session:
    """provinstr's view of the PyTorch process: the loop running now, the last one, the Test after it."""

    def __init__(self) -> None:
        self.current: TorchTraining | None = None  # the epoch loop running now (one per process)
        self.loose: TorchTraining | None = None  # steps taken outside any epoch loop
        self.last: TorchTraining | None = None  # the last loop that finished
        self.test: EvaluationPass | None = None
        self.suspended = 0  # >0 while another adapter (Lightning) records the training itself
        self.installed = False
        self.schedulers: "weakref.WeakKeyDictionary[Any, list]" = weakref.WeakKeyDictionary()
        self.loaded: list[str] = []  # model files loaded, for the next activity to use
        self.saved: dict[str, str] = {}  # absolute path -> the pi:Model node of a file torch.save wrote
        # DataLoader the script built -> its LoaderNames (what the script calls it and its dataset)
        self.names: "weakref.WeakKeyDictionary[Any, LoaderNames]" = weakref.WeakKeyDictionary()
        self.samples: list[tuple] = []  # (run, node, dataset ref, length): map-style datasets sampled at the end
        self.limit = DEFAULT_HASH_LIMIT  # the torch rules' hash_limit_mb, in bytes
        self.runs: set[str] = set()  # runs whose end this session hears of
        self.thread = threading.main_thread()

    # -- hooks into torch (installed once the script imported torch) ---------------------------
    def install(self) -> None:
        if self.installed or "torch" not in sys.modules:
            return
        from torch.optim.optimizer import register_optimizer_step_post_hook
        from torch.utils.data import DataLoader

        register_optimizer_step_post_hook(_on_step)
        DataLoader.__iter__ = _iterating(DataLoader.__iter__)  # once per epoch, persistent workers too
        self.installed = True

    def watch_run(self, run: Any) -> None:
        if run.iri not in self.runs:
            self.runs.add(run.iri)
            run.before_end(lambda: self.at_run_end(run))

    def training_for_step(self) -> "TorchTraining | None":
        """The training a backward or optimizer step belongs to (a loopless one when no epoch loop runs)."""
        if self.suspended:
            return None
        if self.current is not None:
            return self.current
        if threading.current_thread() is not self.thread:
            return None  # DataLoader workers and other threads: never a training of their own
        if self.loose is None:
            run = active_run()
            if run is None:
                return None
            self.settle(failed=False)
            self.loose = TorchTraining(self, run, None, "", None, None, epochs=False)
            self.loose.find_model()
        return self.loose

    # -- loops ----------------------------------------------------------------------------------
    def start_loop(self, run: Any, line: int, name: str, planned: int | None,
                   frame: Any) -> "TorchTraining | None":
        if self.suspended or threading.current_thread() is not self.thread:
            return None  # a loop another adapter runs, or on another thread
        current = self.current
        if current is not None:
            if current.frame is None or _on_stack(current.frame):
                return None  # an inner loop of the epoch loop running now
            current.exited(current.epoch)  # left by break or return without its end being seen
            current.finished()
        self.install()
        self.settle(failed=False)
        self.end_test()
        self.watch_run(run)
        self.current = TorchTraining(self, run, line, name, planned, frame)
        return self.current

    def loop_over(self, training: "TorchTraining") -> None:
        if self.current is training:
            self.current = None
        if training.activity is not None:
            self.last = training
        if training.pending is None:
            training.close()

    def settle(self, failed: bool) -> None:
        """An epoch left early is recorded, unless the run fails with it (then it never completed)."""
        last = self.last
        if last is not None and last.pending is not None:
            if not failed:
                last.record_epoch(*last.pending)
            last.pending = None
            if not failed:
                last.close()

    # -- values and evaluation ------------------------------------------------------------------
    def note(self, name: str, value: Any, line: int) -> None:
        current = self.current
        if current is not None:
            current.values[name] = value
            return
        if self.last is None or self.suspended or threading.current_thread() is not self.thread:
            return  # values computed before any training, or by another adapter's training
        if self.test is None:
            if metric_value(value) is None or not _evaluating(self.last):
                return  # only a number computed in evaluation (no_grad, inference_mode or model.eval()) opens a Test
            self.settle(failed=False)
            self.test = EvaluationPass(self.last, line)
        self.test.values[name] = value

    def end_test(self) -> None:
        if self.test is not None:
            test, self.test = self.test, None
            test.close()

    def at_run_end(self, run: Any) -> None:
        failed = getattr(run, "error", None) is not None
        with guard("recording the end of a PyTorch training"):
            self.settle(failed)
        with guard("recording the end of a PyTorch training"):
            if self.current is not None and self.current.run is run:
                self.current = None  # a loop still running: Run.end ends its Training (with the error)
            if self.loose is not None and self.loose.run is run:
                loose, self.loose = self.loose, None
                loose.close()
        with guard("recording a PyTorch evaluation"):
            self.end_test()
        for names in list(self.names.values()):
            names.frame = None  # loaders never iterated: their names are not needed any more
        for sample in [s for s in self.samples if s[0] is run]:
            self.samples.remove(sample)
            with guard("fingerprinting a PyTorch dataset"):
                describe.record_sample(*sample)
        self.runs.discard(run.iri)

    def uses(self, activity: Activity) -> None:
        for node in self.loaded:
            if records.in_run(activity.run, node):
                activity.used(node)
        self.loaded.clear()


class TorchTraining:
    """One training loop (the epoch loop's observer): a pi:Training, started when it first trains."""

    def __init__(self, session: Session, run: Any, line: int | None, name: str, planned: int | None,
                 frame: Any, epochs: bool = True) -> None:
        self.session, self.run, self.line, self.name, self.planned = session, run, line, name, planned
        self.frame = frame  # the frame the loop runs in, until it is over: a loop left by break is not on the stack
        self.epochs = epochs
        self.activity: Activity | None = None
        self.epoch = 0
        self.item: Any = None
        self.started = time.perf_counter()
        self.losses: list = []  # this epoch's losses, detached, on their device
        self.folded: Any = None  # their sum every FOLD_LOSSES (on the device too: no synchronisation)
        self.folded_count = 0
        self.steps = 0
        self.epoch_steps = 0  # self.steps when the epoch began
        self.values: dict[str, Any] = {}
        self.optimizers: list = []
        self.rates: dict[int, list] = {}  # id(optimizer) -> its groups' lr in effect this epoch
        self.scheduled: dict[int, int] = {}  # id(scheduler) -> its last_epoch when this epoch began
        self.per_step: set[int] = set()  # optimizers whose scheduler steps per batch (no adaptations)
        self.loaders: list = []  # (loader, steps when its iteration began), this epoch
        self.described: set[int] = set()  # loaders already recorded
        self.model: Any = None
        self.model_recorded = False
        self.seen: list = []  # outermost modules with parameters called so far (candidates for the model)
        self.covered: set[int] = set()  # ids of those modules and of every module inside them
        self.loss_module: Any = None  # the first torch.nn loss module called
        self.evaluated_model: Any = None  # a weak reference to the model, kept after the loop is over
        self.pending: tuple | None = None  # (epoch, seconds, metrics) of an epoch left early
        self._forward = None
        self.left = False  # the loop is over (exited or finished), as the observer heard
        self.ended = False
        self._settings_done = False

    # -- the observer (capture.epochs) ----------------------------------------------------------
    def begin(self, index: int, item: Any) -> None:
        self.epoch, self.item = index, item
        self.started = time.perf_counter()
        self.losses, self.folded, self.folded_count = [], None, 0
        self.epoch_steps = self.steps
        self.values = {}
        self.loaders = []
        if index == 0:
            self.find_model()
        if self.activity is not None:
            self.check_rates(index)
            steerable.apply_pending(TorchSteering(self), self.run, index)

    def end(self, index: int) -> None:
        self.record_epoch(*self.epoch_metrics(index))

    def exited(self, index: int) -> None:
        if self.activity is not None and not self.left:
            self.pending = self.epoch_metrics(index)
        self.left = True

    def finished(self) -> None:
        self.left = True
        if not self.ended:
            self.session.loop_over(self)

    # -- what trains ----------------------------------------------------------------------------
    def backward(self, loss: Any) -> None:
        losses = self.losses
        losses.append(loss.detach())
        if len(losses) >= FOLD_LOSSES:  # long epochs and loopless trainings keep a sum, not every loss
            self.fold()
        if self.activity is None:
            self.start()

    def fold(self) -> None:
        import torch

        try:
            total = torch.stack(self.losses).reshape(len(self.losses), -1).double().mean(1).sum()
            self.folded = total if self.folded is None else self.folded + total.to(self.folded.device)
            self.folded_count += len(self.losses)
            self.losses = []
        except (RuntimeError, ValueError):  # different shapes or devices: keep them as they are
            pass

    def stepped(self, optimizer: Any) -> None:
        self.steps += 1
        if optimizer not in self.optimizers:
            self.optimizers.append(optimizer)
            if self.activity is None:
                self.start()
            with guard("finding the trained PyTorch model"):
                self.choose_model(optimizer)
            with guard("recording a PyTorch optimizer"):
                self.describe_optimizer(optimizer)
        elif self.model is None and self.seen:
            with guard("finding the trained PyTorch model"):
                self.choose_model(optimizer)

    def start(self) -> None:
        """The pi:Training, from the first backward or step: the model, the data, the settings so far."""
        run = self.run
        self.session.watch_run(run)
        activity = self.activity = Activity(run, "Training", label="training loop" if self.epochs else "training")
        activity.start(sourceLine=self.line)
        with guard("recording a PyTorch training"):
            if self.planned is not None:
                activity.hyperparameter("epochs", self.planned)
            if self.loss_module is not None:
                activity.hyperparameter("loss", describe.public_class(self.loss_module))
                node = records.node_in_run(run, self.loss_module)
                if node is not None:
                    activity.used(node)
            self.session.uses(activity)
            self.record_model()
            for loader, _ in self.loaders:
                self.describe_loader(loader, training=None)

    def find_model(self) -> None:
        """Listen to forwards until the first step: the outermost modules called, and the loss module.

        The model is chosen at the optimizer's first step (the module it steps), else at the end of the
        first epoch (the first module called); then the global hook goes, so later forwards cost nothing.
        """
        if self._forward is not None or self.model is not None or "torch" not in sys.modules:
            return
        from torch.nn.modules.loss import _Loss
        from torch.nn.modules.module import register_module_forward_pre_hook

        me = weakref.ref(self)

        def seen_forward(module: Any, args: Any) -> None:
            training = me()
            if training is None:
                handle.remove()
                return
            if id(module) in training.covered:
                return
            with guard("finding the trained PyTorch model"):
                if isinstance(module, _Loss):
                    training.loss_module = training.loss_module or module
                    training.covered.add(id(module))
                elif next(module.parameters(), None) is not None:
                    training.seen.append(module)
                    training.covered.update(id(inner) for inner in module.modules())

        handle = self._forward = register_module_forward_pre_hook(seen_forward)

    def choose_model(self, optimizer: Any = None) -> None:
        """The model among the modules called: the first whose parameters the optimizer steps."""
        if self.model is not None:
            return
        if optimizer is not None:
            stepped = {id(p) for group in optimizer.param_groups for p in group["params"]}
            self.model = next((m for m in self.seen if any(id(p) in stepped for p in m.parameters())), None)
        elif self.seen:
            self.model = self.seen[0]
        if self.model is not None:
            self.stop_listening()
            self.seen, self.covered = [], set()
            self.evaluated_model = weakref.ref(self.model)
            self.record_model()

    def stop_listening(self) -> None:
        if self._forward is not None:
            self._forward.remove()
            self._forward = None

    def record_model(self) -> None:
        if self.model is None or self.model_recorded or self.activity is None:
            return
        self.model_recorded = True
        describe.record_modules(self.activity, self.model)

    def describe_optimizer(self, optimizer: Any) -> None:
        activity = self.activity
        prefix = "" if len(self.optimizers) == 1 else f"optimizer.{len(self.optimizers) - 1}."
        activity.used(describe.record_component(self.run, optimizer, "Optimizer"))
        describe.optimizer_hyperparameters(activity, optimizer, prefix)
        self.rates[id(optimizer)] = group_rates(optimizer)
        for scheduler in self.session.schedulers.get(optimizer, []):
            self.scheduled[id(scheduler)] = getattr(scheduler, "last_epoch", 0)
            activity.used(describe.record_component(self.run, scheduler))
            activity.hyperparameter(f"{prefix}lr_scheduler", type(scheduler).__name__)
            for name, value in describe.scheduler_settings(scheduler).items():
                activity.hyperparameter(f"{prefix}lr_scheduler.{name}", value)

    def loader_iterated(self, loader: Any) -> None:
        self.loaders.append((loader, self.steps))
        if self.activity is not None and id(loader) not in self.described:
            self.describe_loader(loader, training=None)

    def describe_loader(self, loader: Any, training: bool | None) -> None:
        """The loader and its dataset, used by the Training; a training loader's settings are hyperparameters."""
        if self.activity is None:
            return
        first = id(loader) not in self.described
        self.described.add(id(loader))
        with guard("recording a PyTorch DataLoader"):
            if first:
                node = describe.record_component(self.run, loader)
                self.activity.used(node)
                dataset = getattr(loader, "dataset", None)
                if dataset is not None:
                    names = self.session.names.get(loader)
                    _, name = names(loader) if names is not None else ("loader", "dataset")
                    limit = names.limit if names is not None else self.session.limit
                    for data in describe.record_dataset(self.run, dataset, name, limit, self.session.samples):
                        self.activity.used(data)
                        self.run.emit(node, [(PROV.used, IRI(data))])
            if training:
                for name, value in describe.loader_settings(loader).items():
                    self.activity.hyperparameter(name, value)

    # -- epochs ---------------------------------------------------------------------------------
    def epoch_metrics(self, index: int) -> tuple[int, float, dict[str, Any]]:
        """What epoch `index` gave: its loss, rate, steps, seconds and the script's values (read here, once)."""
        seconds = time.perf_counter() - self.started
        metrics: dict[str, Any] = {}
        with guard("recording a PyTorch epoch"):
            mean = self.mean_loss()
            if mean is not None:
                metrics["loss"] = mean
            if self.optimizers:
                first = self.rates.get(id(self.optimizers[0])) or []
                if first:
                    metrics["lr"] = first[0]
                for group, rate in enumerate(first[1:], start=1):
                    if rate != first[0]:
                        metrics[f"lr.{group}"] = rate
            metrics["steps"] = self.steps - self.epoch_steps
            for name, value in self.values.items():
                number = metric_value(value)
                if number is not None:
                    metrics[name] = number
            if self.name and isinstance(self.item, int) and not isinstance(self.item, bool) and self.item != index:
                metrics.setdefault(self.name, self.item)  # the script counts epochs its own way: keep its count
            if index == 0 or self.epoch_steps == 0:
                self.training_loaders()
            if index == 0:
                self.choose_model()  # no optimizer stepped (manual updates): the first module called
                self.stop_listening()
        self.losses, self.folded, self.folded_count = [], None, 0
        return index, seconds, metrics

    def mean_loss(self) -> float | None:
        """The mean of the losses kept (and folded), read from the device once."""
        if not self.losses and not self.folded_count:
            return None
        mean = mean_loss(self.losses) if self.losses else None
        if not self.folded_count:
            return mean
        total = float(self.folded.item()) + (mean * len(self.losses) if mean is not None else 0.0)
        return total / (self.folded_count + len(self.losses))

    def training_loaders(self) -> None:
        """A loader the optimizer stepped through is a training loader: its settings are hyperparameters."""
        events = [*self.loaders, (None, self.steps)]
        for (loader, steps_before), (_, steps_after) in zip(events, events[1:]):
            if steps_after > steps_before and loader is not None and not self._settings_done:
                self._settings_done = True
                self.describe_loader(loader, training=True)

    def record_epoch(self, index: int, seconds: float, metrics: dict[str, Any]) -> None:
        activity = self.activity
        if activity is None:
            return
        at = now()
        metrics["epoch_seconds"] = seconds
        emit = self.run.emit
        for name, value in metrics.items():
            node = activity.metric(name, value, epoch=index, at=at)
            emit(node, [(PI.epochSeconds, seconds)])

    def check_rates(self, index: int) -> None:
        """At an epoch's begin: each learning rate that changed since the last epoch began is a pi:Adaptation."""
        for optimizer in self.optimizers:
            with guard("recording a PyTorch learning-rate change"):
                stepped, fastest, moved = schedulers_moved(self.session.schedulers.get(optimizer, []), self.scheduled)
                if moved > 1 and id(optimizer) not in self.per_step:
                    self.per_step.add(id(optimizer))  # OneCycleLR, warm-up: steps per batch
                    self.activity.hyperparameter("lr_schedule", f"{type(fastest).__name__} (per step)")
                record_rate_changes(self.activity, optimizer, self.rates, index, stepped,
                                    record=id(optimizer) not in self.per_step)

    def close(self) -> None:
        """End the Training: a loopless one records its one loss and step count first."""
        if self.ended:
            return
        self.ended = True
        try:
            if self.activity is None:
                return
            if not self.epochs:
                self.choose_model()
                mean = self.mean_loss()  # a loopless training keeps (folds) them all
                if mean is not None:
                    self.activity.metric("loss", mean)
                self.activity.metric("steps", self.steps)
            self.activity.end()
        finally:  # what the finished loop held is the script's to free (a model, Adam's state, a frame)
            self.stop_listening()
            self.frame = self.model = self.item = self.loss_module = None
            self.optimizers, self.loaders, self.losses, self.folded, self.values = [], [], [], None, {}
            self.seen, self.covered = [], set()


class EvaluationPass:
    """Values the script computes after its last epoch (a test loop): the metrics of a pi:Test."""

    def __init__(self, training: TorchTraining, line: int) -> None:
        self.training = training
        self.values: dict[str, Any] = {}
        self.activity = Activity(training.run, "Test", label="evaluation").start(sourceLine=line)
        training.session.uses(self.activity)
        if training.activity is not None:
            training.run.emit(self.activity.iri, [(PROV.wasInformedBy, IRI(training.activity.iri))])

    def close(self) -> None:
        try:
            for name, value in self.values.items():
                with guard("recording a PyTorch evaluation value"):
                    number = metric_value(value)
                    if number is not None:
                        self.activity.metric(name, number)
        finally:
            self.values = {}
            self.activity.end()


# -- steering -------------------------------------------------------------------------------------
class TorchSteering:
    """A PyTorch loop as `provinstr steer` sees it (capture.steerable.Steerable): its optimizers' groups.

    `training` is a TorchTraining, or anything with the same four attributes (Lightning's fit capture):
    `optimizers` (list), `activity` (the Training), `rates` (id(optimizer) -> its groups' lr, kept
    current so a steered rate is no scheduler's adaptation) and `session` (whose `schedulers` it scales).
    """

    def __init__(self, training: TorchTraining) -> None:
        self.training = training

    @staticmethod
    def key(name: str) -> str:
        return _NAMES.get(name) or name

    def read(self, name: str) -> Any:
        optimizers = self.training.optimizers
        if not optimizers:
            return None
        return describe.hyperparameter_value(optimizers[0].param_groups[0].get(self.key(name)))

    def set(self, name: str, value: Any) -> None:
        key = self.key(name)
        optimizers = self.training.optimizers
        if not optimizers:
            raise ValueError("the loop has no optimizer to set it on")
        for optimizer in optimizers:
            if key not in optimizer.param_groups[0]:
                raise KeyError(f"{type(optimizer).__name__} has no {key!r}")
        for optimizer in optimizers:
            for index, group in enumerate(optimizer.param_groups):
                old = group[key]
                group[key] = tuple(value) if isinstance(old, tuple) else type(old)(value) \
                    if isinstance(old, (int, float)) and not isinstance(old, bool) else value
                if key == "lr" and old:
                    _scale_schedules(self.training.session, optimizer, index, group[key] / old)
            self.training.rates[id(optimizer)] = group_rates(optimizer)

    def record(self, name: str, old: Any, new: Any, epoch: int, trigger: str, agent: str | None) -> Any:
        return record_adaptation(self.training.activity, self.key(name), old, new, epoch, trigger, agent)


def _scale_schedules(session: Session, optimizer: Any, group_index: int, ratio: float) -> None:
    """A steered rate survives the schedulers: their base rates (and a group's one-cycle bounds) scale with it."""
    group = optimizer.param_groups[group_index]
    for key in _SCALED_WITH_LR:
        if isinstance(group.get(key), (int, float)):
            group[key] = group[key] * ratio
    for scheduler in session.schedulers.get(optimizer, []):
        bases = getattr(scheduler, "base_lrs", None)
        if isinstance(bases, list) and group_index < len(bases):
            bases[group_index] = bases[group_index] * ratio
        last = getattr(scheduler, "_last_lr", None)
        if isinstance(last, list) and group_index < len(last):
            last[group_index] = group["lr"]


# -- learning rates (plain loops and Lightning's fits alike) -------------------------------------
def group_rates(optimizer: Any) -> list:
    """Each param group's learning rate, in group order."""
    return [group.get("lr") for group in optimizer.param_groups]


def schedulers_moved(schedulers: Any, scheduled: dict[int, int]) -> tuple[Any, Any, int]:
    """Since the last look (`scheduled`: id(scheduler) -> its last_epoch, updated here): the first scheduler
    that stepped, the one that stepped most, and how many steps that one took."""
    stepped = fastest = None
    most = 0
    for scheduler in schedulers:
        at = getattr(scheduler, "last_epoch", 0)
        moved = at - scheduled.get(id(scheduler), at)
        scheduled[id(scheduler)] = at
        if moved >= 1 and stepped is None:
            stepped = scheduler
        if moved > most:
            fastest, most = scheduler, moved
    return stepped, fastest, most


def record_rate_changes(activity: Activity, optimizer: Any, rates: dict[int, list], epoch: int, stepped: Any,
                        prefix: str = "", record: bool = True) -> None:
    """Each group's rate that differs from `rates` (id(optimizer) -> the rates last seen, updated here) is a
    pi:Adaptation at `epoch`, triggered by the scheduler that stepped (else user code); `record=False` only
    notes the rates (a per-step schedule makes no adaptations)."""
    before, after = rates.get(id(optimizer)) or [], group_rates(optimizer)
    rates[id(optimizer)] = after
    if not record:
        return
    trigger = type(stepped).__name__ if stepped is not None else USER_CODE
    for group, (old, new) in enumerate(zip(before, after)):
        if old != new:
            name = f"{prefix}lr" + (f".{group}" if group else "")
            record_adaptation(activity, name, _number(old), _number(new), epoch, trigger)


# -- values ---------------------------------------------------------------------------------------
def mean_loss(losses: list) -> float | None:
    """The mean of the kept losses, read from the device once (float64, as Python sums .item()s)."""
    if not losses:
        return None
    import torch

    try:  # 0-d losses stack as they are; others (a [1] loss) are reshaped first
        return torch.stack(losses).double().mean().item()
    except (RuntimeError, ValueError):
        pass
    try:
        return torch.stack([loss.reshape(()) for loss in losses]).double().mean().item()
    except (RuntimeError, ValueError):  # different devices or shapes: one at a time
        return sum(float(loss.double().mean()) for loss in losses) / len(losses)


def metric_value(value: Any) -> Any:
    """A script's value as a metric: numbers as they are, one-element tensors/arrays as numbers; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    numel = getattr(value, "numel", None) or getattr(value, "size", None)
    if hasattr(value, "item") and (numel() if callable(numel) else numel) == 1:
        return value.item()
    return None


def _number(value: Any) -> Any:
    return describe.hyperparameter_value(value) if value is not None else None


class LoaderNames:
    """What the script named a DataLoader and its dataset: read from the frame that built the loader when
    the loader is first iterated (`train_loader = DataLoader(...)` binds the name only after the call),
    then the frame is let go."""

    def __init__(self, frame: Any, limit: int) -> None:
        self.frame, self.limit = frame, limit  # limit: the loader rule's hash_limit_mb, in bytes
        self.names: tuple[str, str] | None = None

    def __call__(self, loader: Any) -> tuple[str, str]:
        if self.names is None:
            frame, self.frame = self.frame, None
            name = name_in_frame(frame, loader, "loader")
            self.names = (name, name_in_frame(frame, getattr(loader, "dataset", None), f"{name}.dataset"))
        return self.names


def _on_stack(frame: Any) -> bool:
    """True when `frame` is running (it is the caller's, or one of its callers)."""
    current = sys._getframe(1)
    while current is not None:
        if current is frame:
            return True
        current = current.f_back
    return False


def _evaluating(training: TorchTraining) -> bool:
    """The script is evaluating: gradients off (no_grad, inference_mode), or the trained model in eval mode."""
    import torch

    if not torch.is_grad_enabled():
        return True
    model = training.evaluated_model() if training.evaluated_model is not None else None
    return model is not None and not model.training


def _iterating(original: Any) -> Any:
    """DataLoader.__iter__, telling the running loop which loader an epoch iterates (once per epoch)."""

    def __iter__(loader: Any) -> Any:
        try:
            names = SESSION.names.get(loader)
            if names is not None:
                names(loader)  # read the script's names now, and let go of the frame that built it
                training = SESSION.current
                if training is not None:
                    training.loader_iterated(loader)
        except Exception as error:  # noqa: BLE001 - the user's iteration goes on
            from provinstr.capture.safety import report

            report(error, "recording a PyTorch DataLoader")
        return original(loader)

    __iter__.__wrapped__ = original  # type: ignore[attr-defined]
    return __iter__


# -- the global hooks -----------------------------------------------------------------------------
SESSION = Session()


def _on_step(optimizer: Any, args: Any, kwargs: Any) -> None:
    """Every optimizer step in the process (a global torch hook): counted by the training it belongs to."""
    try:
        training = SESSION.current
        if training is not None and not SESSION.suspended and optimizer in training.optimizers:
            training.steps += 1  # the per-step path: a known optimizer of the running loop
            return
        training = SESSION.training_for_step()
        if training is not None:
            training.stepped(optimizer)
    except Exception as error:  # noqa: BLE001 - a capture fault never stops the step
        from provinstr.capture.safety import report

        report(error, "counting a PyTorch optimizer step")


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """While another adapter records a training itself (Lightning's fit), plain-loop capture stands aside."""
    SESSION.suspended += 1
    try:
        yield
    finally:
        SESSION.suspended -= 1


__all__ = ["SESSION", "USER_CODE", "EvaluationPass", "LoaderNames", "Session", "TorchSteering", "TorchTraining",
           "group_rates", "mean_loss", "metric_value", "record_rate_changes", "schedulers_moved", "suspended"]
