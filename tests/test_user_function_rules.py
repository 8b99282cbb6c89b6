"""Rules on the user's own functions: a DenseED-like numpy script records its blocks with no code change."""

from __future__ import annotations

import provinstr
from tests.conftest import REPO

DATA = REPO / "tests" / "data"

# Seed query (a) of DESIGN.md, at the last epoch of this short run.
SEED_A = """
SELECT DISTINCT ?loss WHERE { GRAPH ?run {
  ?k pi:name "K" ; prov:value 24 .   ?l pi:name "L" ; prov:value 4 .
  ?m a pi:Metric ; pi:name "loss" ; pi:epoch 2 ; prov:value ?loss . } }
"""
SEED_B = """
SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
  pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch
"""


def test_denseed_blocks_become_transformations_and_the_seed_queries_answer(tmp_path, cli, store_dir):
    done = cli("run", "--store", str(store_dir), "--rules", str(DATA / "denseed_rules.toml"),
               str(DATA / "denseed_numpy.py"), "--K", "24", "--L", "4", "--epochs", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = [float(line.rsplit(" ", 1)[1]) for line in done.stdout.splitlines()]
    store = provinstr.open_store(store_dir)

    (loss,) = store.query(SEED_A)
    assert round(loss[0], 5) == printed[2]
    assert [(epoch, round(value, 5)) for epoch, value in store.query(SEED_B)] == list(enumerate(printed))

    blocks = store.query("""
        SELECT ?label ?name ?value WHERE { ?t a pi:Transformation ; rdfs:label ?label ; prov:used ?a .
          ?a a pi:Attribute ; pi:name ?name ; prov:value ?value } ORDER BY ?label ?name""")
    assert sorted(set(blocks)) == [
        ("Decoder", "padding", "same"), ("Decoder", "strides", 2),
        ("DenseBlock", "K", 24), ("DenseBlock", "L", 4),
        ("Encoder", "padding", "same"), ("Encoder", "strides", 2),
        ("TrainEpoch", "epoch", 0), ("TrainEpoch", "epoch", 1), ("TrainEpoch", "epoch", 2),
        ("TrainEpoch", "learning_rate", 0.05),  # left to its default by the script: still a value it used
    ]
    lines = store.query("SELECT DISTINCT ?line { ?t rdfs:label 'DenseBlock' ; pi:sourceLine ?line }")
    source = (DATA / "denseed_numpy.py").read_text().splitlines()
    (line,) = [n for n, text in enumerate(source, 1) if "features = dense_block(" in text]
    assert list(lines) == [(line,)]  # where train_epoch calls dense_block in the script


def test_a_function_rule_records_nothing_for_functions_it_does_not_name(tmp_path, store_dir):
    from provinstr.rewrite import execute, script_target
    from provinstr.rules import load_rule_file

    script = tmp_path / "other.py"
    script.write_text("def dense(x):\n    return x\nresult = dense(3)\n")
    code = execute(script_target(str(script)), [], load_rule_file(DATA / "denseed_rules.toml"), store=str(store_dir))
    assert code == 0
    store = provinstr.open_store(store_dir)
    assert [run.status for run in store.runs()] == ["completed"]
    assert store.query("ASK { GRAPH ?g { ?t a pi:Transformation } }").boolean is False


def test_a_user_function_default_the_call_relied_on_is_recorded(tmp_path, cli):
    """`dense_block(x)` with `def dense_block(x, K=24, L=4)` used K=24 and L=4: the rule records them."""
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nid = "denseblock"\nfunctions = ["dense_block"]\nactivity = "Transformation"\n'
        'label = "DenseBlock"\ncapture = { K = true, L = true }\n'
    )
    script = tmp_path / "train.py"
    script.write_text("def dense_block(x, K=24, L=4):\n    return x\n\ndense_block(1)\n")
    store = tmp_path / "store"
    result = cli("run", "--rules", str(rules), "--store", str(store), str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = cli(
        "query", "--store", str(store), "--format", "csv",
        'SELECT ?k ?l WHERE { ?t rdfs:label "DenseBlock" ; prov:used ?a, ?b . '
        '?a pi:name "K" ; prov:value ?k . ?b pi:name "L" ; prov:value ?l }',
        cwd=tmp_path,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.splitlines()[1:] == ["24,4"]


def test_a_function_rule_with_entity_dataset_records_an_ml_schema_dataset(tmp_path, store_dir):
    from provinstr.rewrite import execute, script_target
    from provinstr.rules import load_rule_file

    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "load"\nfunctions = ["load_table"]\nrecord = "component"\n'
                     'entity = "Dataset"\ncapture = { rows = true }\n')
    script = tmp_path / "load.py"
    script.write_text("def load_table(rows):\n    return list(range(rows))\ntable = load_table(rows=5)\n")
    code = execute(script_target(str(script)), [], load_rule_file(rules), store=str(store_dir))
    assert code == 0
    found = provinstr.open_store(store_dir).query("""SELECT ?rows WHERE { ?d a pi:Dataset, mls:Dataset ;
        pi:attribute [ pi:name "rows" ; prov:value ?rows ] }""")
    assert list(found) == [(5,)]
