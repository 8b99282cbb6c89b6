"""`provinstr show RUN`: one screen that answers "what was this run"."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from provinstr.analysis import facts
from provinstr.analysis.catalog import cell

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.catalog import RunInfo

HEAD_EPOCHS = 3  # a long run shows its first and last epochs (and the best ones) ...
TAIL_EPOCHS = 3
SHORT_RUN = 10  # ... when it has more epochs than this
KEY_ARGUMENTS = 4  # layer arguments shown in the layer table's "arguments" column


def human_duration(seconds: float | None) -> str:
    """'1h 02m', '3m 05s', '4.2s'."""
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def status_text(run: "RunInfo") -> Text:
    colour = {"completed": "green", "running": "cyan", "failed": "red"}.get(run.status, "yellow")
    return Text(run.status, style=f"bold {colour}")


def _section(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def _key_values(pairs: list[tuple[str, Any]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    for key, value in pairs:
        if value not in (None, ""):
            table.add_row(key, value if isinstance(value, Text) else cell(value))
    return table


def header(run: "RunInfo") -> Table:
    """Script, status, times, where it ran and the error a failed run ended with."""
    info = facts.details(run)
    argv = info.get("argv")
    try:
        argv = " ".join(json.loads(argv)) if argv else None
    except (TypeError, ValueError):
        pass
    status = status_text(run)
    if run.status == "running":
        status.append(" (still running: what follows is what has been flushed so far)", style="cyan")
    elif run.status == "interrupted":
        status.append(" (its process ended without closing the run)", style="yellow")
    error = info.get("error")
    if error:
        error = f"{info.get('errortype') or 'error'}: {error}"
    script = info.get("scriptpath") or info.get("scriptname")
    digest = info.get("scriptsha")
    return _key_values([
        ("run", f"{run.id}  ({run.name})"),
        ("script", f"{script}  sha256 {digest[:12]}" if script and digest else script),
        ("command", argv),
        ("status", status),
        ("error", error),
        ("started", run.started),
        ("ended", run.ended),
        ("duration", human_duration(run.duration)),
        ("host", f"{run.host}  pid {run.pid}" if run.host else None),
    ])


def environment_table(run: "RunInfo") -> Table | None:
    env, libraries = facts.environment(run)
    if not env and not libraries:
        return None
    memory = env.get("memoryBytes")
    return _key_values([
        ("python", env.get("pythonVersion")),
        ("platform", env.get("platform")),
        ("cpus", env.get("cpuCount")),
        ("memory", f"{memory / 2**30:.1f} GiB" if isinstance(memory, int) else memory),
        ("gpu", env.get("gpu")),
        ("libraries", ", ".join(f"{name} {version}" for name, version in sorted(libraries.items()))),
    ])


def hyperparameter_table(run: "RunInfo") -> Table | None:
    rows = facts.hyperparameters(run)
    if not rows:
        return None
    kinds = {kind for kind, _, _ in rows}
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    if len(kinds) > 1:
        table.add_column("activity", style="dim")
    table.add_column("name", style="bold")
    table.add_column("value")
    for kind, name, value in rows:
        table.add_row(*([kind or "run"] if len(kinds) > 1 else []), name, cell(value))
    return table


# The arguments that say what a layer is, shown first; NOISE repeats the others or names the layer.
KEY_NAMES = ("units", "filters", "kernel_size", "strides", "padding", "activation", "rate", "pool_size", "shape",
             "target_shape", "axis", "return_sequences", "output_dim", "input_dim", "K", "L")
NOISE = frozenset({"config", "name", "dtype", "trainable"})


def layer_arguments(layer: facts.Layer, limit: int | None = KEY_ARGUMENTS) -> str:
    """'units=16, activation=relu': the key arguments first, up to `limit` ('…' when there are more)."""
    items = [(k, v) for k, v in layer.attributes.items() if k not in NOISE]
    items.sort(key=lambda item: KEY_NAMES.index(item[0]) if item[0] in KEY_NAMES else len(KEY_NAMES))
    if limit is not None and any(k in KEY_NAMES for k, _ in items):
        limit = min(limit, sum(k in KEY_NAMES for k, _ in items))
    shown = items if limit is None else items[:limit]
    text = ", ".join(f"{k}={cell(v)}" for k, v in shown)
    return text + (", …" if len(shown) < len(items) else "")


def layer_table(run: "RunInfo") -> Table | None:
    found = facts.layers(run)
    if not found:
        return None
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    for column in ("#", "class", "name", "arguments", "line"):
        table.add_column(column, style="bold" if column == "class" else None)
    for position, layer in enumerate(found):
        index = layer.index if layer.index is not None else position
        table.add_row(str(index), layer.short_class, layer.name or "", layer_arguments(layer), cell(layer.line))
    return table


def shown_epochs(table: dict[int, dict[str, Any]], names: list[str]) -> list[int | None]:
    """Every epoch of a short run; of a long one the first, the last and each metric's best (None = gap)."""
    epochs = list(table)
    if len(epochs) <= SHORT_RUN:
        return epochs
    keep = set(epochs[:HEAD_EPOCHS]) | set(epochs[-TAIL_EPOCHS:])
    keep |= {best[0] for best in (facts.best_epoch(table, n) for n in names) if best}
    shown: list[int | None] = []
    for epoch in epochs:
        if epoch in keep:
            shown.append(epoch)
        elif shown and shown[-1] is not None:
            shown.append(None)
    return shown


def metrics_table(run: "RunInfo") -> Table | Text:
    names, table = facts.epoch_table(facts.epoch_metrics(run))
    if not table:
        return Text("no epoch metrics recorded" + (" yet" if run.status == "running" else ""), style="dim")
    best = {name: facts.best_epoch(table, name) for name in names}
    grid = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    grid.add_column("epoch", justify="right")
    for name in names:
        grid.add_column(name, justify="right")
    for epoch in shown_epochs(table, names):
        if epoch is None:
            grid.add_row("…", *("…" for _ in names), style="dim")
            continue
        values = []
        for name in names:
            text = Text(cell(table[epoch].get(name)))
            if best[name] and best[name][0] == epoch:
                text.stylize("bold green")
                text.append(" *", style="green")
            values.append(text)
        grid.add_row(str(epoch), *values)
    caption = f"{len(table)} epochs; * = best ({', '.join(_goal(n) for n in names if n not in facts.NOT_SCORED)})"
    return Group(grid, Text(caption, style="dim"))


def _goal(name: str) -> str:
    return f"{name} {'max' if facts.higher_is_better(name) else 'min'}"


def adaptation_table(run: "RunInfo") -> Table | None:
    found = facts.adaptations(run)
    if not found:
        return None
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    for column in ("epoch", "name", "change", "trigger", "by"):
        table.add_column(column)
    for item in found:
        change = f"{cell(item.old)} -> {cell(item.new)}"
        table.add_row(cell(item.epoch), item.name or "", change, item.trigger or "", item.agent or "")
    return table


def test_table(run: "RunInfo") -> Table | None:
    found = [m for m in facts.metrics(run) if m.kind == "Test"]
    if not found:
        return None
    return _key_values([(m.name, m.value) for m in found])


def data_table(run: "RunInfo") -> Table | None:
    found = facts.datasets(run)
    if not found:
        return None
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    for column in ("name", "shape", "dtype", "sha256", "used by"):
        table.add_column(column)
    for data in found:
        table.add_row(data.name, cell(data.shape), cell(data.dtype), (data.sha256 or "")[:12], data.used_by or "")
    return table


def model_table(run: "RunInfo") -> Table | None:
    found = facts.models(run)
    if not found:
        return None
    return _key_values([("saved", f"{m.location or '?'}  sha256 {(m.sha256 or '?')[:12]}") for m in found])


def show(run: "RunInfo") -> Group:
    """Everything `provinstr show` prints, section by section (empty sections are left out)."""
    parts: list[Any] = [header(run)]
    sections = [
        ("Environment", environment_table(run)),
        ("Hyperparameters", hyperparameter_table(run)),
        ("Layers", layer_table(run)),
        ("Metrics per epoch", metrics_table(run)),
        ("Adaptations", adaptation_table(run)),
        ("Test results", test_table(run)),
        ("Datasets", data_table(run)),
        ("Model", model_table(run)),
    ]
    for title, body in sections:
        if body is not None:
            parts += [_section(title), body]
    return Group(*parts)
