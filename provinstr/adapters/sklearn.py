"""The scikit-learn adapter: parameters, data fingerprints, fitted metrics and search results.

Loaded only when a scikit-learn rule fires, so scikit-learn is already imported; it imports
sklearn lazily all the same, and never imports any other framework.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from provinstr.adapters.base import Adapter, CallContext
from provinstr.capture.activity import ENTITY, safe_segment
from provinstr.capture.arguments import bound_arguments
from provinstr.capture.calls import node_of, remember
from provinstr.capture.nquads import IRI, plain_value
from provinstr.capture.values import MAX_LIST, summarize
from provinstr.vocab import MLS, PI, PROV, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity
    from provinstr.capture.run import Run

# Arguments of fit/score/predict that are data, fingerprinted as pi:Dataset.
DATA_ARGUMENTS = ("X", "y", "Y", "sample_weight")
# cv_results_ columns recorded per search candidate.
CANDIDATE_COLUMNS = ("mean_test_", "std_test_", "rank_test_", "mean_train_", "std_train_")
_SCALARS = (str, int, float, bool)


class SklearnAdapter(Adapter):
    """What only scikit-learn knows about its estimators, added to the generic capture."""

    name = "sklearn"

    def describe(self, value: Any) -> Any:
        """Constructor arguments: estimators by public class, grids as JSON."""
        return _jsonable(value)

    def on_component(self, ctx: CallContext, obj: Any, node: str) -> None:
        if _is_estimator(obj):
            ctx.run.emit(node, [(RDF.type, IRI(PI.Estimator))])

    def before_activity(self, ctx: CallContext, activity: "Activity") -> None:
        estimator = ctx.receiver
        activity.used(estimator_node(ctx.run, estimator))
        if activity.kind == "Training":
            activity.hyperparameters(parameters(estimator))
        arguments = bound_arguments(ctx.callee, ctx.args, ctx.kwargs)
        for name in DATA_ARGUMENTS:
            value = arguments.get(name)
            if value is not None:
                activity.used(dataset(ctx.run, name, value))

    def after_activity(self, ctx: CallContext, activity: "Activity", result: Any) -> None:
        estimator = ctx.receiver
        if activity.kind == "Training":
            record_fitted(activity, estimator, ctx.rule.options)
        elif activity.kind == "Test":
            activity.metric("score", _jsonable(result))
        if result is estimator or result is None or activity.kind == "Test":
            return
        if isinstance(result, tuple):  # e.g. GaussianProcessRegressor.predict(X, return_std=True)
            for index, part in enumerate(result):
                activity.generated(dataset(ctx.run, f"output{index}", part))
        else:
            activity.generated(dataset(ctx.run, "output", result))


ADAPTER = SklearnAdapter()


# -- estimators ---------------------------------------------------------------------------------
def _is_estimator(obj: Any) -> bool:
    from sklearn.base import BaseEstimator

    return isinstance(obj, BaseEstimator)


def public_name(cls: type) -> str:
    """The shortest import path that exports a class: sklearn.svm.SVC, not sklearn.svm._classes.SVC."""
    parts = cls.__module__.split(".")
    for cut in range(1, len(parts) + 1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None and getattr(module, cls.__qualname__, None) is cls:
            return f"{'.'.join(parts[:cut])}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def estimator_node(run: "Run", estimator: Any) -> str:
    """The estimator's pi:Estimator node in this run; made here if its constructor was not captured."""
    node = node_of(estimator)
    if node is not None and node.startswith(run.iri + "/"):
        return node
    node = run.new_iri("estimator")
    name = public_name(type(estimator))
    run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Estimator)), (PI.name, name)])
    remember(estimator, node)
    return node


def parameters(estimator: Any) -> dict[str, Any]:
    """Every parameter, nested ones as sklearn names them (svc__C), so unseen constructions are covered."""
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # noqa: BLE001 - a third-party estimator with a broken get_params: record none
        return {}
    return {name: _jsonable(value) for name, value in sorted(params.items())}


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A parameter value as a scalar or JSON-ready container; estimators by class, big things summarised."""
    value = plain_value(value)
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, type):
        return public_name(value)
    if _is_estimator(value):
        return public_name(type(value))
    if depth < 4 and isinstance(value, dict) and len(value) <= MAX_LIST:
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if depth < 4 and isinstance(value, (list, tuple)) and len(value) <= MAX_LIST:
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, np.ndarray) and value.size <= MAX_LIST:
        return value.tolist()
    if callable(value):
        return summarize(value)
    text = repr(value)  # splitters and other small objects: KFold(n_splits=5, ...)
    if len(text) <= 200 and " at 0x" not in text and "\n" not in text:
        return text
    return summarize(value)


# -- data ---------------------------------------------------------------------------------------
def dataset(run: "Run", name: str, value: Any) -> str:
    """A pi:Dataset node (shape, dtype, sha256) for an array-like; same data in the same role, same node."""
    shape, dtype, digest = fingerprint(value)
    node = f"{run.iri}/dataset/{safe_segment(name)}-{digest[:24]}"
    run.emit(
        node,
        [
            (RDF.type, ENTITY),
            (RDF.type, IRI(PI.Dataset)),
            (RDF.type, IRI(MLS.Dataset)),
            (PI.name, name),
            (RDFS.label, public_name(type(value))),
            (PI.shape, shape),
            (PI.dtype, dtype),
            (PI.sha256, digest),
        ],
    )
    return node


def fingerprint(value: Any) -> tuple[list[int], str, str]:
    """(shape, dtype, sha256 of the content) of an array, DataFrame, sparse matrix or list."""
    digest = hashlib.sha256()
    if hasattr(value, "indptr") and hasattr(value, "indices"):  # scipy CSR/CSC: hash its three arrays
        for part in (value.data, value.indices, value.indptr):
            digest.update(np.ascontiguousarray(part).tobytes())
        return [int(d) for d in value.shape], str(value.dtype), digest.hexdigest()
    if type(value).__module__.startswith("pandas"):
        import pandas  # already imported: the value is a pandas object

        digest.update(pandas.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
        columns = getattr(value, "columns", None)
        digest.update(json.dumps([str(c) for c in columns] if columns is not None else []).encode())
        dtypes = getattr(value, "dtypes", None)
        dtype = str(value.dtype) if hasattr(value, "dtype") else _common_dtype(dtypes)
        return [int(d) for d in value.shape], dtype, digest.hexdigest()
    array = np.asarray(value)
    if array.dtype.hasobject:
        digest.update(json.dumps(array.tolist(), default=repr).encode())
    else:
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(str(array.shape).encode())
    return [int(d) for d in array.shape], str(array.dtype), digest.hexdigest()


def _common_dtype(dtypes: Any) -> str:
    names = sorted({str(d) for d in dtypes})
    return names[0] if len(names) == 1 else json.dumps(names)


# -- what fit learnt ----------------------------------------------------------------------------
def record_fitted(activity: "Activity", estimator: Any, options: Mapping[str, Any]) -> None:
    """Fitted attributes as metrics (per epoch for curves), and a search's choice and candidates."""
    for attribute, name in options.get("metrics", {}).items():
        value = getattr(estimator, attribute, None)
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()  # LogisticRegression.n_iter_ is [37] for a binary or multinomial fit
        if value is not None:
            activity.metric(name, _jsonable(value))
    for attribute, name in options.get("epoch_metrics", {}).items():
        for epoch, value in enumerate(getattr(estimator, attribute, None) or ()):
            activity.metric(name, plain_value(value), epoch=epoch)
    best = getattr(estimator, "best_params_", None)
    if isinstance(best, dict):
        for name, value in best.items():
            # chosen by the search, then used to refit: generated and used by this Training
            iri = f"{activity.iri}/best/{safe_segment(name)}"
            activity.generated(activity.hyperparameter(name, _jsonable(value), iri=iri))
    results = getattr(estimator, "cv_results_", None)
    if isinstance(results, dict) and "params" in results:
        record_candidates(activity, results)


def record_candidates(activity: "Activity", results: Mapping[str, Any]) -> None:
    """One pi:Metric per candidate and score column (pi:index = candidate), linked to its params."""
    run = activity.run
    columns = [c for c in results if c.startswith(CANDIDATE_COLUMNS) and not c.endswith("_time")]
    for index, params in enumerate(results["params"]):
        base = f"{activity.iri}/candidate/{index}"
        links = [(PI.attribute, IRI(_value_node(run, f"{base}/params", "params", _jsonable(params))))]
        for name, value in params.items():
            node = _value_node(run, f"{base}/param/{safe_segment(name)}", name, _jsonable(value))
            links.append((PI.attribute, IRI(node)))
        for column in columns:
            metric = activity.metric(column, plain_value(results[column][index]), batch=index,
                                     iri=f"{base}/metric/{safe_segment(column)}")
            run.emit(metric, links)


def _value_node(run: "Run", node: str, name: str, value: Any) -> str:
    run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Attribute)), (PI.name, name),
                    (PROV.value, "None" if value is None else value)])
    return node
