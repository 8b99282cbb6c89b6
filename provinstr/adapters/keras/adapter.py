"""The Keras adapter's hooks: what the generic engine calls around layers, compile, fit, evaluate, predict, save."""

from __future__ import annotations

import hashlib
import inspect
import weakref
from pathlib import Path
from typing import Any

from provinstr.adapters.keras import datasets, saving
from provinstr.adapters.keras.callback import BatchCaptureCallback, CaptureCallback, ResultCallback
from provinstr.adapters.keras.describe import api_name, record_config, record_optimizer
from provinstr.capture import records
from provinstr.capture.arguments import bound_arguments
from provinstr.capture.hooks import Adapter, CallContext
from provinstr.capture.activity import ENTITY, Activity
from provinstr.capture.nquads import IRI
from provinstr.capture.safety import guard
from provinstr.vocab import MLS, PI, PROV, RDF, RDFS

# The last Training of each model, and the model file it generated (for Test/Inference/save links).
_trainings: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()
_saved: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def replace_argument(ctx: CallContext, name: str, value: Any) -> None:
    """Give the call a different value for one argument, wherever the user passed it (or not).

    Arguments that do not fit the callee's signature are left as they are: the call then raises
    the user's own TypeError, not a capture error.
    """
    signature = inspect.signature(ctx.callee)
    try:
        bound = signature.bind_partial(*ctx.args, **ctx.kwargs)
    except TypeError:
        return
    if name in signature.parameters:
        bound.arguments[name] = value
        ctx.args, ctx.kwargs = tuple(bound.args), dict(bound.kwargs)
    elif any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
        ctx.kwargs[name] = value  # a fit(self, *args, **kwargs) override passes it on to Keras


def call_arguments(ctx: CallContext) -> dict[str, Any]:
    return bound_arguments(ctx.callee, ctx.args, ctx.kwargs)


def user_callbacks(value: Any) -> list | None:
    """The user's callbacks as a new flat list (None when Keras is given a CallbackList we must not touch)."""
    import keras

    if isinstance(value, keras.callbacks.CallbackList):
        return None
    if value is None:
        return []
    return list(keras.tree.flatten(value)) if isinstance(value, (list, tuple)) else [value]


class KerasAdapter(Adapter):
    """Keras 3 (TensorFlow backend; tf.keras spellings too)."""

    name = "keras"

    def before_call(self, ctx: CallContext) -> None:
        """A model is trained or compiled again only once its last trained state is saved."""
        if ctx.receiver is not None and ctx.rule.activity not in ("Test", "Inference"):
            saving.wait_for(ctx.receiver)

    # -- components -------------------------------------------------------------------------
    def component(self, obj: Any) -> Any:
        """keras.layers.Input / keras.layers.add(...) return a tensor: the component is its layer."""
        history = getattr(obj, "_keras_history", None)
        return obj if history is None else history.operation

    def class_name(self, obj: Any) -> str:
        return api_name(obj)

    def on_component(self, ctx: CallContext, obj: Any, node: str) -> None:
        obj = self.component(obj)
        import keras

        # Callbacks have no configuration; a whole model's (keras.applications) is its layers, recorded at fit.
        if ctx.rule.entity != "Callback" and not isinstance(obj, keras.Model) and hasattr(obj, "get_config"):
            record_config(ctx.run, node, obj.get_config(), skip=ctx.captured)

    def on_configuration(self, ctx: CallContext, result: Any) -> None:
        """After compile: the optimizer it resolved (a string becomes the real one) has a node."""
        optimizer = getattr(ctx.receiver, "optimizer", None)
        if optimizer is not None:
            record_optimizer(ctx.run, optimizer, ctx.line)

    # -- activities ---------------------------------------------------------------------------
    def before_activity(self, ctx: CallContext, activity: Activity) -> None:
        model = ctx.receiver
        arguments = call_arguments(ctx)
        limit = records.hash_limit(ctx.rule)
        for role in ("x", "y"):
            datasets.record(activity, role, arguments.get(role), limit, name_of=ctx.name_of)
        if activity.kind == "Training":
            self._before_fit(ctx, activity, arguments, limit)
            return
        training = _trainings.get(model)
        if records.in_run(ctx.run, training):
            ctx.run.emit(activity.iri, [(PROV.wasInformedBy, IRI(training))])
        if records.in_run(ctx.run, _saved.get(model)):
            activity.used(_saved[model])
        if activity.kind == "Test":
            given = user_callbacks(arguments.get("callbacks"))
            if given is not None:
                ctx.state["results"] = ResultCallback(activity)
                replace_argument(ctx, "callbacks", [*given, ctx.state["results"]])

    def _before_fit(self, ctx: CallContext, activity: Activity, arguments: dict, limit: int) -> None:
        validation = arguments.get("validation_data")
        if isinstance(validation, (tuple, list)) and 2 <= len(validation) <= 3:
            datasets.record(activity, "validation_x", validation[0], limit, name_of=ctx.name_of)
            datasets.record(activity, "validation_y", validation[1], limit, name_of=ctx.name_of)
        elif validation is not None:
            datasets.record(activity, "validation_data", validation, limit, name_of=ctx.name_of)
        self._default_hyperparameters(ctx, activity, arguments)
        _trainings[ctx.receiver] = activity.iri
        given = user_callbacks(arguments.get("callbacks"))
        if given is None:
            return  # a ready-made CallbackList: adding to it would change the user's object
        activity.hyperparameter("callbacks", [type(c).__name__ for c in given])
        kind = BatchCaptureCallback if ctx.rule.option("per_batch") else CaptureCallback
        capture = kind(activity, given, int(arguments.get("initial_epoch") or 0), frozenset(ctx.captured))
        if ctx.rule.option("save_model"):
            capture.after_first_epoch = lambda: saving.warm_up(ctx.receiver)
        replace_argument(ctx, "callbacks", capture.callbacks())

    @staticmethod
    def _default_hyperparameters(ctx: CallContext, activity: Activity, arguments: dict) -> None:
        """The values Keras uses for captured arguments the user left out (epochs=1, batch_size=32 ...)."""
        for name, parameter in inspect.signature(ctx.callee).parameters.items():
            if name in ctx.captured or not ctx.rule.captures(name):
                continue
            default = parameter.default
            if name == "batch_size" and default is None and hasattr(arguments.get("x"), "shape"):
                default = 32  # Keras' documented default for array input
            if default is not None and default is not inspect.Parameter.empty:
                activity.hyperparameter(name, default)

    def after_activity(self, ctx: CallContext, activity: Activity, result: Any) -> None:
        if activity.kind == "Training":
            if ctx.rule.option("save_model"):
                self._save_trained(ctx, activity)
        elif activity.kind == "Test":
            callback = ctx.state.get("results")
            if callback is None or callback.logs is None:
                for name, value in _named_results(ctx.receiver, result).items():
                    activity.metric(name, value)
        elif activity.kind == "Inference" and result is not None:
            limit = records.hash_limit(ctx.rule)
            datasets.record(activity, "predictions", result, limit, generated=True)

    def _save_trained(self, ctx: CallContext, training: Activity) -> None:
        """Queue the save of the trained model as <store>/models/<run-id>/<n>.keras: a pi:Model the Training generated.

        The file is written by a background thread (saving.py), so the fit ends without waiting for it.
        """
        run, model = ctx.run, ctx.receiver
        if run.store is None:
            return  # no store to save into (a warning already said so)
        node = run.new_iri("model")
        folder = run.store.models_folder(run.id)  # <store>/models/<run-id>; a server store: in its local spool
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{node.rsplit('/', 1)[-1]}.keras"
        _describe_model(run, node, model)
        training.generated(node)
        _saved[model] = node
        saving.save_later(run, node, path, model, _file_facts)

    def on_model(self, ctx: CallContext, result: Any, node: str) -> None:
        """The user saved a model: its file, sha256, and the Training that generated it."""
        model = ctx.receiver
        arguments = call_arguments(ctx)
        path = arguments.get("filepath", next(iter(arguments.values()), None))
        with guard("recording a saved Keras model"):
            _model_file(ctx.run, node, Path(str(path)), model)
        training = _trainings.get(model)
        if records.in_run(ctx.run, training):
            ctx.run.emit(node, [(PROV.wasGeneratedBy, IRI(training))])
            ctx.run.emit(training, [(PROV.generated, IRI(node))])


def _describe_model(run: Any, node: str, model: Any) -> None:
    run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Model)), (RDF.type, IRI(MLS.Model)),
                    (RDFS.label, getattr(model, "name", None))])


def _model_file(run: Any, node: str, path: Path, model: Any) -> None:
    """The model entity with the file it was saved to and the file's sha256."""
    _describe_model(run, node, model)
    _file_facts(run, node, path, model)


def _file_facts(run: Any, node: str, path: Path, model: Any) -> None:
    """Where the model's file is and its sha256."""
    digest = None
    if path.is_file():
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        digest = hasher.hexdigest()
    run.emit(node, [(PROV.atLocation, str(path.resolve())), (PI.sha256, digest)])


def _named_results(model: Any, result: Any) -> dict[str, Any]:
    """evaluate()'s return value by metric name (used only when its callback saw no logs)."""
    if isinstance(result, dict):
        return result
    if isinstance(result, (list, tuple)):
        names = list(getattr(model, "metrics_names", []) or [])
        if len(names) != len(result):
            names = ["loss"] + [f"metric_{i}" for i in range(1, len(result))]
        return dict(zip(names, result))
    return {"loss": result}


ADAPTER = KerasAdapter()
__all__ = ["ADAPTER", "KerasAdapter", "replace_argument"]
