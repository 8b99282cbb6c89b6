"""The SPARQL page: an editor with the prefixes pre-declared, the named queries one click away (the seed's
first), answers as a table with CSV/JSON downloads, syntax errors with their line and column; read-only."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from provinstr.ui.context import read
from provinstr.ui.jsonable import JSON, embed
from provinstr.ui.layout import page
from provinstr.ui.pagekit import stylesheet
from provinstr.ui.sparql_answer import Refused, ask, download, named_queries
from provinstr.ui.sparql_text import prefix_lines

__all__ = ["ROUTES"]

RUN_CHOICES = 300  # newest runs offered for a query's `run` parameter

_BODY = """{css}
<h1>SPARQL</h1>
<div class="sparql-layout">
  <aside class="card named-queries">
    <h2>Named queries</h2>
    <p class="muted">Shipped with provinstr (and your project's <code>queries/*.rq</code>); the seed paper's
    two come first. Click one to load it.</p>
    <div id="named-list"></div>
  </aside>
  <section>
    <div class="card">
      <p class="muted">Pre-declared prefixes (no need to write them). The default graph is every run's graph;
      <code>GRAPH ?run {{ … }}</code> names the run. The store is read-only here.</p>
      <pre class="prefixes" id="prefixes"></pre>
      <div id="named-params" class="params" hidden></div>
      <div class="editor"><pre class="gutter" id="gutter" aria-hidden="true"></pre>
        <textarea id="sparql-editor" spellcheck="false" wrap="off" aria-label="SPARQL query"
          placeholder="SELECT ?run ?epoch ?loss WHERE {{ GRAPH ?run {{ ?m a pi:Metric ; pi:name &quot;loss&quot; ; pi:epoch ?epoch ; prov:value ?loss }} }}"></textarea>
      </div>
      <div class="toolbar" style="margin-top:10px">
        <button class="primary" type="button" id="run-query" title="Ctrl+Enter">Run</button>
        <span class="muted">Ctrl+Enter</span>
        <label>show <select id="row-limit"><option>100</option><option selected>1000</option><option>5000</option>
          <option>20000</option></select> rows</label>
        <span class="grow"></span>
        <button type="button" id="download-csv" disabled>Download CSV</button>
        <button type="button" id="download-json" disabled>Download JSON</button>
      </div>
      <div id="sparql-error" class="notice" hidden></div>
      <pre class="where" id="error-where" hidden></pre>
    </div>
    <div class="card" id="results-card" hidden>
      <div class="result-meta" id="result-meta"></div>
      <div class="scroll" id="results"></div>
    </div>
  </section>
</div>
<datalist id="run-choices"></datalist>"""


def _runs(store) -> list[list[str]]:
    """[id, name] of the newest runs, newest first (a `run` parameter's suggestions)."""
    return [[info.id, info.name] for info in reversed(store.runs()[-RUN_CHOICES:])]


async def sparql_page(request: Request):
    runs = await read(request, _runs)
    start = {key: request.query_params[key] for key in request.query_params if key not in ("token",)}
    data = {"prefixes": prefix_lines(), "queries": named_queries(), "runs": runs, "start": start}
    body = _BODY.format(css=stylesheet(request)) + embed("sparql-data", data)
    return page(request, "SPARQL", body, scripts=("sparql.js",), active="sparql")


async def _body(request: Request) -> dict:
    """The request as a dict: a JSON body ({"query": ...} or {"named": ..., "params": {...}}).

    POST only: another site's page can make a browser GET any URL (an <img>), but a POST from it carries its
    Origin, which the guard refuses."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise Refused(400, {"error": 'send JSON: {"query": "SELECT ..."}', "kind": "request"}) from None
    if not isinstance(body, dict):
        raise Refused(400, {"error": 'send a JSON object: {"query": "SELECT ..."}', "kind": "request"})
    return body


async def sparql_api(request: Request):
    """The answer for the page's table: at most `limit` rows are read (`more` says whether there are others)."""
    try:
        return JSON(await read(request, ask, await _body(request)))
    except Refused as refusal:
        return JSON(refusal.data, status_code=refusal.status)


async def sparql_download(request: Request):
    """The whole answer as a file: ?format=csv (SPARQL results CSV) or json (SPARQL results JSON)."""
    kind = request.query_params.get("format", "csv")
    if kind not in ("csv", "json"):
        return JSON({"error": f"format={kind}: ask csv or json"}, status_code=400)
    try:
        content, media, name = await read(request, download, await _body(request), kind)
    except Refused as refusal:
        return JSON(refusal.data, status_code=refusal.status)
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                        "Cache-Control": "no-store"})


async def queries_api(request: Request):
    """The named queries: name, description, parameters, text."""
    return JSON(named_queries())


ROUTES = [
    Route("/sparql", sparql_page),
    Route("/api/sparql", sparql_api, methods=["POST"]),
    Route("/api/sparql/download", sparql_download, methods=["POST"]),
    Route("/api/sparql/queries", queries_api),
]
