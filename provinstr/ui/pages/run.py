"""The run page (`/run/{id}`): what `provinstr show` says, laid out for reading, and the learning
curves, which grow while the run trains (`/api/run/{id}/metrics?since=EPOCH`, polled)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.routing import Route

from provinstr.ui import recent
from provinstr.ui.context import read, settings
from provinstr.ui.jsonable import JSON, embed
from provinstr.ui.layout import page

__all__ = ["ROUTES"]


def _summary(store, ref: str) -> dict:
    from provinstr.analysis import facts
    from provinstr.analysis.snapshot import snapshot
    from provinstr.ui import run_facts  # imported on first use: `provinstr ui` starts sooner

    # a dozen questions: asked of an in-memory copy of the run, not of the index a dozen times
    [info] = snapshot(store, [recent.find(store, ref)]).runs
    found = facts.metrics(info)  # asked once for the facts and the curves
    return {**run_facts.summary(info, found), "curves": run_facts.curves(info, found=found)}


def _curves(store, ref: str, since: int) -> dict:
    from provinstr.analysis.snapshot import snapshot
    from provinstr.ui import run_facts

    # polled twice a second: one reading of the index (a copy of the run), not one per question
    [info] = snapshot(store, [recent.find(store, ref)]).runs
    return run_facts.curves(info, since)


def _since(request: Request) -> int:
    try:
        return int(request.query_params.get("since", -1))
    except ValueError:
        return -1


async def run_api(request: Request) -> JSON:
    return JSON(await read(request, _summary, request.path_params["run_id"]))


async def metrics_api(request: Request) -> JSON:
    return JSON(await read(request, _curves, request.path_params["run_id"], _since(request)))


async def run_page(request: Request):
    data = await read(request, _summary, request.path_params["run_id"])
    run = data["run"]
    mode = settings(request)
    steer = {"allowed": mode.allow_steer, "local": "://" not in mode.location}
    body = f"""
<section class="run-page" data-run="{html.escape(run["id"])}">
  <div id="header" class="card run-header"></div>
  <div class="card curves-card">
    <div class="toolbar">
      <h2>Learning curves</h2><span id="live" class="muted"></span><span class="grow"></span>
      <label title="logarithmic y axis"><input type="checkbox" id="log"> log scale</label>
    </div>
    <div id="metric-chips" class="chips"></div>
    <div id="curves" class="plot"></div>
    <div id="no-curves" class="muted empty" hidden></div>
    <div id="adaptation-note" class="muted small"></div>
  </div>
  <div id="steer" class="card steer-card" hidden></div>
  <div id="sections" class="masonry"></div>
  <div id="wide"></div>
</section>
{embed("initial", data)}{embed("steer-mode", steer)}"""
    return page(request, f"{run['name']} ({run['id'][:8]})", body, scripts=["run.js"], plotly=True)


ROUTES = [
    Route("/run/{run_id}", run_page),
    Route("/api/run/{run_id}", run_api),
    Route("/api/run/{run_id}/metrics", metrics_api),
]
