"""scikit-learn capture: the generic engine, rules/sklearn.toml and the sklearn adapter on real estimators."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import provinstr
from fingerprints import documented_sha256
from provinstr.capture import calls
from provinstr.rules import load_rule_file

RULES = Path(__file__).resolve().parent.parent / "rules" / "sklearn.toml"
METHOD_RULES = ("keras.fit", "sklearn.fit", "sklearn.score", "sklearn.predict", "sklearn.predict_proba")


@pytest.fixture(scope="module")
def digits():
    """A few hundred 8x8 digits, split in train and test halves."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    return X[:200], y[:200], X[200:], y[200:]


@pytest.fixture(autouse=True)
def sklearn_rules():
    calls.activate(load_rule_file(RULES))


def construct(cls, name: str, *args, **kwargs):
    """Call a constructor as rewritten code does: wrap(callee, rule ids, line, qualified name)(...)."""
    return calls.wrap(cls, ("sklearn.estimators",), 7, name)(*args, **kwargs)


def call(method, *args, **kwargs):
    """Call a method as rewritten code does: all rules of that method name, receiver checked at run time."""
    rule_ids = tuple(r for r in METHOD_RULES if r.endswith("." + method.__name__))
    return calls.wrap(method, rule_ids, 9)(*args, **kwargs)


def ask(store_dir: Path, sparql: str) -> list[dict]:
    return provinstr.open_store(store_dir).query(sparql).dicts()


def test_rule_file_loads_and_every_rule_uses_the_sklearn_adapter():
    rules = load_rule_file(RULES)
    assert {r.id for r in rules} >= {"sklearn.estimators", "sklearn.fit", "sklearn.score", "sklearn.predict"}
    assert {r.adapter for r in rules} == {"sklearn"}
    estimators = next(r for r in rules if r.id == "sklearn.estimators")
    assert estimators.matches_name("sklearn.svm.SVC")
    assert estimators.matches_name("sklearn.model_selection.GridSearchCV")
    assert not estimators.matches_name("sklearn.preprocessing.scale")  # a function, not an estimator


def test_fit_records_every_parameter_as_hyperparameter_and_fingerprints_the_data(store_dir, digits):
    X, y, _, _ = digits
    with provinstr.run(store=store_dir):
        model = construct(LogisticRegression, "sklearn.linear_model.LogisticRegression", C=0.5, max_iter=300)
        assert call(model.fit, X, y) is model

    hyper = {r["name"]: r["value"] for r in ask(store_dir, """
        SELECT ?name ?value WHERE { ?t a pi:Training ; prov:used ?h . ?h a pi:Hyperparameter ;
                                    pi:name ?name ; prov:value ?value }""")}
    assert hyper["C"] == 0.5 and hyper["max_iter"] == 300
    assert hyper["solver"] == "lbfgs" and hyper["tol"] == 0.0001  # defaults too, from get_params()

    estimator = ask(store_dir, """
        SELECT ?class ?c WHERE { ?t a pi:Training ; prov:used ?e . ?e a pi:Estimator ; pi:name ?class ;
                                 pi:attribute [ pi:name "C" ; prov:value ?c ] }""")
    assert estimator == [{"class": "sklearn.linear_model.LogisticRegression", "c": 0.5}]

    data = {r["name"]: r for r in ask(store_dir, """
        SELECT ?name ?shape ?dtype ?sha WHERE { ?t a pi:Training ; prov:used ?d . ?d a pi:Dataset ;
                                    pi:name ?name ; pi:shape ?shape ; pi:dtype ?dtype ; pi:sha256 ?sha }""")}
    assert json.loads(data["X"]["shape"]) == [200, 64] and data["X"]["dtype"] == "float64"
    assert data["X"]["sha"] == documented_sha256(X)
    assert json.loads(data["y"]["shape"]) == [200]

    n_iter = ask(store_dir, 'SELECT ?v WHERE { ?t a pi:Training . ?m prov:wasGeneratedBy ?t ; '
                            'pi:name "n_iter" ; prov:value ?v }')
    assert n_iter == [{"v": int(model.n_iter_[0])}]


def test_score_is_a_test_and_predict_an_inference_with_the_output_summarised(store_dir, digits):
    X, y, X_test, y_test = digits
    with provinstr.run(store=store_dir):
        model = construct(SVC, "sklearn.svm.SVC", C=10.0, gamma="scale")
        call(model.fit, X, y)
        accuracy = call(model.score, X_test, y_test)
        predictions = call(model.predict, X_test)

    score = ask(store_dir, """
        SELECT ?score ?class WHERE { ?t a pi:Test ; prov:used ?e . ?e a pi:Estimator ; pi:name ?class .
            ?m a pi:Metric ; prov:wasGeneratedBy ?t ; pi:name "score" ; prov:value ?score }""")
    assert score == [{"score": pytest.approx(accuracy), "class": "sklearn.svm.SVC"}]

    output = ask(store_dir, """
        SELECT ?shape ?dtype ?sha WHERE { ?i a pi:Inference ; prov:generated ?o .
            ?o a pi:Dataset ; pi:name "output" ; pi:shape ?shape ; pi:dtype ?dtype ; pi:sha256 ?sha }""")
    assert len(output) == 1
    assert json.loads(output[0]["shape"]) == [100] and output[0]["dtype"] == str(predictions.dtype)

    # the test data is the same pi:Dataset node for the Test and the Inference
    shared = ask(store_dir, 'SELECT ?d WHERE { ?t a pi:Test ; prov:used ?d . '
                            '?i a pi:Inference ; prov:used ?d . ?d pi:name "X" }')
    assert len(shared) == 1


def test_a_prediction_returning_a_tuple_records_each_part_as_an_output(store_dir, digits):
    from sklearn.gaussian_process import GaussianProcessRegressor

    X, y, X_test, _ = digits
    with provinstr.run(store=store_dir):
        model = construct(GaussianProcessRegressor, "sklearn.gaussian_process.GaussianProcessRegressor")
        call(model.fit, X[:50], y[:50].astype(float))
        call(model.predict, X_test, return_std=True)

    rows = ask(store_dir, """SELECT ?name ?shape WHERE { ?i a pi:Inference ; prov:generated ?o .
                                ?o pi:name ?name ; pi:shape ?shape } ORDER BY ?name""")
    assert rows == [{"name": "output0", "shape": "[100]"}, {"name": "output1", "shape": "[100]"}]


def test_mlp_loss_curve_becomes_one_loss_metric_per_epoch(store_dir, digits):
    X, y, _, _ = digits
    with provinstr.run(store=store_dir), pytest.warns(Warning):  # 3 epochs do not converge
        model = construct(MLPClassifier, "sklearn.neural_network.MLPClassifier",
                          hidden_layer_sizes=(16,), max_iter=3, random_state=0)
        call(model.fit, X, y)

    rows = ask(store_dir, """
        SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
            pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch""")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert [r["loss"] for r in rows] == pytest.approx(model.loss_curve_)
    sizes = ask(store_dir, 'SELECT ?v WHERE { ?h a pi:Hyperparameter ; pi:name "hidden_layer_sizes" ; '
                           'prov:value ?v }')
    assert json.loads(sizes[0]["v"]) == [16]


def test_grid_search_records_best_params_best_score_and_every_candidate(store_dir, digits):
    X, y, _, _ = digits
    with provinstr.run(store=store_dir):
        search = construct(GridSearchCV, "sklearn.model_selection.GridSearchCV",
                           SVC(), {"C": [0.1, 10.0], "kernel": ["linear", "rbf"]}, cv=3)
        call(search.fit, X, y)

    best = {r["name"]: r["value"] for r in ask(store_dir, """
        SELECT ?name ?value WHERE { ?h a pi:Hyperparameter ; prov:wasGeneratedBy ?t ;
                                    pi:name ?name ; prov:value ?value }""")}
    assert best == search.best_params_

    best_score = ask(store_dir, 'SELECT ?v WHERE { ?m a pi:Metric ; pi:name "best_score" ; prov:value ?v }')
    assert best_score == [{"v": pytest.approx(search.best_score_)}]

    candidates = ask(store_dir, """
        SELECT ?i ?score ?params WHERE { ?m a pi:Metric ; pi:name "mean_test_score" ; pi:index ?i ;
            prov:value ?score ; pi:attribute [ pi:name "params" ; prov:value ?params ] } ORDER BY ?i""")
    assert [json.loads(r["params"]) for r in candidates] == search.cv_results_["params"]
    assert [r["score"] for r in candidates] == pytest.approx(list(search.cv_results_["mean_test_score"]))

    grid = ask(store_dir, 'SELECT ?v WHERE { ?t a pi:Training ; prov:used ?h . ?h pi:name "param_grid" ; '
                          'prov:value ?v }')
    assert json.loads(grid[0]["v"]) == {"C": [0.1, 10.0], "kernel": ["linear", "rbf"]}
    arguments = {r["name"]: r["v"] for r in ask(store_dir, """
        SELECT ?name ?v WHERE { ?e a pi:Estimator ; pi:name "sklearn.model_selection.GridSearchCV" ;
                                   pi:attribute [ pi:name ?name ; prov:value ?v ] }""")}
    assert arguments["estimator"] == "sklearn.svm.SVC" and arguments["cv"] == 3
    assert json.loads(arguments["param_grid"]) == {"C": [0.1, 10.0], "kernel": ["linear", "rbf"]}


def test_estimator_built_out_of_sight_still_gets_its_class_and_nested_hyperparameters(store_dir, digits):
    X, y, _, _ = digits
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=2.0, max_iter=300))  # not rewritten
    with provinstr.run(store=store_dir):
        call(pipeline.fit, X, y)

    rows = ask(store_dir, """
        SELECT ?class ?c WHERE { ?t a pi:Training ; prov:used ?e , ?h . ?e a pi:Estimator ; pi:name ?class .
                                 ?h pi:name "logisticregression__C" ; prov:value ?c }""")
    assert rows == [{"class": "sklearn.pipeline.Pipeline", "c": 2.0}]


def test_dataframes_and_sparse_matrices_are_fingerprinted_as_datasets_too(store_dir, digits):
    import pandas as pd
    from scipy import sparse

    X, y, _, _ = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    with provinstr.run(store=store_dir):
        model = construct(LogisticRegression, "sklearn.linear_model.LogisticRegression", max_iter=300)
        call(model.fit, frame, y)
        call(construct(SVC, "sklearn.svm.SVC").fit, sparse.csr_matrix(X), pd.Series(y, name="digit"))

    rows = ask(store_dir, """
        SELECT ?label ?shape ?dtype WHERE { ?t a pi:Training ; prov:used ?d . ?d a pi:Dataset ;
            pi:valueType ?label ; pi:shape ?shape ; pi:dtype ?dtype } ORDER BY ?label""")
    found = {(r["label"], r["shape"], r["dtype"]) for r in rows}
    assert ("pandas.DataFrame", "[200, 64]", "float64") in found
    assert ("pandas.Series", "[200]", "int64") in found
    assert ("scipy.sparse.csr_matrix", "[200, 64]", "float64") in found


def test_fit_of_an_object_that_is_not_an_estimator_runs_untouched(store_dir):
    class Homemade:
        def fit(self, X, y):
            self.fitted = True
            return "done"

    model = Homemade()
    with provinstr.run(store=store_dir):
        assert call(model.fit, [[1.0]], [0]) == "done"

    assert model.fitted
    assert ask(store_dir, "SELECT ?t WHERE { ?t a pi:Training }") == []


def test_an_error_in_fit_reaches_the_user_and_the_training_records_it(store_dir, digits):
    X, y, _, _ = digits
    with provinstr.run(store=store_dir):
        model = construct(LogisticRegression, "sklearn.linear_model.LogisticRegression")
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            call(model.fit, X, y[:10])

    rows = ask(store_dir, "SELECT ?type WHERE { ?t a pi:Training ; pi:exceptionType ?type ; "
                          "prov:endedAtTime ?end }")
    assert rows == [{"type": "ValueError"}]


def test_provinstr_run_records_a_plain_sklearn_script_without_loading_tensorflow(cli, tmp_path):
    script = Path(__file__).resolve().parent / "data" / "sklearn" / "digits_search.py"
    result = cli("run", str(script), str(tmp_path / "seen.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert not seen["tensorflow_loaded"] and not seen["keras_loaded"]

    store = tmp_path / ".provinstr"
    hyper = ask(store, """
        SELECT ?c ?iter WHERE { ?t a pi:Training ; prov:used ?e , ?h , ?i .
            ?e pi:name "sklearn.linear_model.LogisticRegression" .
            ?h pi:name "C" ; prov:value ?c . ?i pi:name "max_iter" ; prov:value ?iter }""")
    assert hyper == [{"c": 0.5, "iter": 500}]
    score = ask(store, """
        SELECT ?score WHERE { ?t a pi:Test ; prov:used [ pi:name "sklearn.model_selection.GridSearchCV" ] .
            ?m prov:wasGeneratedBy ?t ; pi:name "score" ; prov:value ?score }""")
    assert score == [{"score": pytest.approx(seen["accuracy"])}]
    best = ask(store, """
        SELECT ?name ?value WHERE { ?h a pi:Hyperparameter ; prov:wasGeneratedBy [ a pi:Training ] ;
                                    pi:name ?name ; prov:value ?value }""")
    assert {r["name"]: r["value"] for r in best} == seen["best_params"]
    assert [r.status for r in provinstr.open_store(store).runs()] == ["completed"]


def test_the_data_of_fit_predict_and_score_are_ml_schema_datasets_too(store_dir, digits):
    X, y, X_test, y_test = digits
    with provinstr.run(store=store_dir):
        model = construct(LogisticRegression, "sklearn.linear_model.LogisticRegression", max_iter=300)
        call(model.fit, X, y)
        call(model.predict, X_test)
        call(model.score, X_test, y_test)
    datasets = ask(store_dir, """SELECT ?d (SAMPLE(?mls) AS ?also) WHERE { ?d a pi:Dataset .
        OPTIONAL { ?d a mls:Dataset . BIND(true AS ?mls) } } GROUP BY ?d""")
    assert len(datasets) == 5  # X, y; X_test (predict and score); the predictions; y_test
    assert all(row["also"] is True for row in datasets), datasets


def test_scikit_learn_as_tutorials_write_it_keeps_scores_folds_and_the_names_of_the_data(cli, tmp_path):
    done = cli("run", str(Path(__file__).resolve().parent / "data" / "sklearn" / "tutorial.py"),
               str(tmp_path / "printed.json"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = json.loads((tmp_path / "printed.json").read_text())
    store = tmp_path / ".provinstr"

    # the held-out accuracy: a Test that used y_test and the predictions of the search it was informed by
    accuracy = ask(store, """
        SELECT ?value ?truth ?estimator WHERE {
          ?m a pi:Metric ; pi:name "accuracy_score" ; prov:value ?value ; prov:wasGeneratedBy ?test .
          ?test a pi:Test ; prov:used ?y , ?p , [ a pi:Estimator ; pi:name ?estimator ] ; prov:wasInformedBy ?i .
          ?y pi:name ?truth . FILTER(?truth = "y_test")
          ?i a pi:Inference ; prov:generated ?p . }""")
    assert accuracy == [{"value": pytest.approx(printed["accuracy"]), "truth": "y_test",
                         "estimator": "sklearn.model_selection.GridSearchCV"}]
    f1 = ask(store, """SELECT ?value ?average WHERE { ?m pi:name "f1_score" ; prov:value ?value ;
        prov:wasGeneratedBy [ a pi:Test ; prov:used [ pi:name "average" ; prov:value ?average ] ] }""")
    assert f1 == [{"value": pytest.approx(printed["f1"]), "average": "macro"}]

    # cross_val_score: a Training of its SVC with one score per fold and their mean
    folds = ask(store, """
        SELECT ?fold ?score WHERE { ?t a pi:Training ; prov:used [ a pi:Estimator ; pi:name "sklearn.svm.SVC" ] .
          ?m prov:wasGeneratedBy ?t ; pi:name "score" ; pi:index ?fold ; prov:value ?score } ORDER BY ?fold""")
    assert [r["score"] for r in folds] == pytest.approx(printed["folds"]) and [r["fold"] for r in folds] == [0, 1, 2]
    mean = ask(store, 'SELECT ?v WHERE { ?m pi:name "mean_score" ; prov:value ?v }')
    assert mean == [{"v": pytest.approx(sum(printed["folds"]) / 3)}]

    # the pipeline made by make_pipeline is a Pipeline estimator, and the chained fit is a Training
    classes = {r["name"] for r in ask(store, "SELECT ?name WHERE { ?e a pi:Estimator ; pi:name ?name }")}
    assert {"sklearn.pipeline.Pipeline", "sklearn.ensemble.RandomForestClassifier"} <= classes
    assert "fit" not in classes and "sklearn.pipeline.make_pipeline" not in classes
    # the datasets carry the names the script gave them
    names = {r["name"] for r in ask(store, "SELECT ?name WHERE { ?d a pi:Dataset ; pi:name ?name }")}
    assert {"X_train", "y_train", "X_test", "y_test", "y_pred"} <= names
    assert "numpy.ndarray" not in names
