"""The compare page: overlaid learning curves, what differs, and for a sweep parallel coordinates and a
scatter of a hyperparameter against a metric (`/compare?runs=ID,ID` or `/compare?group=NAME`)."""

from __future__ import annotations

import html
from urllib.parse import quote

from starlette.requests import Request
from starlette.routing import Route

from provinstr.ui.comparison import compare_data, groups, resolve
from provinstr.ui.context import read
from provinstr.ui.jsonable import JSON, embed
from provinstr.ui.layout import page
from provinstr.ui.pagekit import id_list, stylesheet

__all__ = ["ROUTES"]

_BODY = """{css}
<h1 id="compare-title">{title}</h1>
<div id="compare-notice" class="notice" hidden></div>
<section class="card" id="curves-card">
  <div class="toolbar">
    <h2 class="grow">Learning curves</h2>
    <label>metric <select id="curve-metric"></select></label>
    <label><input type="checkbox" id="curve-log"> log scale</label>
  </div>
  <div id="curves" class="chart"></div>
  <p id="curves-note" class="muted" hidden></p>
</section>
<section class="card" id="sweep-card" hidden>
  <div class="toolbar">
    <h2 class="grow">Hyperparameters → <span id="sweep-metric-name"></span></h2>
    <label>metric <select id="sweep-metric"></select></label>
  </div>
  <p class="muted">Each line is a run, coloured by the metric; drag along an axis to keep only the runs in a range.</p>
  <div id="parallel" class="chart tall"></div>
  <p id="parallel-note" class="muted" hidden></p>
  <div class="toolbar">
    <h2 class="grow">One hyperparameter against the metric</h2>
    <label>hyperparameter <select id="scatter-param"></select></label>
    <label>colour by <select id="scatter-colour"></select></label>
  </div>
  <div id="scatter" class="chart"></div>
</section>
<section class="card" id="table-card">
  <div class="toolbar">
    <h2 class="grow">What differs</h2>
    <label><input type="checkbox" id="table-all"> also what is the same</label>
    <button id="table-swap" type="button" title="runs as rows or as columns">swap rows and columns</button>
  </div>
  <div id="differences" class="scroll"></div>
</section>"""

_CHOOSER = """{css}
<h1>Compare runs</h1>
<section class="card">
  <p>Pick runs on the <a href="/">runs page</a> (tick two or more, then <b>Compare</b>), open a group below,
  or name runs in the address: <code>/compare?runs=ID,ID</code>, <code>/compare?group=NAME</code>.</p>
  <h2>Groups in this store</h2>
  {groups}
</section>"""


async def compare_page(request: Request):
    """The page (its data comes from /api/compare); without runs, a list of the store's groups."""
    refs, group = id_list(request.query_params.get("runs")), request.query_params.get("group")
    css = stylesheet(request)
    if not refs and not group:
        found = await read(request, groups)
        items = "".join(
            f'<li><a href="/compare?group={html.escape(quote(g["name"], safe=""), quote=True)}">{html.escape(g["name"])}</a> '
            f'<span class="muted">{g["runs"]} run{"s" if g["runs"] != 1 else ""}</span></li>' for g in found)
        listing = f'<ul class="groups">{items}</ul>' if found else \
            '<p class="muted">No run here belongs to a group yet (<code>provinstr run --group NAME ...</code>).</p>'
        return page(request, "Compare", _CHOOSER.format(css=css, groups=listing), active="compare")
    runs = await read(request, resolve, refs, group)  # an unknown id: the app's "No such run" page
    count = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    title = f"Group {group}: {count}" if group else f"{count} compared"
    body = _BODY.format(css=css, title=html.escape(title)) + embed("compare-request", {"runs": refs, "group": group})
    return page(request, title, body, scripts=("compare.js",), plotly=True, active="compare")


async def compare_api(request: Request):
    """{runs, metrics, curves, adaptations, sections, sweep}: see ui.comparison.compare_data."""
    refs, group = id_list(request.query_params.get("runs")), request.query_params.get("group")
    everything = request.query_params.get("all") in ("1", "true", "yes")
    return JSON(await read(request, compare_data, refs, group, everything))


ROUTES = [Route("/compare", compare_page), Route("/api/compare", compare_api)]
