"""The provenance page: a run's PROV graph (Graphviz's layout, zoomable and pannable), collapsed groups that
expand on a click, each node's properties and the SPARQL that selects it (`/graph/{run_id}`)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.routing import Route

from provinstr.ui.context import read
from provinstr.ui.jsonable import JSON, embed
from provinstr.ui.layout import page
from provinstr.ui.pagekit import id_list, stylesheet
from provinstr.ui.provgraph import graph_data

__all__ = ["ROUTES"]

_BODY = """{css}
<div class="toolbar">
  <h1 class="grow">Provenance of <a href="/run/{id_url}">{name}</a> <span class="mono muted">{short}</span></h1>
  <div class="graph-legend">
    <span><i class="swatch activity"></i>activity</span><span><i class="swatch entity"></i>entity</span>
    <span><i class="swatch agent"></i>agent</span><span><i class="swatch group"></i>group: click to expand</span>
    <span>arrows point to what a thing came from (used, wasGeneratedBy, wasAssociatedWith, wasInformedBy)</span>
  </div>
</div>
<div id="graph-notice" class="notice" hidden></div>
<div class="graph-layout">
  <section class="card graph-view" id="graph-view" aria-label="provenance graph: drag to pan, wheel to zoom">
    <div class="graph-tools">
      <button type="button" id="zoom-in" title="zoom in">+</button>
      <button type="button" id="zoom-out" title="zoom out">−</button>
      <button type="button" id="zoom-fit" title="show the whole graph">fit</button>
      <button type="button" id="collapse-all" title="draw every group as one node again" disabled>collapse all</button>
    </div>
    <div id="graph-canvas"><p class="muted" style="padding:16px">Laying the graph out…</p></div>
  </section>
  <aside class="card node-panel" id="node-panel">
    <div id="node-help"><h2>Nodes</h2>
    <p class="muted">Click a node to see everything recorded about it and the SPARQL that selects it.
    A node with a double border stands for a group (every epoch of a metric, the layers, the hyperparameters):
    click it to draw its members. Drag to pan, scroll to zoom.</p></div>
  </aside>
</div>
<section class="card" id="node-list-card" hidden><h2>Every node</h2><ul class="node-list" id="node-list"></ul></section>"""


async def _run_of(request: Request):
    """The run named in the path (an unknown one: the app's "No such run" page or JSON)."""
    return await read(request, lambda store, ref: store.run(ref), request.path_params["run_id"])


async def graph_page(request: Request):
    run = await _run_of(request)
    body = _BODY.format(css=stylesheet(request), id_url=html.escape(run.id, quote=True), name=html.escape(run.name),
                        short=html.escape(run.id[:12]))
    body += embed("graph-request", {"run": run.id, "expand": id_list(request.query_params.get("expand"))})
    return page(request, f"Provenance of {run.name}", body, scripts=("graph.js",))


async def graph_api(request: Request):
    """{run, svg, problem, nodes, expanded, counts}: see ui.provgraph.graph_data."""
    expand = id_list(request.query_params.get("expand"))
    return JSON(await read(request, graph_data, request.path_params["run_id"], expand))


ROUTES = [Route("/graph/{run_id}", graph_page), Route("/api/graph/{run_id}", graph_api)]
