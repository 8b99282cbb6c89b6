"""`provinstr run` behaves like `python FILE ARGS`: argv, __main__, stdin/stdout, exit codes, tracebacks."""

from __future__ import annotations

import sys
import textwrap

import provinstr
from tests.conftest import REPO

RULES = REPO / "tests" / "data" / "transform_rules.toml"

PLAIN = """\
import sys
print(sys.argv, __name__, sys.path[0] == __file__.rsplit("/", 1)[0], input())
sys.exit(int(sys.argv[1]))
"""

FAILING = """\
import json

def boom(K, L):
    return json.loads(K)[L]  # fails inside the user's code


def dense_block(x, K, L):
    return boom(K=K,
                L=L)

dense_block(1, K="{}", L="missing")
"""


def test_a_script_without_ml_runs_as_python_would_and_records_a_run_without_training(tmp_path, cli, store_dir):
    (tmp_path / "plain.py").write_text(PLAIN)
    done = cli("run", "--store", str(store_dir), "--name", "plain-run", "plain.py", "3", "--flag",
               cwd=tmp_path, input="from stdin\n")
    assert done.stdout == "['plain.py', '3', '--flag'] __main__ True from stdin\n"
    assert done.returncode == 3 and done.stderr == ""
    store = provinstr.open_store(store_dir)
    (run,) = store.runs()
    assert run.name == "plain-run" and run.status == "failed"  # exit status 3 is a failure
    assert store.query("ASK { GRAPH ?g { ?t a pi:Training } }").boolean is False
    argv = store.query("SELECT ?argv { GRAPH ?g { ?r a pi:Run ; pi:argv ?argv } }")
    assert list(argv) == [('["plain.py", "3", "--flag"]',)]


def test_a_user_exception_prints_the_same_traceback_as_python(tmp_path, cli, run_python, store_dir):
    expected = run_python(FAILING, name="failing.py")
    done = cli("run", "--store", str(store_dir), "--rules", str(RULES), "failing.py", cwd=tmp_path)
    assert done.returncode == expected.returncode == 1
    assert done.stderr == expected.stderr
    assert 'File "' + str(tmp_path / "failing.py") + '", line 8, in dense_block' in done.stderr
    assert "provinstr" not in done.stderr
    (run,) = provinstr.open_store(store_dir).runs()
    assert run.status == "failed" and "missing" in run.error


def test_a_syntax_error_gets_pythons_own_report(tmp_path, cli, run_python):
    source = "print('ok')\nx = (1,\n     2\ny = 3\n"
    expected = run_python(source, name="broken.py")
    done = cli("run", "broken.py", cwd=tmp_path)
    assert done.returncode == expected.returncode == 1
    assert done.stderr == expected.stderr and "SyntaxError" in done.stderr


def test_a_bad_rule_file_stops_before_any_user_code_runs(tmp_path, cli):
    (tmp_path / "bad.toml").write_text('[[rule]]\nid = "x"\ncalls = ["keras.layers.*"]\nrecord = "component"\n'
                                       'capture = ["units"]\n')
    (tmp_path / "touch.py").write_text("open('ran', 'w').close()\n")
    done = cli("run", "--rules", "bad.toml", "touch.py", cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.toml:5: rule 'x': capture must be a table of switches" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "ran").exists()


def test_a_missing_script_is_a_usage_error(tmp_path, cli):
    done = cli("run", "nothere.py", cwd=tmp_path)
    assert done.returncode == 2 and "nothere.py" in done.stderr and "no such file" in done.stderr


def test_run_m_runs_a_module_as_main_with_its_arguments(tmp_path, cli, store_dir):
    package = tmp_path / "tool"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(textwrap.dedent("""\
        import sys
        from tool import helper
        print(__name__, __package__, sys.argv[1:], helper.__name__)
        raise SystemExit(0)
        """))
    (package / "helper.py").write_text("")
    done = cli("run", "--store", str(store_dir), "-m", "tool", "a", "-b", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "__main__ tool ['a', '-b'] tool.helper\n"
    (run,) = provinstr.open_store(store_dir).runs()
    assert run.status == "completed"


QUICK_COMMAND_LINES = [
    ["train.py"],
    ["train.py", "--epochs", "3", "--help", "-m", "x"],
    ["--store", "s", "--name=n", "--rules", "a.toml", "--rules=b.toml", "train.py", "--rules", "c"],
    ["--group", "sweep-1", "train.py", "--group", "x"],
    ["-s", "s", "train.py"],
    ["-m", "pkg.mod", "a", "--store", "s"],
    ["--module=pkg", "--store", "s"],
    ["--", "train.py", "--", "x"],
    ["--name", "-x", "train.py"],
    ["--help"],
    ["--store"],
    ["--unknown", "train.py"],
    ["-mpkg"],
    ["-m=pkg"],
    [],
]


def test_run_command_lines_read_without_typer_mean_what_typer_reads(monkeypatch):
    import typer

    from provinstr.cli import app
    from provinstr.cli.quick_run import parse

    command = typer.main.get_command(app).commands["run"]
    for line in QUICK_COMMAND_LINES:
        quick = parse(line)
        if quick is None:
            continue  # left to typer
        params = command.make_context("run", list(line)).params
        assert quick.script == params["script"] and quick.args == list(params["args"] or ()), line
        assert quick.module == params["module"] and quick.store == params["store"] and quick.name == params["name"]
        assert quick.group == params["group"], line
        assert [str(r) for r in params["rules"] or ()] == quick.rules, line


def test_run_starts_the_script_without_the_cli_and_query_libraries(tmp_path, cli, store_dir):
    (tmp_path / "modules.py").write_text(
        "import sys\nprint(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'rich', 'pydantic', 'libcst'}))\n")
    done = cli("run", "--store", str(store_dir), "modules.py", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == "[]\n", done.stderr


def test_run_group_puts_the_run_into_a_sweep_that_runs_group_lists(tmp_path, cli, store_dir):
    script = tmp_path / "step.py"
    script.write_text("print('ok')\n")
    for group in ("sweep-a", "sweep-a", None):
        options = ["--group", group] if group else []
        done = cli("run", "--store", str(store_dir), *options, str(script), cwd=tmp_path)
        assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
    runs = provinstr.open_store(store_dir).runs()
    assert sorted(str(r.group) for r in runs) == ["None", "sweep-a", "sweep-a"]
    sweeps = provinstr.open_store(store_dir).query(
        'SELECT (COUNT(DISTINCT ?run) AS ?n) WHERE { ?s a pi:Sweep ; pi:group "sweep-a" ; mls:hasPart ?run }')
    assert sweeps.rows == [(2,)]
