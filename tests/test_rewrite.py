"""The rewriter: before/after source pairs, untouched text kept, positions preserved, and `provinstr rewrite`."""

from __future__ import annotations

import ast
import sys
import textwrap
import traceback

import pytest

import provinstr
from provinstr.rewrite import instrument, make_plan, rewrite_source
from provinstr.rewrite import runtime
from provinstr.rules import load_rule_file
from tests.conftest import REPO

RULES_FILE = REPO / "tests" / "data" / "transform_rules.toml"
RULES = load_rule_file(RULES_FILE)
IMPORT = "import provinstr.rewrite.runtime as __provinstr__; __provinstr__.activate(['rules.toml'], __file__)"


def assert_rewrites(before: str, after: str) -> None:
    """libcst-codemod style: the rewritten `before` is exactly `after`, and rewriting it again changes nothing."""
    before, after = textwrap.dedent(before), textwrap.dedent(after)
    rewritten = rewrite_source(before, make_plan(before, RULES), ["rules.toml"])
    assert rewritten == after
    assert rewrite_source(rewritten, make_plan(rewritten, RULES), ["rules.toml"]) == rewritten


def test_aliases_of_keras_are_resolved_and_names_normalised():
    assert_rewrites(
        """\
        from tensorflow import keras
        import tensorflow as tf
        from keras.layers import Conv2D as C
        a = keras.layers.Dense(3)
        b = tf.keras.layers.Dropout(rate=0.5)
        c = C(8, 3)
        """,
        f"""\
        {IMPORT}
        from tensorflow import keras
        import tensorflow as tf
        from keras.layers import Conv2D as C
        a = __provinstr__.wrap(keras.layers.Dense, ('layers',), 4, 'keras.layers.Dense')(3)
        b = __provinstr__.wrap(tf.keras.layers.Dropout, ('layers',), 5, 'keras.layers.Dropout')(rate=0.5)
        c = __provinstr__.wrap(C, ('layers',), 6, 'keras.layers.Conv2D')(8, 3)
        """,
    )


def test_methods_match_by_name_and_user_functions_by_their_name():
    assert_rewrites(
        """\
        def dense_block(x, K, L):
            return x
        y = dense_block(1, K=24, L=4)
        model.fit(x, y, epochs=3)
        other.predict(x)
        """,
        f"""\
        {IMPORT}
        def dense_block(x, K, L):
            return x
        y = __provinstr__.wrap(dense_block, ('blocks',), 3, 'dense_block')(1, K=24, L=4)
        __provinstr__.wrap(model.fit, ('fit',), 4, 'fit')(x, y, epochs=3)
        other.predict(x)
        """,
    )


def test_comments_formatting_and_nested_calls_are_kept():
    assert_rewrites(
        '''\
        """Docstring stays first."""
        from __future__ import annotations
        import keras  # the framework

        layer = keras.layers.Dense(   # odd spacing stays
            units = 4,   # comment inside the call
        )
        model.fit(x,  keras.layers.Flatten()( x ), epochs=2)
        ''',
        f'''\
        """Docstring stays first."""
        from __future__ import annotations
        {IMPORT}
        import keras  # the framework

        layer = __provinstr__.wrap(keras.layers.Dense, ('layers',), 5, 'keras.layers.Dense')(   # odd spacing stays
            units = 4,   # comment inside the call
        )
        __provinstr__.wrap(model.fit, ('fit',), 8, 'fit')(x,  __provinstr__.wrap(keras.layers.Flatten, ('layers',), 8, 'keras.layers.Flatten')()( x ), epochs=2)
        ''',
    )


def test_a_method_on_a_constructed_object_is_the_method_not_a_second_constructor():
    assert_rewrites(
        """\
        import keras
        keras.Sequential([keras.layers.Dense(3)]).fit(x, epochs=1)
        keras.layers.Dense(3).Dense(4)
        h = keras.layers.Dense(2)(x)
        """,
        f"""\
        {IMPORT}
        import keras
        __provinstr__.wrap(keras.Sequential([__provinstr__.wrap(keras.layers.Dense, ('layers',), 2, 'keras.layers.Dense')(3)]).fit, ('fit',), 2, 'fit')(x, epochs=1)
        __provinstr__.wrap(keras.layers.Dense, ('layers',), 3, 'keras.layers.Dense')(3).Dense(4)
        h = __provinstr__.wrap(keras.layers.Dense, ('layers',), 4, 'keras.layers.Dense')(2)(x)
        """,
    )


def test_a_file_nothing_matches_is_returned_unchanged():
    assert_rewrites("import numpy as np\nprint(np.mean([1, 2]))  # nothing to capture\n",
                    "import numpy as np\nprint(np.mean([1, 2]))  # nothing to capture\n")


POSITIONS_SOURCE = """\
def boom(K, L):
    return {"K": K}[L]

def dense_block(x, K, L):
    return boom(K=K,
                L=L)

result = [dense_block(x, K=24, L=4) for x in range(2)]
"""


def positions(error: BaseException) -> list:
    """(file, line, columns, source) of each frame of a traceback, as Python prints them."""
    return [(frame.filename, frame.lineno, frame.colno, frame.end_colno, frame.line)
            for frame in traceback.extract_tb(error.__traceback__)]


def raise_from(code, namespace: dict) -> BaseException:
    with pytest.raises(KeyError) as caught:
        exec(code, namespace)
    return caught.value


def test_positions_are_preserved(tmp_path, store_dir):
    script = tmp_path / "positions.py"
    script.write_text(POSITIONS_SOURCE)
    original = raise_from(compile(POSITIONS_SOURCE, str(script), "exec"), {})
    tree = ast.parse(POSITIONS_SOURCE)
    assert instrument(tree, make_plan(POSITIONS_SOURCE, RULES), POSITIONS_SOURCE) == 2
    provinstr.capture.calls.activate(RULES, str(script))
    with provinstr.run(store=str(store_dir)):
        captured = raise_from(compile(tree, str(script), "exec"), {"__provinstr__": runtime})
    user_frames = [p for p in positions(captured) if p[0] == str(script)]
    assert user_frames == positions(original)[1:]
    failed = provinstr.open_store(store_dir).query(
        "SELECT ?label ?type WHERE { ?a a pi:Transformation ; rdfs:label ?label ; pi:exceptionType ?type }")
    assert sorted(failed) == [("Block", "KeyError"), ("Block", "KeyError")]


def test_rewrite_command_writes_a_script_that_records_under_plain_python(tmp_path, cli, run_python, store_dir):
    (tmp_path / "train.py").write_text(textwrap.dedent("""\
        import sys
        def dense_block(x, K, L):  # the user's own block
            return x * K + L
        print(dense_block(1, K=24, L=4))
        """))
    (tmp_path / "rules.toml").write_text(RULES_FILE.read_text())
    done = cli("rewrite", "--rules", "rules.toml", "train.py", "-o", "out/train_captured.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "out/train_captured.py: 1 call(s) instrumented" in done.stdout
    rewritten = (tmp_path / "out" / "train_captured.py").read_text()
    assert "__provinstr__.activate(['../rules.toml'], __file__)" in rewritten
    again = cli("rewrite", "--rules", "rules.toml", "out/train_captured.py", cwd=tmp_path)
    assert again.stdout == rewritten
    ran = run_python(rewritten, name="out/train_captured.py", env={"PROVINSTR_STORE": str(store_dir)})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "28\n"
    rows = provinstr.open_store(store_dir).query(
        "SELECT ?name ?value WHERE { ?a a pi:Transformation ; rdfs:label 'Block' ; prov:used ?v ."
        " ?v pi:name ?name ; prov:value ?value } ORDER BY ?name")
    assert list(rows) == [("K", 24), ("L", 4)]


def test_rewrite_explain_lists_each_matched_call_with_its_rule(tmp_path, cli):
    (tmp_path / "train.py").write_text("import keras\nm = keras.Sequential()\nm.fit(x, epochs=3)\n")
    done = cli("rewrite", "--explain", "--rules", str(RULES_FILE), "train.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "train.py:3: m.fit(...)  [fit]" in done.stdout
    assert f"rule fit ({RULES_FILE}:10): an activity pi:Training, when the receiver is a keras.Model; " \
           "captures epochs" in done.stdout
    assert "rule keras.fit (" in done.stdout  # the builtin rule, with its own origin


def test_rewrite_diff_and_in_place(tmp_path, cli):
    script = tmp_path / "train.py"
    script.write_text("def boom(K, L):\n    return K\nboom(1, 2)\n")
    diff = cli("rewrite", "--diff", "--rules", str(RULES_FILE), "train.py", cwd=tmp_path)
    assert "-boom(1, 2)\n+__provinstr__.wrap(boom, ('blocks',), 3, 'boom')(1, 2)\n" in diff.stdout
    assert cli("rewrite", "--in-place", "--rules", str(RULES_FILE), "train.py", cwd=tmp_path).returncode == 0
    assert "__provinstr__.wrap(boom" in script.read_text()


def test_a_bad_rule_file_stops_rewrite_with_file_and_line(tmp_path, cli):
    (tmp_path / "bad.toml").write_text('[[rule]]\nid = "x"\nfunctions = ["f"]\nrecord = "activty"\n')
    (tmp_path / "train.py").write_text("f()\n")
    done = cli("rewrite", "--rules", "bad.toml", "train.py", cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.toml:4: rule 'x': record 'activty' is unknown (did you mean 'activity'?)" in done.stderr
    assert "Traceback" not in done.stderr
