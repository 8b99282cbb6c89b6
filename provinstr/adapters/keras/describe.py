"""Describe Keras objects as records: layers, optimizers and their configurations, read from the objects."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from provinstr.capture import records
from provinstr.capture.activity import ENTITY
from provinstr.capture.records import node_in_run
from provinstr.capture.nquads import IRI, plain_value
from provinstr.vocab import PI, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity
    from provinstr.capture.run import Run

_SCALARS = (str, int, float, bool)


_BACKEND_MODULES = "keras.src.backend."


def api_name(obj: Any) -> str:
    """The public name of an object's class ("keras.layers.Conv2D"), else its module path.

    A backend's own class (the torch backend's keras.optimizers.SGD is a subclass in
    keras.src.backend.torch) is named by the public class it implements, as on every backend.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    if cls.__module__.startswith(_BACKEND_MODULES):
        cls = next((c for c in cls.__mro__ if not c.__module__.startswith(_BACKEND_MODULES)), cls)
    try:
        from keras.src.api_export import get_name_from_symbol

        name = get_name_from_symbol(cls)
    except Exception:  # noqa: BLE001 - a Keras without the registry: fall back to the module path
        name = None
    return name or records.class_name(cls)


def exact(value: Any) -> Any:
    """A number as Python holds it; a float32 as the shortest decimal that is exactly that float32."""
    value = plain_value(value)
    if hasattr(value, "numpy") or isinstance(value, np.ndarray | np.generic):
        value = np.asarray(value)
        if value.ndim == 0:
            if value.dtype == np.float32:
                return float(str(value))
            return value.item()
    if isinstance(value, float) and not isinstance(value, bool) and float(np.float32(value)) == value:
        return float(str(np.float32(value)))
    return value


def config_value(value: Any) -> Any:
    """A get_config() value as a record holds it: serialised Keras objects by class name, lists kept."""
    if isinstance(value, dict):
        if "class_name" in value:
            return value["class_name"]
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, (list, tuple)):
        items = [config_value(v) for v in value]
        return items if all(isinstance(v, _SCALARS) or v is None for v in items) else json.dumps(items, default=str)
    return exact(value)


def schedule_value(serialised: dict) -> dict:
    """A serialised LearningRateSchedule as {"class_name": ..., its config ...} (one JSON value)."""
    config = serialised.get("config") or {}
    return {"class_name": serialised.get("class_name"), **{k: config_value(v) for k, v in config.items()}}


def record_config(run: "Run", node: str, config: dict, skip: Iterable[str] = ()) -> None:
    """pi:Attribute per configuration key not already recorded, and the whole configuration as "config"."""
    skipped = set(skip)
    for name, value in config.items():
        if name in skipped or name == "name" or value is None:
            continue
        records.attribute(run, node, name, config_value(value))
    records.attribute(run, node, "config", json.dumps(config, sort_keys=True, default=str))


# -- layers --------------------------------------------------------------------------------
def sublayers(layer: Any) -> list:
    """A layer's direct sublayers (a model's layers, a custom layer's tracked layers)."""
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is not None:
        try:
            return list(flatten(include_self=False, recursive=False))
        except TypeError:
            pass
    return list(getattr(layer, "layers", None) or [])


def all_layers(model: Any) -> list:
    """Every layer inside a model, depth first, each once (nested models and custom layers included)."""
    found: list = []
    seen: set[int] = set()

    def walk(owner: Any) -> None:
        for layer in sublayers(owner):
            if id(layer) not in seen:
                seen.add(id(layer))
                found.append(layer)
                walk(layer)

    walk(model)
    return found


def record_layer(run: "Run", layer: Any) -> str:
    """The layer's node: the one its constructor rule recorded, else a new one read from the layer."""
    node = node_in_run(run, layer)
    if node is not None:
        return node
    node = run.new_iri("layer")
    run.emit(
        node,
        [
            (RDF.type, ENTITY),
            (RDF.type, IRI(PI.Layer)),
            (PI.layerClass, api_name(layer)),
            (RDFS.label, getattr(layer, "name", None)),
        ],
    )
    records.remember(layer, node)
    record_config(run, node, layer.get_config())
    return node


def record_layers(activity: "Activity", model: Any) -> list[str]:
    """Record every layer of `model` as used by `activity`, with pi:index in the model; returns the nodes."""
    from provinstr.capture.safety import guard

    nodes = []
    for index, layer in enumerate(all_layers(model)):
        with guard("recording the configuration of a Keras layer"):
            node = record_layer(activity.run, layer)
            activity.run.emit(node, [(PI.index, index)])
            activity.used(node)
            nodes.append(node)
    return nodes


# -- optimizers ----------------------------------------------------------------------------
def optimizer_config(optimizer: Any) -> dict:
    return optimizer.get_config()


def record_optimizer(run: "Run", optimizer: Any, line: int | None = None) -> str:
    """The optimizer's node (its constructor's, else a new one with its configuration)."""
    node = node_in_run(run, optimizer)
    if node is not None:
        return node
    node = run.new_iri("optimizer")
    run.emit(node, [(RDF.type, ENTITY), (PI.name, api_name(optimizer)), (PI.sourceLine, line)])
    records.remember(optimizer, node)
    record_config(run, node, optimizer_config(optimizer))
    return node


def optimizer_hyperparameters(activity: "Activity", optimizer: Any) -> None:
    """The optimizer's class and every set value of its configuration, as hyperparameters of `activity`."""
    activity.hyperparameter("optimizer", api_name(optimizer).rsplit(".", 1)[-1])
    for name, value in optimizer_config(optimizer).items():
        if name == "name" or value is None:
            continue
        if name == "learning_rate" and isinstance(value, dict):
            value = schedule_value(value)  # a LearningRateSchedule: its config is the hyperparameter
        else:
            value = config_value(value)
        activity.hyperparameter(name, value)


def compile_hyperparameters(activity: "Activity", model: Any) -> None:
    """loss, metrics (and loss weights ...) given to compile, as hyperparameters of `activity`."""
    getter = getattr(model, "get_compile_config", None)
    config = getter() if getter is not None else None
    for name in ("loss", "metrics", "loss_weights", "weighted_metrics"):
        value = (config or {}).get(name)
        if value is not None:
            activity.hyperparameter(name, config_value(value))
