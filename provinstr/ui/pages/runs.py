"""The runs page (`/`): every run with its status, hyperparameters and final metrics, sorted, filtered
and paged by the server (`/api/runs`), so thousands of runs cost the browser one page of rows."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from provinstr.ui import recent
from provinstr.ui.context import read
from provinstr.ui.jsonable import JSON, embed
from provinstr.ui.layout import page

__all__ = ["ROUTES", "Listing", "listing"]

PAGE_SIZES = (50, 100, 250, 500)
DEFAULT_SORT = "-start"  # newest first, as trackers show them
SUGGESTED_PARAMS = 6
SUGGESTED_METRICS = 5
SAMPLE = 500
# The knobs people look for first, when a sweep did not vary them.
_USUAL = ("learning_rate", "lr", "optimizer", "epochs", "batch_size", "momentum", "weight_decay", "K", "L", "C")


@dataclass(frozen=True)
class Listing:
    """What the page asks for: filters, order and the page of rows."""

    where: str | None = None
    sort: str = DEFAULT_SORT
    status: str | None = None
    group: str | None = None
    text: str | None = None  # a substring of the name, id or group
    offset: int = 0
    limit: int = 100

    @classmethod
    def of(cls, request: Request) -> Listing:
        q = request.query_params

        def number(name: str, default: int, low: int, high: int) -> int:
            try:
                return max(low, min(high, int(q.get(name, default))))
            except ValueError:
                return default

        return cls(where=(q.get("where") or "").strip() or None, sort=(q.get("sort") or "").strip() or DEFAULT_SORT,
                   status=q.get("status") or None, group=q.get("group") or None,
                   text=(q.get("q") or "").strip().lower() or None,
                   offset=number("offset", 0, 0, 10**9), limit=number("limit", 100, 1, max(PAGE_SIZES)))


def listing(store, asked: Listing) -> dict[str, Any]:
    """The page of runs `asked` names, with the columns the filtered runs have and counts by status."""
    from provinstr.analysis.selection import field_names, select

    everything = recent.runs(store)
    chosen = select(everything, where=asked.where, sort=asked.sort, group=asked.group, status=asked.status)
    if asked.text:
        chosen = [i for i in chosen if asked.text in f"{i.name}\0{i.id}\0{i.group or ''}".lower()]
    params, metrics = field_names(chosen)
    offset = min(asked.offset, max(0, (len(chosen) - 1) // asked.limit * asked.limit))
    shown = chosen[offset: offset + asked.limit]
    return {
        "total": len(chosen),
        "all": len(everything),
        "offset": offset,
        "limit": asked.limit,
        "sort": asked.sort,
        "statuses": dict(Counter(info.status for info in everything)),
        "groups": sorted({info.group for info in everything if info.group}),
        "columns": {"params": params, "final": _metric_order(metrics)},
        "suggested": {"params": _suggested_params(chosen, params)[:SUGGESTED_PARAMS],
                      "final": _suggested_metrics(chosen, metrics)[:SUGGESTED_METRICS]},
        "running": sum(1 for info in everything if info.status == "running"),
        "rows": [_row(info) for info in shown],
    }


def _row(info) -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "group": info.group, "status": info.status,
            "started": info.started, "ended": info.ended, "duration": info.duration, "host": info.host,
            "error": info.error, "params": info.params, "final": info.final}


def _suggested_params(infos, params: list[str]) -> list[str]:
    """What a sweep varied first (values differ between the runs having them), then the usual knobs,
    then the most common; a parameter only some runs have counts as varying only among those; text
    that reads badly in a column (paths, lists) last, and a parameter repeating another's values not at
    all. Judged on at most SAMPLE runs spread over the listing: a suggestion need not read every run."""
    step = max(1, len(infos) // SAMPLE)
    infos = infos[::step]

    def key(name: str) -> tuple:
        values = [info.params[name] for info in infos if name in info.params]
        distinct = len({json.dumps(v, sort_keys=True, default=str) for v in values})
        # paths, JSON lists and class names tell runs apart but read badly as a column
        wordy = any(isinstance(v, str) and (len(v) > 16 or "/" in v or v[:1] in "[{") for v in values)
        return (wordy, distinct <= 1, name not in _USUAL, -len(values),
                _USUAL.index(name) if name in _USUAL else 0, name)

    chosen, seen = [], set()
    for name in sorted(params, key=key):
        same = json.dumps([info.params.get(name) for info in infos], default=str)
        if same not in seen:  # argparse's --lr and Keras's learning_rate: one column says it
            seen.add(same)
            chosen.append(name)
    return chosen


def _suggested_metrics(infos, metrics: list[str]) -> list[str]:
    """Scored metrics most runs have, losses before accuracies, training before validation."""
    from provinstr.analysis.facts import NOT_SCORED, metric_order

    scored = [m for m in metrics if m not in NOT_SCORED]
    infos = infos[:: max(1, len(infos) // SAMPLE)]
    coverage = {m: sum(1 for info in infos if m in info.final) for m in scored}
    return sorted(scored, key=lambda m: (-coverage[m], metric_order(m)))


def _metric_order(names: list[str]) -> list[str]:
    from provinstr.analysis.facts import metric_order

    return sorted(names, key=metric_order)


async def runs_api(request: Request) -> JSON:
    return JSON(await read(request, listing, Listing.of(request)))


async def runs_page(request: Request):
    asked = Listing.of(request)
    try:  # the first page of rows comes with the page: one round trip to the first paint
        first = await read(request, listing, asked)
    except ValueError:
        first = None  # a bad ?where= in the URL: the script asks again and shows the error
    body = f"""
<section class="runs-page">
  <div class="toolbar">
    <h1>Runs</h1>
    <span id="summary" class="muted"></span>
    <span class="grow"></span>
    <button id="compare" class="primary" disabled title="select two or more runs">Compare selected</button>
  </div>
  <div class="toolbar filters">
    <input id="where" class="grow" type="search" spellcheck="false" autocomplete="off"
           placeholder="filter: learning_rate &lt; 0.01 and K = 24   (names: hyperparameters, final metrics, name, status, group, duration)">
    <input id="text" type="search" placeholder="name, id or group" autocomplete="off">
    <select id="status" title="status"><option value="">any status</option></select>
    <select id="group" title="group"><option value="">any group</option></select>
    <details id="columns" class="columns"><summary>Columns</summary><div class="menu"></div></details>
  </div>
  <div id="error" class="notice" hidden></div>
  <div class="card table-card"><div class="scroll"><table id="runs" class="data runs">
    <thead></thead><tbody></tbody></table></div>
    <div id="empty" class="muted empty" hidden></div>
  </div>
  <div class="toolbar pager">
    <button id="prev">‹ Previous</button><span id="range" class="muted"></span><button id="next">Next ›</button>
    <span class="grow"></span>
    <label class="muted">rows per page <select id="limit">{"".join(f"<option>{n}</option>" for n in PAGE_SIZES)}</select></label>
  </div>
</section>
{embed("initial", first)}"""
    return page(request, "Runs", body, scripts=["runs.js"], active="runs")


ROUTES = [Route("/", runs_page), Route("/api/runs", runs_api)]
