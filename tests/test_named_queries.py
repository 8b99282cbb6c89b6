"""Named queries: the useful questions shipped as parameterised .rq files, plus a project's own."""

from __future__ import annotations

from analysis_runs import curve, invoke, write_run

import provinstr
from provinstr.analysis import queries


def test_the_seed_queries_answer_through_their_names(store_dir, capsys):
    wanted = write_run(store_dir, name="denseed.py", hyper={"K": 24, "L": 4}, epochs=5)
    write_run(store_dir, name="other.py", hyper={"K": 12, "L": 4}, epochs=5, scale=0.5)
    store = provinstr.open_store(store_dir)
    answer = queries.run_named(store, "loss-for-k-l", ["epoch=4"])
    assert [(row["run"].rsplit("/", 1)[-1], row["loss"]) for row in answer.dicts()] == [(wanted, curve(4)["loss"])]
    first = queries.run_named(store, "first-epochs", {"run": wanted[:8]})
    assert [(r["epoch"], r["loss"]) for r in first.dicts()] == [(e, curve(e)["loss"]) for e in range(4)]


def test_query_by_name_on_the_command_line_binds_parameters(store_dir, capsys):
    first = write_run(store_dir, name="a.py", epochs=8)
    second = write_run(store_dir, name="b.py", hyper={"learning_rate": 0.02}, epochs=4, scale=0.5)
    store = ["--store", str(store_dir), "--format", "csv"]
    code, out, err = invoke(capsys, "query", "metric-at-epoch", "epoch=2", "metric=val_loss", *store)
    assert code == 0, err
    assert sorted(out.splitlines()[1:]) == sorted([f"https://w3id.org/provinstr/run/{first},a.py,val_loss,2,{curve(2)['val_loss']}",
                                                   f"https://w3id.org/provinstr/run/{second},b.py,val_loss,2,{curve(2, 0.5)['val_loss']}"])
    code, out, _ = invoke(capsys, "query", "best-epoch", "metric=val_loss", "--run", first[:8], *store)
    best = min(range(8), key=lambda e: curve(e)["val_loss"])
    assert out.splitlines()[1].endswith(f"a.py,val_loss,{best},{curve(best)['val_loss']}")
    code, out, _ = invoke(capsys, "query", "best-epoch", "metric=accuracy", "goal=max", "--run", first[:8], *store)
    assert out.splitlines()[1].endswith(f"a.py,accuracy,7,{curve(7)['accuracy']}")
    code, out, _ = invoke(capsys, "query", "runs-with-hyperparameter", "name=learning_rate", "value=0.02", *store)
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == ["b.py"]
    code, out, _ = invoke(capsys, "query", "adaptations", *store)
    assert out.count("learning_rate,0.01,0.005,ReduceLROnPlateau") == 2
    code, out, _ = invoke(capsys, "query", "runs-by-final-val-loss", *store)
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == ["b.py", "a.py"]


def test_query_list_names_every_query_with_its_parameters(store_dir, capsys):
    write_run(store_dir, epochs=1)
    code, out, _ = invoke(capsys, "query", "--list", "--store", str(store_dir))
    assert code == 0
    for name in ("loss-for-k-l", "first-epochs", "metric-at-epoch", "best-epoch", "runs-with-hyperparameter",
                 "adaptations", "runs-by-final-val-loss"):
        assert name in out
    assert "epoch=integer (required)" in out


def test_a_project_adds_its_own_queries_in_a_queries_folder(store_dir, tmp_path, monkeypatch, capsys):
    write_run(store_dir, name="mine.py", epochs=3)
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "epochs-run.rq").write_text(
        "# How many epochs each run recorded.\n# param metric: string = loss\n"
        "SELECT ?label (COUNT(?m) AS ?epochs) WHERE { GRAPH ?run { ?run rdfs:label ?label .\n"
        "  ?m a pi:Metric ; pi:name ?metric ; pi:epoch ?e } } GROUP BY ?label\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(capsys, "query", "--list", "--store", str(store_dir))
    assert "epochs-run" in out and "How many epochs" in out
    code, out, err = invoke(capsys, "query", "epochs-run", "--store", str(store_dir), "--format", "csv")
    assert code == 0, err
    assert out.splitlines() == ["label,epochs", "mine.py,3"]


def test_named_query_mistakes_get_one_clear_message(store_dir, capsys):
    write_run(store_dir, epochs=1)
    store = ["--store", str(store_dir)]
    code, _, err = invoke(capsys, "query", "metric-at-epoch", *store)
    assert code == 2 and "needs epoch=VALUE" in err
    code, _, err = invoke(capsys, "query", "metric-at-epoch", "epoch=two", *store)
    assert code == 2 and "epoch='two' is not a integer" in err
    code, _, err = invoke(capsys, "query", "metric-at-epoch", "epoch=1", "colour=red", *store)
    assert code == 2 and "has no parameter 'colour'" in err and "epoch=integer" in err
