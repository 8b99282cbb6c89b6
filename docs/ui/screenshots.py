"""The README's pictures of `provinstr ui`: captures the DenseED example, serves it, and saves a PNG of
each page with the tests' headless Chromium (Debian's package, driven by Playwright).

    .venv/bin/python docs/ui/screenshots.py            # a fresh store of three DenseED runs -> docs/ui/*.png
    .venv/bin/python docs/ui/screenshots.py --store S  # an existing store (its newest run, its first group)

The three runs are a small sweep of the learning rate (group "denseed-lr"), each recorded with the example's
rules (Encoder, DenseBlock K/L, Decoder transformations); the middle one is steered from the command line
while it trains (`provinstr steer ... --set learning_rate=...`), so its curves show a user's adaptation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from ui_fixtures import CHROMIUM, CHROMIUM_ARGS, QUIET, capture, start_ui_server

DENSEED = REPO / "examples" / "denseed"
GROUP = "denseed-lr"
RATES = ("0.01", "0.02", "0.05")
SIZE = {"width": 1400, "height": 900}


def record(store: Path, work: Path) -> str:
    """Three small DenseED runs at once; the 0.02 one steered after its first epoch. Returns that run's id."""
    import provinstr

    started = [capture(store, f"denseed-lr{rate}", ["--rules", str(DENSEED / "rules.toml"), "--group", GROUP],
                       DENSEED / "train.py", ["--epochs", "10", "--samples", "128", "--K", "12", "--L", "4",
                                              "--lr", rate, "--out", str(work / rate)], work)
               for rate in RATES]
    steered = None
    deadline = time.monotonic() + 600
    while steered is None and time.monotonic() < deadline and started[1].poll() is None:
        time.sleep(0.5)
        if (store / "runs").is_dir():
            runs = {info.name: info for info in provinstr.open_store(store).runs()}
            middle = runs.get("denseed-lr0.02")
            if middle is not None and middle.final.get("loss") is not None:  # its first epoch is in
                steered = middle.id
                subprocess.run([sys.executable, "-m", "provinstr", "steer", steered, "--store", str(store),
                                "--set", "learning_rate=0.005"], env={**os.environ, **QUIET}, check=False)
    for process in started:
        _, err = process.communicate(timeout=900)
        if process.returncode != 0:
            raise SystemExit(f"a DenseED run failed:\n{err[-3000:]}")
    return steered or provinstr.open_store(store).runs()[-1].id


def shoot(base: str, run: str, group: str | None, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=SIZE, device_scale_factor=1)
        page.set_default_timeout(30_000)

        def save(name: str, full: bool = False) -> None:
            page.wait_for_timeout(600)  # let Plotly finish its transitions
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=full)
            saved.append(path)

        page.goto(base + "/")
        page.wait_for_selector("#runs tbody tr")
        save("runs")
        page.goto(f"{base}/run/{run}")
        page.wait_for_selector("#curves .main-svg")
        page.check("#metric-chips input[value='learning_rate']")
        save("run", full=True)
        if group:
            page.goto(f"{base}/compare?group={group}")
            page.wait_for_selector("#curves .main-svg")
            page.wait_for_selector("#parallel .main-svg")
            save("compare", full=True)
        page.goto(f"{base}/graph/{run}")
        page.wait_for_selector("#graph-notice", state="attached")
        page.wait_for_timeout(1500)
        save("graph")
        page.goto(base + "/sparql")
        page.click("button.named[data-name='loss-for-k-l']")
        for name, value in (("K", "12"), ("L", "4"), ("epoch", "9")):  # the seed's query (a) at this sweep's last epoch
            page.fill(f"#named-params input[data-param='{name}']", value)
        page.click("#run-query")
        page.wait_for_selector("#results-card:not([hidden])")
        save("sparql")
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="an existing store (default: record three DenseED runs)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "ui", help="where the PNGs go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="provinstr-shots-") as work:
        if args.store is None:
            store = Path(work) / ".provinstr"
            run, group = record(store, Path(work)), GROUP
        else:
            import provinstr

            store = args.store
            runs = provinstr.open_store(store).runs()
            run, group = runs[-1].id, next((info.group for info in runs if info.group), None)
        server = start_ui_server(store)
        try:
            for path in shoot(server.base, run, group, args.out):
                print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
