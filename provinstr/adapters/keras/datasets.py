"""The data a fit/evaluate/predict call used, as pi:Dataset nodes: arrays fingerprinted, streams described.

Arrays (and tensors, DataFrames) get the fingerprint every adapter uses (provinstr.capture.records:
dtype, shape and sha256, the same node for the same data in a run). Streams are described, not read:
a tf.data dataset by its element_spec and cardinality, a PyTorch DataLoader (the torch backend's
stream) by its number of batches and, when it batches a TensorDataset, the spec of one batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from provinstr.capture import records
from provinstr.capture.activity import safe_segment
from provinstr.capture.values import type_name
from provinstr.vocab import PI, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity


def parts(role: str, value: Any) -> Iterator[tuple[str, Any]]:
    """(role, array-like) for each input of a possibly nested dict/list structure."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from parts(f"{role}.{key}", item)
    elif isinstance(value, (list, tuple)) and value and not isinstance(value[0], (int, float)):
        for index, item in enumerate(value):
            yield from parts(f"{role}[{index}]", item)
    elif value is not None:
        yield role, value


def _is_tf_dataset(value: Any) -> bool:
    return hasattr(value, "element_spec") and hasattr(value, "cardinality") and type(value).__module__.startswith(
        "tensorflow"
    )


def _is_torch_loader(value: Any) -> bool:
    """A torch.utils.data.DataLoader (or a subclass), without importing torch."""
    return any(kind.__name__ == "DataLoader" and kind.__module__.startswith("torch.utils.data")
               for kind in type(value).__mro__)


def _loader_facts(loader: Any) -> list[tuple[str, Any]]:
    """A DataLoader as tf.data's are described: batches per epoch (-2: unknown), the spec of one batch.

    Only attributes are read: iterating the loader or indexing its dataset would run the user's code
    (and draw from their random generators).
    """
    try:
        batches = len(loader)
    except TypeError:  # an IterableDataset without __len__
        batches = -2
    facts: list[tuple[str, Any]] = [(PI.cardinality, batches), (PI.valueType, records.class_name(loader))]
    dataset, collate = loader.dataset, getattr(loader.collate_fn, "__name__", None)
    batched = loader.batch_size is not None and collate == "default_collate"  # batches are tuples of tensors
    if type(dataset).__name__ == "TensorDataset" and batched:
        first = loader.batch_size if loader.drop_last else None  # as tf.data's batch(drop_remainder=...)
        specs = [f"TensorSpec(shape={(first, *(int(d) for d in t.shape[1:]))!r}, dtype={t.dtype})"
                 for t in dataset.tensors]
        facts.append((PI.elementSpec, f"({', '.join(specs)})"))
    return facts


def record(activity: "Activity", role: str, value: Any, limit_bytes: int, generated: bool = False,
           name_of: Callable[[Any, str], str] | None = None) -> list[str]:
    """pi:Dataset nodes for `value` (used by `activity`, or generated when `generated`); returns them.

    `name_of(value, role)` gives the name the script called the data by (default: the role).
    """
    nodes = []
    for part_role, item in parts(role, value):
        name = name_of(item, part_role) if name_of is not None else part_role
        node = _record_one(activity, name, item, limit_bytes)
        if generated:
            activity.generated(node)
        else:
            activity.used(node)
        nodes.append(node)
    return nodes


def _record_one(activity: "Activity", name: str, value: Any, limit_bytes: int) -> str:
    run = activity.run
    if _is_tf_dataset(value):
        facts = [(PI.elementSpec, str(value.element_spec)), (PI.cardinality, int(np.asarray(value.cardinality()))),
                 (PI.valueType, type_name(value))]
        return records.described_dataset(run, f"{activity.iri}/dataset/{safe_segment(name)}", name, facts)
    if _is_torch_loader(value):
        return records.described_dataset(run, f"{activity.iri}/dataset/{safe_segment(name)}", name,
                                         _loader_facts(value))
    if records.is_array_like(value):
        return records.dataset(run, value, name, limit_bytes)
    # a generator, a PyDataset ...: what it is, not what it holds
    return records.described_dataset(run, f"{activity.iri}/dataset/{safe_segment(name)}", name,
                                     [(PI.valueType, type_name(value)), (RDFS.comment, type_name(value))])
