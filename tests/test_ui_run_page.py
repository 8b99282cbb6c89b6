"""A run's page in a real browser: what `provinstr show` says, the learning curves with the adaptations
marked; a running training's curves growing while the page watches; steering its learning rate."""

from __future__ import annotations

import statistics
import time

import pytest
from ui_fixtures import UI_DATA, capture, http, wait_for

import provinstr
from provinstr.analysis import facts

PLOT = "document.getElementById('curves')"


def open_run(page, server, run_id: str) -> None:
    page.goto(f"{server.base}/run/{run_id}")
    page.wait_for_selector("#header h1")


def traces(page) -> dict[str, list]:
    """{trace name: its y values} as Plotly drew them."""
    return page.evaluate(f"() => Object.fromEntries(({PLOT}.data || []).map((t) => [t.name, t.y]))")


def section(page, title: str) -> str:
    return page.inner_text(f"[data-section='{title}']")


def test_a_keras_run_page_says_what_show_says(ui_store, ui_server, page):
    run = ui_store.id("keras-plateau")
    open_run(page, ui_server, run)
    header = page.inner_text("#header")
    assert page.inner_text("#header h1") == "keras-plateau" and "completed" in header and run in header
    assert "keras_plateau.py" in header and "--epochs 6" in header and "sha256" in header
    assert page.get_attribute("#header a[href^='/graph/']", "href") == f"/graph/{run}"
    hyper = section(page, "Hyperparameters")
    assert "learning_rate\t0.05" in hyper and "batch_size\t32" in hyper and "optimizer\tSGD" in hyper
    assert "DenseBlock\t×1\tK=8 L=2" in section(page, "Transformations")
    layers = section(page, "Layers")
    assert "Dense\tdense\tunits=8, activation=relu" in layers and "line 27" in layers and "line 44" in layers
    adaptations = section(page, "Adaptations")
    assert "learning_rate\t0.05 → 0.025\tReduceLROnPlateau" in adaptations
    assert "accuracy" in section(page, "Test results")
    datasets = section(page, "Datasets")
    stored = provinstr.open_store(ui_store.path).run(run)
    for data in facts.datasets(stored):
        assert data.name in datasets and data.sha256 in datasets
    [saved, *_] = facts.models(stored)
    assert saved.sha256 in section(page, "Model")
    assert "python\tCPython 3.11" in section(page, "Environment") or "python\t" in section(page, "Environment")
    epochs = section(page, "Metrics per epoch")
    assert epochs.count("★") >= 2


def test_its_curves_are_drawn_with_the_adaptations_marked_where_they_happened(ui_store, ui_server, page):
    run = ui_store.id("keras-plateau")
    open_run(page, ui_server, run)
    page.wait_for_selector("#curves .main-svg")
    drawn = traces(page)
    assert set(drawn) == {"loss", "val_loss"}  # the default choice
    recorded = provinstr.open_store(ui_store.path).run(run).metrics()
    assert drawn["loss"] == pytest.approx(list(recorded["loss"]))
    marks = page.evaluate(f"() => {PLOT}.layout.shapes.map((s) => s.x0)")
    changes = [a for a in facts.adaptations(provinstr.open_store(ui_store.path).run(run)) if a.epoch is not None]
    assert marks == sorted({a.epoch for a in changes}) and len(marks) >= 3
    hover = page.evaluate(f"() => {PLOT}.layout.annotations.map((a) => a.hovertext)")
    assert all("learning_rate" in text and "by ReduceLROnPlateau" in text for text in hover)
    assert "0.05 → 0.025" in hover[0]
    assert page.locator("#curves .shapelayer path").count() >= len(marks)  # drawn, not only configured
    assert "adaptations (dotted lines" in page.inner_text("#adaptation-note")

    # choose metrics, log scale, hover values
    page.check("#metric-chips input[value='learning_rate']")
    page.wait_for_function(f"{PLOT}.data.length === 3")
    assert traces(page)["learning_rate"] == pytest.approx(list(recorded["learning_rate"]))
    assert page.evaluate(f"() => {PLOT}.data.find((t) => t.name === 'learning_rate').yaxis") == "y2"
    page.uncheck("#metric-chips input[value='val_loss']")
    page.wait_for_function(f"{PLOT}.data.length === 2")
    page.check("#log")
    page.wait_for_function(f"{PLOT}._fullLayout.yaxis.type === 'log'")
    box = page.locator("#curves .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    hovered = page.wait_for_selector("#curves .hoverlayer .legend").text_content()
    assert "loss" in hovered and "learning_rate" in hovered


def test_a_pytorch_run_shows_its_schedulers_changes_and_its_module_tree(ui_store, ui_server, page):
    run = ui_store.id("torch-lr0.1")
    open_run(page, ui_server, run)
    page.wait_for_selector("#curves .main-svg")
    assert "StepLR" in section(page, "Adaptations")
    assert "features.0" in section(page, "Layers") and "Conv2d" in section(page, "Layers")
    assert page.evaluate(f"() => {PLOT}.layout.shapes.length") >= 1
    assert "group sweep" in page.inner_text("#header")


def test_a_scikit_learn_run_and_a_failed_run_read_clearly(ui_store, ui_server, page):
    open_run(page, ui_server, ui_store.id("sklearn-logreg"))
    assert "C\t0.5" in section(page, "Hyperparameters")
    assert "accuracy" in section(page, "Test results")
    assert page.inner_text("#no-curves") == "This run recorded no per-epoch metrics."
    open_run(page, ui_server, ui_store.id("sklearn-failed"))
    assert "failed" in page.inner_text("#header")
    assert "RuntimeError: diverged on purpose" in page.inner_text("#header .error-text")


def test_a_run_is_found_by_an_id_prefix(ui_store, ui_server, page):
    run = ui_store.id("sklearn-logreg")
    open_run(page, ui_server, run[:8])
    assert run in page.inner_text("#header")


# -- a training that runs while the test watches ------------------------------------------------------
@pytest.fixture(scope="module")
def training(tmp_path_factory):
    """A slow Keras fit (40 epochs of about 0.5 s) captured into a fresh store, and its run id once its first
    epoch is flushed; stopped at the end if still running."""
    folder = tmp_path_factory.mktemp("live")
    store = folder / ".provinstr"
    process = capture(store, "slow-fit", ["--rules", str(UI_DATA / "dense_rules.toml")], UI_DATA / "keras_plateau.py",
                      ["--epochs", "40", "--sleep", "0.5", "--out", str(folder / "slow.keras")], folder)

    def first_epoch():
        assert process.poll() is None, process.communicate()[1][-3000:]
        if not (store / "runs").is_dir():
            return None
        runs = provinstr.open_store(store).runs()
        return runs[0] if runs and runs[0].final else None

    info = wait_for(first_epoch, timeout=180, interval=0.3, message="the slow fit's first epoch")
    yield store, process, info.id
    if process.poll() is None:
        process.kill()
    process.communicate()


def test_a_running_training_s_curves_grow_while_the_page_watches(training, start_ui, page):
    store, process, run = training
    server = start_ui(store)
    open_run(page, server, run)
    page.wait_for_selector("#curves .main-svg")
    assert "running" in page.inner_text("#header") and page.inner_text("#live").startswith("live:")
    drawn = lambda: len(page.evaluate(f"() => ({PLOT}.data || [{{y: []}}])[0].y"))
    delays = []
    while len(delays) < 4 and process.poll() is None:
        flushed = len(http(f"{server.base}/api/run/{run}/metrics").json()["epochs"])
        if drawn() >= flushed:
            time.sleep(0.05)
            continue
        seen = time.monotonic()  # the server has an epoch the page does not show yet
        wait_for(lambda flushed=flushed: drawn() >= flushed, timeout=5, interval=0.02,
                 message="the page to show the new epoch")
        delays.append(time.monotonic() - seen)
    assert len(delays) == 4, "the fit ended before the page was seen to grow"
    assert statistics.median(delays) < 1.0 and max(delays) < 2.0, delays


def test_the_runs_page_marks_the_running_training(training, start_ui, page):
    store, _, run = training
    server = start_ui(store)
    page.goto(server.base + "/")
    row = page.wait_for_selector(f"#runs tr[data-id='{run}'][data-status='running']")
    assert "running" in row.inner_text()


def test_a_read_only_page_offers_no_steering(training, start_ui, page):
    store, _, run = training
    server = start_ui(store)
    open_run(page, server, run)
    assert "read-only" in page.inner_text("#steer") and page.locator("#steer-apply").count() == 0


def test_steering_from_the_page_changes_the_rate_and_the_run_records_it(training, start_ui, page):
    store, process, run = training
    server = start_ui(store, "--allow-steer")
    open_run(page, server, run)
    page.fill("#steer-value", "0.0005")
    page.click("#steer-apply")
    message = page.wait_for_selector("#steer-message:has-text('Applied at epoch')", timeout=60_000).inner_text()
    applied = int(message.split("Applied at epoch ")[1].split(":")[0])
    [change] = [a for a in facts.adaptations(provinstr.open_store(store).run(run)) if a.trigger == "user"]
    assert change.epoch == applied and change.name == "learning_rate" and change.new == pytest.approx(0.0005)
    assert change.agent and "@" in change.agent  # the asker, as `provinstr steer` records it
    page.wait_for_function(f"{PLOT}.layout.annotations.some((a) => a.hovertext.includes('by user'))")
    # the run ends while the page is open: the page says so without a reload, and steering goes away
    process.wait(timeout=240)
    page.wait_for_selector("#header .status-completed", timeout=30_000)
    assert page.is_hidden("#steer")  # at once; the final facts (its tests, its model) are fetched after
    page.wait_for_selector("[data-section='Test results']", timeout=30_000)
    assert "accuracy" in section(page, "Test results")
