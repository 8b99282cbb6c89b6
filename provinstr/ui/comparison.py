"""The compare page's data: the runs asked for (ids or a group), their learning curves, the table of what
differs (provinstr compare's sections, or a sweep's from the run catalog) and, per run, the hyperparameters
and final metrics the sweep views plot. Values are left as the store gives them (ui.jsonable makes them JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from provinstr.analysis import compare, facts, plot
from provinstr.analysis.compare import MISSING
from provinstr.analysis.facts import NOT_SCORED, higher_is_better, metric_order
from provinstr.analysis.snapshot import snapshot
from provinstr.analysis.store import RunNotFound
from provinstr.analysis.summary import brief, human_duration
from provinstr.analysis.sweep import epoch_curves

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo, Store

__all__ = ["FEW", "MAX_CURVE_RUNS", "MAX_TABLE_RUNS", "compare_data", "groups", "resolve"]

FEW = 10  # up to this many runs are compared in full, from one in-memory copy of their graphs
MAX_CURVE_RUNS = 100  # curves of more runs than this are not drawn (the sweep views still show every run)
MAX_TABLE_RUNS = 200  # rows of a sweep's table (the sweep views show every run)
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


def _adaptations(infos: list["RunInfo"]) -> dict[str, list[dict[str, Any]]]:
    return {info.id: [{"epoch": a.epoch, "name": a.name, "old": a.old, "new": a.new,
                       "trigger": a.trigger} for a in facts.adaptations(info) if a.epoch is not None]
            for info in infos}


def _section(title: str, rows: list[tuple[str, list[str]]], hidden: int = 0, noun: str = "",
             note: str = "", everything: bool = False) -> dict[str, Any]:
    """A table section as the page draws it; rows equal in every run are left out unless `everything`."""
    shown = []
    for label, values in rows:
        same = len(set(values)) == 1 and len(values) > 1
        if same and not everything:
            hidden += 1
            continue
        shown.append({"label": label, "values": values, "same": same})
    return {"title": title, "rows": shown, "hidden": hidden, "noun": noun or title.lower(), "note": note}


def _detailed_sections(infos: list["RunInfo"], everything: bool) -> list[dict[str, Any]]:
    """provinstr compare's sections (hyperparameters, transformations, layers, results)."""
    return [_section(section.title, section.rows, section.hidden, section.noun,
                     section.note.replace("--all", "“also what is the same”"), everything)
            for section in compare.comparison(infos, everything)]


def _catalog_sections(infos: list["RunInfo"], everything: bool) -> list[dict[str, Any]]:
    """A sweep's table from the run catalog (no graph read): hyperparameters, then status, duration and
    each metric's final and best value."""
    params = sorted({name for info in infos for name in info.params})
    metrics = sorted({name for info in infos for name in info.final}, key=metric_order)
    hyper = [(name, [brief(info.params.get(name, MISSING)) for info in infos]) for name in params]
    results = [("status", [info.status for info in infos]),
               ("duration", [human_duration(info.duration) for info in infos])]
    for name in metrics:
        results.append((f"{name} final", [brief(info.final.get(name, MISSING)) for info in infos]))
        if name not in NOT_SCORED:
            results.append((f"{name} best", [brief(info.best.get(name, MISSING)) for info in infos]))
    return [_section("Hyperparameters and results", hyper + results, noun="columns", everything=everything)]


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
    """The compare page's JSON for these runs (or this group). Up to FEW runs are copied into memory and
    compared in full (layers, transformations, best epochs, tests, adaptations); a bigger sweep's table
    comes from the run catalog and its curves from one query."""
    infos = resolve(store, refs, group)
    if not infos:
        raise RunNotFound("name the runs to compare: /compare?runs=ID,ID,... or /compare?group=NAME")
    if len(infos) <= FEW:
        runs = snapshot(store, infos).runs
        curves = {run.id: plot.curves(run, _Every()) for run in runs}
        adaptations, sections, tabled = _adaptations(runs), _detailed_sections(runs, everything), runs
    else:
        curves = epoch_curves(store, infos[:MAX_CURVE_RUNS])
        tabled = infos[:MAX_TABLE_RUNS]
        adaptations, sections = {}, _catalog_sections(tabled, everything)
    names = sorted({name for per_run in curves.values() for name in per_run}, key=metric_order)
    default = next((n for n in ("val_loss", "loss") if n in names), names[0] if names else None)
    return {
        "group": group, "runs": [_run_entry(info) for info in infos],
        "metrics": names, "default_metric": default, "curves": curves, "adaptations": adaptations,
        "curves_left_out": len(infos) - len(curves),
        "table_runs": [info.id for info in tabled], "table_left_out": len(infos) - len(tabled),
        "sections": sections, "everything": everything, "detailed": len(infos) <= FEW,
        "sweep": _sweep(infos),
    }
