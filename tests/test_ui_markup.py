"""Recorded text is shown as text: a run, metric or hyperparameter whose name holds markup draws no link in the
charts (Plotly reads <a>, <b> and style in the strings it is given) and no element in the page."""

from __future__ import annotations

import pytest
from analysis_runs import adapt, start_training

import provinstr

LINK = '<a href="https://evil.example/">click</a>'


@pytest.fixture(scope="module")
def markup_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("markup") / ".provinstr"
    ids = []
    for rate in (0.01, 0.02):
        with provinstr.run(name=f"run {LINK}", store=str(store), group="g<b>x</b>") as run:
            training = start_training(run, {"learning_rate": rate, "note%{y}": f"<b>{rate}</b>"}, layers=[])
            for epoch in range(3):
                training.metric("loss", 1.0 / (epoch + 1) + rate, epoch=epoch)
                training.metric(f"val {LINK}", 1.1 / (epoch + 1) + rate, epoch=epoch)
            adapt(run, training, 1, "learning_rate", rate, rate / 2, trigger=f"cb {LINK}")
            training.end()
            ids.append(run.id)
    return store, ids


def no_injected_markup(page) -> None:
    assert page.locator("a[href*='evil.example']").count() == 0
    assert page.locator("svg a").count() == 0  # Plotly draws an <a> for a link in its text


def test_a_run_page_shows_markup_in_names_as_text(markup_store, start_ui, page):
    store, ids = markup_store
    server = start_ui(store)
    page.goto(server.base + f"/run/{ids[0]}")
    page.wait_for_selector("#curves .main-svg")
    for chip in page.locator("#metric-chips input").all():  # every curve, the one named with markup too
        if not chip.is_checked():
            chip.check()
    page.wait_for_timeout(300)
    no_injected_markup(page)
    assert LINK in page.inner_text("#header")
    assert "click</a>" in page.locator("#curves .legend").text_content()


def test_the_compare_page_shows_markup_in_names_as_text(markup_store, start_ui, page):
    store, ids = markup_store
    server = start_ui(store)
    page.goto(server.base + "/compare?runs=" + ",".join(ids))
    page.wait_for_selector("#curves .main-svg")
    page.wait_for_timeout(300)
    no_injected_markup(page)
    legend = page.locator("#curves .legend").text_content()
    assert "click</a>" in legend  # the name as recorded, shown literally
