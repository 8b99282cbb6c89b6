"""`provinstr run`'s one table of options: the quick parser and the typer command read every option alike."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import provinstr
from provinstr.cli import run_options
from provinstr.cli.quick_run import parse

# The typer path on purpose: quick_run declines every command line, as it does for --help.
TYPER = "import provinstr.cli.quick_run as q; q.quick_run = lambda arguments: None; from provinstr.cli import main; main()"

WORK = """\
import sys

def work(K, L):
    return K + L

print(sys.argv, __name__, work(K=1, L=2))
"""

RULES = """\
[[rule]]
id = "work"
functions = ["work"]
record = "activity"
activity = "Transformation"
label = "Work"
capture = { K = true, L = true }
"""


def _typer_command():
    import typer

    from provinstr.cli import app

    return typer.main.get_command(app).commands["run"]


def _given(option: run_options.RunOption) -> list[list[str]]:
    """Each way of giving `option` on a command line: every flag, `--flag=value` too, repeated when it may be."""
    value = "a.toml" if option.kind is not str else "v"
    forms = []
    for flag in option.flags:
        if not option.takes_value:
            forms.append([flag])
            continue
        forms.append([flag, value])
        if flag.startswith("--"):
            forms.append([f"{flag}={value}"])
        if option.repeatable:
            forms.append([flag, value, flag, "second-" + value])
    return forms


@pytest.mark.parametrize("option", run_options.RUN_OPTIONS, ids=lambda o: o.name)
def test_every_option_of_the_table_reads_the_same_without_typer_and_with_it(option):
    command = _typer_command()
    for form in _given(option):
        line = [*form, "train.py", *form, "--epochs", "3"]  # after the script, the same option is the script's
        quick = parse(line)
        assert quick is not None, line  # a usual command line: the quick path runs it
        typed = run_options.arguments(command.make_context("run", list(line)).params)
        assert quick == typed, line
        assert quick.script == "train.py" and quick.args == [*form, "--epochs", "3"], line
        assert getattr(quick, option.name) not in (None, [], False), line


def test_the_typer_command_is_made_from_the_table():
    command = _typer_command()
    options = {p.name: p for p in command.params if p.name not in ("script", "args")}
    assert list(options) == [o.name for o in run_options.RUN_OPTIONS]
    for option in run_options.RUN_OPTIONS:
        made = options[option.name]
        assert tuple(made.opts) == option.flags
        assert made.help == option.help and made.multiple == option.repeatable
        assert (not made.is_flag) == option.takes_value
    assert [p.name for p in command.params[:2]] == [a.name for a in run_options.RUN_ARGUMENTS]
    assert command.help == run_options.RUN_HELP


# Together these lines give every flag of the table (checked below), run through both paths.
def _command_lines(tmp_path, which: str) -> list[list[str]]:
    store = str(tmp_path / f"store-{which}")
    return [
        ["--store", store, "--name", "first", "--group", "sweep", "--rules", "work.toml", "--rules", "more.toml",
         "work.py", "--name", "x", "--", "-m"],
        ["-s", store, "--name=second", "--group=sweep", "--rules=work.toml", "-m", "tool", "a", "--store", "b"],
        ["--store=" + store, "--module=tool", "--", "c"],
    ]


def test_every_option_runs_the_script_alike_through_the_quick_path_and_typer(tmp_path):
    (tmp_path / "work.py").write_text(WORK)
    (tmp_path / "tool").mkdir()
    (tmp_path / "tool" / "__init__.py").write_text("")
    (tmp_path / "tool" / "__main__.py").write_text(WORK)
    (tmp_path / "work.toml").write_text(RULES)
    (tmp_path / "more.toml").write_text(textwrap.dedent(RULES).replace('"work"', '"other"', 1)
                                        .replace('["work"]', '["nothing_calls_this"]'))
    used = set()
    for line in _command_lines(tmp_path, ""):
        read = parse(line)
        used |= {given.partition("=")[0] for given in line[:len(line) - len(read.args) - 1]}  # before the script
    assert {flag for option in run_options.RUN_OPTIONS for flag in option.flags} <= used

    seen = {}
    for which, prefix in (("quick", ["-m", "provinstr"]), ("typer", ["-c", TYPER])):
        outputs = []
        for line in _command_lines(tmp_path, which):
            done = subprocess.run([sys.executable, *prefix, "run", *line], cwd=tmp_path, capture_output=True,
                                  text=True, timeout=300)
            outputs.append((done.returncode, done.stdout, done.stderr))
        store = provinstr.open_store(tmp_path / f"store-{which}")
        runs = sorted((r.name, str(r.group), r.status) for r in store.runs())
        work = store.query("SELECT ?t { GRAPH ?g { ?t a pi:Transformation ; rdfs:label 'Work' } }")
        seen[which] = outputs, runs, len(work.rows)
    assert seen["quick"] == seen["typer"]
    outputs, runs, transformations = seen["quick"]
    assert [o[1] for o in outputs] == [
        "['work.py', '--name', 'x', '--', '-m'] __main__ 3\n",
        f"['{tmp_path / 'tool' / '__main__.py'}', 'a', '--store', 'b'] __main__ 3\n",
        f"['{tmp_path / 'tool' / '__main__.py'}', 'c'] __main__ 3\n",
    ]
    assert all(o[0] == 0 and o[2] == "" for o in outputs), outputs
    assert runs == [("__main__.py", "None", "completed"), ("first", "sweep", "completed"),
                    ("second", "sweep", "completed")]
    assert transformations == 2  # the --rules files applied (the first two lines), through both paths
