"""Commands that look at runs: show, compare, graph, plot, watch, steer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from provinstr.analysis.store import open_store
from provinstr.cli.application import UsageError, app, console, fail
from provinstr.cli.common import StoreOption, stdout_console, user_errors

RunArgument = typer.Argument(..., help="The run: an id prefix, its IRI, or 'last'.")
MetricOption = typer.Option(["loss", "val_loss"], "--metric", "-m", help="Metric to draw (repeat for more).")


@app.command()
def show(run: str = RunArgument, store: Optional[str] = StoreOption) -> None:
    """What was this run: script, status, environment, hyperparameters, layers, metrics, results."""
    from provinstr.analysis.summary import show as summary

    with user_errors():
        screen = summary(open_store(store).run(run))  # from one copy of the run (analysis/snapshot.py)
    stdout_console().print(screen, highlight=False, markup=False)


# Up to this many runs are compared from an in-memory copy (one reading of the store instead of ~5 per run).
SNAPSHOT_RUNS = 20


@app.command()
def compare(
    runs: Optional[List[str]] = typer.Argument(None, help="Two or more runs (id prefixes)."),
    group: Optional[str] = typer.Option(None, "--group", help="Every run of this sweep (--group / PROVINSTR_GROUP)."),
    everything: bool = typer.Option(False, "--all", help="Show equal hyperparameters and layers too."),
    plot_file: Optional[Path] = typer.Option(None, "--plot", help="Also draw their learning curves into this file."),
    metric: List[str] = MetricOption,
    store: Optional[str] = StoreOption,
) -> None:
    """Hyperparameters, transformations, layers and results of runs side by side (only what differs, unless --all)."""
    from provinstr.analysis import compare as comparing
    from provinstr.analysis import plot

    with user_errors():
        opened = open_store(store)
        infos = [opened.run(ref) for ref in runs or []]
        if group is not None:
            members = [info for info in opened.runs() if info.group == group]
            if not members:
                groups = sorted({info.group for info in opened.runs() if info.group})
                known = f"; groups in this store: {', '.join(groups)}" if groups else "; no run here has a group"
                raise UsageError(f"no run belongs to group {group!r}{known} (see: provinstr runs --group NAME)")
            infos += [info for info in members if info.id not in {i.id for i in infos}]
        if len(infos) < 2:
            raise UsageError("compare needs at least two runs, e.g. provinstr compare 3f2a 9b1c "
                             "or provinstr compare --group SWEEP")
        if len(infos) <= SNAPSHOT_RUNS:  # a few runs' many questions from one copy of them
            from provinstr.analysis.snapshot import snapshot

            infos = snapshot(opened, infos).runs
        screen = comparing.render(infos, everything)
        stdout_console().print(screen, highlight=False, markup=False)
        if plot_file is not None:
            typer.echo(f"wrote {plot.save(infos, _wanted(infos, metric), plot_file)}")


def _wanted(infos, metrics: List[str]) -> List[str]:
    """The default metrics that exist (a run without validation has no val_loss); explicit ones as given."""
    from provinstr.analysis.facts import epoch_metrics

    if metrics != ["loss", "val_loss"]:
        return metrics
    present = {m.name for info in infos for m in epoch_metrics(info)}
    return [m for m in metrics if m in present] or metrics


@app.command()
def graph(
    run: str = RunArgument,
    output: Path = typer.Option(..., "--output", "-o", help="FILE.svg, .png, .pdf (needs Graphviz) or .dot"),
    full: bool = typer.Option(False, "--full", help="Draw every node (each epoch's metrics, each argument)."),
    store: Optional[str] = StoreOption,
) -> None:
    """Draw a run's provenance graph in PROV notation (activities, entities, agents)."""
    from provinstr.analysis.graph import render, to_dot

    with user_errors():
        info = open_store(store).run(run)
        written = render(to_dot(info, full), output)
    typer.echo(f"wrote {written}")


@app.command()
def plot(
    runs: List[str] = typer.Argument(..., help="One or more runs (id prefixes)."),
    metric: List[str] = MetricOption,
    output: Path = typer.Option(..., "--output", "-o", help="FILE.png, .svg or .pdf"),
    width: float = typer.Option(8.0, help="Width in inches (100 pixels each)."),
    height: float = typer.Option(5.0, help="Height in inches (100 pixels each)."),
    store: Optional[str] = StoreOption,
) -> None:
    """Draw learning curves of one or more runs, with adaptations marked."""
    from provinstr.analysis import plot as plotting

    with user_errors():
        opened = open_store(store)
        infos = [opened.run(ref) for ref in runs]
        written = plotting.save(infos, _wanted(infos, metric), output, width, height)
    typer.echo(f"wrote {written}")


@app.command()
def watch(
    run: Optional[str] = typer.Argument(None, help="The run (default: the latest one still running)."),
    interval: float = typer.Option(1.0, help="Seconds between looks at the store."),
    store: Optional[str] = StoreOption,
) -> None:
    """Follow a training running in another process, epoch by epoch, until it ends."""
    from provinstr.analysis.watch import watch as follow

    with user_errors():
        try:
            follow(open_store(store), run, console, interval)
        except KeyboardInterrupt:
            typer.echo("stopped watching (the run goes on)", err=True)


@app.command()
def steer(
    run: str = RunArgument,
    assignments: List[str] = typer.Option(..., "--set", help="NAME=VALUE, e.g. learning_rate=0.0005 (repeatable)."),
    wait: float = typer.Option(30.0, help="Seconds to wait for the fit to apply it (0: just queue it)."),
    store: Optional[str] = StoreOption,
) -> None:
    """Change a value of a running fit (e.g. its learning rate) at its next epoch boundary."""
    from provinstr.capture import steering

    with user_errors():
        opened = open_store(store)
        info = opened.run(run)
        values = _steer_values(assignments)
        if info.status != "running":
            why = "its process is gone" if info.status == "interrupted" else "it has finished"
            raise UsageError(f"cannot steer run {info.id[:12]} ({info.name}): it is {info.status} and {why}; "
                             "steering changes a fit while it runs (see: provinstr runs)")
        folder = getattr(opened.backend, "path", None)
        if folder is None or "://" in opened.location:
            raise UsageError("steering needs the run's local store folder (--store DIR), not a SPARQL server")
        request = steering.request(folder, info.id, values)
    typer.echo(f"asked run {info.id[:12]} ({info.name}) to set {_listing(values)} at its next epoch")
    if wait > 0:
        wait_for_outcome(request, wait, lambda: opened.backend.is_live(info.id))


def wait_for_outcome(request: Path, seconds: float, still_running, poll: float = 0.2) -> None:
    """Wait until the fit handles the request (or it ends, or `seconds` pass) and report what became of it.

    Applied: say at which epoch; refused values: why, on stderr (exit 2 if nothing was applied);
    still pending after `seconds`: say so (exit 0, it stays queued); the run ended first: the
    request is marked expired and the command fails.
    """
    from provinstr.capture import steering

    with user_errors():
        deadline = time.monotonic() + seconds
        while True:
            outcome = steering.read(request) or {}
            if outcome.get("status") != steering.PENDING or time.monotonic() >= deadline:
                break
            if not still_running():
                outcome = steering.read(request) or outcome  # it may have been handled just before the end
                if outcome.get("status") == steering.PENDING:
                    outcome = steering.expired(request, outcome, "the run ended before its next epoch began")
                break
            time.sleep(poll)
    status = outcome.get("status")
    if status == steering.APPLIED:
        typer.echo(f"applied at epoch {outcome.get('epoch')}: {_listing(outcome.get('applied', {}))}")
    for name, reason in (outcome.get("refused") or {}).items():
        typer.echo(f"refused {name}: {reason}", err=True)
    if status == steering.PENDING:
        typer.echo(f"not applied yet after {seconds:g}s; the fit applies it when its next epoch begins", err=True)
    elif status == steering.EXPIRED:
        raise fail(f"not applied: {outcome.get('reason')}")
    elif status == steering.REFUSED:
        raise typer.Exit(2)


def _steer_values(assignments: List[str]) -> dict:
    from provinstr.capture.steering import ADJUSTABLE, parse_value

    values = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set {item!r}: write NAME=VALUE, e.g. --set learning_rate=0.0005")
        if name not in ADJUSTABLE:
            raise UsageError(f"--set {name}: not adjustable while a fit runs; adjustable: {', '.join(ADJUSTABLE)}")
        value = parse_value(text)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"--set {name}={text}: {name} needs a number, e.g. {name}=0.001")
        values[name] = value
    return values


def _listing(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())
