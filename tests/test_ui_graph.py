"""The provenance page in a real browser: the run's PROV graph laid out by Graphviz in PROV's shapes, groups
that expand on a click and fold back, a node's properties and the SPARQL that selects it, pan and zoom,
a clear page for an unknown run, and a page that says so when Graphviz is missing."""

from __future__ import annotations

import re
import shutil

import pytest
from ui_fixtures import http

import provinstr
from provinstr.ui.provgraph import EXPAND_LIMIT

pytest_plugins = ["ui_pages_fixtures"]  # grid_store, grid_server

NODES = "#graph-canvas g.node"
FILLS = {"activity": "#9fb1fc", "entity": "#fffc87", "agent": "#fed37f"}  # provinstr graph's PROV colours


@pytest.fixture(autouse=True)
def graphviz():
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is needed for the graph page tests: apt-get install graphviz (make test does)")


def open_graph(page, server, run_id: str, query: str = "") -> None:
    page.goto(f"{server.base}/graph/{run_id}{query}")
    page.wait_for_function("document.body.dataset.ready === 'graph'")
    if page.is_visible("#zoom-fit"):  # every node in view, to be clicked (no picture without Graphviz)
        page.click("#zoom-fit")


def redrawn(page, action) -> None:
    """Do `action` (a click that asks for a new drawing) and wait for the new drawing."""
    page.evaluate("document.body.dataset.ready = 'waiting'")
    action()
    page.wait_for_function("document.body.dataset.ready === 'graph'")


def group_node(page, *texts: str):
    found = page.locator(f"{NODES}.group")
    for text in texts:
        found = found.filter(has_text=text)
    return found.first


def test_the_run_graph_is_drawn_in_prov_shapes_with_its_groups_collapsed(ui_store, ui_server, page):
    run = ui_store.id("keras-plateau")
    open_graph(page, ui_server, run)
    data = http(f"{ui_server.base}/api/graph/{run}").json()
    assert data["problem"] is None and data["svg"].startswith("<svg")
    drawn = page.eval_on_selector_all(NODES, "gs => gs.map(g => g.id)")
    assert sorted(drawn) == sorted(data["nodes"])  # every node of the answer is drawn, nothing else
    kinds = {info["kind"] for info in data["nodes"].values()}
    assert kinds == {"activity", "entity", "agent", "group"}
    for node_id, info in data["nodes"].items():
        kind = "entity" if info["kind"] == "group" else info["kind"]
        shape = "ellipse" if kind == "entity" else "polygon"
        assert page.locator(f"{NODES}#{node_id} {shape}[fill='{FILLS[kind]}']").count() >= 1, info["label"]
    text = page.inner_text("#graph-canvas")
    for label in ("Run", "keras-plateau", "Training", "Adaptation", "trigger: ReduceLROnPlateau", "Test", "Transformation",
                  "DenseBlock", "SoftwareAgent", "Person"):
        assert label in text, label
    assert group_node(page, "Metric", "loss", "6 epochs (0–5)").count() == 1  # six epochs of loss as one node
    assert group_node(page, "Layers", "6 layers").count() == 1
    assert page.locator(f"{NODES}.group").count() == data["counts"]["groups"] >= 4
    for edge in ("used", "wasGeneratedBy", "wasAssociatedWith", "wasInformedBy"):
        assert page.locator("#graph-canvas g.edge text", has_text=edge).count() >= 1


def test_clicking_a_collapsed_group_draws_its_members_and_collapsing_folds_them_again(ui_store, ui_server, page):
    run = ui_store.id("keras-plateau")
    open_graph(page, ui_server, run)
    before = page.locator(NODES).count()
    redrawn(page, lambda: group_node(page, "Metric", "val_loss", "6 epochs").click())
    assert page.locator(NODES).count() == before - 1 + 6  # the group's node gave way to its six epochs
    assert re.search(r"[?&]expand=g[0-9a-f]+", page.url)
    assert group_node(page, "val_loss", "6 epochs").count() == 0
    assert page.locator(NODES, has_text="val_loss = ").count() == 6
    panel = page.inner_text("#node-panel")  # the first member is shown and can fold its group
    assert "pi:Metric" in panel and "pi:epoch" in panel and "Collapse its group" in panel

    page.click("#zoom-fit")  # the view had moved to the first epoch drawn
    redrawn(page, lambda: group_node(page, "Layers").click())
    assert page.locator(NODES).count() == before - 2 + 6 + 6  # and the six layers
    assert page.locator(NODES, has_text="Concatenate").count() == 2

    open_graph(page, ui_server, run, "?" + page.url.split("?", 1)[1])  # the expansions survive a reload
    assert page.locator(NODES).count() == before - 2 + 12
    redrawn(page, lambda: page.click("#collapse-all"))
    assert page.locator(NODES).count() == before


def test_an_expanded_group_of_hundreds_of_epochs_draws_them_in_parts(grid_store, grid_server, page):
    open_graph(page, grid_server, grid_store.long)
    before = page.locator(NODES).count()
    epochs = grid_store.long_epochs
    redrawn(page, lambda: group_node(page, "Metric", "accuracy", f"{epochs} epochs").click())
    rest = epochs - EXPAND_LIMIT
    assert page.locator(NODES).count() == before + EXPAND_LIMIT  # the first EXPAND_LIMIT, and the rest as one group
    more = group_node(page, "accuracy", f"{rest} epochs ({EXPAND_LIMIT}–{epochs - 1})")
    assert more.count() == 1
    page.click("#zoom-fit")
    redrawn(page, lambda: more.click(force=True))
    assert page.locator(NODES).count() == before + 2 * EXPAND_LIMIT


def test_clicking_a_node_shows_its_properties_and_a_sparql_query_that_selects_it(ui_store, ui_server, page):
    run = ui_store.id("keras-plateau")
    open_graph(page, ui_server, run)
    page.locator(NODES, has_text="Training").first.click()
    info = page.locator(".node-info")
    assert "pi:Training" in info.locator("h2").inner_text()
    text = info.inner_text()
    assert "prov:startedAtTime" in text and "prov:used" in text and f"{run}/training/1" in text
    assert page.locator(f"{NODES}.selected", has_text="Training").count() == 1
    assert page.locator("#graph-canvas g.edge.lit").count() >= 5  # its edges are marked

    info.get_by_text("Query it in SPARQL").click()
    page.wait_for_url("**/sparql?query=*")
    page.wait_for_function("document.body.dataset.ready === 'sparql'")
    query = page.input_value("#sparql-editor")
    assert f"<{provinstr.open_store(ui_store.path).run(run).iri}/training/1>" in query
    expected = provinstr.open_store(ui_store.path).query(query)
    assert page.locator("#results-table tbody tr").count() == len(expected.rows) >= 5
    assert "pi:Training" in page.inner_text("#results-table")


def test_the_graph_zooms_on_the_wheel_pans_on_a_drag_and_fits_again(ui_store, ui_server, page):
    open_graph(page, ui_server, ui_store.id("sklearn-logreg"))
    view_box = lambda: [float(v) for v in page.get_attribute("#graph-canvas svg", "viewBox").split()]
    fitted = view_box()
    box = page.locator("#graph-view").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    page.mouse.wheel(0, -400)
    zoomed = view_box()
    assert zoomed[2] < fitted[2] * 0.8 and zoomed[3] < fitted[3] * 0.8
    page.mouse.move(box["x"] + 40, box["y"] + 60)  # a drag from an empty corner
    page.mouse.down()
    page.mouse.move(box["x"] + 240, box["y"] + 160, steps=5)
    page.mouse.up()
    panned = view_box()
    assert panned[0] < zoomed[0] and panned[1] < zoomed[1] and panned[2] == pytest.approx(zoomed[2])
    page.click("#zoom-fit")
    assert view_box() == pytest.approx(fitted)


def test_an_unknown_run_in_the_url_gets_a_clear_page_and_no_trace(ui_server, page):
    answer = page.goto(f"{ui_server.base}/graph/nosuchrun")
    assert answer.status == 404
    text = page.inner_text("main")
    assert "No such run" in text and "no run matches 'nosuchrun'" in text
    assert "Traceback" not in page.content() and 'File "' not in page.content()
    api = http(f"{ui_server.base}/api/graph/nosuchrun")
    assert api.status == 404 and "no run matches" in api.json()["error"]


def test_without_graphviz_the_page_says_so_and_still_lists_every_node(ui_store, start_ui, page, tmp_path):
    (tmp_path / "bin").mkdir()  # a PATH without dot (the server is started by its full path)
    server = start_ui(ui_store.path, env={"PATH": str(tmp_path / "bin")})
    run = ui_store.id("sklearn-logreg")
    open_graph(page, server, run)
    message = page.inner_text("#graph-notice")
    assert "Graphviz" in message and "not installed" in message and "apt-get install graphviz" in message
    data = http(f"{server.base}/api/graph/{run}").json()
    assert data["svg"] is None and page.locator("#node-list li").count() == len(data["nodes"])
    page.locator("#node-list a", has_text="Run").first.click()
    assert "pi:Run" in page.inner_text(".node-info")
