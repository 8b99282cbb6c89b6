"""The runs page in a real browser, on real captured runs: statuses and values, sorting, filtering with
--where expressions (and their errors), chosen columns, selecting runs to compare, paging many runs."""

from __future__ import annotations

import os
import time

from analysis_runs import write_run

from provinstr.capture.run import GROUP_ENV

CELLS = """(name) => {
  const heads = [...document.querySelectorAll('#runs thead tr:last-child th')].map((th) => th.textContent.replace(/ [▲▼]$/, ''));
  const at = heads.indexOf(name);
  return [...document.querySelectorAll('#runs tbody tr')].map((tr) => [tr.dataset.id, at < 0 ? null : tr.children[at].textContent]);
}"""


def cells(page, column: str) -> list[tuple[str, str]]:
    """(run id, the cell's text) of every row, in the page's order."""
    return [tuple(pair) for pair in page.evaluate(CELLS, column)]


def order(page) -> list[str]:
    return page.eval_on_selector_all("#runs tbody tr", "rows => rows.map(r => r.dataset.id)")


def show_column(page, name: str, shown: bool = True, kind: str = "params") -> None:
    """Tick (or untick) a hyperparameter's (kind "params") or final metric's ("final") column in the menu."""
    page.click("#columns summary")
    box = page.locator(f"#columns .menu input[data-kind='{kind}'][value='{name}']")
    box.set_checked(shown)
    page.click("#columns summary")


def open_runs(page, server, query: str = "") -> None:
    page.goto(server.base + "/" + query)
    page.wait_for_selector("#runs tbody tr")


def test_every_run_is_listed_with_its_status_name_and_group(ui_store, ui_server, page):
    open_runs(page, ui_server)
    statuses = dict(cells(page, "status"))
    assert set(statuses) == set(ui_store.runs.values())
    assert statuses[ui_store.id("sklearn-failed")] == "failed"
    assert all(statuses[ui_store.id(name)] == "completed" for name in ui_store.runs if name != "sklearn-failed")
    names = dict(cells(page, "name"))
    assert {names[run_id] for run_id in ui_store.runs.values()} == set(ui_store.runs)
    groups = dict(cells(page, "group"))
    assert groups[ui_store.id("torch-lr0.05")] == "sweep" and groups[ui_store.id("keras-plateau")] == ""
    assert page.inner_text("#summary").startswith(f"{len(ui_store.runs)} runs (")
    # newest first, the listing's default; a name links to the run's page
    assert order(page)[-1] in {ui_store.id(name) for name in ui_store.runs}
    href = page.get_attribute(f"#runs tr[data-id='{ui_store.id('keras-plateau')}'] a.run-link", "href")
    assert href == f"/run/{ui_store.id('keras-plateau')}"


def test_hyperparameters_and_final_metrics_are_columns_with_the_recorded_values(ui_store, ui_server, page):
    open_runs(page, ui_server)
    for name in ("lr", "C", "K"):
        show_column(page, name)
    for name in ("val_loss", "accuracy", "lr"):
        show_column(page, name, kind="final")
    lr = dict(cells(page, "lr"))
    assert [lr[ui_store.id(f"torch-lr{rate}")] for rate in ("0.02", "0.05", "0.1")] == ["0.02", "0.05", "0.1"]
    assert dict(cells(page, "C"))[ui_store.id("sklearn-logreg")] == "0.5"
    assert dict(cells(page, "K"))[ui_store.id("keras-plateau")] == "8"
    val_loss = dict(cells(page, "val_loss"))
    assert all(val_loss[ui_store.id(f"torch-lr{rate}")] for rate in ("0.02", "0.05", "0.1"))
    assert val_loss[ui_store.id("sklearn-logreg")] == ""  # a scikit-learn fit has no epochs
    float(val_loss[ui_store.id("keras-plateau")])
    # PyTorch logs its lr every epoch too: that column is headed final.lr; StepLR halved 0.1 after two epochs
    assert dict(cells(page, "final.lr"))[ui_store.id("torch-lr0.1")] == "0.05"
    # the chosen columns stay chosen (the browser remembers them); a column can be hidden again
    page.reload()
    page.wait_for_selector("#runs tbody tr")
    assert cells(page, "C")[0][1] is not None
    show_column(page, "C", shown=False)
    assert cells(page, "C")[0][1] is None


def test_clicking_a_column_header_sorts_the_rows_by_it(ui_store, ui_server, page):
    open_runs(page, ui_server)
    show_column(page, "lr")
    page.click("#runs thead th[data-sort='param.lr']")
    page.wait_for_function("document.querySelector(\"#runs thead th[data-sort='param.lr']\").textContent.endsWith('▲')")
    rates = [text for _, text in cells(page, "lr")]
    given = [float(text) for text in rates if text]
    assert given == sorted(given) and len(given) == 4  # three torch runs and the Keras one (its --lr)
    assert rates[len(given):] == [""] * (len(rates) - len(given))  # the runs without lr go last
    page.click("#runs thead th[data-sort='param.lr']")
    page.wait_for_function("document.querySelector(\"#runs thead th[data-sort='param.lr']\").textContent.endsWith('▼')")
    rates = [text for _, text in cells(page, "lr")]
    assert [float(text) for text in rates if text] == sorted(given, reverse=True) and rates[-1] == ""
    page.click("#runs thead th[data-sort='name']")
    page.wait_for_function("document.querySelector(\"#runs thead th[data-sort='name']\").textContent.endsWith('▲')")
    names = [name for _, name in cells(page, "name")]
    assert names == sorted(names)
    assert "sort=name" in page.url  # the order is part of the address


def test_a_where_expression_filters_the_rows_and_a_bad_one_shows_its_error(ui_store, ui_server, page):
    open_runs(page, ui_server)
    page.fill("#where", "lr > 0.03 and group = 'sweep'")
    page.press("#where", "Enter")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr').length === 2")
    assert set(order(page)) == {ui_store.id("torch-lr0.05"), ui_store.id("torch-lr0.1")}
    assert "2 shown by the filter" in page.inner_text("#summary")

    page.fill("#where", "lr > ")
    page.press("#where", "Enter")
    error = page.wait_for_selector("#error:not([hidden])")
    assert "nothing at the end of 'lr >'" in error.inner_text()
    assert page.get_attribute("#where", "class") == "grow invalid"
    assert len(order(page)) == 2  # the last good answer stays on screen

    page.fill("#where", "status = 'failed'")
    page.press("#where", "Enter")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr').length === 1")
    assert order(page) == [ui_store.id("sklearn-failed")]
    assert page.is_hidden("#error")


def test_the_status_and_group_menus_and_the_text_box_filter_too(ui_store, ui_server, page):
    open_runs(page, ui_server)
    page.select_option("#group", "sweep")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr').length === 3")
    assert page.get_attribute("#compare-group", "href") == "/compare?group=sweep"
    page.select_option("#group", "")
    page.select_option("#status", "failed")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr').length === 1")
    page.select_option("#status", "")
    page.fill("#text", "sklearn")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr').length === 2")
    assert set(order(page)) == {ui_store.id("sklearn-logreg"), ui_store.id("sklearn-failed")}


def test_a_filtered_address_opens_filtered(ui_store, ui_server, page):
    open_runs(page, ui_server, "?where=C%20%3D%200.5")
    assert order(page) == [ui_store.id("sklearn-logreg")]
    assert page.input_value("#where") == "C = 0.5"


def test_selected_runs_open_the_compare_page(ui_store, ui_server, page):
    open_runs(page, ui_server)
    assert page.is_disabled("#compare")
    first, second = ui_store.id("torch-lr0.02"), ui_store.id("torch-lr0.1")
    page.check(f"#runs tr[data-id='{first}'] input.select")
    assert page.is_disabled("#compare")
    page.check(f"#runs tr[data-id='{second}'] input.select")
    assert page.inner_text("#compare") == "Compare selected (2)"
    page.click("#compare")
    page.wait_for_url("**/compare?runs=*")
    assert set(page.url.split("runs=", 1)[1].split("&")[0].split(",")) == {first, second}


def test_thousands_of_runs_come_a_page_at_a_time(tmp_path, start_ui, page):
    store = tmp_path / ".provinstr"
    os.environ[GROUP_ENV] = "many"
    try:
        for index in range(230):
            write_run(store, name=f"run-{index:03d}", epochs=2, hyper={"index": index}, adaptations=(), test=False,
                      model=False)
    finally:
        del os.environ[GROUP_ENV]
    server = start_ui(store)
    started = time.monotonic()
    page.goto(server.base + "/")
    page.wait_for_selector("#runs tbody tr")
    assert time.monotonic() - started < 5
    assert page.locator("#runs tbody tr").count() == 100
    assert page.inner_text("#range") == "1–100 of 230"
    assert cells(page, "name")[0][1] == "run-229"  # newest first
    page.click("#next")
    page.wait_for_function("document.querySelector('#range').textContent.startsWith('101–200')")
    page.click("#next")
    page.wait_for_function("document.querySelector('#range').textContent === '201–230 of 230'")
    assert page.locator("#runs tbody tr").count() == 30 and page.is_disabled("#next")
    assert cells(page, "name")[-1][1] == "run-000"
    page.select_option("#limit", "250")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr').length === 230")


def test_a_sparql_server_store_is_listed_and_shown_too(ui_store, server_ui, page):
    page.goto(server_ui.base + "/")
    page.wait_for_selector("#runs tbody tr")
    statuses = dict(cells(page, "status"))
    assert set(statuses) == set(ui_store.runs.values())
    assert statuses[ui_store.id("sklearn-failed")] == "failed"
    show_column(page, "lr")
    assert dict(cells(page, "lr"))[ui_store.id("torch-lr0.1")] == "0.1"
    page.goto(f"{server_ui.base}/run/{ui_store.id('keras-plateau')}")
    page.wait_for_selector("#curves .main-svg")
    assert page.evaluate("document.getElementById('curves').layout.shapes.length") >= 3
    assert "DenseBlock" in page.inner_text("[data-section='Transformations']")
