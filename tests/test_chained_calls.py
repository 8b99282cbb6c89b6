"""A method called on what a constructor returned (`RandomForestClassifier(...).fit(X, y)`) is the
constructor's component and the method's activity, never a second component named after the method.

A `calls` pattern is matched against the qualified name of a dotted callee only (`a.b.C`); libcst
names `C(...).fit` through the call (`a.b.C.fit`), which `a.b.*` or `a.b.[A-Z]*` would match.
"""

from __future__ import annotations

import re
import textwrap

import pytest

import provinstr
from provinstr.rewrite import quickplan
from provinstr.rewrite.plan import libcst_matches, make_plan
from provinstr.rules import load_rules

RULES = load_rules()
CALL_RULES = [rule for rule in RULES if rule.calls]
METHODS = sorted({rule.method for rule in RULES if rule.method})
# Methods no rule names, one capitalised (`sklearn.svm.[A-Z]*` would match `sklearn.svm.SVC.Thing`).
OTHER_METHODS = ["get_config", "minimize", "Thing"]


def example(pattern: str) -> str:
    """A concrete name the pattern matches: `sklearn.svm.[A-Z]*` -> `sklearn.svm.Example`."""
    name = pattern.replace("[A-Z]*", "Example").replace("*", "Example").replace("?", "X")
    name = re.sub(r"\[!([^\]]*)\]", lambda found: next(c for c in "xyz" if c not in found.group(1)), name)
    return re.sub(r"\[(.)[^\]]*\]", r"\1", name)


def spellings(qualified: str) -> tuple[list[str], list[str]]:
    """Import lines and the constructor spellings they allow, for a qualified class name."""
    module, _, cls = qualified.rpartition(".")
    imports = [f"import {module}", f"from {module} import {cls}", f"from {module} import {cls} as Alias"]
    callees = [qualified, cls, "Alias"]
    if module.split(".")[0] == "keras":  # tf.keras.X is normalised to keras.X
        imports.append("import tensorflow as tf")
        callees.append("tf." + qualified)
    return imports, callees


PATTERNS = [(rule, pattern) for rule in CALL_RULES for pattern in rule.calls]


@pytest.mark.parametrize("rule,pattern", PATTERNS, ids=[f"{r.id}:{p}" for r, p in PATTERNS])
def test_every_shipped_pattern_matches_the_constructor_of_a_chain_and_never_its_method(rule, pattern):
    qualified = example(pattern)
    assert rule.matches_name(qualified), qualified
    first = next(r for r in RULES if r.matches_name(qualified))  # the rule the constructor gets
    imports, callees = spellings(qualified)
    lines, expected = list(imports), []
    for ctor in callees:
        built = {(ctor, (first.id,), qualified)}
        for method in [*METHODS, *OTHER_METHODS]:
            method_ids = tuple(r.id for r in RULES if r.method == method)
            lines.append(f"{ctor}(1, k=2).{method}(X, y)")
            chained = {(f"{ctor}(1, k=2).{method}", method_ids, method)} if method_ids else set()
            expected.append(built | chained)
        # calling what a call returned; a method on an attribute or an item of the result; a chain of chains
        lines += [f"{ctor}(3)(x)", f"{ctor}(3).inner.fit(x)", f"{ctor}(3)[0].fit(x)",
                  f"{ctor}(3).fit(X, y).score(X, y)", f"h = {ctor}(3).fit(x).history"]
        fit_ids = tuple(r.id for r in RULES if r.method == "fit")
        score_ids = tuple(r.id for r in RULES if r.method == "score")
        expected += [
            built,
            built | {(f"{ctor}(3).inner.fit", fit_ids, "fit")},
            built | {(f"{ctor}(3)[0].fit", fit_ids, "fit")},
            built | {(f"{ctor}(3).fit", fit_ids, "fit"), (f"{ctor}(3).fit(X, y).score", score_ids, "score")},
            built | {(f"{ctor}(3).fit", fit_ids, "fit")},
        ]
    source = "\n".join(lines) + "\n"
    quick = quickplan.find_matches(source, RULES)
    assert quick is not None  # module-level imports only: decided without libcst
    first_line = len(imports) + 1
    for planner, matches in (("quickplan", quick), ("libcst", libcst_matches(source, RULES))):
        found: dict[int, set] = {}
        for match in matches:
            found.setdefault(match.line, set()).add((match.callee, match.rule_ids, match.name))
        for offset, wanted in enumerate(expected):
            line = first_line + offset
            assert found.get(line, set()) == wanted, (planner, lines[line - 1])


SKLEARN_CHAINS = """\
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
import sklearn.linear_model as lm
RandomForestClassifier(n_estimators=10).fit(X, y)
make_pipeline(StandardScaler(), SVC()).fit(X, y)
GridSearchCV(SVC(), {"C": [1, 10]}).fit(X, y)
lm.LogisticRegression(C=0.5).fit(X, y).predict(X)
a.b().c.fit(X, y)
"""


def planned(line: int, callee: str, name: str) -> list[tuple]:
    """The match a callee should get: a method's rules, else the first rule its qualified name matches."""
    if "." not in name:
        ids = tuple(r.id for r in RULES if r.method == name)
    else:
        ids = tuple(r.id for r in RULES if r.matches_name(name))[:1]
    return [(line, callee, ids, name)] if ids else []


def test_sklearn_chains_in_the_plan():
    plan = make_plan(SKLEARN_CHAINS, RULES)
    got = [(m.line, m.callee, m.rule_ids, m.name) for m in plan.matches]
    assert "sklearn.fit" in planned(7, "f", "fit")[0][2]
    assert "sklearn.predict" in planned(10, "p", "predict")[0][2]
    assert got == [
        *planned(7, "RandomForestClassifier(n_estimators=10).fit", "fit"),
        *planned(7, "RandomForestClassifier", "sklearn.ensemble.RandomForestClassifier"),
        *planned(8, "make_pipeline(StandardScaler(), SVC()).fit", "fit"),
        *planned(8, "make_pipeline", "sklearn.pipeline.make_pipeline"),  # a constructor, if a rule says so
        *planned(8, "StandardScaler", "sklearn.preprocessing.StandardScaler"),
        *planned(8, "SVC", "sklearn.svm.SVC"),
        *planned(9, 'GridSearchCV(SVC(), {"C": [1, 10]}).fit', "fit"),
        *planned(9, "GridSearchCV", "sklearn.model_selection.GridSearchCV"),
        *planned(9, "SVC", "sklearn.svm.SVC"),
        *planned(10, "lm.LogisticRegression(C=0.5).fit(X, y).predict", "predict"),
        *planned(10, "lm.LogisticRegression(C=0.5).fit", "fit"),
        *planned(10, "lm.LogisticRegression", "sklearn.linear_model.LogisticRegression"),
        *planned(11, "a.b().c.fit", "fit"),
    ]
    assert len(got) >= 11 and all(len(m.rule_ids) == 1 for m in plan.matches if "." in m.name)


def test_user_functions_match_by_name_not_through_a_call():
    from provinstr.rules.model import Rule

    rules = [Rule("block", "test", "activity", functions=("dense_block",), activity="Transformation")]
    source = textwrap.dedent("""\
        import mylib
        def dense_block(x):
            return x
        dense_block(1)
        mylib.dense_block(2)
        mylib.make().dense_block(3)
        """)
    for matches in (quickplan.find_matches(source, rules), libcst_matches(source, rules)):
        assert sorted((m.line, m.callee) for m in matches) == [(4, "dense_block"), (5, "mylib.dense_block")]


KERAS_SCRIPT = """\
import keras
from tensorflow.keras.optimizers import SGD
opt = keras.optimizers.Adam(learning_rate=3e-3).get_config()
decay = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
step = SGD(decay).minimize
model = keras.Sequential([keras.layers.Dense(3)])
model.compile(optimizer=keras.optimizers.Adam(1e-3))
keras.Sequential([keras.layers.Dense(2)]).compile(optimizer="adam")
y = keras.layers.Dense(3)(x)
history = model.fit(x, y).history
"""


def test_rewrite_explain_shows_a_keras_optimizer_chain_as_one_optimizer(tmp_path, cli):
    (tmp_path / "train.py").write_text(KERAS_SCRIPT)
    done = cli("rewrite", "--explain", "train.py", cwd=tmp_path, env={"PROVINSTR_CACHE": "off"})
    assert done.returncode == 0, done.stderr
    header, *calls = [line for line in done.stdout.splitlines() if line.startswith("train.py:")]
    assert header == "train.py: 10 call(s) will be captured"
    rules = re.findall(r"^    rule (\S+) ", done.stdout, re.MULTILINE)
    assert calls == [
        "train.py:3: keras.optimizers.Adam(...)  [keras.optimizers.Adam]",
        "train.py:4: keras.optimizers.schedules.ExponentialDecay(...)"
        "  [keras.optimizers.schedules.ExponentialDecay]",
        "train.py:5: SGD(...)  [keras.optimizers.SGD]",
        "train.py:6: keras.layers.Dense(...)  [keras.layers.Dense]",
        "train.py:7: model.compile(...)  [compile]",
        "train.py:7: keras.optimizers.Adam(...)  [keras.optimizers.Adam]",
        'train.py:8: keras.Sequential([keras.layers.Dense(2)]).compile(...)  [compile]',
        "train.py:8: keras.layers.Dense(...)  [keras.layers.Dense]",
        "train.py:9: keras.layers.Dense(...)  [keras.layers.Dense]",
        "train.py:10: model.fit(...)  [fit]",
    ]
    # one rule per constructor: the schedule is not also an optimizer (the first rule is the one applied)
    assert rules == ["keras.optimizer", "keras.schedule", "keras.optimizer", "keras.layer", "keras.compile",
                     "keras.optimizer", "keras.compile", "keras.layer", "keras.layer",
                     "keras.fit", "lightning.fit", "sklearn.fit"]
    assert "get_config" not in done.stdout


CHAINED_SKLEARN = """\
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

X, y = load_iris(return_X_y=True)
score = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y).score(X, y)
print(score > 0.9)
"""


def test_a_chained_fit_and_score_under_provinstr_run_record_the_estimator_training_and_test(
        tmp_path, cli, store_dir):
    (tmp_path / "train.py").write_text(CHAINED_SKLEARN)
    done = cli("run", "--store", str(store_dir), "train.py", cwd=tmp_path,
               env={"PROVINSTR_CACHE": str(tmp_path / "plans")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"
    store = provinstr.open_store(store_dir)

    def ask(sparql: str) -> list[dict]:
        return store.query(sparql).dicts()

    estimators = ask("SELECT DISTINCT ?e ?name WHERE { GRAPH ?g { ?e a pi:Estimator ; pi:name ?name } }")
    assert [e["name"] for e in estimators] == ["sklearn.ensemble.RandomForestClassifier"]
    assert ask('SELECT ?v WHERE { GRAPH ?g { ?e a pi:Estimator ; '
               'pi:attribute [ pi:name "n_estimators" ; prov:value ?v ] } }') == [{"v": 10}]
    training = ask("""SELECT DISTINCT ?t WHERE { GRAPH ?g { ?t a pi:Training ; prov:used ?e .
                      ?e a pi:Estimator ; pi:name "sklearn.ensemble.RandomForestClassifier" } }""")
    assert len(training) == 1
    data = ask("SELECT DISTINCT ?name WHERE { GRAPH ?g { ?t a pi:Training ; prov:used ?d . "
               "?d a pi:Dataset ; pi:name ?name } } ORDER BY ?name")
    assert [d["name"] for d in data] == ["X", "y"]
    score = ask("""SELECT ?v WHERE { GRAPH ?g { ?s a pi:Test ; prov:used ?e . ?e a pi:Estimator .
                   ?m a pi:Metric ; prov:wasGeneratedBy ?s ; pi:name "score" ; prov:value ?v } }""")
    assert len(score) == 1 and score[0]["v"] > 0.9
    assert not store.query('ASK { GRAPH ?g { ?e pi:name "fit" } }').boolean
