"""The scikit-learn adapter's hooks: parameters, data fingerprints, fitted metrics, scores, folds and search results.

Loaded only when a scikit-learn rule fires, so scikit-learn is already imported; it imports sklearn
lazily all the same, and never imports any other framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from provinstr.capture import records
from provinstr.capture.activity import ENTITY, safe_segment
from provinstr.capture.arguments import bound_arguments
from provinstr.capture.hooks import Adapter, CallContext
from provinstr.capture.nquads import IRI, plain_value
from provinstr.capture.values import MAX_LIST, summarize
from provinstr.vocab import PI, PROV, RDF

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity
    from provinstr.capture.run import Run
    from provinstr.rules.model import Rule

# Arguments of fit/score/predict, of cross-validation and of sklearn.metrics functions that are data,
# fingerprinted as pi:Dataset.
DATA_ARGUMENTS = ("X", "y", "Y", "sample_weight", "y_true", "y_pred", "y_score", "y_prob", "probas_pred",
                  "labels_true", "labels_pred", "groups")
# cv_results_ columns recorded per search candidate.
CANDIDATE_COLUMNS = ("mean_test_", "std_test_", "rank_test_", "mean_train_", "std_train_")
# cross_validate() result keys recorded per fold (the fitted estimators and indices are not values).
FOLD_KEYS = ("test_", "train_", "fit_time", "score_time")
_SCALARS = (str, int, float, bool)


class SklearnAdapter(Adapter):
    """What only scikit-learn knows about its estimators, added to the generic capture."""

    name = "sklearn"

    def __init__(self) -> None:
        # prediction dataset node -> (the Inference that generated it, the estimator's node)
        self._predictions: dict[str, tuple[str, str]] = {}

    def describe(self, value: Any) -> Any:
        """Constructor arguments: estimators by public class, grids as JSON."""
        return _jsonable(value)

    def component_class(self, ctx: CallContext, component: Any, returned: Any) -> str:
        """An estimator by its class, also when a helper built it (make_pipeline gives a Pipeline)."""
        if _is_estimator(component):
            return records.class_name(component)
        return super().component_class(ctx, component, returned)

    def on_component(self, ctx: CallContext, obj: Any, node: str) -> None:
        if _is_estimator(obj):
            ctx.run.emit(node, [(RDF.type, IRI(PI.Estimator))])

    def before_activity(self, ctx: CallContext, activity: "Activity") -> None:
        arguments = bound_arguments(ctx.callee, ctx.args, ctx.kwargs)
        # a method's estimator is its receiver; cross_val_score(estimator, X, y) takes it as an argument
        estimator = ctx.receiver if ctx.receiver is not None else arguments.get("estimator")
        if _is_estimator(estimator):
            activity.used(estimator_node(ctx.run, estimator))
            if activity.kind == "Training":
                activity.hyperparameters(parameters(estimator))
        limit = records.hash_limit(ctx.rule)
        for role in DATA_ARGUMENTS:
            value = arguments.get(role)
            if value is not None and _is_data(value):
                node = records.dataset(ctx.run, value, ctx.name_of(value, role), limit)
                activity.used(node)
                self._link_prediction(ctx.run, activity, node)

    def after_activity(self, ctx: CallContext, activity: "Activity", result: Any) -> None:
        estimator = ctx.receiver
        if estimator is None:  # a function: a metric, or a cross-validation
            if activity.kind == "Training":
                record_folds(activity, result)
            elif activity.kind == "Test":
                record_score(activity, getattr(ctx.callee, "__name__", "score"), result)
            return
        if activity.kind == "Training":
            record_fitted(activity, estimator, ctx.rule)
        elif activity.kind == "Test":
            activity.metric("score", _jsonable(result))
        if result is estimator or result is None or activity.kind == "Test":
            return
        limit = records.hash_limit(ctx.rule)
        parts = enumerate(result) if isinstance(result, tuple) else [(None, result)]
        for index, part in parts:  # e.g. GaussianProcessRegressor.predict(X, return_std=True) gives two
            if not _is_data(part):
                continue
            node = records.dataset(ctx.run, part, "output" if index is None else f"output{index}", limit)
            activity.generated(node)
            if activity.kind == "Inference":
                self._predictions[node] = (activity.iri, estimator_node(ctx.run, estimator))

    def _link_prediction(self, run: "Run", activity: "Activity", node: str) -> None:
        """A score of a captured model's predictions was informed by that prediction and used that model."""
        made = self._predictions.get(node)
        if made is None or activity.kind != "Test" or not records.in_run(run, node):
            return
        inference, estimator = made
        run.emit(activity.iri, [(PROV.wasInformedBy, IRI(inference))])
        activity.used(estimator)


ADAPTER = SklearnAdapter()


# -- estimators ---------------------------------------------------------------------------------
def _is_estimator(obj: Any) -> bool:
    from sklearn.base import BaseEstimator

    return isinstance(obj, BaseEstimator)


def _is_data(value: Any) -> bool:
    return records.is_array_like(value) or isinstance(value, (list, tuple))


def estimator_node(run: "Run", estimator: Any) -> str:
    """The estimator's pi:Estimator node in this run; made here if its constructor was not captured."""
    node = records.node_in_run(run, estimator)
    if node is not None:
        return node
    node = run.new_iri("estimator")
    run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Estimator)), (PI.name, records.class_name(estimator))])
    records.remember(estimator, node)
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
    if isinstance(value, type) or _is_estimator(value):
        return records.class_name(value)
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


# -- scores and folds -----------------------------------------------------------------------------
def record_score(activity: "Activity", function: str, result: Any) -> None:
    """A sklearn.metrics function's result: a pi:Metric named after the function (accuracy_score ...)."""
    if isinstance(result, dict):  # classification_report(output_dict=True)
        activity.metric(function, _jsonable(result))
    elif isinstance(result, tuple):  # precision_recall_fscore_support: one value per part
        for index, part in enumerate(result):
            activity.metric(function, _jsonable(part), batch=index)
    else:
        activity.metric(function, _jsonable(result))


def record_folds(activity: "Activity", result: Any) -> None:
    """cross_val_score's scores, cross_validate's columns: one pi:Metric per fold (pi:index), and their mean."""
    columns = result if isinstance(result, dict) else {"score": result}
    for name, values in columns.items():
        if not str(name).startswith(FOLD_KEYS) and name != "score":
            continue
        folds = [plain_value(v) for v in np.asarray(values).ravel().tolist()]
        for fold, value in enumerate(folds):
            activity.metric(name, value, batch=fold)
        if folds and all(isinstance(v, (int, float)) for v in folds):
            activity.metric(f"mean_{name}", float(np.mean(folds)))
            activity.metric(f"std_{name}", float(np.std(folds)))


# -- what fit learnt ----------------------------------------------------------------------------
def record_fitted(activity: "Activity", estimator: Any, rule: "Rule") -> None:
    """Fitted attributes as metrics (per epoch for curves), and a search's choice and candidates."""
    for attribute, name in rule.option("metrics").items():
        value = getattr(estimator, attribute, None)
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()  # LogisticRegression.n_iter_ is [37] for a binary or multinomial fit
        if value is not None:
            activity.metric(name, _jsonable(value))
    for attribute, name in rule.option("epoch_metrics").items():
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
        links = [(PI.attribute, IRI(records.value_node(run, f"{base}/params", "params", _jsonable(params))))]
        for name, value in params.items():
            node = records.value_node(run, f"{base}/param/{safe_segment(name)}", name, _jsonable(value))
            links.append((PI.attribute, IRI(node)))
        for column in columns:
            metric = activity.metric(column, plain_value(results[column][index]), batch=index,
                                     iri=f"{base}/metric/{safe_segment(column)}")
            run.emit(metric, links)
