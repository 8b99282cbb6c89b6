"""The data a fit/evaluate/predict call used, as pi:Dataset nodes: arrays fingerprinted, streams described.

Arrays (and tensors, DataFrames) get the fingerprint every adapter uses (provinstr.capture.records:
dtype, shape and sha256, the same node for the same data in a run). tf.data datasets are streamed:
their element_spec and cardinality are recorded, not their content.
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
    if records.is_array_like(value):
        return records.dataset(run, value, name, limit_bytes)
    # a generator, a PyDataset ...: what it is, not what it holds
    return records.described_dataset(run, f"{activity.iri}/dataset/{safe_segment(name)}", name,
                                     [(PI.valueType, type_name(value)), (RDFS.comment, type_name(value))])
