"""`provinstr watch [RUN]`: a live view of a training running in another process, until it ends.

On a terminal the view is redrawn in place (rich Live); piped into a file or another program
it prints one line per new epoch and adaptation instead, so the output is a readable log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from provinstr.analysis import facts
from provinstr.analysis.catalog import cell
from provinstr.analysis.store import RunNotFound
from provinstr.analysis.summary import human_duration, status_text

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo, Store

SPARKS = "▁▂▃▄▅▆▇█"
SHOWN_EPOCHS = 8  # rows of the live table
CURVE_POINTS = 40  # width of each little curve


def pick(store: "Store", ref: str | None) -> "RunInfo":
    """The run named by `ref`, else the latest one still running."""
    if ref:
        return store.run(ref)
    running = [r for r in store.runs() if r.status == "running"]
    if not running:
        raise RunNotFound(f"no run is running in the store at {store.location}; start a training, "
                          "or name a run: provinstr watch RUN (see: provinstr runs)")
    return running[-1]


@dataclass
class State:
    """What the store says about the run right now."""

    run: "RunInfo"
    names: list[str] = field(default_factory=list)
    table: dict[int, dict[str, Any]] = field(default_factory=dict)
    adaptations: list[facts.Adaptation] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.run.status == "running"


def snapshot(store: "Store", run_id: str) -> State:
    run = store.run(run_id)
    names, table = facts.epoch_table(facts.epoch_metrics(run))
    return State(run, names, table, facts.adaptations(run))


def sparkline(values: list[float]) -> str:
    """A curve in one line of block characters (the last CURVE_POINTS values)."""
    values = [v for v in values[-CURVE_POINTS:] if isinstance(v, (int, float)) and v == v]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARKS[int((v - low) / span * (len(SPARKS) - 1))] for v in values)


def view(state: State) -> Group:
    """The live screen: header, the latest epochs, one small curve per metric, the adaptations."""
    run = state.run
    head = Text.assemble((f"{run.name} ", "bold"), (f"{run.id[:12]}  ", "dim"), status_text(run),
                         f"  {human_duration(run.duration)}", f"  epoch {max(state.table) if state.table else '-'}")
    parts: list[Any] = [head]
    if not state.table:
        parts.append(Text("waiting for the first epoch to be flushed ...", style="dim"))
        return Group(*parts)
    grid = Table(box=None, padding=(0, 2), show_edge=False, pad_edge=False)
    grid.add_column("epoch", justify="right")
    for name in state.names:
        grid.add_column(name, justify="right")
    for epoch in list(state.table)[-SHOWN_EPOCHS:]:
        grid.add_row(str(epoch), *(cell(state.table[epoch].get(n)) for n in state.names))
    curves = Table.grid(padding=(0, 2))
    for name in state.names:
        series = [row[name] for row in state.table.values() if name in row]
        curves.add_row(Text(name, style="dim"), sparkline(series), cell(series[-1] if series else None))
    parts += [grid, Text(""), curves]
    for item in state.adaptations:
        parts.append(Text(_adaptation_line(item), style="yellow"))
    return Group(*parts)


def _epoch_line(epoch: int, row: dict[str, Any], names: list[str]) -> str:
    return f"epoch {epoch}  " + "  ".join(f"{n} {cell(row[n])}" for n in names if n in row)


def _adaptation_line(item: facts.Adaptation) -> str:
    by = f", by {item.agent}" if item.agent else ""
    return (f"adaptation at epoch {cell(item.epoch)}: {item.name} {cell(item.old)} -> {cell(item.new)} "
            f"({item.trigger or 'unknown trigger'}{by})")


def _end_line(state: State) -> str:
    run = state.run
    return f"run {run.id[:12]} {run.status} after {len(state.table)} epochs ({human_duration(run.duration)})"


def watch(store: "Store", ref: str | None, console: Console, interval: float = 1.0,
          sleep: Callable[[float], None] = time.sleep) -> State:
    """Follow the run until it is no longer running; returns its last state."""
    run = pick(store, ref)
    state = snapshot(store, run.id)
    if not console.is_terminal:
        return _follow_lines(store, state, console, interval, sleep)
    with Live(view(state), console=console, refresh_per_second=4, transient=False) as live:
        while state.running:
            sleep(interval)
            state = snapshot(store, run.id)
            live.update(view(state))
    console.print(_end_line(state))
    return state


def _follow_lines(store: "Store", state: State, console: Console, interval: float, sleep) -> State:
    run = state.run
    console.print(f"watching {run.name} {run.id[:12]} ({run.status}), started {cell(run.started)}",
                  highlight=False)
    printed_epochs: set[int] = set()
    printed_adaptations = 0
    while True:
        for epoch, row in state.table.items():
            if epoch not in printed_epochs:
                printed_epochs.add(epoch)
                console.print(_epoch_line(epoch, row, state.names), highlight=False)
        for item in state.adaptations[printed_adaptations:]:
            console.print(_adaptation_line(item), highlight=False)
        printed_adaptations = len(state.adaptations)
        if not state.running:
            console.print(_end_line(state), highlight=False)
            return state
        sleep(interval)
        state = snapshot(store, run.id)
