"""Describe Lightning objects as records: a Trainer's settings in effect, a module's hparams, its loaders.

Read from the objects (nothing here imports Lightning: a script may have imported either `lightning` or
`pytorch_lightning`, and provinstr imports neither); PyTorch objects (modules, optimizers, schedulers,
datasets) are described with the torch adapter's functions.
"""

from __future__ import annotations

import sys
import weakref
from enum import Enum
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from provinstr.adapters.torch import describe as torch_describe
from provinstr.capture.activity import safe_segment
from provinstr.capture.nquads import IRI
from provinstr.capture.safety import guard
from provinstr.capture.values import summarize
from provinstr.vocab import PROV

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity

# Trainer settings every activity ran with, then those of one kind of call (read as the Trainer holds them).
COMMON_SETTINGS = ("precision", "num_nodes", "deterministic", "benchmark", "inference_mode")
FIT_SETTINGS = ("max_epochs", "min_epochs", "max_steps", "min_steps", "max_time", "accumulate_grad_batches",
                "gradient_clip_val", "gradient_clip_algorithm", "check_val_every_n_epoch",
                "val_check_interval",
                "limit_train_batches", "limit_val_batches", "num_sanity_val_steps", "overfit_batches",
                "fast_dev_run", "reload_dataloaders_every_n_epochs", "log_every_n_steps", "detect_anomaly")
KIND_SETTINGS = {"fit": FIT_SETTINGS, "validate": ("limit_val_batches",), "test": ("limit_test_batches",),
                 "predict": ("limit_predict_batches",)}


def package_of(obj: Any) -> Any:
    """The Lightning package an object is from: lightning.pytorch or pytorch_lightning (already imported)."""
    top = type(obj).__module__.partition(".")[0]
    return sys.modules["lightning.pytorch" if top == "lightning" else top]


def is_module(obj: Any, package: Any) -> bool:
    """True for a LightningModule of `package` (what fit/validate/test/predict accept without a TypeError)."""
    return obj is not None and isinstance(obj, package.LightningModule)


def plain(value: Any) -> Any:
    """A setting as a record holds it: enums by their value, timedeltas as text, the rest summarised."""
    if isinstance(value, Enum):
        value = value.value
    if type(value).__name__ == "timedelta":
        return str(value)
    return summarize(value)


def trainer_settings(trainer: Any, kind: str) -> dict[str, Any]:
    """The settings a Trainer runs `kind` ("fit", "validate", "test", "predict") with, defaults included.

    accelerator, strategy and devices are the resolved ones ("cpu", "single_device", 1), not the flags.
    """
    found: dict[str, Any] = {}
    for name in (*COMMON_SETTINGS, *KIND_SETTINGS.get(kind, ())):
        value = _setting(trainer, name)
        if value is not _MISSING:
            found[name] = plain(value)
    accelerator = getattr(trainer, "accelerator", None)
    if accelerator is not None:
        found["accelerator"] = _short(type(accelerator).__name__, "Accelerator")
    strategy = getattr(trainer, "strategy", None)
    if strategy is not None:
        named = getattr(type(strategy), "strategy_name", None)
        found["strategy"] = named or _short(type(strategy).__name__, "Strategy")
    devices = getattr(trainer, "num_devices", None)
    if isinstance(devices, int):
        found["devices"] = devices
    return found


_MISSING = object()


def _setting(trainer: Any, name: str) -> Any:
    """One setting: the Trainer's attribute, else where Lightning keeps it (torch's own flags for two)."""
    torch = sys.modules.get("torch")
    if name == "deterministic" and torch is not None:
        if torch.are_deterministic_algorithms_enabled():
            return "warn" if torch.is_deterministic_algorithms_warn_only_enabled() else True
        return False
    if name == "benchmark" and torch is not None:
        return bool(torch.backends.cudnn.benchmark)
    if name == "max_time":
        timer = next((c for c in getattr(trainer, "callbacks", []) if type(c).__name__ == "Timer"), None)
        duration = getattr(timer, "_duration", None)
        return _MISSING if duration is None else f"{duration}s"
    if name == "inference_mode":
        loop = getattr(trainer, "test_loop", None)
        return getattr(loop, "inference_mode", _MISSING)
    if name == "detect_anomaly":
        return getattr(trainer, "_detect_anomaly", _MISSING)
    try:
        value = getattr(trainer, name)
    except Exception:  # noqa: BLE001 - a property that needs a running loop
        return _MISSING
    return _MISSING if callable(value) else value


def _short(name: str, suffix: str) -> str:
    """CPUAccelerator -> cpu, CUDAAccelerator -> cuda, DDPStrategy -> ddp."""
    return (name[: -len(suffix)] if name.endswith(suffix) and name != suffix else name).lower()


def record_hparams(activity: "Activity", owner: Any, role: str) -> None:
    """save_hyperparameters()'s values (`owner.hparams`) as hyperparameters under their own names.

    They get IRIs of their own (<activity>/<role>/<name>): an hparam `lr` and the optimizer's `lr` are two
    nodes.
    """
    hparams = getattr(owner, "hparams", None)
    if not hparams:
        return
    for name, value in dict(hparams).items():
        node = f"{activity.iri}/{role}/{safe_segment(name)}"
        activity.hyperparameter(str(name), summarize(value), iri=node)


def callback_names(callbacks: list) -> list[str]:
    return [type(callback).__name__ for callback in callbacks]


# -- data -----------------------------------------------------------------------------------------
def loaders_in(iterables: Any) -> Iterator[tuple[str, Any]]:
    """(key, loader) for each DataLoader a Trainer holds: one loader, a list, a dict, a CombinedLoader."""
    if iterables is None:
        return
    inner = getattr(iterables, "iterables", None)  # a CombinedLoader the script built
    if inner is not None and not hasattr(iterables, "dataset"):
        yield from loaders_in(inner)
    elif isinstance(iterables, dict):
        for key, value in iterables.items():
            for sub, loader in loaders_in(value):
                yield (f"{key}.{sub}" if sub else str(key)), loader
    elif isinstance(iterables, (list, tuple)):
        for index, value in enumerate(iterables):
            for sub, loader in loaders_in(value):
                yield (f"{index}.{sub}" if sub else str(index)), loader
    elif hasattr(iterables, "dataset"):
        yield "", iterables


def record_loaders(activity: "Activity", iterables: Any, role: str, names: dict[int, str], limit: int,
                   settings: bool = False) -> None:
    """Each loader (a node) and its dataset (a pi:Dataset) used by the activity; with `settings`, the first
    loader's batch_size, shuffle ... are hyperparameters (the training loader's, as for a PyTorch loop).

    `names` maps id(loader) and id(dataset) to the names the script gave them.
    """
    run = activity.run
    for index, (key, loader) in enumerate(loaders_in(iterables)):
        with guard("recording a Lightning dataloader"):
            node = torch_describe.record_component(run, loader)
            activity.used(node)
            dataset = getattr(loader, "dataset", None)
            name = names.get(id(dataset)) or script_names(loader)[1] or (f"{role}.{key}.dataset" if key else
                                                                         f"{role}.dataset")
            if dataset is not None:
                for data in _dataset_nodes(run, dataset, name, limit):
                    activity.used(data)
                    run.emit(node, [(PROV.used, IRI(data))])
            if settings and index == 0:
                for setting, value in torch_describe.loader_settings(loader).items():
                    activity.hyperparameter(setting, value)


_datasets: "weakref.WeakKeyDictionary[Any, tuple[str, list[str]]]" = weakref.WeakKeyDictionary()


def _dataset_nodes(run: Any, dataset: Any, name: str, limit: int) -> list[str]:
    """A dataset's pi:Dataset nodes, described once per run (fit, test and predict of one dataset share)."""
    try:
        found = _datasets.get(dataset)
    except TypeError:
        return torch_describe.record_dataset(run, dataset, name, limit)
    if found is None or found[0] != run.iri:
        found = _datasets[dataset] = (run.iri, torch_describe.record_dataset(run, dataset, name, limit))
    return found[1]


_named: "weakref.WeakKeyDictionary[Any, tuple]" = weakref.WeakKeyDictionary()


def script_names(loader: Any) -> tuple[str | None, str | None]:
    """The script's names of a loader it built (the torch.dataloader rule saw it) and its dataset, or None."""
    try:
        found = _named.get(loader)
        if found is None:
            from provinstr.adapters.torch.training import SESSION

            namer = SESSION.names.pop(loader, None)  # read once from the frame that built it
            found = namer(loader) if callable(namer) else (namer or (None, None))
            _named[loader] = found
    except TypeError:  # not weakly referenceable: not a DataLoader the rule saw
        return None, None
    return found

__all__ = ["callback_names", "is_module", "loaders_in", "package_of", "plain", "record_hparams",
           "record_loaders", "script_names", "trainer_settings"]
