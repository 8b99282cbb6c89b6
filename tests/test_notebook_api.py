"""The Python API for notebooks: DataFrames, dicts and figures from a store."""

from __future__ import annotations

from analysis_runs import curve, write_run

import provinstr


def test_a_notebook_gets_dataframes_dicts_and_figures(store_dir, tmp_path):
    run_id = write_run(store_dir, epochs=4)
    store = provinstr.open_store(store_dir)
    frame = store.query("SELECT ?name ?value WHERE { ?h a pi:Hyperparameter ; pi:name ?name ; prov:value ?value }"
                        " ORDER BY ?name").to_dataframe()
    assert "learning_rate" in list(frame["name"])

    run = store.run(run_id[:6])
    metrics = run.metrics()
    assert list(metrics.index) == [0, 1, 2, 3] and metrics.index.name == "epoch"
    assert list(metrics.columns) == ["loss", "accuracy", "val_loss"]
    assert metrics.loc[2, "val_loss"] == curve(2)["val_loss"]

    assert run.hyperparameters() == {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 4}

    figure = run.plot(output=tmp_path / "nb.png")
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert [label for label in labels if not label.startswith("_")] == ["loss", "val_loss"]
    assert (tmp_path / "nb.png").stat().st_size > 0
