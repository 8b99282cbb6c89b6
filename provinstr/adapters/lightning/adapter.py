"""The Lightning adapter's hooks: what the lightning rules (rules/lightning.toml) do when they fire.

Trainer, callback and logger constructions are components; fit is a pi:Training recorded by provinstr's
callback (callback.py); validate and test are pi:Tests whose metrics are the dicts they return; predict is
a pi:Inference; save_checkpoint and ModelCheckpoint's files are pi:Models. No Lightning or torch import at
module level: every rule fires after the script imported its Lightning (either spelling).
"""

from __future__ import annotations

import os
import sys
import weakref
from typing import Any

from provinstr.adapters.lightning import describe
from provinstr.adapters.lightning.callback import RUNNING, FitCapture, TrainerCall
from provinstr.adapters.lightning.checkpoints import FILES, used_file
from provinstr.adapters.torch.training import metric_value
from provinstr.capture import records
from provinstr.capture.activity import Activity
from provinstr.capture.arguments import bound_arguments
from provinstr.capture.hooks import Adapter, CallContext
from provinstr.capture.nquads import IRI
from provinstr.capture.safety import guard
from provinstr.capture.values import summarize
from provinstr.vocab import MLS, PI, PROV, RDF

# The last Training of each LightningModule (a later Test or Inference of it was informed by it).
_trainings: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()
# What each kind of call names its dataloaders argument, and where the Trainer keeps the loaders it ran.
_LOADER_ARGUMENTS = {"fit": ("train_dataloaders", "val_dataloaders"), "validate": ("dataloaders",),
                     "test": ("dataloaders",), "predict": ("dataloaders",)}
_RAN_LOADERS = {"validate": "val_dataloaders", "test": "test_dataloaders", "predict": "predict_dataloaders"}


class LightningAdapter(Adapter):
    """Lightning 2 (`lightning.pytorch` and `pytorch_lightning`)."""

    name = "lightning"

    def describe(self, value: Any) -> Any:
        """Trainer(callbacks=[...], logger=...) arguments by their classes, not their reprs."""
        if isinstance(value, (list, tuple)) and value and not all(_scalar(v) for v in value):
            return [v if _scalar(v) else records.class_name(v) for v in value]
        if not _scalar(value) and type(value).__module__.partition(".")[0] in _PACKAGES:
            return records.class_name(value)
        return summarize(value)

    def class_name(self, obj: Any) -> str:
        return records.class_name(obj)

    def component_class(self, ctx: CallContext, component: Any, returned: Any) -> str:
        """As written, unless the name could be either spelling (`pl` imported from lightning or from
        pytorch_lightning, as a script chooses at run time): then the package the object comes from."""
        written = super().component_class(ctx, component, returned)
        if written.partition(".")[0] != type(component).__module__.partition(".")[0]:
            return records.class_name(component)
        return written

    # -- activities ---------------------------------------------------------------------------------
    def before_activity(self, ctx: CallContext, activity: Activity) -> None:
        trainer = ctx.receiver
        kind = getattr(ctx.callee, "__name__", "fit")
        arguments = bound_arguments(ctx.callee, ctx.args, ctx.kwargs)
        package = describe.package_of(trainer)
        module = arguments.get("model") or getattr(trainer, "lightning_module", None)
        if not describe.is_module(module, package) or not getattr(trainer, "is_global_zero", True):
            return  # Lightning raises its own TypeError before running anything (or another rank records)
        run = activity.run
        node = records.node_in_run(run, trainer)
        if node is not None:
            activity.used(node)
        activity.hyperparameters(describe.trainer_settings(trainer, kind))
        names = self._names(ctx, arguments, kind)
        if kind == "fit":
            self._before_fit(ctx, activity, trainer, module, arguments, names)
            return
        training = _trainings.get(module)
        if records.in_run(run, training):
            run.emit(activity.iri, [(PROV.wasInformedBy, IRI(training))])
        call = TrainerCall(activity, trainer)
        ctx.state.update(call=call, module=module, names=names)
        call.begin()

    def _before_fit(self, ctx: CallContext, activity: Activity, trainer: Any, module: Any, arguments: dict,
                    names: dict[int, str]) -> None:
        run = activity.run
        describe.record_hparams(activity, module, "hparams")
        datamodule = arguments.get("datamodule") or arguments.get("train_dataloaders")
        if hasattr(datamodule, "train_dataloader") and hasattr(datamodule, "hparams"):
            describe.record_hparams(activity, datamodule, "datamodule-hparams")
        callbacks = list(trainer.callbacks)
        activity.hyperparameter("callbacks", describe.callback_names(callbacks))
        for used in (*callbacks, *list(getattr(trainer, "loggers", []) or [])):
            node = records.node_in_run(run, used)
            if node is not None:
                activity.used(node)
        _trainings[module] = activity.iri
        capture = FitCapture(activity, trainer, module, records.hash_limit(ctx.rule), names)
        ctx.state["call"] = capture
        capture.begin()

    @staticmethod
    def _names(ctx: CallContext, arguments: dict, kind: str) -> dict[int, str]:
        """id(loader) and id(dataset) -> the script's names for them (the loaders passed to the call)."""
        names: dict[int, str] = {}
        for argument in _LOADER_ARGUMENTS.get(kind, ()):
            for key, loader in describe.loaders_in(arguments.get(argument)):
                name = ctx.name_of(loader, argument + (f".{key}" if key else ""))
                dataset = getattr(loader, "dataset", None)
                names[id(loader)] = name
                if dataset is not None:
                    names[id(dataset)] = ctx.name_of(dataset, f"{name}.dataset")
        return names

    def after_activity(self, ctx: CallContext, activity: Activity, result: Any) -> None:
        call = ctx.state.get("call")
        if call is None:
            return
        if isinstance(call, FitCapture):
            call.finished(ctx.receiver)
            return
        call.end()
        trainer = ctx.receiver
        kind = getattr(ctx.callee, "__name__", "")
        with guard("recording a Lightning checkpoint"):
            node = used_file(activity.run, getattr(trainer, "ckpt_path", None))
            if node is not None:
                activity.used(node)
        with guard("recording Lightning dataloaders"):
            describe.record_loaders(activity, getattr(trainer, _RAN_LOADERS.get(kind, ""), None), kind,
                                    ctx.state["names"], records.hash_limit(ctx.rule))
        if activity.kind == "Test":
            for results in result if isinstance(result, list) else ():
                for name, value in (results.items() if isinstance(results, dict) else ()):
                    number = metric_value(value)
                    if number is not None:
                        activity.metric(str(name), number)
        elif activity.kind == "Inference":
            self._predictions(ctx, activity, result)

    @staticmethod
    def _predictions(ctx: CallContext, activity: Activity, result: Any) -> None:
        """trainer.predict's batches, when tensors of one shape but the first: a pi:Dataset it generated."""
        torch = sys.modules.get("torch")
        batches = result if isinstance(result, list) else []
        if torch is None or not batches or not all(isinstance(b, torch.Tensor) and b.dim() for b in batches):
            return
        if len({tuple(b.shape[1:]) for b in batches}) != 1:
            return
        predictions = torch.cat([b.detach() for b in batches])
        node = records.dataset(activity.run, predictions, "predictions", records.hash_limit(ctx.rule))
        activity.generated(node)

    # -- model files ----------------------------------------------------------------------------------
    def on_model(self, ctx: CallContext, result: Any, node: str) -> None:
        """trainer.save_checkpoint(path): the file, its sha256, the Training (and epoch) that made it."""
        arguments = bound_arguments(ctx.callee, ctx.args, ctx.kwargs)
        path = arguments.get("filepath")
        run = ctx.run
        run.emit(node, [(RDF.type, IRI(MLS.Model))])
        if isinstance(path, (str, os.PathLike)):
            records.file_facts(run, node, path)
            FILES[os.path.abspath(path)] = node
        trainer = ctx.receiver
        running = RUNNING.get(trainer)
        training = running.activity.iri if running is not None else _trainings.get(trainer.lightning_module)
        if records.in_run(run, training):
            run.emit(node, [(PROV.wasGeneratedBy, IRI(training))])
            run.emit(training, [(PROV.generated, IRI(node))])
        if running is not None and running.epoch is not None:
            run.emit(node, [(PI.epoch, running.epoch)])


_PACKAGES = ("lightning", "pytorch_lightning")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


ADAPTER = LightningAdapter()
__all__ = ["ADAPTER", "LightningAdapter"]
