"""Secrets never reach the provenance: not in a run log, not in the store, not in any export (issue 14, item 4)."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys

import pytest

import provinstr
from provinstr.analysis.export import FORMATS
from provinstr.capture.redaction import (
    REDACTED, RedactionError, Redactor, compile_patterns, looks_secret, redact_argv,
)
from provinstr.config import redact_settings
from provinstr.store.logs import log_files, read_log

SECRETS = ("SECRET123", "hunter2", "pw123", "tok-abc", "sk-abcdef", "key-xyz789", "cs-q7w8e9", "ghp-env-555")

TRAIN = """\
import argparse

import provinstr

parser = argparse.ArgumentParser()
parser.add_argument("--api-key")
parser.add_argument("--password")
parser.add_argument("--db")
parser.add_argument("--note")
parser.add_argument("--epochs", type=int)
parser.add_argument("extra", nargs="*")
args = parser.parse_args()


def connect(api_key, retries=3):
    return retries


provinstr.log_hyperparameter(api_token="tok-abc", db=args.db, note=args.note, epochs=args.epochs,
                             config={"client_secret": "cs-q7w8e9", "layers": 2})
connect("key-xyz789")
for epoch in range(args.epochs):
    provinstr.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
print("trained", args.epochs)
"""

RULES = """\
[[rule]]
id = "connect"
functions = ["connect"]
record = "activity"
activity = "Transformation"
label = "Connect"
capture = { api_key = true, retries = true }
"""

PYPROJECT = """\
[project]
name = "demo"

[tool.provinstr]
redact = [
    "sk-[A-Za-z0-9]+",
    'ghp-env-\\d+',
]
"""

ARGS = ("--api-key", "SECRET123", "--password=hunter2", "--db", "postgres://u:pw123@h/db",
        "--note", "use sk-abcdef here", "--epochs", "2", "GITHUB_TOKEN=ghp-env-555")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "rules.toml").write_text(RULES)
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


def _leaks(text: str | bytes) -> list[str]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return [secret for secret in SECRETS if secret.encode() in data]


def test_a_run_with_secrets_in_argv_hyperparameters_and_attributes_stores_and_exports_none(project, cli, store_dir):
    done = cli("run", "--store", str(store_dir), "--rules", "rules.toml", "train.py", *ARGS, cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "trained 2\n" and done.stderr == ""

    for path in sorted(p for p in store_dir.rglob("*") if p.is_file()):  # the log, the index, everything
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        assert _leaks(data) == [], path
    for fmt in FORMATS:
        exported = cli("export", "last", "--format", fmt, "--store", str(store_dir), cwd=project)
        assert exported.returncode == 0, exported.stderr
        assert _leaks(exported.stdout) == [], fmt
        assert "redacted" in exported.stdout, fmt  # the fact of redaction travels with every export
    pushed = cli("query", "--store", str(store_dir), "SELECT ?s ?p ?o { GRAPH ?g { ?s ?p ?o } }", cwd=project)
    assert pushed.returncode == 0 and _leaks(pushed.stdout) == []

    store = provinstr.open_store(store_dir)
    (argv,) = store.query("SELECT ?argv { GRAPH ?g { ?r a pi:Run ; pi:argv ?argv ; pi:redacted true } }")
    assert json.loads(argv[0])[1:] == [
        "--api-key", REDACTED, f"--password={REDACTED}", "--db", f"postgres://u:{REDACTED}@h/db",
        "--note", f"use {REDACTED} here", "--epochs", "2", f"GITHUB_TOKEN={REDACTED}",
    ]
    values = dict(store.query("""SELECT ?name ?value { GRAPH ?g { ?n pi:name ?name ; prov:value ?value ;
                                                                  pi:redacted true } }"""))
    assert values == {
        "api_token": REDACTED,                               # a log_hyperparameter under a secret name
        "api_key": REDACTED,                                 # an attribute a function rule captured
        "db": f"postgres://u:{REDACTED}@h/db",               # the URL keeps its user and host
        "note": f"use {REDACTED} here",                      # the project's pattern
        "config": json.dumps({"client_secret": REDACTED, "layers": 2}),
        "password": REDACTED,                                # an argparse option (a run hyperparameter)
        "extra": json.dumps([f"GITHUB_TOKEN={REDACTED}"]),   # argparse's nargs="*" leftovers
    }
    # what is not secret is recorded as before
    assert set(store.query("SELECT ?v { GRAPH ?g { ?n pi:name 'epochs' ; prov:value ?v } }")) == {(2,)}
    assert len(list(store.query("SELECT ?m { GRAPH ?g { ?m a pi:Metric ; pi:name 'loss' } }"))) == 2
    assert set(store.query("SELECT ?v { GRAPH ?g { ?n pi:name 'retries' ; prov:value ?v } }")) == {(3,)}
    redactions = {row[0] for row in store.query("SELECT ?what { GRAPH ?g { ?r a pi:Run ; pi:redaction ?what } }")}
    assert {
        "argv --api-key", "argv --password", "argv GITHUB_TOKEN", "URL password in argv", "pattern 1 in argv",
        "hyperparameter api_token", "attribute api_key", "URL password in hyperparameter db",
        "pattern 1 in hyperparameter note", "hyperparameter config[client_secret]",
    } <= redactions


def test_a_bad_pattern_names_the_pyproject_line_and_nothing_is_recorded(tmp_path, cli, store_dir):
    (tmp_path / "pyproject.toml").write_text('[tool.provinstr]\nredact = [\n  "ok-[0-9]+",\n  "sk-[a-z",\n]\n')
    (tmp_path / "train.py").write_text("print('ran')\n")
    for mode in ("1", "0"):  # test mode or not: provinstr run stops before the script, as for a bad rule file
        done = cli("run", "--store", str(store_dir), "train.py", "--api-key", "SECRET123", cwd=tmp_path,
                   env={"PROVINSTR_STRICT": mode})
        assert done.returncode == 2 and "ran" not in done.stdout
        assert f"{tmp_path / 'pyproject.toml'}:4: [tool.provinstr] redact entry 2 is not a regular expression" \
            in done.stderr
        assert "Traceback" not in done.stderr
    # a program that records in-process (provinstr.run) goes on, unrecorded, with one warning
    program = "import provinstr\nwith provinstr.run(store=%r):\n    provinstr.log_hyperparameter(api_key='SECRET123')\n" \
        "print('ran')\n" % str(store_dir)
    (tmp_path / "inproc.py").write_text(program)
    lenient = subprocess.run([sys.executable, "inproc.py"], cwd=tmp_path, capture_output=True, text=True,
                             env={**os.environ, "PROVINSTR_STRICT": "0"})
    assert lenient.returncode == 0 and lenient.stdout == "ran\n"
    assert "pyproject.toml:4:" in lenient.stderr and "this run is not recorded" in lenient.stderr
    assert not store_dir.exists() or all(_leaks(p.read_bytes()) == [] for p in store_dir.rglob("*") if p.is_file())
    if store_dir.exists():
        assert provinstr.open_store(store_dir).runs() == []


@pytest.mark.parametrize("setting, problem", [
    ('redact = ["a*"]', "matches empty text"),
    ('redact = [3]', "must be a non-empty string"),
    ('redact = { a = 1 }', "must be a list of regular expressions"),
])
def test_unusable_settings_get_a_message_with_file_and_line(tmp_path, setting, problem):
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.provinstr]\n{setting}\n")
    with pytest.raises(RedactionError) as raised:
        entries, path = redact_settings(tmp_path)
        compile_patterns(entries, path)
    assert str(raised.value).startswith(f"{tmp_path / 'pyproject.toml'}:5: ") and problem in str(raised.value)


def test_an_in_process_run_redacts_explicit_values_of_every_kind(store_dir):
    with provinstr.run(store=str(store_dir), argv=["nb", "--auth-header", "Bearer ghp-env-555"]) as run:
        run.hyperparameter("db_password", 123456)                 # not only text: any value under the name
        run.metric("loss", 0.5, epoch=0)
        with provinstr.transformation("Fetch", url="https://me:hunter2@example.org/data?access_token=tok-abc",
                                      apiKey="SECRET123") as step:
            step.output(rows=10)
    data = b"".join(read_log(p) for p in log_files(store_dir / "runs").values())
    assert data and _leaks(data) == []
    store = provinstr.open_store(store_dir)
    values = dict(store.query("SELECT ?n ?v { GRAPH ?g { ?x pi:name ?n ; prov:value ?v } }"))
    assert values["db_password"] == REDACTED and values["apiKey"] == REDACTED and values["rows"] == 10
    assert values["url"] == f"https://me:{REDACTED}@example.org/data?access_token={REDACTED}"
    assert values["loss"] == 0.5


def test_an_error_message_holding_a_secret_is_scrubbed(store_dir):
    with pytest.raises(RuntimeError):
        with provinstr.run(store=str(store_dir)):
            raise RuntimeError("login failed for postgres://u:pw123@h/db with password=hunter2")
    (run,) = provinstr.open_store(store_dir).runs()
    assert _leaks(run.error or "") == [] and "postgres://u:<redacted>@h/db" in run.error


# -- what looks secret (docs/redaction.md lists the same) -------------------------------------------
@pytest.mark.parametrize("name", [
    "api_key", "apiKey", "API-KEY", "APIKey", "apikey", "key", "access_token", "token", "hf_token", "GITHUB_TOKEN",
    "client_secret", "db_password", "passwd", "pwd", "passphrase", "credentials", "--auth-header", "Authorization",
    "AWS_SECRET_ACCESS_KEY", "private_key", "ssh_keys", "db.password",
])
def test_secret_looking_names(name):
    assert looks_secret(name)


@pytest.mark.parametrize("name", [
    "monkey", "keys", "num_keys", "key_dim", "keyboard", "max_tokens", "tokenizer", "pad_token", "eos_token",
    "author", "learning_rate", "batch_size", "epochs", "loss", "token_ids", "api_key_id",
])
def test_names_that_are_not_secret(name):
    assert not looks_secret(name)


def test_argv_forms():
    argv = ["train.py", "--api-key", "S1", "--token=S2", "-p", "short", "--lr", "0.1", "--secret", "--verbose",
            "DB_PASSWORD=S3", "--client-secret", "-5", "--", "plain"]
    redacted, labels = redact_argv(argv)
    assert redacted == ["train.py", "--api-key", REDACTED, f"--token={REDACTED}", "-p", "short", "--lr", "0.1",
                        "--secret", "--verbose", f"DB_PASSWORD={REDACTED}", "--client-secret", REDACTED, "--",
                        "plain"]
    assert labels == ["argv --api-key", "argv --token", "argv --secret", "argv DB_PASSWORD", "argv --client-secret"]
    assert argv[2] == "S1"  # the caller's list is left alone


def test_text_scrubbing_keeps_what_is_not_secret():
    redactor = Redactor([re.compile(r"sk-[A-Za-z0-9]+")])
    scrub = lambda text: (redactor._scrub(text) or (text,))[0]  # noqa: E731
    assert scrub("loss") == "loss" and scrub("keras.losses.Loss:mse") == "keras.losses.Loss:mse"
    assert scrub("https://example.org/x?page=2") == "https://example.org/x?page=2"
    assert scrub("s3://AKIA:se/cr@t@bucket/key") == f"s3://AKIA:{REDACTED}@bucket/key"  # '/' and '@' inside
    assert scrub("mail bob@example.org or see http://h:8080/x") == "mail bob@example.org or see http://h:8080/x"
    assert scrub("failed: password=hunter2; retry") == f"failed: password={REDACTED}; retry"
    assert scrub("Authorization: Bearer abc.def") == f"Authorization: {REDACTED}"
    assert scrub('{"token": "abc"}') == f'{{"token": "{REDACTED}"}}'
    assert scrub("x sk-abc y sk-def") == f"x {REDACTED} y {REDACTED}"


def test_the_marker_is_written_once_per_redaction_and_never_holds_a_pattern(tmp_path):
    redactor = Redactor(compile_patterns([("hunter2", 1)], None))
    graph, name, value = "urn:run", "https://w3id.org/provinstr#name", "http://www.w3.org/ns/prov#value"
    first = redactor.render("urn:a", graph, [(name, "note"), (value, "hunter2 is the password")])
    second = redactor.render("urn:b", graph, [(name, "note"), (value, "hunter2 again")])
    assert "hunter2" not in first + second
    assert first.count("provinstr#redaction") == 1 and second.count("provinstr#redaction") == 0
    assert '"pattern 1 in value note"' in first and second.count("provinstr#redacted>") == 1


def test_predicates_given_as_rdflib_terms_are_judged_the_same():
    from provinstr.vocab import PI, PROV, RDF

    text = Redactor().render("urn:h", "urn:run", [(RDF.type, PI.Hyperparameter), (PI.name, "api_key"),
                                                  (PROV.value, "SECRET123"), (PI.argv, ["x", "--token", "hunter2"])])
    assert _leaks(text) == [] and '"hyperparameter api_key"' in text and '"argv --token"' in text
