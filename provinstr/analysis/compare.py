"""`provinstr compare RUN RUN ...`: hyperparameters, layers and results of runs side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from provinstr.analysis import facts
from provinstr.analysis.catalog import cell
from provinstr.analysis.summary import human_duration, layer_arguments

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.catalog import RunInfo

MISSING = "—"


@dataclass
class Section:
    """Rows of one part of the comparison: (label, one value per run); `hidden` counts equal rows left out."""

    title: str
    rows: list[tuple[str, list[str]]] = field(default_factory=list)
    hidden: int = 0


def _rows(title: str, per_run: list[dict[str, str]], everything: bool) -> Section:
    keys: list[str] = []
    for values in per_run:
        keys += [k for k in values if k not in keys]
    section = Section(title)
    for key in keys:
        values = [values.get(key, MISSING) for values in per_run]
        if everything or len(set(values)) > 1:
            section.rows.append((key, values))
        else:
            section.hidden += 1
    return section


def _hyperparameters(run: "RunInfo") -> dict[str, str]:
    rows = facts.hyperparameters(run)
    several = len({kind for kind, _, _ in rows}) > 1
    return {(f"{kind or 'run'}.{name}" if several and kind != "Training" else name): cell(value)
            for kind, name, value in rows}


def _layers(run: "RunInfo") -> dict[str, str]:
    return {f"layer {position}": f"{layer.short_class} {layer.name or ''} ({layer_arguments(layer, None)})"
            for position, layer in enumerate(facts.layers(run))}


def _results(run: "RunInfo") -> dict[str, str]:
    names, table = facts.epoch_table(facts.epoch_metrics(run))
    results = {"status": run.status, "duration": human_duration(run.duration), "epochs": str(len(table))}
    for name in names:
        last = next((table[e][name] for e in reversed(table) if name in table[e]), None)
        results[f"{name} final"] = cell(last)
        best = facts.best_epoch(table, name)
        if best:
            results[f"{name} best"] = f"{cell(best[1])} (epoch {best[0]})"
    for metric in facts.metrics(run):
        if metric.kind == "Test":
            results[f"test {metric.name}"] = cell(metric.value)
    return results


def comparison(runs: Sequence["RunInfo"], everything: bool = False) -> list[Section]:
    """The sections `provinstr compare` prints; only what differs unless `everything`."""
    return [
        _rows("Hyperparameters", [_hyperparameters(r) for r in runs], everything),
        _rows("Layers", [_layers(r) for r in runs], everything),
        _rows("Results", [_results(r) for r in runs], True),
    ]


def render(runs: Sequence["RunInfo"], everything: bool = False) -> Group:
    """The comparison as rich tables, one column per run."""
    parts: list[Any] = []
    for section in comparison(runs, everything):
        table = Table(title=section.title, title_justify="left", title_style="bold underline", box=None,
                      padding=(0, 2), show_edge=False, pad_edge=False)
        table.add_column("")
        for run in runs:
            table.add_column(f"{run.id[:8]}\n{run.name}", overflow="fold")
        for label, values in section.rows:
            table.add_row(Text(label, style="bold"), *values)
        if section.rows:
            parts.append(table)
        if section.hidden:
            what = "identical" if section.rows else "all identical"
            parts.append(Text(f"{section.hidden} {section.title.lower()} {what} (--all shows them)", style="dim"))
        parts.append(Text(""))
    return Group(*parts)
