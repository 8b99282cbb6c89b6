"""Describe PyTorch objects as records: the module tree, optimizers, schedulers, DataLoaders and their data.

Read from the objects themselves (no torch import here: the objects carry what is needed), so the
Lightning adapter describes what a LightningModule trains with the same functions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable

from provinstr.capture import records
from provinstr.capture.activity import ENTITY
from provinstr.capture.nquads import IRI
from provinstr.capture.safety import guard
from provinstr.capture.values import summarize
from provinstr.vocab import PI, PROV, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity
    from provinstr.capture.run import Run

# Module attributes that are constructor arguments, beyond a class's __constants__ (which torch.nn
# modules use to list them: in_features, kernel_size, stride, p, hidden_size ...).
_ARGUMENTS = ("in_features", "out_features", "in_channels", "out_channels", "kernel_size", "stride", "padding",
              "dilation", "groups", "padding_mode", "p", "inplace", "num_features", "eps", "momentum", "affine",
              "track_running_stats", "normalized_shape", "num_embeddings", "embedding_dim", "padding_idx",
              "input_size", "hidden_size", "num_layers", "batch_first", "dropout", "bidirectional", "proj_size",
              "nonlinearity", "d_model", "nhead", "dim_feedforward", "negative_slope", "alpha", "beta", "dim",
              "start_dim", "end_dim", "output_size", "scale_factor", "mode", "ceil_mode", "count_include_pad",
              "return_indices", "approximate", "num_heads", "embed_dim", "min_val", "max_val", "threshold",
              "value", "upscale_factor", "output_padding", "elementwise_affine", "num_groups", "num_channels")
# Optimizer param-group keys that are bookkeeping, not hyperparameters.
_NOT_HYPERPARAMETERS = frozenset({"params", "initial_lr", "param_names"})
# What a model wrapper holds the real model under (torch.compile, DataParallel, DistributedDataParallel, Fabric).
_WRAPPED = ("_orig_mod", "module", "_forward_module")


def real_module(model: Any) -> Any:
    """The user's model inside torch.compile / DataParallel / DistributedDataParallel wrappers."""
    for _ in range(8):
        inner = next((getattr(model, name) for name in _WRAPPED
                      if _is_module(getattr(model, name, None)) and getattr(model, name) is not model), None)
        if inner is None or not _is_wrapper(model):
            return model
        model = inner
    return model


def _is_module(value: Any) -> bool:
    return value is not None and hasattr(value, "named_modules") and hasattr(value, "parameters")


def _is_wrapper(model: Any) -> bool:
    name = type(model).__name__
    return name in ("OptimizedModule", "DataParallel", "DistributedDataParallel", "_FabricModule") \
        or hasattr(model, "_orig_mod")


def public_class(obj: Any) -> str:
    """torch.nn.Conv2d, torch.optim.SGD, torch.optim.lr_scheduler.StepLR; a user's class by its module path."""
    return records.class_name(obj)


def module_arguments(module: Any) -> dict[str, Any]:
    """The constructor arguments a module keeps as attributes (and whether it has a bias)."""
    names = [*getattr(type(module), "__constants__", ()), *_ARGUMENTS]
    found: dict[str, Any] = {}
    for name in names:
        if name in found or name.startswith("_") or name not in vars(module):
            continue
        value = vars(module)[name]
        if _is_plain(value):
            found[name] = list(value) if isinstance(value, tuple) else value
    if "bias" in getattr(module, "_parameters", {}) and type(module).__name__ != "MultiheadAttention":
        found["bias"] = module._parameters["bias"] is not None
    return found


def _is_plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return not (isinstance(value, float) and math.isnan(value))
    return isinstance(value, (tuple, list)) and all(isinstance(v, (bool, int, float, str)) for v in value)


def parameter_counts(module: Any, recurse: bool = True) -> tuple[int, int]:
    """(all, trainable) parameter counts of a module (its own only with recurse=False)."""
    total = trainable = 0
    for parameter in module.parameters(recurse=recurse):
        count = parameter.numel()
        total += count
        trainable += count if parameter.requires_grad else 0
    return total, trainable


def record_module(run: "Run", module: Any, path: str) -> str:
    """A module's pi:Layer: the node its constructor rule recorded (with pi:sourceLine), else a new one."""
    node = records.node_in_run(run, module)
    if node is None:
        node = run.new_iri("layer")
        run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Layer)), (PI.layerClass, public_class(module))])
        records.remember(module, node)
        for name, value in module_arguments(module).items():
            records.attribute(run, node, name, value)
    own, trainable = parameter_counts(module, recurse=path == "model")  # the model: all it holds
    run.emit(node, [(RDFS.label, path), (PI.name, path)])
    records.attribute(run, node, "parameters", own)
    records.attribute(run, node, "trainable_parameters", trainable)
    return node


def record_modules(activity: "Activity", model: Any) -> list[str]:
    """Every module inside `model` (wrappers read through) as a pi:Layer the activity used, with pi:index;
    the model's class and parameter counts as hyperparameters."""
    model = real_module(model)
    activity.hyperparameter("model", public_class(model))
    total, trainable = parameter_counts(model)
    activity.hyperparameter("parameters", total)
    activity.hyperparameter("trainable_parameters", trainable)
    nodes = []
    for index, (path, module) in enumerate(model.named_modules()):
        with guard("recording a PyTorch module"):
            # The model itself is the last layer shown, named "model" (its modules are numbered from 0).
            node = record_module(activity.run, module, path or "model")
            if path:
                activity.run.emit(node, [(PI.index, index - 1)])
            activity.used(node)
            nodes.append(node)
    return nodes


# -- optimizers and schedulers --------------------------------------------------------------------
def hyperparameter_value(value: Any) -> Any:
    """A param-group value as a record holds it (betas as a list, a tensor lr as its number)."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: 0)() == 1:
        return value.item()
    if isinstance(value, tuple):
        return [hyperparameter_value(v) for v in value]
    return summarize(value)


def group_values(group: dict) -> dict[str, Any]:
    return {name: hyperparameter_value(value) for name, value in group.items()
            if name not in _NOT_HYPERPARAMETERS and value is not None}


def optimizer_hyperparameters(activity: "Activity", optimizer: Any, prefix: str = "") -> None:
    """The optimizer's class and every value in effect (defaults included), per parameter group where groups differ.

    Group 0's values are named as torch names them (lr, momentum, betas ...); a later group's value
    that differs is `param_groups.<i>.<name>`.
    """
    activity.hyperparameter(f"{prefix}optimizer", type(optimizer).__name__)
    groups = list(getattr(optimizer, "param_groups", []) or [])
    if not groups:
        return
    first = group_values(groups[0])
    for name, value in first.items():
        activity.hyperparameter(f"{prefix}{name}", value)
    if len(groups) > 1:
        activity.hyperparameter(f"{prefix}param_groups", len(groups))
    for index, group in enumerate(groups[1:], start=1):
        for name, value in group_values(group).items():
            if first.get(name) != value:
                activity.hyperparameter(f"{prefix}param_groups.{index}.{name}", value)


def record_component(run: "Run", obj: Any, kind: str = "Component") -> str:
    """An optimizer's / scheduler's / loader's node: its constructor's, else a new one named by its class."""
    node = records.node_in_run(run, obj)
    if node is not None:
        return node
    node = run.new_iri(kind.lower())
    run.emit(node, [(RDF.type, ENTITY), (PI.name, public_class(obj))])
    records.remember(obj, node)
    return node


def scheduler_settings(scheduler: Any) -> dict[str, Any]:
    """A scheduler's own settings (step_size, gamma, T_max, factor, patience ...), from its state."""
    state = scheduler.state_dict() if hasattr(scheduler, "state_dict") else dict(vars(scheduler))
    skipped = {"optimizer", "base_lrs", "last_epoch", "_step_count", "_get_lr_called_within_step", "_last_lr",
               "best", "num_bad_epochs", "cooldown_counter", "last_epoch", "_is_initial", "lr_lambdas",
               "_schedulers", "_milestones_counter"}
    return {name: hyperparameter_value(value) for name, value in state.items()
            if not name.startswith("_") and name not in skipped and _is_plain(value)}


# -- data ------------------------------------------------------------------------------------------
LOADER_SETTINGS = ("batch_size", "drop_last", "num_workers", "pin_memory", "persistent_workers", "prefetch_factor")


def loader_settings(loader: Any) -> dict[str, Any]:
    """A DataLoader's settings as it runs: batch_size, shuffle, drop_last, num_workers, the sampler's class."""
    found: dict[str, Any] = {}
    for name in LOADER_SETTINGS:
        value = getattr(loader, name, None)
        if _is_plain(value) and value is not None:
            found[name] = value
    sampler = getattr(loader, "sampler", None)
    if sampler is not None:
        found["sampler"] = type(sampler).__name__
        found["shuffle"] = type(sampler).__name__ == "RandomSampler"
    batch_sampler = getattr(loader, "batch_sampler", None)
    if batch_sampler is not None and type(batch_sampler).__name__ != "BatchSampler":
        found["batch_sampler"] = type(batch_sampler).__name__
    return found


SAMPLE_ITEMS = 64  # a map-style dataset is fingerprinted from this many evenly spaced items


def record_dataset(run: "Run", dataset: Any, name: str, limit_bytes: int, later: list | None = None) -> list[str]:
    """A DataLoader's dataset as pi:Datasets (the nodes returned): a TensorDataset as the fingerprint of
    each tensor and a node holding them (prov:hadMember), a map-style dataset by its class, length and a
    sample fingerprint, an iterable dataset by its class only (never consumed).

    A map-style dataset's items are read by the script's own code (random transforms with their own
    generators, lazily opened files): given `later`, the sample is left to record_sample when the run
    ends, so reading it changes nothing the training sees."""
    tensors = getattr(dataset, "tensors", None)
    if isinstance(tensors, (tuple, list)) and tensors and all(records.is_array_like(t) for t in tensors):
        nodes = [records.dataset(run, tensor, f"{name}.tensors[{index}]", limit_bytes)
                 for index, tensor in enumerate(tensors)]
        return [_group(run, dataset, name, nodes), *nodes]
    if records.is_array_like(dataset):
        return [records.dataset(run, dataset, name, limit_bytes)]
    kind = public_class(dataset)
    facts: list[tuple[str, Any]] = [(PI.valueType, kind)]
    length = None
    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__") and not _is_iterable_dataset(dataset):
        try:
            length = len(dataset)
        except TypeError:
            length = None
    if length is None:
        return [records.described_dataset(run, run.new_iri("dataset"), name,
                                          [*facts, (RDFS.comment, "an iterable dataset: described, not read")])]
    facts.append((PI.cardinality, length))
    node = records.described_dataset(run, run.new_iri("dataset"), name, facts)
    if later is None:
        record_sample(run, node, dataset, length)
    else:
        later.append((run, node, dataset, length))
    return [node]


def record_sample(run: "Run", node: str, dataset: Any, length: int) -> None:
    """A map-style dataset's sample fingerprint (pi:sha256) and how it was taken (rdfs:comment)."""
    digest, note = sample_digest(dataset, length)
    run.emit(node, [(PI.sha256, digest), (RDFS.comment, note)])


def _group(run: "Run", dataset: Any, name: str, parts: Iterable[str]) -> str:
    node = records.described_dataset(run, run.new_iri("dataset"), name, [(PI.valueType, public_class(dataset))])
    run.emit(node, [(PROV.hadMember, IRI(part)) for part in parts])
    return node


def _is_iterable_dataset(dataset: Any) -> bool:
    return any(cls.__name__ == "IterableDataset" for cls in type(dataset).__mro__)


def sample_digest(dataset: Any, length: int) -> tuple[str | None, str]:
    """sha256 over the fingerprints of SAMPLE_ITEMS evenly spaced items (all of them for small datasets).

    Reading items may run random transforms: every random generator's state is put back afterwards,
    so the training draws exactly what it would have drawn.
    """
    import hashlib

    count = min(length, SAMPLE_ITEMS)
    indices = sorted({round(i * (length - 1) / max(count - 1, 1)) for i in range(count)}) if length else []
    hasher = hashlib.sha256(b"provinstr-dataset-sample-v1\0" + str(length).encode() + b"\0")
    with _rng_kept():
        for index in indices:
            for part in _flat(dataset[index]):
                hasher.update(records.fingerprint(part).sha256.encode() if records.is_array_like(part)
                              else repr(part).encode())
    note = (f"sha256 over items {indices[0]}..{indices[-1]} ({len(indices)} evenly spaced of {length}): "
            "each item's fingerprint (arrays) or repr, in order") if indices else "empty dataset"
    return hasher.hexdigest(), note


def _flat(item: Any) -> list:
    if isinstance(item, (tuple, list)):
        return [part for element in item for part in _flat(element)]
    if isinstance(item, dict):
        return [part for key in sorted(item, key=str) for part in _flat(item[key])]
    return [item]


class _rng_kept:
    """Puts Python's, NumPy's and torch's random states back as they were (CUDA's too, when in use)."""

    def __enter__(self) -> None:
        import random
        import sys

        import numpy

        self.python, self.numpy = random.getstate(), numpy.random.get_state()
        torch = sys.modules.get("torch")
        self.torch = torch.get_rng_state() if torch is not None else None
        cuda = torch is not None and torch.cuda.is_initialized()
        self.cuda = torch.cuda.get_rng_state_all() if cuda else None
        return None

    def __exit__(self, *exc: Any) -> None:
        import random
        import sys

        import numpy

        random.setstate(self.python)
        numpy.random.set_state(self.numpy)
        torch = sys.modules.get("torch")
        if torch is not None and self.torch is not None:
            torch.set_rng_state(self.torch)
        if torch is not None and self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)
