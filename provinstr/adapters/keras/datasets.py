"""Fingerprints of the data a fit/evaluate/predict call used: pi:Dataset with shape, dtype and sha256.

Arrays are hashed once per call. An array over the size limit is fingerprinted from a documented
sample: the sha256 of its shape and of SAMPLE_ROWS evenly spaced rows (the node's rdfs:comment says so).
tf.data datasets are streamed: their element_spec and cardinality are recorded, not their content.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from provinstr.capture.activity import ENTITY, safe_segment
from provinstr.capture.nquads import IRI
from provinstr.capture.values import type_name
from provinstr.vocab import MLS, PI, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity

SAMPLE_ROWS = 4096


def digest(array: np.ndarray, limit_bytes: int) -> tuple[str, str | None]:
    """(sha256 hex, None) of the whole array, or of a sample (with a note saying which) over the limit."""
    array = np.ascontiguousarray(array)
    if array.nbytes <= limit_bytes or array.ndim == 0:
        return hashlib.sha256(array).hexdigest(), None
    rows = np.unique(np.linspace(0, len(array) - 1, SAMPLE_ROWS).astype(np.int64))
    hasher = hashlib.sha256(repr(array.shape).encode())
    hasher.update(np.ascontiguousarray(array[rows]))
    note = (f"sha256 of the shape and of {len(rows)} evenly spaced rows of {len(array)} "
            f"(the array is over {limit_bytes} bytes)")
    return hasher.hexdigest(), note


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


def record(activity: "Activity", role: str, value: Any, limit_bytes: int, generated: bool = False) -> list[str]:
    """pi:Dataset nodes for `value` (used by `activity`, or generated when `generated`); returns them."""
    nodes = []
    for name, item in parts(role, value):
        node = _record_one(activity, name, item, limit_bytes)
        if generated:
            activity.generated(node)
        else:
            activity.used(node)
        nodes.append(node)
    return nodes


def _record_one(activity: "Activity", role: str, value: Any, limit_bytes: int) -> str:
    run = activity.run
    pairs: list[tuple[str, Any]] = [(RDF.type, ENTITY), (RDF.type, IRI(PI.Dataset)), (RDF.type, IRI(MLS.Dataset)),
                                    (RDFS.label, role)]
    if _is_tf_dataset(value):
        node = f"{activity.iri}/dataset/{safe_segment(role)}"
        cardinality = value.cardinality()
        pairs += [(PI.elementSpec, str(value.element_spec)), (PI.cardinality, int(np.asarray(cardinality))),
                  (RDFS.comment, type_name(value))]
    elif hasattr(value, "shape") and (hasattr(value, "dtype") or hasattr(value, "dtypes")):
        array = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
        pairs += [(PI.shape, [int(d) for d in array.shape]), (PI.dtype, str(array.dtype))]
        if array.dtype.hasobject:
            node = f"{activity.iri}/dataset/{safe_segment(role)}"
        else:
            sha, note = digest(array, limit_bytes)
            node = f"{run.iri}/dataset/{sha[:32]}"  # by content: the same data used twice is one node
            pairs += [(PI.sha256, sha), (RDFS.comment, note)]
    else:  # a generator, a PyDataset ...: what it is, not what it holds
        node = f"{activity.iri}/dataset/{safe_segment(role)}"
        pairs.append((RDFS.comment, type_name(value)))
    run.emit(node, pairs)
    return node
