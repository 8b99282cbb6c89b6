"""Records every adapter builds: attribute nodes, dataset fingerprints, class names, "is this node in this run".

An adapter adds only what is specific to its framework; everything here is framework-neutral and
imports no framework (arrays are read through NumPy, DataFrames and tensors by duck typing).

Dataset fingerprint (one definition for every adapter, so the same data is one pi:Dataset per run):
    sha256( b"provinstr-array-v1\\0" + dtype + b"\\0" + shape + b"\\0" + content )
where dtype is NumPy's array-protocol type string (``"<f4"``, ``"<i8"``, ``"|b1"``), shape the
comma-separated dimensions (``"200,64"``; ``""`` for a scalar), and content the C-order bytes of the
values. DataFrames and Series are hashed as their ``to_numpy()`` array (mixed or object columns as the
JSON text of their values), scipy sparse matrices as ``"sparse-csr:" + dtype`` with the bytes of their
CSR data, indices and indptr, tensors as their NumPy copy. An array over the hash limit is hashed
from its dtype, shape and SAMPLE_ROWS evenly spaced rows; its node's rdfs:comment says so.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from provinstr.capture.activity import ENTITY, safe_segment
from provinstr.capture.nquads import IRI
from provinstr.rules.model import normalise
from provinstr.rules.options import HASH_LIMIT
from provinstr.vocab import MLS, PI, PROV, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.run import Run
    from provinstr.rules.model import Rule

FINGERPRINT_VERSION = b"provinstr-array-v1"
SAMPLE_ROWS = 4096
DEFAULT_HASH_LIMIT = int(HASH_LIMIT.default * 1024 * 1024)
_ATTRIBUTE = (IRI(PROV.Entity), IRI(PI.Attribute))
_DATASET = (ENTITY, IRI(PI.Dataset), IRI(MLS.Dataset))

# Objects built by captured constructors -> their node IRI (layers, optimizers, estimators ...).
_nodes: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()
_nodes_by_id: dict[int, str] = {}  # for objects that cannot be weakly referenced


# -- which node an object has ---------------------------------------------------------------------
def remember(obj: Any, node: str) -> None:
    """Note that `obj` is recorded as `node` (so later calls on it link to that node)."""
    try:
        _nodes[obj] = node
    except TypeError:
        _nodes_by_id[id(obj)] = node


def node_of(obj: Any) -> str | None:
    """The IRI recorded for an object, in whichever run recorded it."""
    try:
        return _nodes.get(obj)
    except TypeError:
        return _nodes_by_id.get(id(obj))


def in_run(run: "Run", node: str | None) -> bool:
    """True when `node` belongs to `run` (an object may have been recorded by an earlier run)."""
    return node is not None and node.startswith(run.iri + "/")


def node_in_run(run: "Run", obj: Any) -> str | None:
    """The node recorded for `obj` in this run (None if none, or another run's)."""
    node = node_of(obj)
    return node if in_run(run, node) else None


# -- names --------------------------------------------------------------------------------------
def class_name(obj: Any) -> str:
    """The shortest import path that exports an object's class (of the class itself when given one).

    sklearn.svm.SVC, not sklearn.svm._classes.SVC; tf.keras spellings normalised to keras.
    """
    cls = obj if inspect.isclass(obj) else type(obj)
    parts = cls.__module__.split(".")
    for cut in range(1, len(parts) + 1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None and getattr(module, cls.__qualname__, None) is cls:
            return normalise(f"{'.'.join(parts[:cut])}.{cls.__qualname__}")
    return normalise(f"{cls.__module__}.{cls.__qualname__}")


# -- named values ---------------------------------------------------------------------------------
def value_node(run: "Run", node: str, name: str, value: Any, types: Iterable[str] = _ATTRIBUTE) -> str:
    """A named value (pi:name, prov:value) typed `types` (a pi:Attribute by default); returns `node`."""
    pairs: list[tuple[str, Any]] = [(RDF.type, t) for t in types]
    pairs += [(PI.name, str(name)), (PROV.value, "None" if value is None else value)]
    run.emit(node, pairs)
    return node


def attribute(run: "Run", owner: str, name: str, value: Any) -> str:
    """A pi:Attribute of a component (layer, estimator, optimizer ...), linked with pi:attribute."""
    node = value_node(run, f"{owner}/attribute/{safe_segment(name)}", name, value)
    run.emit(owner, [(PI.attribute, IRI(node))])
    return node


# -- datasets ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fingerprint:
    shape: list[int]
    dtype: str
    sha256: str
    note: str | None = None  # says how a sampled digest was taken


def is_array_like(value: Any) -> bool:
    """Arrays, tensors, DataFrames, sparse matrices: what fingerprint() can hash."""
    return hasattr(value, "shape") and (hasattr(value, "dtype") or hasattr(value, "dtypes"))


def hash_limit(rule: "Rule") -> int:
    """The bytes above which a rule's data is fingerprinted from a sample (its hash_limit_mb option)."""
    return int(rule.option(HASH_LIMIT.name) * 1024 * 1024)


def fingerprint(value: Any, limit_bytes: int = DEFAULT_HASH_LIMIT) -> Fingerprint:
    """Shape, dtype and sha256 of an array-like, by the definition in this module's docstring."""
    if hasattr(value, "tocsr") and hasattr(value, "nnz"):  # any scipy sparse format, hashed as CSR
        csr = value.tocsr()
        hasher = _header(f"sparse-csr:{np.dtype(csr.dtype).str}", csr.shape)
        for part in (csr.data, csr.indices, csr.indptr):
            hasher.update(np.ascontiguousarray(part))
        return Fingerprint(_dims(csr.shape), str(csr.dtype), hasher.hexdigest())
    array = as_array(value)
    hasher = _header(array.dtype.str, array.shape)
    note = None
    # object cells are hashed as JSON text, ~8 bytes each counted; nbytes needs no copy of a strided view
    if array.ndim == 0 or array.nbytes <= limit_bytes:
        sample = array
    else:
        rows = np.unique(np.linspace(0, len(array) - 1, SAMPLE_ROWS).astype(np.int64))
        sample = array[rows]
        note = (f"sha256 of the dtype, the shape and {len(rows)} evenly spaced rows of {len(array)} "
                f"(the array is over {limit_bytes} bytes)")
    if array.dtype.hasobject:
        hasher.update(json.dumps(sample.tolist(), default=repr).encode())
    else:
        hasher.update(np.ascontiguousarray(sample))
    return Fingerprint(_dims(array.shape), _dtype_name(value, array), hasher.hexdigest(), note)


def as_array(value: Any) -> np.ndarray:
    """A NumPy view or copy of an array-like: tensors through .numpy(), frames through .to_numpy()."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu()
    if hasattr(value, "to_numpy"):
        return np.asarray(value.to_numpy())
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        try:
            return np.asarray(value.numpy())
        except Exception:  # noqa: BLE001 - a symbolic tensor: NumPy's conversion says what it can
            pass
    return np.asarray(value)


def _header(dtype: str, shape: Iterable[int]) -> "hashlib._Hash":
    hasher = hashlib.sha256(FINGERPRINT_VERSION + b"\0")
    hasher.update(dtype.encode() + b"\0" + ",".join(str(int(d)) for d in shape).encode() + b"\0")
    return hasher


def _dims(shape: Iterable[int]) -> list[int]:
    return [int(d) for d in shape]


def _dtype_name(value: Any, array: np.ndarray) -> str:
    """The dtype a user would name: a DataFrame's common column dtype, else the array's."""
    dtypes = getattr(value, "dtypes", None)
    if dtypes is not None and not hasattr(value, "dtype"):
        names = sorted({str(d) for d in dtypes})
        return names[0] if len(names) == 1 else json.dumps(names)
    dtype = getattr(value, "dtype", array.dtype)
    if type(dtype).__module__.split(".")[0] in ("torch", "tensorflow", "jax", "jaxlib", "keras"):
        return str(array.dtype)  # a tensor's dtype as an array's: torch.float32 and tf.float32 are float32
    return str(dtype)


def dataset(run: "Run", value: Any, name: str, limit_bytes: int = DEFAULT_HASH_LIMIT) -> str:
    """The pi:Dataset node of an array-like, named `name`; the same data is the same node in a run.

    The node's IRI is <run>/dataset/<sha256 prefix>: data passed to scikit-learn and to Keras, or to
    fit and then to score, is one entity.
    """
    found = fingerprint(value, limit_bytes)
    node = f"{run.iri}/dataset/{found.sha256[:32]}"
    run.emit(node, [
        *((RDF.type, t) for t in _DATASET),
        (PI.name, name),
        (RDFS.label, name),
        (PI.valueType, class_name(value)),
        (PI.shape, found.shape),
        (PI.dtype, found.dtype),
        (PI.sha256, found.sha256),
        (RDFS.comment, found.note),
    ])
    return node


def described_dataset(run: "Run", node: str, name: str, facts: Iterable[tuple[str, Any]] = ()) -> str:
    """A pi:Dataset whose content is not hashed (a stream, a generator): what it is, under `node`."""
    run.emit(node, [*((RDF.type, t) for t in _DATASET), (PI.name, name), (RDFS.label, name), *facts])
    return node



# -- files ------------------------------------------------------------------------------------------
def file_sha256(path: "str | os.PathLike") -> str | None:
    """The sha256 of a file's bytes (None when it is not a file)."""
    if not os.path.isfile(path):
        return None
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def file_facts(run: "Run", node: str, path: "str | os.PathLike") -> str | None:
    """A saved file's prov:atLocation (absolute path) and pi:sha256 on `node`; returns the digest."""
    digest = file_sha256(path)
    run.emit(node, [(PROV.atLocation, os.path.abspath(path)), (PI.sha256, digest)])
    return digest
