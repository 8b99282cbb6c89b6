"""Plans made without libcst (provinstr.rewrite.quickplan) are the plans libcst makes, or it defers to libcst."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bench import rewrite_speed
from provinstr.rewrite import quickplan
from provinstr.rewrite.plan import libcst_matches
from provinstr.rules import load_rules
from provinstr.rules.model import Rule
from tests.conftest import REPO

USUAL = [*load_rules(), Rule("user-block", "test", "activity", functions=("dense_block",), activity="Transformation")]
RULES = [*USUAL, Rule("any-fit", "test", "activity", calls=("*.fit_generator",), activity="Training")]

SNIPPETS = {
    "aliases": """\
        from tensorflow import keras
        import tensorflow as tf
        from keras.layers import Conv2D as C, Dense
        from keras import layers as L
        import keras.optimizers
        m = keras.Sequential([C(3, 3), Dense(2), L.Dropout(0.5), tf.keras.layers.Flatten()])
        opt = keras.optimizers.SGD(0.1)
        m.compile(optimizer=opt)
        m.fit(x, y, epochs=3)
        """,
    "inside functions and classes": """\
        import keras
        def build(units):
            model = keras.Sequential()
            model.add(keras.layers.Dense(units))
            return model
        class Net:
            layer = keras.layers.Dense(4)
            def fit(self):
                return [keras.layers.Dense(u) for u in range(3)]
        build(3).fit(x)
        """,
    "shadowed names go to libcst": """\
        import keras
        def f(keras):
            return keras.layers.Dense(3)
        keras.layers.Dense(2)
        """,
    "import after use": """\
        Dense(3)
        from keras.layers import Dense
        Dense(4)
        def g():
            return Dense(5)
        """,
    "conditional imports": """\
        try:
            from tensorflow.keras.layers import Dense
        except ImportError:
            from keras.layers import Dense
        Dense(3)
        """,
    "user functions": """\
        import mylib
        from mylib import dense_block as db
        def dense_block(x, K, L):
            return x
        dense_block(1, K=2, L=3)
        mylib.dense_block(1)
        db(2)
        self_thing.dense_block(3)
        """,
    "odd callees": """\
        import keras
        keras.layers.Dense(3)(x)
        keras.Sequential().add(keras.layers.Dense(2))
        "abc".join(["a"])
        (keras.layers.Dense)(3)
        keras.layers[0].Dense(1)
        print(len([1]))
        __provinstr__.wrap(keras.layers.Dense, ("r",), 1, "x")(3)
        """,
    "chained calls": """\
        import keras
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.model_selection import GridSearchCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC
        import mylib
        RandomForestClassifier(n_estimators=10).fit(X, y).score(X, y)
        make_pipeline(StandardScaler(), SVC()).fit(X, y)
        GridSearchCV(SVC(), grid).fit(X, y)
        keras.Sequential([keras.layers.Dense(3)]).compile(optimizer="adam")
        keras.optimizers.Adam(learning_rate=3e-3).get_config()
        keras.optimizers.SGD(0.1).minimize(loss)
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
        keras.layers.Dense(3)(x)
        keras.layers.Dense(3).Dense(4)
        history = model.fit(x).history
        a.b().c.fit(x)
        models[0].fit(x)
        mylib.make().dense_block(1)
        mylib.make().fit_generator(1)
        """,
    "relative and dotted imports": """\
        from . import layers
        from .models import Model
        from .. import keras
        import keras.layers.core
        layers.Dense(1)
        Model().fit(x)
        keras.layers.Dense(2)
        keras.layers.core.Dense(3)
        """,
    "non-ascii and multi-line callees": """\
        import keras
        café = "é"; keras.layers.Dense(units=3, name="é")
        y = (keras.
             layers.Dense)(3)
        """,
    "f-strings go to libcst": """\
        import keras
        f"{keras.layers.Dense(3)}"
        """,
    "star import goes to libcst": """\
        from keras.layers import *
        Dense(3)
        """,
    "local tf": """\
        tf = load()
        tf.keras.layers.Dense(3)
        """,
    "global and nested imports": """\
        def f():
            global keras
            import keras
        def g():
            from keras import layers
            return layers.Dense(3)
        f()
        keras.layers.Dense(4)
        """,
}


def _sources():
    yield from ((name, textwrap.dedent(text)) for name, text in SNIPPETS.items())
    yield "bench", rewrite_speed.script(120)
    for path in sorted((REPO / "examples").rglob("*.py")):
        yield str(path.relative_to(REPO)), path.read_text(encoding="utf-8")


@pytest.mark.parametrize("rules", [USUAL, RULES], ids=["usual rules", "with a wildcard rule"])
@pytest.mark.parametrize("name,source", list(_sources()), ids=[n for n, _ in _sources()])
def test_plans_without_libcst_equal_libcsts_or_defer_to_it(name, source, rules):
    quick = quickplan.find_matches(source, rules)
    if quick is None:
        return
    order = lambda m: (m.line, m.column, -m.end_line, -m.end_column)  # noqa: E731
    assert sorted(quick, key=order) == sorted(libcst_matches(source, rules), key=order)


def test_the_usual_scripts_need_no_libcst():
    for name in ("aliases", "inside functions and classes", "conditional imports", "odd callees",
                 "chained calls",
                 "relative and dotted imports", "non-ascii and multi-line callees"):
        assert quickplan.find_matches(textwrap.dedent(SNIPPETS[name]), USUAL) is not None, name
    assert quickplan.find_matches(rewrite_speed.script(120), USUAL) is not None
