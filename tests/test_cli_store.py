"""The store commands as a user types them: runs, query, export, reindex, validate, and their errors."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

import provinstr
from provinstr.cli import app
from analysis_runs import write_run
from logfiles import reopen_log

RUN_A = "abc1" + "0" * 28
RUN_B = "abc2" + "0" * 28


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def assert_one_line_error(result, *fragments: str) -> None:
    """Exit 2, one line on stderr naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("provinstr: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def store(store_dir) -> str:
    """A store with a completed run (hyperparameters, epoch losses) and a failed one, sharing an id prefix."""
    with provinstr.run(name="mnist-cnn", store=str(store_dir), run_id=RUN_A):
        provinstr.log_hyperparameter(learning_rate=0.01, batch_size=32)
        with provinstr.transformation("DenseBlock", K=24, L=4):
            for epoch in range(4):
                provinstr.log_metric("loss", round(1.0 / (epoch + 1), 3), epoch=epoch)
    with pytest.raises(ValueError):
        with provinstr.run(name="broken-net", store=str(store_dir), run_id=RUN_B):
            raise ValueError("bad shape")
    return str(store_dir)


def test_runs_lists_each_run_with_its_name_status_and_duration(store):
    result = invoke("runs", "--store", store)
    assert result.exit_code == 0, result.output
    completed = next(line for line in result.stdout.splitlines() if "mnist-cnn" in line)
    failed = next(line for line in result.stdout.splitlines() if "broken-net" in line)
    assert RUN_A[:8] in completed and "completed" in completed and "s" in completed
    assert RUN_B[:8] in failed and "failed" in failed


def test_runs_as_json_gives_ids_status_and_errors(store):
    result = invoke("runs", "--store", store, "--json")
    runs = json.loads(result.stdout)
    assert [(r["id"], r["name"], r["status"]) for r in runs] == [
        (RUN_A, "mnist-cnn", "completed"),
        (RUN_B, "broken-net", "failed"),
    ]
    assert runs[1]["error"] == "bad shape"
    assert runs[0]["duration_seconds"] >= 0


def test_a_run_whose_process_died_is_listed_as_interrupted(store_dir, run_python):
    result = run_python(f"""
        import os, provinstr
        run = provinstr.run(name="killed", store={str(store_dir)!r}).__enter__()
        provinstr.log_metric("loss", 0.5, epoch=0)
        provinstr.flush()
        os._exit(9)  # no atexit, no end of run: as if the process were killed
    """)
    assert result.returncode == 9, result.stderr
    runs = json.loads(invoke("runs", "--store", str(store_dir), "--json").stdout)
    assert [(r["name"], r["status"]) for r in runs] == [("killed", "interrupted")]


def test_the_store_comes_from_the_environment_then_pyproject(store, tmp_path, monkeypatch):
    assert "mnist-cnn" in invoke("runs", env={"PROVINSTR_STORE": store}).stdout
    project = tmp_path / "project"
    shutil.copytree(store, project / "prov-data")
    (project / "pyproject.toml").write_text('[tool.provinstr]\nstore = "prov-data"\n')
    (project / "src").mkdir()
    monkeypatch.chdir(project / "src")
    assert "mnist-cnn" in invoke("runs").stdout


def test_query_prints_a_table_of_the_answer(store):
    result = invoke("query", "SELECT ?epoch ?loss WHERE { ?m a pi:Metric ; pi:name 'loss' ; pi:epoch ?epoch ;"
                    " prov:value ?loss . FILTER(?epoch < 4) } ORDER BY ?epoch", "--store", store)
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("│")]
    assert [(r[1], r[3]) for r in rows] == [("0", "1"), ("1", "0.5"), ("2", "0.333"), ("3", "0.25")]
    assert "4 rows" in result.stdout


def test_query_as_csv_and_json(store):
    sparql = "SELECT ?name ?value WHERE { ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value } ORDER BY ?name"
    csv_out = invoke("query", sparql, "--format", "csv", "--store", store).stdout
    assert csv_out.splitlines() == ["name,value", "batch_size,32", "learning_rate,0.01"]
    rows = json.loads(invoke("query", sparql, "--format", "json", "--store", store).stdout)
    assert rows == [{"name": "batch_size", "value": 32}, {"name": "learning_rate", "value": 0.01}]


def test_query_reads_a_file_and_answers_ask_and_construct(store, tmp_path):
    ask = tmp_path / "ask.rq"
    ask.write_text('ASK { ?t a pi:Transformation ; rdfs:label "DenseBlock" }\n')
    assert invoke("query", "--file", str(ask), "--store", store).stdout.strip() == "true"
    construct = invoke("query", "CONSTRUCT { ?r pi:status ?s } WHERE { ?r a pi:Run ; pi:status ?s }", "--store", store)
    assert 'pi:status "failed"' in construct.stdout and 'pi:status "completed"' in construct.stdout


def test_query_can_be_limited_to_one_run(store):
    sparql = "SELECT ?label WHERE { ?r a pi:Run ; rdfs:label ?label }"
    rows = json.loads(invoke("query", sparql, "--run", RUN_B[:5], "--format", "json", "--store", store).stdout)
    assert rows == [{"label": "broken-net"}]


def test_malformed_sparql_names_the_line_and_column_of_the_users_query(store, tmp_path):
    sparql = "SELECT ?x\nWHERE {\n  ?x a pi:Run ;\n     rdfs:lab el ?label }\n"
    result = invoke("query", sparql, "--store", store)
    assert_one_line_error(result, "malformed SPARQL at line 4, column 17", "(in: rdfs:lab el ?label })")
    query_file = tmp_path / "bad.rq"
    query_file.write_text(sparql)
    result = invoke("query", "--file", str(query_file), "--store", store)
    assert_one_line_error(result, f"{query_file}:4:17: malformed SPARQL")


def test_an_unclosed_query_is_reported_at_its_end(store):
    result = invoke("query", "SELECT ?x WHERE {\n  ?x a pi:Run .\n  FILTER(?x = ", "--store", store)
    assert_one_line_error(result, "malformed SPARQL at the end of the query")


def test_an_unknown_prefix_is_named_with_the_predeclared_ones(store):
    result = invoke("query", "SELECT ?x WHERE {\n ?x a foaf:Person }", "--store", store)
    assert_one_line_error(result, "line 2", "unknown prefix foaf:", "prov, pi, mls, xsd, rdf, rdfs")


def test_an_unknown_run_id_suggests_close_matches(store):
    result = invoke("export", "abc3000", "--store", store)
    assert_one_line_error(result, "no run matches 'abc3000'", "close matches", RUN_A[:7])


def test_an_ambiguous_run_prefix_lists_the_matching_runs(store):
    result = invoke("validate", "abc", "--store", store)
    assert_one_line_error(result, "ambiguous", "mnist-cnn", "broken-net")


def test_a_missing_store_is_one_clear_line(tmp_path):
    result = invoke("runs", "--store", str(tmp_path / "nowhere"))
    assert_one_line_error(result, "no provinstr store at", "nowhere", "--store")


def test_a_store_from_a_newer_provinstr_is_refused(store):
    (provinstr.open_store(store).backend.path / "store.json").write_text('{"format": 99, "tool": "provinstr"}')
    result = invoke("query", "ASK {}", "--store", store)
    assert_one_line_error(result, "format 99", "newer provinstr", "pip install -U provinstr")


def test_export_writes_the_chosen_format_to_a_file(store, tmp_path):
    target = tmp_path / "run.ttl"
    result = invoke("export", RUN_A[:5], "--format", "turtle", "-o", str(target), "--store", store)
    assert result.exit_code == 0, result.output
    assert f"<https://w3id.org/provinstr/run/{RUN_A}> " in target.read_text()
    provn = invoke("export", "last", "--format", "prov-n", "--store", store).stdout
    assert provn.startswith("document") and f"activity(runs:{RUN_B}" in provn


def test_export_refuses_an_unknown_format(store):
    result = invoke("export", "last", "--format", "yaml", "--store", store)
    assert result.exit_code == 2 and "yaml" in result.output and "Traceback" not in result.output


def test_reindex_rebuilds_a_deleted_index_from_the_logs(store):
    before = invoke("query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "--format", "csv", "--store", store).stdout
    shutil.rmtree(provinstr.open_store(store).backend.index_dir)
    result = invoke("reindex", "--store", store)
    assert result.exit_code == 0 and "from 2 run logs" in result.stdout
    after = invoke("query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "--format", "csv", "--store", store).stdout
    assert after == before


def test_validate_passes_recorded_runs_and_fails_a_broken_one(store):
    result = invoke("validate", RUN_A[:5], "--store", store)
    assert result.exit_code == 0 and "no problems" in result.stdout
    log = reopen_log(store, RUN_B)
    with open(log, "a") as handle:
        handle.write(f"<https://w3id.org/provinstr/run/{RUN_B}/x> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                     f"<https://w3id.org/provinstr#Metric> <https://w3id.org/provinstr/run/{RUN_B}> .\n")
    result = invoke("validate", RUN_B[:5], "--store", store)
    assert result.exit_code == 1
    assert "pi:Metric <run>/x has no pi:name" in result.stdout
    assert "pi:Metric <run>/x has no prov:value" in result.stdout


def test_the_installed_command_reports_bad_sparql_on_one_line_without_traceback(store, cli, tmp_path):
    result = cli("query", "SELECT ?x WHERE { ?x a pi:Run", "--store", store, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "malformed SPARQL at the end of the query" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_long_answer_streams_as_plain_lines_and_a_short_one_is_a_table(tmp_path, cli):
    from provinstr.cli.common import RICH_ROWS

    values = " ".join(f"({n})" for n in range(RICH_ROWS + 50))
    write_run(tmp_path / "store", epochs=1)
    long = cli("query", f"SELECT ?n WHERE {{ VALUES (?n) {{ {values} }} }}", "--store", str(tmp_path / "store"),
               cwd=tmp_path)
    assert long.returncode == 0, long.stderr
    lines = long.stdout.splitlines()
    assert lines[0] == "n" and lines[1:RICH_ROWS + 51] == [str(n) for n in range(RICH_ROWS + 50)]
    assert lines[-1] == f"{RICH_ROWS + 50} rows"
    short = cli("query", "SELECT ?n WHERE { VALUES (?n) { (1) (2) } }", "--store", str(tmp_path / "store"),
                cwd=tmp_path)
    assert "┃ n" in short.stdout and short.stdout.rstrip().endswith("2 rows")
