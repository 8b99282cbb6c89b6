"""One run's facts as JSON for its page: what `provinstr show` prints (provinstr.analysis.facts and
summary), and its learning curves from an epoch on (what a live page polls for)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from provinstr.analysis import facts
from provinstr.analysis.summary import attributes_text, brief, layer_arguments, transformation_groups

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo

__all__ = ["curves", "run_fields", "summary"]


def run_fields(info: RunInfo) -> dict[str, Any]:
    """The run as the runs page lists it."""
    return {"id": info.id, "iri": info.iri, "name": info.name, "group": info.group, "status": info.status,
            "started": info.started, "ended": info.ended, "duration": info.duration, "host": info.host,
            "pid": info.pid, "error": info.error}


def summary(info: RunInfo, found: list[facts.Metric] | None = None) -> dict[str, Any]:
    """Everything the run page shows but its curves: header, environment, hyperparameters, layers,
    transformations, adaptations, results, datasets, model (`found`: the run's metrics, when already asked)."""
    found = facts.metrics(info) if found is None else found
    return {
        "run": run_fields(info),
        "details": _details(info),
        "environment": _environment(info),
        "hyperparameters": [{"activity": kind or "Run", "name": name, "value": brief(value), "full": _full(value)}
                            for kind, name, value in facts.hyperparameters(info)],
        "layers": [{"index": layer.index if layer.index is not None else position, "class": layer.short_class,
                    "qualified": layer.cls, "name": layer.name, "line": layer.line,
                    "arguments": layer_arguments(layer, limit=None),
                    "attributes": {k: brief(v) for k, v in layer.attributes.items()}}
                   for position, layer in enumerate(facts.layers(info))],
        "transformations": [
            {"label": label, "calls": len(calls), "inputs": attributes_text(calls),
             "outputs": attributes_text(calls, outputs=True),
             "lines": sorted({c.line for c in calls if c.line is not None}),
             "values": {k: brief(v) for k, v in calls[0].inputs.items()}}
            for label, calls in transformation_groups(facts.transformations(info))],
        "adaptations": _adaptations(info),
        "training_results": [{"name": m.name, "value": m.value} for m in found
                             if m.kind == "Training" and m.epoch is None],
        "tests": [{"name": m.name, "value": m.value} for m in found if m.kind == "Test"],
        "datasets": [{"name": d.name, "shape": brief(d.shape), "dtype": d.dtype, "sha256": d.sha256,
                      "used_by": d.used_by} for d in facts.datasets(info)],
        "models": [{"location": m.location, "sha256": m.sha256, "line": m.line} for m in facts.models(info)],
    }


def curves(info: RunInfo, since: int = -1, found: list[facts.Metric] | None = None) -> dict[str, Any]:
    """The per-epoch metrics after epoch `since` (-1: all) as aligned columns, the best epochs, the
    adaptations, and the run's status: what the page needs to grow its curves (`found` as for summary)."""
    names, table = facts.epoch_table(facts.epoch_metrics(info, found))
    epochs = [epoch for epoch in table if epoch > since]
    return {
        "run": run_fields(info),
        "names": names,
        "epochs": epochs,
        "series": {name: [table[epoch].get(name) for epoch in epochs] for name in names},
        "last_epoch": max(table) if table else None,
        "best": {name: best for name in names if (best := facts.best_epoch(table, name))},
        "higher_is_better": [name for name in names if facts.higher_is_better(name)],
        "unscored": [name for name in names if name in facts.NOT_SCORED],
        "adaptations": _adaptations(info),
    }


def _adaptations(info: RunInfo) -> list[dict[str, Any]]:
    return [{"epoch": a.epoch, "name": a.name, "old": a.old, "new": a.new, "trigger": a.trigger, "agent": a.agent,
             "time": a.time} for a in facts.adaptations(info)]


def _details(info: RunInfo) -> dict[str, Any]:
    found = facts.details(info)
    argv = found.get("argv")
    try:
        argv = json.loads(argv) if isinstance(argv, str) else argv
    except ValueError:
        pass
    return {"script": found.get("scriptpath") or found.get("scriptname"), "sha256": found.get("scriptsha"),
            "argv": argv, "error": found.get("error"), "error_type": found.get("errortype")}


def _environment(info: RunInfo) -> dict[str, Any]:
    env, libraries = facts.environment(info)
    memory = env.get("memoryBytes")
    shown = {
        "python": env.get("pythonVersion"),
        "platform": env.get("platform"),
        "cpus": env.get("cpuCount"),
        "memory": f"{memory / 2**30:.1f} GiB" if isinstance(memory, int) else memory,
        "gpu": env.get("gpu"),
    }
    rest = {k: v for k, v in env.items() if k not in {"pythonVersion", "platform", "cpuCount", "memoryBytes", "gpu"}}
    return {"facts": {k: v for k, v in {**shown, **rest}.items() if v not in (None, "")},
            "libraries": dict(sorted(libraries.items()))}


def _full(value: Any) -> Any:
    """The whole value when brief() had to cut it (the page shows it on hover), else None."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if text != brief(value) else None
