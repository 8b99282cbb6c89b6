"""Learning curves of one or more runs (matplotlib, no display needed), adaptations marked on them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from provinstr.analysis import facts
from provinstr.analysis.facts import AnalysisError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from provinstr.analysis.store import RunInfo

WIDTH, HEIGHT, DPI = 8.0, 5.0, 100  # default picture: 800 x 500 pixels
FORMATS = (".png", ".svg", ".pdf")


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise AnalysisError("plots need matplotlib: pip install 'provinstr[analysis]'") from error
    matplotlib.use("Agg")  # files only: works without a display, in CI and over ssh
    import matplotlib.pyplot as plt

    return plt


def curves(run: "RunInfo", names: Sequence[str]) -> dict[str, list[tuple[int, float]]]:
    """{metric: [(epoch, value), ...]} of the wanted metrics this run has."""
    found: dict[str, list[tuple[int, float]]] = {}
    for metric in facts.epoch_metrics(run):
        if metric.name in names and isinstance(metric.value, (int, float)):
            found.setdefault(metric.name, []).append((metric.epoch, float(metric.value)))
    return {name: sorted(dict(points).items()) for name, points in found.items()}


def figure(
    runs: Sequence["RunInfo"], names: Sequence[str] = ("loss",), width: float = WIDTH, height: float = HEIGHT,
    dpi: int = DPI,
) -> "Figure":
    """A figure with each run's curve of each metric; vertical lines where an adaptation happened."""
    plt = _pyplot()
    fig, axes = plt.subplots(figsize=(width, height), dpi=dpi)
    drawn = 0
    missing = []
    for run in runs:
        lines = curves(run, names)
        if not lines:
            missing.append(run)
            continue
        for name in names:
            points = lines.get(name)
            if not points:
                continue
            label = name if len(runs) == 1 else f"{run.name} {run.id[:8]} {name}"
            (line,) = axes.plot(*zip(*points), marker="o" if len(points) <= 30 else None, markersize=3,
                                label=label)
            drawn += 1
        _mark_adaptations(axes, run, colour=line.get_color(), multiple=len(runs) > 1)
    if not drawn:
        raise AnalysisError(_nothing_to_plot(missing or list(runs), names))
    axes.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    axes.set_ylabel(", ".join(names))
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    title = runs[0].name + (" (running)" if runs[0].status == "running" else "") if len(runs) == 1 else \
        f"{len(runs)} runs"
    axes.set_title(title)
    fig.tight_layout()
    return fig


def _mark_adaptations(axes, run: "RunInfo", colour: str, multiple: bool) -> None:
    for item in facts.adaptations(run):
        if item.epoch is None:
            continue
        axes.axvline(item.epoch, color=colour if multiple else "grey", linestyle="--", linewidth=1, alpha=0.7)
        note = f"{item.name}: {_short(item.old)}→{_short(item.new)}" + (f"\n({item.trigger})" if item.trigger else "")
        axes.annotate(note, xy=(item.epoch, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                      textcoords="offset points", va="top", fontsize="x-small", color="dimgrey")


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _nothing_to_plot(runs: Sequence["RunInfo"], names: Sequence[str]) -> str:
    run = runs[0]
    available = sorted({m.name for m in facts.epoch_metrics(run)}, key=facts.metric_order)
    wanted = ", ".join(names)
    if not available:
        still = " yet (it is still running; try again after its first epoch)" if run.status == "running" else ""
        return f"run {run.id[:12]} ({run.name}) has no epoch metrics{still}; nothing to plot"
    return (f"run {run.id[:12]} ({run.name}) has no epoch metric {wanted}; "
            f"it has: {', '.join(available)} (choose with --metric NAME)")


def save(
    runs: Sequence["RunInfo"], names: Sequence[str], output: str | Path, width: float = WIDTH,
    height: float = HEIGHT, dpi: int = DPI,
) -> Path:
    """Draw the curves into `output` (.png, .svg or .pdf; exactly width*dpi x height*dpi pixels)."""
    path = Path(output)
    if path.suffix.lower() not in FORMATS:
        raise AnalysisError(f"{path}: cannot write a {path.suffix or 'suffix-less'} picture; "
                            f"name the file .png, .svg or .pdf")
    fig = figure(runs, names, width, height, dpi)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    except OSError as error:
        raise AnalysisError(f"cannot write {path}: {error.strerror or error}") from error
    finally:
        _pyplot().close(fig)
    return path
