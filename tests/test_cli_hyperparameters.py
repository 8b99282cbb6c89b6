"""Command-line options and seeds are hyperparameters of the run, whatever the framework (issue 15).

Each test runs a script of tests/data/python/ through the real `provinstr run` and asks the store.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import provinstr
from provinstr.capture.redaction import REDACTED
from tests.conftest import REPO, provinstr_cli

DATA = REPO / "tests" / "data" / "python"
STRICT = {"PROVINSTR_STRICT": "1"}
SECRETS = (b"s3cret", b"pw-default-42")

# The run's hyperparameters: each node, its name and value, and the script line that set it.
RUN_HYPERPARAMETERS = """
SELECT ?node ?name ?value ?line WHERE { GRAPH ?g {
  ?run a pi:Run ; prov:used ?node .
  ?node a pi:Hyperparameter, mls:HyperParameterSetting ; pi:name ?name ; prov:value ?value .
  OPTIONAL { ?node pi:sourceLine ?line } } }
"""


def _hyperparameters(store_dir) -> list[dict]:
    return provinstr.open_store(store_dir).query(RUN_HYPERPARAMETERS).dicts()


def _line_of(script, text: str) -> int:
    (line,) = [n for n, source in enumerate(script.read_text().splitlines(), 1) if text in source]
    return line


@pytest.fixture(scope="module")
def options_run(tmp_path_factory):
    """tests/data/python/options.py run once under `provinstr run` with options, a secret among them."""
    folder = tmp_path_factory.mktemp("options")
    store_dir = folder / ".provinstr"
    done = provinstr_cli("run", "--store", str(store_dir), str(DATA / "options.py"),
                         "--epochs", "3", "--lr", "0.1", "--layers", "16", "32", "--shuffle",
                         "--api-key", "s3cret",
                         cwd=folder, env=STRICT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3 5 ['--unknown'] [16, 32] True True\n" and done.stderr == ""
    return store_dir, _hyperparameters(store_dir)


def test_every_option_of_the_namespace_is_a_hyperparameter_of_the_run_with_its_type(options_run):
    _, rows = options_run
    first = {row["name"]: row["value"] for row in rows
             if "/argparse/" in row["node"] and row["node"].endswith("/1")}
    assert first == {
        "epochs": 3, "lr": 0.1, "layers": json.dumps([16, 32]), "shuffle": True,  # given on the command line
        "batch_size": 32, "augment": True, "optimizer": "sgd", "out": "runs/out",  # their defaults
        "resume": "None", "seed": 7,
        "api_key": REDACTED, "password": REDACTED,  # secret names: given or by default, never stored
    }
    assert type(first["epochs"]) is int and type(first["batch_size"]) is int
    assert type(first["lr"]) is float and type(first["shuffle"]) is bool and type(first["augment"]) is bool
    script = DATA / "options.py"
    assert {row["line"] for row in rows if row["node"].endswith("/argparse/lr/1")} == {
        _line_of(script, "args = parser.parse_args()")}


def test_a_secret_option_and_a_secret_default_never_reach_the_store(options_run):
    store_dir, _ = options_run
    files = [path for path in store_dir.rglob("*") if path.is_file()]
    assert files
    for path in files:  # the log, the index, everything
        data = path.read_bytes()
        assert not [secret for secret in SECRETS if secret in data], path
    store = provinstr.open_store(store_dir)
    redacted = {row["name"] for row in store.query(
        "SELECT ?name { GRAPH ?g { ?n a pi:Hyperparameter ; pi:name ?name ; pi:redacted true } }").dicts()}
    assert {"api_key", "password"} <= redacted


def test_a_second_parse_adds_only_the_values_that_differ_each_under_its_own_iri(options_run):
    _, rows = options_run
    nodes = [row["node"] for row in rows]
    assert len(nodes) == len(set(nodes))  # no IRI holds two values
    by_name: dict[str, set] = {}
    for row in rows:
        if "/argparse/" in row["node"]:
            by_name.setdefault(row["name"], set()).add(row["value"])
    # parse_known_args(["--epochs", "5", "--unknown"]): epochs 5, and defaults where the first parse differs
    assert by_name["epochs"] == {3, 5} and by_name["lr"] == {0.1, 0.01}
    assert by_name["shuffle"] == {True, False}
    assert by_name["layers"] == {json.dumps([16, 32]), json.dumps([8])}
    assert by_name["batch_size"] == {32} and by_name["optimizer"] == {"sgd"}  # the same value: one node
    second = {row["node"].rsplit("/argparse/", 1)[1]: row["value"] for row in rows if row["value"] == 5}
    assert second == {"epochs/2": 5}
    assert {row["line"] for row in rows if row["node"].endswith("/argparse/epochs/2")} == {
        _line_of(DATA / "options.py", "parser.parse_known_args(")}


def test_a_parse_args_method_of_something_else_records_nothing(options_run):
    _, rows = options_run
    assert "not_a_command_line_option" not in {row["name"] for row in rows}


def test_seeds_that_agree_give_the_run_one_seed_and_each_source_its_own(options_run):
    _, rows = options_run
    seeds = {row["name"]: row["value"] for row in rows if "/argparse/" not in row["node"]}
    # default_rng() without a seed fixes nothing, so it adds nothing
    assert seeds == {"seed": 7, "seed.random": 7, "seed.numpy": 7, "seed.numpy.generator": 7}
    (run_seed,) = [row["node"] for row in rows if row["name"] == "seed" and "/argparse/" not in row["node"]]
    assert run_seed.endswith("/seed")


def test_seeding_under_provinstr_run_draws_the_same_numbers_as_under_python(tmp_path, cli, store_dir):
    script = DATA / "seeded.py"
    plain = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, check=False)
    assert plain.returncode == 0, plain.stderr
    captured = cli("run", "--store", str(store_dir), str(script), cwd=tmp_path)
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout and len(plain.stdout.splitlines()) == 5

    rows = _hyperparameters(store_dir)
    assert {row["name"]: row["value"] for row in rows} == {  # they disagree: no single `seed`
        "seed.torch": 1, "seed.torch.cuda": 1, "seed.random": 2, "seed.numpy": 3, "seed.numpy.generator": 4,
    }
    lines = {row["name"]: row["line"] for row in rows}
    assert lines["seed.torch"] == _line_of(script, "torch.manual_seed(1)")


def test_a_seed_that_a_seeding_helper_picked_and_returned_is_the_run_seed(tmp_path, cli, store_dir):
    """Lightning's seed_everything() picks a seed when given none and returns it; a project's helper too."""
    done = cli("run", "--store", str(store_dir), "--rules", str(DATA / "seed_rules.toml"),
               str(DATA / "picked_seed.py"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {row["name"]: row["value"] for row in _hyperparameters(store_dir)} == {
        "seed": 1234, "seed.project": 1234}


def test_the_python_adapter_imports_no_framework():
    probe = ("import sys; from provinstr.capture.hooks import get_adapter; get_adapter('python'); "
             "frameworks = ('numpy', 'torch', 'tensorflow', 'keras', 'jax', 'lightning'); "
             "print(sorted(m for m in frameworks if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_seed_rule_names_its_hyperparameter_and_every_python_rule_is_a_configuration():
    from provinstr.rules import load_rule_file

    rules = load_rule_file(REPO / "rules" / "python.toml")
    assert rules and all(rule.adapter == "python" and rule.record == "configuration" for rule in rules)
    seeds = [rule for rule in rules if rule.calls]
    assert all(str(rule.option("seed_name")).startswith("seed.") for rule in seeds)
    assert {rule.method for rule in rules if rule.method} == {
        "parse_args", "parse_known_args", "parse_intermixed_args", "parse_known_intermixed_args"}
