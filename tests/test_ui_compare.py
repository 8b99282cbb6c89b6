"""The compare page in a real browser: overlaid learning curves (one Plotly trace per run), the table of
only what differs, and for a sweep the parallel coordinates and the hyperparameter-against-metric scatter."""

from __future__ import annotations

from ui_fixtures import http

import provinstr
from provinstr.analysis import plot

pytest_plugins = ["ui_pages_fixtures"]  # grid_store, grid_server

CURVES = "document.getElementById('curves')"
PARALLEL = "document.getElementById('parallel')"
SCATTER = "document.getElementById('scatter')"


def open_compare(page, server, query: str) -> None:
    page.goto(f"{server.base}/compare?{query}")
    page.wait_for_function("document.body.dataset.ready === 'compare'")


def curve_traces(page) -> list[dict]:
    return page.evaluate(f"() => {CURVES}.data.map((t) => ({{name: t.name, x: t.x, y: t.y}}))")


def table_rows(page) -> dict[str, list[str]]:
    """{row label: cells} of the differences table drawn with runs as columns."""
    return page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('#differences-table tbody tr'))
        .filter((tr) => !tr.classList.contains('band'))
        .map((tr) => [tr.querySelector('th').innerText, Array.from(tr.querySelectorAll('td')).map((td) => td.innerText)]))""")


def test_the_sweep_curves_are_overlaid_one_trace_per_run_with_the_stores_values(ui_store, ui_server, page):
    open_compare(page, ui_server, f"group={ui_store.group}")
    sweep = [name for name in ui_store.runs if name.startswith("torch-")]
    assert page.inner_text("#compare-title") == f"Group {ui_store.group}: {len(sweep)} runs"
    traces = curve_traces(page)
    assert len(traces) == len(sweep)  # one curve per run of the group
    store = provinstr.open_store(ui_store.path)
    metric = page.input_value("#curve-metric")
    for name in sweep:
        [trace] = [t for t in traces if t["name"].startswith(name + " ")]
        expected = plot.curves(store.run(ui_store.id(name)), [metric])[metric]
        assert list(zip(trace["x"], trace["y"])) == [(e, v) for e, v in expected]
    assert page.evaluate(f"{CURVES}.layout.yaxis.type") == "linear"
    page.check("#curve-log")
    assert page.evaluate(f"{CURVES}.layout.yaxis.type") == "log"
    other = next(o for o in page.eval_on_selector_all("#curve-metric option", "os => os.map(o => o.value)") if o != metric)
    page.select_option("#curve-metric", other)
    assert page.evaluate(f"{CURVES}.layout.yaxis.title.text") == other
    assert len(curve_traces(page)) == len(sweep)


def test_two_runs_compared_show_only_the_hyperparameters_that_differ_until_asked_for_all(ui_store, ui_server, page):
    first, second = ui_store.id("torch-lr0.02"), ui_store.id("torch-lr0.05")
    open_compare(page, ui_server, f"runs={first[:10]},{second[:10]}")
    assert len(curve_traces(page)) == 2
    rows = table_rows(page)
    assert rows["lr"] == ["0.02", "0.05"]
    assert "epochs" not in rows  # both ran 3 epochs: identical, left out
    assert "identical" in page.inner_text("#differences")
    page.check("#table-all")
    page.wait_for_function("document.querySelectorAll('#differences-table tr.same').length > 0")
    assert table_rows(page)["epochs"] == ["3", "3"]


def test_a_grid_sweep_draws_parallel_coordinates_of_every_hyperparameter_to_the_chosen_metric(grid_store, grid_server, page):
    open_compare(page, grid_server, f"group={grid_store.group}")
    assert len(curve_traces(page)) == 36
    dimensions = page.evaluate(f"{PARALLEL}.data[0].dimensions.map((d) => ({{label: d.label, values: d.values, "
                               "ticktext: d.ticktext || null}))")
    labels = [d["label"] for d in dimensions]
    assert labels == ["K", "L", "learning_rate (log)", "optimizer", "final val_loss"]
    assert all(len(d["values"]) == 36 for d in dimensions)
    optimizer = dimensions[3]
    assert optimizer["ticktext"] == ["adam", "sgd"] and sorted(set(optimizer["values"])) == [0, 1]  # a categorical axis
    assert dimensions[2]["ticktext"] == ["0.001", "0.02"]
    finals = sorted(round(v, 6) for v in dimensions[4]["values"])
    expected = sorted(grid_store.final("val_loss", config) for config in grid_store.configs())
    assert finals == expected
    assert page.evaluate(f"{PARALLEL}.data[0].line.color.length") == 36

    page.select_option("#sweep-metric", "final:loss")
    assert page.evaluate(f"{PARALLEL}.data[0].dimensions.at(-1).label") == "final loss"
    assert page.inner_text("#sweep-metric-name") == "final loss"
    page.select_option("#scatter-param", "learning_rate")
    scatter = page.evaluate(f"({{x: {SCATTER}.data[0].x, y: {SCATTER}.data[0].y, type: {SCATTER}.layout.xaxis.type}})")
    assert len(scatter["x"]) == 36 and set(scatter["x"]) == {0.001, 0.02} and scatter["type"] == "log"
    best = min(scatter["y"])
    assert best == min(grid_store.final("loss", config) for config in grid_store.configs())
    page.select_option("#scatter-param", "optimizer")
    assert page.evaluate(f"{SCATTER}.layout.xaxis.type") == "category"


def test_a_sweeps_table_has_a_row_per_run_and_sorts_by_a_metric(grid_store, grid_server, page):
    open_compare(page, grid_server, f"group={grid_store.group}")
    body = "#differences-table tbody tr"
    assert page.locator(body).count() == 36
    headers = page.eval_on_selector_all("#differences-table thead tr:last-child th", "ths => ths.map(t => t.innerText)")
    assert headers[:5] == ["run", "K", "L", "learning_rate", "optimizer"] and "val_loss final" in headers
    page.click("#differences-table thead th:text-is('val_loss final')")
    first = page.inner_text(f"{body}:first-child th")
    winner = min(grid_store.configs(), key=lambda config: grid_store.final("val_loss", config))
    assert first.startswith(f"grid-K{winner[0]}-L{winner[1]}-lr{winner[2]}-{winner[3]}")
    assert page.locator(f"{body}:first-child td.best").count() >= 1  # the best value is marked


def test_an_unknown_run_in_the_compare_url_gets_a_clear_page_and_no_trace(ui_store, ui_server, page):
    answer = page.goto(f"{ui_server.base}/compare?runs={ui_store.id('torch-lr0.02')[:8]},nosuchrun")
    assert answer.status == 404
    text = page.inner_text("main")
    assert "No such run" in text and "nosuchrun" in text and "Traceback" not in text
    assert http(f"{ui_server.base}/api/compare?group=no-such-group").status == 404
    page.goto(f"{ui_server.base}/compare")  # no runs named: the groups to choose from
    assert page.get_attribute(f"a[href='/compare?group={ui_store.group}']", "href")
