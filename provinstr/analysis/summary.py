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
    from provinstr.analysis.store import RunInfo

HEAD_EPOCHS = 3  # a long run shows its first and last epochs (and the best ones) ...
TAIL_EPOCHS = 3
SHORT_RUN = 10  # ... when it has more epochs than this
KEY_ARGUMENTS = 4  # layer arguments shown in the layer table's "arguments" column
VALUE_WIDTH = 60  # a longer value (a layer's whole config, a JSON list) is cut here; the store keeps all of it


def brief(value: Any, width: int = VALUE_WIDTH) -> str:
    """A value on one short line: an array or tensor summary as 'KerasTensor [None, 16, 16, 32] float32',
    a serialised Keras object as its class name, anything longer than `width` cut with '…'."""
    found = value
    if isinstance(value, str) and value[:1] in "{[":
        try:
            found = json.loads(value)
        except ValueError:
            pass
    if isinstance(found, dict):
        if "type" in found and "shape" in found:
            shape = "[" + ", ".join("None" if d is None else str(d) for d in found["shape"]) + "]" \
                if isinstance(found["shape"], list) else str(found["shape"])
            value = " ".join(str(p) for p in (str(found["type"]).rsplit(".", 1)[-1], shape, found.get("dtype")) if p)
        elif "type" in found and "length" in found:
            value = f"{str(found['type']).rsplit('.', 1)[-1]} of {found['length']}"
        elif isinstance(found.get("class_name"), str):
            value = found["class_name"]
    text = " ".join(cell(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def plain(value: Any) -> Text:
    """A table cell shown exactly as written: '[None, 32]' is a value, not rich markup."""
    return value if isinstance(value, Text) else Text(brief(value))


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


def _columns(*names: str, bold: str | None = None) -> Table:
    """A borderless table with these column headers (the `bold` one's cells in bold), as every section uses."""
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    for name in names:
        table.add_column(name, style="bold" if name == bold else None)
    return table


def _key_values(pairs: list[tuple[str, Any]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    for key, value in pairs:
        if value not in (None, ""):
            table.add_row(key, plain(value))
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
    table = _columns()
    if len(kinds) > 1:
        table.add_column("activity", style="dim")
    table.add_column("name", style="bold")
    table.add_column("value")
    for kind, name, value in rows:
        table.add_row(*([kind or "run"] if len(kinds) > 1 else []), name, plain(value))
    return table


# The arguments that say what a layer is, shown first; NOISE repeats the others or names the layer.
KEY_NAMES = ("units", "filters", "kernel_size", "strides", "padding", "activation", "rate", "pool_size", "shape",
             "target_shape", "axis", "return_sequences", "output_dim", "input_dim", "K", "L")
NOISE = frozenset({"config", "name", "dtype", "trainable"})


def layer_arguments(layer: facts.Layer, limit: int | None = KEY_ARGUMENTS, also: set[str] = frozenset()) -> str:
    """'units=16, activation=relu': the key arguments first, up to `limit` ('…' when there are more),
    and the arguments named in `also` whatever their rank; each value cut short (the store has it whole)."""
    items = [(k, v) for k, v in layer.attributes.items() if k not in NOISE or k in also]
    items.sort(key=lambda item: KEY_NAMES.index(item[0]) if item[0] in KEY_NAMES else len(KEY_NAMES))
    if limit is not None and any(k in KEY_NAMES for k, _ in items):
        limit = min(limit, sum(k in KEY_NAMES for k, _ in items))
    shown = items if limit is None else items[:limit] + [(k, v) for k, v in items[limit:] if k in also]
    text = ", ".join(f"{k}={brief(v, 24)}" for k, v in shown)
    return text + (", …" if len(shown) < len(items) else "")


def layer_census(found: list[facts.Layer], most: int = 4) -> str:
    """'31 layers: Conv2D ×12, BatchNormalization ×8, ReLU ×8, Concatenate ×3, …' (the commonest classes first)."""
    counts: dict[str, int] = {}
    for layer in found:
        counts[layer.short_class] = counts.get(layer.short_class, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])  # stable: equal counts keep model order
    text = ", ".join(f"{name} ×{count}" for name, count in ranked[:most]) + (", …" if len(ranked) > most else "")
    return f"{len(found)} layer{'s' if len(found) != 1 else ''}: {text}"


def layer_table(run: "RunInfo") -> Table | None:
    found = facts.layers(run)
    if not found:
        return None
    table = _columns("#", "class", "name", "arguments", "line", bold="class")
    for position, layer in enumerate(found):
        index = layer.index if layer.index is not None else position
        table.add_row(str(index), layer.short_class, plain(layer.name or ""), plain(layer_arguments(layer)),
                      cell(layer.line))
    return table


def transformation_groups(found: list[facts.Transformation]) -> list[tuple[str, list[facts.Transformation]]]:
    """Calls of a transformation with the same inputs, together: [(label, calls)] in first-call order."""
    groups: dict[tuple, list[facts.Transformation]] = {}
    for call in found:
        key = (call.label or "?", tuple((k, brief(v)) for k, v in call.inputs.items()))
        groups.setdefault(key, []).append(call)
    return [(key[0], calls) for key, calls in groups.items()]


def attributes_text(calls: list[facts.Transformation], outputs: bool = False) -> str:
    """'K=24 L=4': each attribute of the calls; one that differs between them shows its values joined by '|'."""
    parts = []
    names = list(dict.fromkeys(name for call in calls for name in (call.outputs if outputs else call.inputs)))
    for name in names:
        values = list(dict.fromkeys(brief((c.outputs if outputs else c.inputs).get(name)) for c in calls))
        shown = values if len(values) <= 3 else values[:3] + [f"… ({len(values)} values)"]
        text = " | ".join(shown)
        parts.append(text if outputs and name == "output" else f"{name}={text}")
    return "  ".join(parts)


def transformation_table(run: "RunInfo") -> Table | None:
    found = facts.transformations(run)
    if not found:
        return None
    table = _columns("transformation", "calls", "inputs", "outputs", "line", bold="transformation")
    for label, calls in transformation_groups(found):
        lines = ", ".join(dict.fromkeys(cell(c.line) for c in calls if c.line is not None))
        table.add_row(plain(label), f"×{len(calls)}", plain(attributes_text(calls)),
                      plain(attributes_text(calls, outputs=True)), lines)
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
    grid = _columns()
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
    table = _columns("epoch", "name", "change", "trigger", "by")
    for item in found:
        change = f"{brief(item.old)} -> {brief(item.new)}"
        table.add_row(cell(item.epoch), plain(item.name or ""), plain(change), plain(item.trigger or ""),
                      plain(item.agent or ""))
    return table


def training_results_table(run: "RunInfo") -> Table | None:
    """What a training reported once rather than per epoch (n_iter, best_score, a cross-validation's mean ...)."""
    found = [m for m in facts.metrics(run) if m.kind == "Training" and m.epoch is None]
    if not found:
        return None
    return _key_values([(m.name, m.value) for m in found])


def test_table(run: "RunInfo") -> Table | None:
    found = [m for m in facts.metrics(run) if m.kind == "Test"]
    if not found:
        return None
    return _key_values([(m.name, m.value) for m in found])


def data_table(run: "RunInfo") -> Table | None:
    found = facts.datasets(run)
    if not found:
        return None
    table = _columns("name", "shape", "dtype", "sha256", "used by")
    for data in found:
        table.add_row(plain(data.name), plain(data.shape), plain(data.dtype), (data.sha256 or "")[:12],
                      data.used_by or "")
    return table


def model_table(run: "RunInfo") -> Table | None:
    found = facts.models(run)
    if not found:
        return None
    return _key_values([("saved", f"{m.location or '?'}  sha256 {(m.sha256 or '?')[:12]}") for m in found])


def show(run: "RunInfo") -> Group:
    """Everything `provinstr show` prints, section by section (empty sections are left out)."""
    from provinstr.analysis.snapshot import Snapshot, snapshot

    if run.store is not None and not isinstance(run.store, Snapshot):
        # a dozen questions: answered from one copy of the run, not one store reading each
        run = snapshot(run.store, [run]).runs[0]
    parts: list[Any] = [header(run)]
    sections = [
        ("Environment", environment_table(run)),
        ("Hyperparameters", hyperparameter_table(run)),
        ("Transformations", transformation_table(run)),
        ("Layers", layer_table(run)),
        ("Metrics per epoch", metrics_table(run)),
        ("Adaptations", adaptation_table(run)),
        ("Training results", training_results_table(run)),
        ("Test results", test_table(run)),
        ("Datasets", data_table(run)),
        ("Model", model_table(run)),
    ]
    for title, body in sections:
        if body is not None:
            parts += [_section(title), body]
    return Group(*parts)
