"""`provinstr compare RUN RUN ...`: hyperparameters, transformations, layers and results of runs side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from provinstr.analysis import facts
from provinstr.analysis.summary import KEY_ARGUMENTS, NOISE, brief, human_duration, layer_arguments, layer_census

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo

MISSING = "—"
MORE_ARGUMENTS = 4  # differing layer arguments shown beyond the key ones


@dataclass
class Section:
    """Rows of one part of the comparison: (label, one value per run); `hidden` counts equal rows left out."""

    title: str
    rows: list[tuple[str, list[str]]] = field(default_factory=list)
    hidden: int = 0
    noun: str = ""  # what a hidden row is ("transformation attributes"); the title when empty
    note: str = ""  # one more line under the table


def _rows(title: str, per_run: list[dict[str, str]], everything: bool, noun: str = "") -> Section:
    keys: list[str] = []
    for values in per_run:
        keys += [k for k in values if k not in keys]
    section = Section(title, noun=noun)
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
    return {(f"{kind or 'run'}.{name}" if several and kind != "Training" else name): brief(value)
            for kind, name, value in rows}


def _transformations(run: "RunInfo") -> dict[str, str]:
    """{'DenseBlock.L': '4', 'DenseBlock → output': ..., 'DenseBlock calls': '1'}; a value that changes
    between the calls of one transformation lists them in call order ('32, 64')."""
    calls: dict[str, list[facts.Transformation]] = {}
    for call in facts.transformations(run):
        calls.setdefault(call.label or "?", []).append(call)
    found: dict[str, str] = {}
    for label, made in calls.items():
        found[f"{label} calls"] = str(len(made))
        for outputs, arrow in ((False, "."), (True, " → ")):
            names = dict.fromkeys(n for c in made for n in (c.outputs if outputs else c.inputs))
            for name in names:
                values = dict.fromkeys(brief((c.outputs if outputs else c.inputs).get(name, MISSING)) for c in made)
                found[f"{label}{arrow}{name}"] = ", ".join(values)
    return found


def _layers(runs: Sequence["RunInfo"], everything: bool) -> Section:
    """The layer count and classes; then each position whose layer differs, with its key arguments and the
    arguments that differ (the positions of models of different lengths do not correspond: left out)."""
    found = [facts.layers(run) for run in runs]
    section = Section("Layers", noun="layers")
    census = [layer_census(layers) if layers else MISSING for layers in found]
    if everything or len(set(census)) > 1:
        section.rows.append(("layers", census))
    lengths = {len(layers) for layers in found}
    if len(lengths) > 1 and not everything:
        section.note = "the models have different numbers of layers: per-layer rows left out (--all shows them)"
        return section
    for position in range(max(lengths)):
        here = [layers[position] if position < len(layers) else None for layers in found]
        present = [layer for layer in here if layer is not None]
        full = [_describe(layer, None) for layer in present]
        if not everything and len(present) == len(here) and len(set(full)) == 1:
            section.hidden += 1
            continue
        differing: set[str] = set()
        if len({layer.cls for layer in present}) == 1:  # a different class says enough by itself
            names = sorted({k for layer in present for k, v in layer.attributes.items() if k not in NOISE
                            and any(other.attributes.get(k) != v for other in present)})
            differing = set(names[:MORE_ARGUMENTS])
        section.rows.append((f"layer {position}", [MISSING if layer is None else _describe(layer, differing)
                                                   for layer in here]))
    return section


def _describe(layer: facts.Layer, differing: set[str] | None) -> str:
    """'Conv2D conv2d_3 (filters=24, kernel_size=3, …)': its key arguments and those in `differing`."""
    if differing is None:  # everything, to tell equal layers from different ones
        return f"{layer.short_class} {layer.name or ''} {sorted(layer.attributes.items(), key=str)}"
    shown = layer_arguments(layer, KEY_ARGUMENTS, also=differing)
    return f"{layer.short_class} {layer.name or ''} ({shown})"


def _results(run: "RunInfo") -> dict[str, str]:
    names, table = facts.epoch_table(facts.epoch_metrics(run))
    results = {"status": run.status, "duration": human_duration(run.duration), "epochs": str(len(table))}
    for name in names:
        last = next((table[e][name] for e in reversed(table) if name in table[e]), None)
        results[f"{name} final"] = brief(last)
        best = facts.best_epoch(table, name)
        if best:
            results[f"{name} best"] = f"{brief(best[1])} (epoch {best[0]})"
    for metric in facts.metrics(run):
        if metric.kind == "Test":
            results[f"test {metric.name}"] = brief(metric.value)
    return results


def comparison(runs: Sequence["RunInfo"], everything: bool = False) -> list[Section]:
    """The sections `provinstr compare` prints; only what differs unless `everything`."""
    sections = [_rows("Hyperparameters", [_hyperparameters(r) for r in runs], everything)]
    transformations = [_transformations(r) for r in runs]
    if any(transformations):
        sections.append(_rows("Transformations", transformations, everything, noun="transformation values"))
    sections += [_layers(runs, everything), _rows("Results", [_results(r) for r in runs], True)]
    return sections


def render(runs: Sequence["RunInfo"], everything: bool = False) -> Group:
    """The comparison as rich tables, one column per run."""
    parts: list[Any] = []
    for section in comparison(runs, everything):
        table = Table(title=section.title, title_justify="left", title_style="bold underline", box=None,
                      padding=(0, 2), show_edge=False, pad_edge=False)
        table.add_column("")
        for run in runs:
            table.add_column(Text(f"{run.id[:8]}\n{run.name}"), overflow="fold")
        for label, values in section.rows:
            table.add_row(Text(label, style="bold"), *(Text(value) for value in values))
        if section.rows:
            parts.append(table)
        elif section.title:
            parts.append(Text(section.title, style="bold underline"))
        if section.hidden:
            what = "identical" if section.rows else "all identical"
            noun = section.noun or section.title.lower()
            parts.append(Text(f"{section.hidden} {noun} {what} (--all shows them)", style="dim"))
        if section.note:
            parts.append(Text(section.note, style="dim"))
        parts.append(Text(""))
    return Group(*parts)
