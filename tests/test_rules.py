"""Rule files: what a valid file loads to, and the file:line message a bad one gets."""

from __future__ import annotations

import textwrap

import pytest

from provinstr.rules import RuleError, builtin_rule_files, load_rule_file, load_rules

GOOD = """\
# layers and training
[[rule]]
id = "layers"
calls = ["tf.keras.layers.*"]
record = "component"
entity = "Layer"
capture = { "*" = true, name = false }

[[rule]]
id = "fit"
method = "fit"
receivers = ["tensorflow.keras.Model"]
activity = "Training"
capture = { epochs = true }
adapter = "keras"
options = { save_model = false }
"""


def write(tmp_path, text: str, name: str = "rules.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as caught:
        load_rule_file(path)
    return str(caught.value).replace(str(path), "rules.toml")


def test_a_valid_file_loads_with_keras_spellings_normalised_and_origins_with_lines(tmp_path):
    layers, fit = load_rule_file(write(tmp_path, GOOD))
    assert layers.calls == ("keras.layers.*",) and layers.entity == "Layer"
    assert layers.captures("filters") and not layers.captures("name")
    assert fit.record == "activity" and fit.receivers == ("keras.Model",) and fit.option("save_model") is False
    assert layers.origin.endswith("rules.toml:2") and fit.origin.endswith("rules.toml:9")


def test_an_unknown_key_is_reported_at_its_line_with_a_suggestion(tmp_path):
    message = error_of(tmp_path, GOOD.replace("capture = { epochs", "captur = { epochs"))
    assert message.startswith("rules.toml:14: rule 'fit': unknown key 'captur' (did you mean 'capture'?)")


def test_a_toml_syntax_error_names_the_line(tmp_path):
    message = error_of(tmp_path, GOOD.replace('method = "fit"', 'method = fit'))
    assert message.startswith("rules.toml:11: TOML syntax error")


def test_a_wrong_type_is_reported_at_the_key(tmp_path):
    message = error_of(tmp_path, GOOD.replace("epochs = true", 'epochs = "yes"'))
    assert message.startswith("rules.toml:14: rule 'fit': capture switch 'epochs' must be true or false")


def test_an_unknown_activity_kind_gets_the_allowed_ones(tmp_path):
    message = error_of(tmp_path, GOOD.replace('"Training"', '"Trainig"'))
    assert "rules.toml:13: rule 'fit': activity 'Trainig' is unknown (did you mean 'Training'?)" in message
    assert "Inference" in message


def test_an_unknown_adapter_is_an_error(tmp_path):
    assert "rules.toml:15: rule 'fit': adapter 'kears' is unknown (did you mean 'keras'?)" in error_of(
        tmp_path, GOOD.replace('adapter = "keras"', 'adapter = "kears"'))


def test_a_rule_that_matches_nothing_is_an_error(tmp_path):
    message = error_of(tmp_path, '[[rule]]\nid = "empty"\nrecord = "activity"\n')
    assert message.startswith("rules.toml:1: rule 'empty': matches nothing; add calls")


def test_a_method_rule_needs_receivers(tmp_path):
    message = error_of(tmp_path, '[[rule]]\nid = "f"\nmethod = "fit"\nactivity = "Training"\n')
    assert message.startswith("rules.toml:3: rule 'f': method 'fit' has no receivers")


def test_duplicate_ids_in_one_file_are_an_error(tmp_path):
    message = error_of(tmp_path, GOOD.replace('id = "fit"', 'id = "layers"'))
    assert message.startswith("rules.toml:10: duplicate rule id 'layers' (first defined at line 2)")


def test_a_pattern_matching_every_call_is_refused(tmp_path):
    message = error_of(tmp_path, '[[rule]]\nid = "all"\ncalls = ["*"]\nrecord = "activity"\n')
    assert "rules.toml:3: rule 'all': calls pattern '*' would match every call" in message


def test_an_entity_on_an_activity_rule_is_an_error(tmp_path):
    message = error_of(tmp_path, GOOD.replace('activity = "Training"', 'record = "activity"\nentity = "Layer"'))
    assert "entity is for record = \"component\"" in message


def test_command_line_rules_override_and_disable_builtin_ones_by_id(tmp_path):
    builtin_ids = {rule.id for rule in load_rules()}
    assert {"keras.fit", "keras.layer"} <= builtin_ids
    own = write(tmp_path, """\
        [[rule]]
        id = "keras.fit"
        enabled = false

        [[rule]]
        id = "keras.layer"
        calls = ["keras.layers.Dense"]
        entity = "Layer"
        """)
    rules = {rule.id: rule for rule in load_rules([own], project_dir=tmp_path)}
    assert "keras.fit" not in rules
    assert rules["keras.layer"].calls == ("keras.layers.Dense",)
    assert builtin_ids - {"keras.fit"} <= set(rules)


def test_the_project_pyproject_names_rule_files_relative_to_itself(tmp_path):
    write(tmp_path, GOOD, "capture.toml")
    (tmp_path / "pyproject.toml").write_text('[tool.provinstr]\nrules = ["capture.toml"]\n')
    rules = load_rules(project_dir=tmp_path, builtin=False)
    assert [rule.id for rule in rules] == ["layers", "fit"]


def test_a_missing_project_rule_file_names_the_pyproject_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.provinstr]\nrules = ["nope.toml"]\n')
    with pytest.raises(RuleError, match=r"pyproject.toml:5: \[tool.provinstr\] rules names 'nope.toml'"):
        load_rules(project_dir=tmp_path)


def test_every_builtin_rule_file_is_valid():
    files = builtin_rule_files()
    assert {path.name for path in files} >= {"keras.toml", "sklearn.toml"}
    for path in files:
        assert load_rule_file(path)


# -- rule options: declared by each adapter, checked like the other keys ---------------------------
def test_a_misspelt_adapter_option_names_the_line_and_the_option_it_resembles(tmp_path):
    message = error_of(tmp_path, GOOD.replace("save_model = false", "save_modle = false"))
    assert message == "rules.toml:16: unknown option 'save_modle' for adapter keras; did you mean 'save_model'?"


def test_an_option_of_the_wrong_type_says_what_it_must_be(tmp_path):
    message = error_of(tmp_path, GOOD.replace("save_model = false", 'save_model = "no"'))
    assert message == "rules.toml:16: option 'save_model' for adapter keras must be true or false, not 'no' (str)"


def test_an_option_of_another_adapter_is_unknown_and_the_known_ones_are_listed(tmp_path):
    message = error_of(tmp_path, GOOD.replace("save_model = false", "per_epoch = true"))
    assert message == ("rules.toml:16: unknown option 'per_epoch' for adapter keras; did you mean 'per_batch'?")
    message = error_of(tmp_path, GOOD.replace("save_model = false", "zzz = 1"))
    assert "the options are epoch_argument, hash_limit_mb, per_batch, result_metric, save_model" in message


def test_a_rule_without_an_adapter_takes_only_the_engine_options(tmp_path):
    text = """\
        [[rule]]
        id = "train-epoch"
        functions = ["train_epoch"]
        activity = "Transformation"
        options = { result_metric = "loss", save_model = false }
        """
    message = error_of(tmp_path, text)
    assert message.startswith("rules.toml:5: unknown option 'save_model' for a rule without an adapter;")


def test_an_option_left_out_takes_the_default_its_adapter_declares(tmp_path):
    layers, fit = load_rule_file(write(tmp_path, GOOD.replace("options = { save_model = false }", "")))
    assert fit.option("save_model") is True and fit.option("per_batch") is False
    assert fit.option("hash_limit_mb") == 256 and layers.option("result_metric") is None


def test_provinstr_run_stops_on_an_option_typo_before_any_user_code_runs(tmp_path, cli):
    rules = write(tmp_path, GOOD.replace("save_model = false", "save_modle = false"))
    script = tmp_path / "train.py"
    script.write_text("open('ran', 'w').write('yes')\n")
    done = cli("run", "--rules", str(rules), str(script), cwd=tmp_path)
    assert done.returncode == 2
    assert f"{rules}:16: unknown option 'save_modle' for adapter keras; did you mean 'save_model'?" in done.stderr
    assert not (tmp_path / "ran").exists()


def test_docs_rules_md_lists_every_declared_option():
    from pathlib import Path

    from provinstr.rules.adapters import all_declared_options
    from provinstr.rules.options import options_markdown

    docs = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text()
    assert options_markdown(all_declared_options()) in docs, (
        "docs/rules.md is out of date: paste the output of `python -m provinstr.rules` into it")
