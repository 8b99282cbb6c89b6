"""The compare page's data: the runs asked for (ids or a group), their learning curves, the table of what
differs (provinstr compare's sections) and, per run, the hyperparameters and final metrics a sweep view plots.
Values are left as the store gives them (ui.jsonable makes them JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from provinstr.analysis import compare, facts, plot
from provinstr.analysis.facts import NOT_SCORED, higher_is_better, metric_order
from provinstr.analysis.store import RunNotFound

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo, Store

__all__ = ["MAX_CURVE_RUNS", "MAX_TABLE_RUNS", "compare_data", "groups", "resolve"]

MAX_CURVE_RUNS = 100  # curves of more runs than this are not drawn (the sweep views still show every run)
MAX_TABLE_RUNS = 60  # the differences table reads each run's graph: this many runs at most
MAX_REFS = 1000


def resolve(store: "Store", refs: list[str] | None, group: str | None) -> list["RunInfo"]:
    """The runs named by id prefixes (in the order given, each once) or the runs of a group (oldest first);
    RunNotFound when a name matches no run, or several, or the group has none."""
    if group is not None:
        found = store.runs(group=group)
        if not found:
            known = sorted({info.group for info in store.runs() if info.group})
            listed = f"; groups in this store: {', '.join(known)}" if known else "; this store has no groups"
            raise RunNotFound(f"no run belongs to the group {group!r}{listed}")
        return found
    wanted = list(dict.fromkeys(ref.strip() for ref in refs or [] if ref.strip()))
    if len(wanted) > MAX_REFS:
        raise RunNotFound(f"{len(wanted)} runs asked for; compare at most {MAX_REFS} at once")
    infos = store.runs()
    picked: list["RunInfo"] = []
    for ref in wanted:
        matches = [info for info in infos if info.id.startswith(ref)] if ref not in ("last", "latest") else infos[-1:]
        if len(matches) != 1:
            matches = [store.run(ref)]  # raises the store's own message (ambiguous, close matches ...)
        if all(matches[0].id != info.id for info in picked):
            picked.append(matches[0])
    return picked


def groups(store: "Store") -> list[dict[str, Any]]:
    """Every group in the store with its number of runs, newest group first (the page without runs lists them)."""
    found: dict[str, dict[str, Any]] = {}
    for info in store.runs():
        if info.group:
            entry = found.setdefault(info.group, {"name": info.group, "runs": 0, "last": info.started})
            entry["runs"] += 1
            entry["last"] = max(entry["last"], info.started)
    return sorted(found.values(), key=lambda g: g["last"], reverse=True)


def _run_entry(info: "RunInfo") -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "group": info.group, "status": info.status,
            "started": info.started, "duration": info.duration}


class _Every:
    """Every metric name (plot.curves keeps the names `in` what it is given: one read of the run for all)."""

    def __contains__(self, name: object) -> bool:
        return True


def _curves(infos: list["RunInfo"]) -> tuple[list[str], dict[str, dict[str, list]]]:
    """(epoch metric names in Keras order, {run id: {metric: [[epoch, value], ...]}})."""
    curves: dict[str, dict[str, list]] = {}
    for info in infos:
        curves[info.id] = {name: points
                           for name, points in plot.curves(info, _Every()).items()}
    names = sorted({name for per_run in curves.values() for name in per_run}, key=metric_order)
    return names, curves


def _adaptations(infos: list["RunInfo"]) -> dict[str, list[dict[str, Any]]]:
    return {info.id: [{"epoch": a.epoch, "name": a.name, "old": a.old, "new": a.new,
                       "trigger": a.trigger} for a in facts.adaptations(info) if a.epoch is not None]
            for info in infos}


def _sections(infos: list["RunInfo"], everything: bool) -> list[dict[str, Any]]:
    """provinstr compare's sections; without `everything`, result rows equal in every run are left out too."""
    found = []
    for section in compare.comparison(infos, everything):
        rows, hidden = [], section.hidden
        for label, values in section.rows:
            same = len(set(values)) == 1 and len(infos) > 1
            if same and not everything and section.title == "Results":
                hidden += 1
                continue
            rows.append({"label": label, "values": values, "same": same})
        found.append({"title": section.title, "rows": rows, "hidden": hidden,
                      "noun": section.noun or section.title.lower(), "note": section.note})
    return found


def _sweep(infos: list["RunInfo"]) -> dict[str, Any]:
    """Per run, every hyperparameter and final/best metric (from the run catalog: no graph is read), with
    which hyperparameters vary and which way each metric is better."""
    params = sorted({name for info in infos for name in info.params})
    metrics = sorted({name for info in infos for name in info.final}, key=metric_order)
    columns = {name: [info.params.get(name) for info in infos] for name in params}
    varying = [name for name in params if len({repr(v) for v in columns[name]}) > 1]
    return {
        "params": {name: columns[name] for name in varying},
        "constant": {name: columns[name][0] for name in params if name not in varying},
        "final": {name: [info.final.get(name) for info in infos] for name in metrics},
        "best": {name: [info.best.get(name) for info in infos] for name in metrics if name not in NOT_SCORED},
        "higher_is_better": {name: higher_is_better(name) for name in metrics},
    }


def compare_data(store: "Store", refs: list[str] | None, group: str | None, everything: bool = False) -> dict[str, Any]:
    """The compare page's JSON for these runs (or this group)."""
    infos = resolve(store, refs, group)
    if not infos:
        raise RunNotFound("name the runs to compare: /compare?runs=ID,ID,... or /compare?group=NAME")
    drawn = infos[:MAX_CURVE_RUNS]
    names, curves = _curves(drawn)
    tabled = infos[:MAX_TABLE_RUNS]
    default = next((n for n in ("val_loss", "loss") if n in names), names[0] if names else None)
    return {
        "group": group, "runs": [_run_entry(info) for info in infos],
        "metrics": names, "default_metric": default, "curves": curves, "adaptations": _adaptations(drawn),
        "curves_left_out": len(infos) - len(drawn),
        "table_runs": [info.id for info in tabled], "table_left_out": len(infos) - len(tabled),
        "sections": _sections(tabled, everything), "everything": everything,
        "sweep": _sweep(infos),
    }
