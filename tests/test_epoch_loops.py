"""The rewriter's epoch loops and value assignments (rules with `loops` / `assigns`), as text and as AST."""

from __future__ import annotations

import ast
import textwrap

import pytest

from provinstr.capture import calls, epochs
from provinstr.rewrite.plan import make_plan
from provinstr.rewrite.transformer import instrument, rewrite_source
from provinstr.rules import RuleError, load_rule_file

RULES = """
[[rule]]
id = "t.epochs"
loops = ["*epoch*"]
record = "epochs"

[[rule]]
id = "t.values"
assigns = ["val_*", "correct"]
record = "values"
"""

SOURCE = '''
import os
epochs = 3
for epoch in range(epochs):  # a comment
    val_loss = epoch / 2; other = 1
    correct = 0
    for x in 1, 2: correct += x
    if correct: val_acc, (val_top, _) = 0.5, (0.9, 0)
for num_epochs in (1, 2):  # a sweep over epoch counts, not an epoch loop
    pass
n = 0
while n < epochs:
    n += 1
for e in (epoch,
          epoch):
    val_x = \\
        e
'''


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    return load_rule_file(path)


class Recorder:
    """What the engine hands an adapter: epoch boundaries and values."""

    def __init__(self):
        self.events = []

    def epoch_loop(self, rule, line, name, kind, planned=None, frame=None):
        self.events.append(("loop", line, name, kind, planned))
        return self

    def begin(self, index, item):
        self.events.append(("begin", index))

    def end(self, index):
        self.events.append(("end", index))

    def exited(self, index):
        self.events.append(("exited", index))

    def finished(self):
        self.events.append(("finished",))

    def on_value(self, rule, name, value, line):
        self.events.append(("value", name, value, line))


@pytest.fixture
def recorder(rules, monkeypatch):
    calls.activate(rules)
    seen = Recorder()
    monkeypatch.setattr(epochs, "get_adapter", lambda name: seen)
    monkeypatch.setattr(epochs, "_targets", {})
    return seen


EXPECTED = [
    ("loop", 4, "epoch", "for", 3), ("begin", 0), ("value", "val_loss", 0.0, 5), ("value", "correct", 0, 6),
    ("value", "correct", 1, 7), ("value", "correct", 3, 7), ("value", "val_acc", 0.5, 8),
    ("value", "val_top", 0.9, 8), ("end", 0), ("begin", 1), ("value", "val_loss", 0.5, 5),
    ("value", "correct", 0, 6), ("value", "correct", 1, 7), ("value", "correct", 3, 7),
    ("value", "val_acc", 0.5, 8), ("value", "val_top", 0.9, 8), ("end", 1), ("begin", 2),
    ("value", "val_loss", 1.0, 5), ("value", "correct", 0, 6), ("value", "correct", 1, 7),
    ("value", "correct", 3, 7), ("value", "val_acc", 0.5, 8), ("value", "val_top", 0.9, 8), ("end", 2),
    ("finished",),
    ("loop", 12, "", "while", None), ("begin", 0), ("end", 0), ("begin", 1), ("end", 1), ("begin", 2), ("end", 2),
    ("finished",),
    ("loop", 14, "e", "for", 2), ("begin", 0), ("value", "val_x", 2, 16), ("end", 0), ("begin", 1),
    ("value", "val_x", 2, 16), ("end", 1), ("finished",),
]


def test_the_rewritten_text_runs_and_tells_every_epoch_and_value(rules, recorder):
    plan = make_plan(SOURCE, rules)
    text = rewrite_source(SOURCE, plan).replace(
        "import provinstr.rewrite.runtime as __provinstr__; __provinstr__.activate([], __file__)\n", "")
    import provinstr.rewrite.runtime as runtime

    exec(compile(text, "script.py", "exec"), {"__provinstr__": runtime, "__file__": "script.py"})
    assert recorder.events == EXPECTED


def test_the_instrumented_tree_keeps_lines_and_tells_the_same(rules, recorder):
    plan = make_plan(SOURCE, rules)
    tree = ast.parse(SOURCE)
    assert instrument(tree, plan, SOURCE) == 8  # three loops, five assignments
    import provinstr.rewrite.runtime as runtime

    exec(compile(tree, "script.py", "exec"), {"__provinstr__": runtime})
    assert recorder.events == EXPECTED


def test_a_while_test_is_evaluated_once_per_iteration_and_a_loop_entered_again_is_a_new_loop(rules, recorder):
    source = textwrap.dedent('''
        class Flag:
            def __init__(self, times):
                self.left = times
            def __bool__(self):
                self.left -= 1
                return self.left >= 0
        def train(times):
            epoch = 0
            flag = Flag(times)
            while flag:
                epoch += 1
                if epoch == 2:
                    break
            return epoch
        ran = [train(3), train(1)]
    ''')
    tree = ast.parse(source)
    instrument(tree, make_plan(source, rules), source)
    import provinstr.rewrite.runtime as runtime

    scope = {"__provinstr__": runtime}
    exec(compile(tree, "script.py", "exec"), scope)
    assert scope["ran"] == [2, 1]  # as under python: the stateful test ran once per iteration
    loops = [event for event in recorder.events if event[0] in ("loop", "exited", "finished")]
    assert loops[:3] == [("loop", 11, "", "while", None), ("exited", 1), ("finished",)]  # the first, left by break
    assert loops[3] == ("loop", 11, "", "while", None)


@pytest.mark.parametrize("text, message", [
    ('id = "a"\nloops = ["*epoch*"]\nrecord = "component"', 'loops = [...] goes with record = "epochs"'),
    ('id = "a"\nassigns = ["val loss"]\nrecord = "values"', "is not a name pattern"),
    ('id = "a"\nrecord = "epochs"', "matches nothing"),
])
def test_loops_and_assigns_rules_are_checked_with_their_line(tmp_path, text, message):
    path = tmp_path / "rules.toml"
    path.write_text("[[rule]]\n" + text + "\n")
    with pytest.raises(RuleError) as caught:
        load_rule_file(path)
    assert message in str(caught.value) and "rules.toml:" in str(caught.value)
