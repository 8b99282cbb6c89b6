"""Render the raw results in bench/results/ as full tables: bench/results/report.md and results/overhead-grid*.png.

  python bench/report.py                                 # bench/results/report.md, the plot next to it
  python bench/report.py --results DIR --out FILE.md     # another folder of results; plots go to DIR

bench/RESULTS.md, the one-page summary, quotes these tables' headline rows; it is written by hand.

Reads grid*.json (bench/overhead_grid.py, process or --in-process mode), short_epochs.json
(bench/short_epochs.py), scale.json (bench/scale.py) and ui.json (bench/ui.py); a missing file is reported
as not measured.
A RESULTS/notes.md, a hand-written reading of the numbers, would be included verbatim.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from benchlib import RESULTS
from benchlib.harness import CONTROL
from benchlib.stats import format_table, percent, ratios, summarize

METRIC_TITLES = {"fit_s": "in-process model.fit time", "wall_s": "whole process wall time",
                 "cpu_s": "process CPU time", "train_s": "train(): data, model, compile, fit, evaluate",
                 "total_s": "train() + the variant's set-up and tear-down"}


def load(results: Path, name: str) -> dict | None:
    path = results / name
    return json.loads(path.read_text()) if path.exists() else None


def machine_lines(info: dict) -> list[str]:
    keys = ("cpu", "cores", "platform", "python", "tensorflow-cpu", "tensorflow", "keras", "mlflow", "pyoxigraph", "provinstr",
            "date", "loadavg_start", "loadavg_end", "seconds")
    return [f"- {k}: {info.get(k)}" for k in keys if k in info]


def plot(rows_by_metric: dict[str, list[dict]], variants: list[str], path: Path, symlog: bool = False) -> bool:
    """Overhead (%) per configuration for each captured variant, one panel per metric, side by side.

    symlog: a linear axis within ±10 % and logarithmic beyond, so a few per cent stay visible next to
    the +100 % and more of MLflow's model logging.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    metrics = list(rows_by_metric)
    width_per_panel = max(6.0, 0.3 * len(next(iter(rows_by_metric.values()))))  # 36 configurations need room
    figure, axes = plt.subplots(1, len(metrics), figsize=(width_per_panel * len(metrics), 4.2), sharey=False)
    axes = axes if len(metrics) > 1 else [axes]
    for axis, metric in zip(axes, metrics):
        rows = rows_by_metric[metric]
        labels = ["/".join(str(c) for c in row["config"]) for row in rows]
        width = 0.8 / (len(variants) - 1)
        for i, variant in enumerate(variants[1:]):
            values = [(row.get(variant + "_ratio", float("nan")) - 1) * 100 for row in rows]
            axis.bar([x + i * width for x in range(len(rows))], values, width, label=variant)
        axis.axhline(2.5, color="red", linestyle="--", linewidth=1, label="seed's 2.5 %")
        axis.axhline(0, color="black", linewidth=0.6)
        if symlog:
            axis.set_yscale("symlog", linthresh=10)
        axis.set_xticks([x + width * (len(variants) - 2) / 2 for x in range(len(rows))])
        axis.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        axis.set_ylabel("overhead vs plain Keras (%)" + ("\n(log scale beyond ±10 %)" if symlog else ""))
        axis.set_xlabel("epochs / lr / weight decay / momentum")
        axis.set_title(METRIC_TITLES.get(metric, metric))
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return True


def grid_section(grid: dict, stem: str, results: Path, out: Path) -> list[str]:
    variants = grid["variants"]
    configs = len({tuple(r["config"]) for r in grid["records"]})
    title = "The seed's grid" if stem.startswith("grid") else "Diagnosis: where provinstr's fit time goes"
    lines = [f"## 1. {title} ({stem}.json)", "",
             f"Command: `{grid['command']}` ({'--quick subset' if grid.get('quick') else 'grid'}: {configs} "
             f"configurations, {grid['repeat']} repetitions each; script arguments {' '.join(grid['script_args'])}; "
             f"{len(grid['records'])} processes timed, start load average {grid['machine'].get('loadavg_start')}, "
             f"end {grid['machine'].get('loadavg_end')}, {grid['machine'].get('seconds', 0) / 60:.0f} min)."
             + (f" Note: {grid['machine']['note']}." if grid["machine"].get("note") else ""), ""]
    failures = [r for r in grid["records"] if "error" in r]
    rows_by_metric = {}
    for metric, title in (("fit_s", "in-process model.fit seconds (the seed's overhead)"),
                          ("wall_s", "whole process wall seconds (what the user waits for)"),
                          ("cpu_s", "process CPU seconds, user+sys (least sensitive to other load)")):
        rows = summarize(grid["records"], tuple(variants), metric)
        rows_by_metric[metric] = rows
        lines += [f"### Median {title}", "", format_table(rows, tuple(variants), metric, grid["records"]), ""]
    lines += plot_lines({m: rows_by_metric[m] for m in ("fit_s", "wall_s")}, variants, results, stem, out)
    memory = summarize(grid["records"], tuple(variants), "maxrss_mb")
    lines += ["### Peak memory of the training process (MB, max RSS, median per configuration)", "",
              format_table(memory, tuple(variants), "maxrss_mb"), ""]
    if failures:
        lines += [f"{len(failures)} processes failed; first error: `{failures[0]['error'][-300:]}`", ""]
    return lines


def plot_lines(rows_by_metric: dict[str, list[dict]], variants: list[str], results: Path, stem: str, out: Path,
               symlog: bool = False) -> list[str]:
    """Draw RESULTS/overhead-STEM.png and link it from the Markdown file `out` (nothing without matplotlib)."""
    path = results / f"overhead-{stem}.png"
    if not plot(rows_by_metric, variants, path, symlog):
        return []
    return [f"![overhead per configuration]({os.path.relpath(path, out.parent)})", ""]


def inprocess_section(grid: dict, stem: str, results: Path, out: Path) -> list[str]:
    """An --in-process grid: every training of a repetition in one warm worker process."""
    variants = grid["variants"]
    configs = len({tuple(r["config"]) for r in grid["records"]})
    timed = [r for r in grid["records"] if "error" not in r]
    lines = [f"## 1. The seed's grid, in one process per repetition ({stem}.json)", "",
             f"Command: `{grid['command']}` ({'--quick subset' if grid.get('quick') else 'grid'}: {configs} "
             f"configurations, {grid['repeat']} repetitions each, one fresh worker process per repetition running "
             f"every training of it, variants alternating; script arguments {' '.join(grid['script_args'])}; "
             f"{len(timed)} trainings timed, start load average {grid['machine'].get('loadavg_start')}, "
             f"end {grid['machine'].get('loadavg_end')}, {grid['machine'].get('seconds', 0) / 60:.0f} min). "
             "The provinstr variant runs the script rewritten exactly as `provinstr run` rewrites it, inside "
             "`provinstr.run(store=...)`; the MLflow variants switch `mlflow.keras.autolog` on just before the "
             "training and off just after. Process start-up is not in these numbers (bench/rewrite_speed.py "
             "measures `provinstr run`'s).", "", *control_lines(variants), *parts_lines(grid), "### Machine", "", *machine_lines(grid["machine"]), ""]
    rows_by_metric = {}
    for metric, title in (("fit_s", "model.fit seconds (the seed's overhead)"),
                          ("train_s", "train() seconds: data, model, compile, fit, evaluate"),
                          ("total_s", "total seconds: train() plus the variant's set-up and tear-down "
                                      "(provinstr's run start and end; MLflow's autolog on and off)")):
        rows = summarize(grid["records"], tuple(variants), metric)
        rows_by_metric[metric] = rows
        lines += [f"### Median {title}", "", format_table(rows, tuple(variants), metric, grid["records"]), ""]
    lines += plot_lines({m: rows_by_metric[m] for m in ("fit_s", "total_s")}, variants, results, stem, out,
                        symlog=True)
    failures = [r for r in grid["records"] if "error" in r]
    if failures:
        lines += [f"{len(failures)} trainings failed; first error: `{failures[0]['error'][-300:]}`", ""]
    for failure in grid.get("worker_failures", []):
        lines += [f"The worker of repetition {failure['rep']} exited with {failure['rc']} after "
                  f"{failure['records']} trainings; the rest of that repetition is missing.", ""]
    return lines


def control_lines(variants: list[str]) -> list[str]:
    if CONTROL not in variants:
        return []
    return [f"`{CONTROL}` is plain Keras timed a second time, in the same rotation as the other variants: its "
            "ratio to plain is what two identical trainings differ by on this machine, the noise floor "
            "against which the other ratios are read. The bracketed ranges are 95 % bootstrap intervals of "
            "the median of paired ratios.", ""]


def parts_lines(grid: dict) -> list[str]:
    """A grid run in parts (bench/overhead_grid.py --first-rep, then --merge): what each part measured."""
    if not grid.get("parts"):
        return []
    lines = ["Run in parts, merged by `" + grid["command"] + "`:", "", "| part | repetitions | variants | trainings | command |",
             "|---|---|---|---|---|"]
    for part in grid["parts"]:
        lines.append(f"| {part['file']} | {', '.join(map(str, part['repetitions']))} | {', '.join(part['variants'])} | "
                     f"{part['trainings']} | `{part.get('command') or '-'}` |")
    counts = {v: len({(tuple(r['config']), r['rep']) for r in grid["records"] if r["variant"] == v and "error" not in r})
              for v in grid["variants"]}
    lines += ["", "Trainings timed per variant: " + ", ".join(f"{v} {n}" for v, n in counts.items()) + ".", ""]
    return lines


def short_section(short: dict) -> list[str]:
    variants = short["variants"]
    plain = [r["epoch_median_s"] for r in short["records"] if r["variant"] == "plain" and "epoch_median_s" in r]
    lines = ["## 2. Short epochs", "",
             f"Command: `{short['command']}` ({short['repeat']} repetitions; script arguments "
             f"{' '.join(short['script_args'])}; plain epoch median "
             f"{statistics.median(plain):.3f} s by the script's own epoch timer).", ""]
    if short.get("hook_ms"):
        lines += [f"### provinstr's callbacks alone, training-thread milliseconds per epoch (`{short['hook_command']}`)",
                  "", "| callbacks | ms per epoch | share of a 0.05 s epoch | of a 0.1 s epoch |", "|---|---|---|---|"]
        for label, ms in short["hook_ms"].items():
            lines.append(f"| {label} | {ms:.3f} | {ms / 50:.1%} | {ms / 100:.1%} |")
        lines.append("")
    if short.get("inprocess_ab"):
        ab = short["inprocess_ab"]
        pairs = ratios(ab["provinstr fit/epoch"], ab["plain fit/epoch"])
        lines += ["### In-process A/B: one process, one model, fits alternating with and without provinstr's callbacks",
                  "", "| | plain | provinstr callbacks | paired ratios (provinstr / plain) |", "|---|---|---|---|",
                  f"| fit seconds per epoch, median of {len(pairs)} fits each | "
                  f"{statistics.median(ab['plain fit/epoch']):.4f} | {statistics.median(ab['provinstr fit/epoch']):.4f} | "
                  f"median {percent(statistics.median(pairs))}, range {percent(min(pairs))} .. "
                  f"{percent(max(pairs))} |",
                  f"| the script's own epoch timer, median | {statistics.median(ab['plain epoch']):.4f} | "
                  f"{statistics.median(ab['provinstr epoch']):.4f} | |", ""]
    for metric, title in (("steady_epoch_s", "seconds per epoch after the first, (fit - epoch 0) / (epochs - 1)"),
                          ("fit_s", "in-process model.fit seconds"),
                          ("wall_s", "whole process wall seconds"),
                          ("cpu_s", "process CPU seconds")):
        rows = summarize(short["records"], tuple(variants), metric)
        lines += [f"### Median {title}", "", format_table(rows, tuple(variants), metric, short["records"]), ""]
    return lines


def scale_section(scale: dict) -> list[str]:
    from benchlib.scale_report import check_lines, ratio_table, server_table, size_table

    if "sizes" not in scale:
        return ["## 3. Scale", "", "results/scale.json is from an older bench/scale.py: run it again.", ""]
    startup = scale.get("startup", {})
    lines = ["## 3. Scale: provinstr and MLflow side by side", "",
             f"Command: `{scale['command']}`; commit {scale['machine'].get('commit')}. Each question is asked as a "
             "user asks it (a new process: `python -m provinstr ...`, a `python -c` script importing mlflow; "
             "'first' is the first call after the runs were written, the other figures medians of the later "
             "calls) and in-process (provinstr.open_store / MlflowClient); see bench/scale.py and "
             "bench/benchlib/questions.py for what each system is asked."]
    if startup:
        lines[-1] += (f" Start-up: `provinstr runs` on an empty store "
                      f"{statistics.median(startup['provinstr_runs_empty_s']):.2f} s, `python -c 'import mlflow'` "
                      f"{statistics.median(startup['mlflow_import_s']):.2f} s.")
    lines += ["", ratio_table(scale["sizes"]), ""]
    for size in scale["sizes"]:
        lines += [size_table(size), ""]
    if any(size.get("server") for size in scale["sizes"]):
        lines += [server_table(scale["sizes"]), ""]
    lines += ["Targets:", "", "```", *check_lines(scale["sizes"]), "```", ""]
    if scale.get("stopped"):
        lines += [f"Stopped early: {scale['stopped']}.", ""]
    return lines


def ui_section(ui: dict) -> list[str]:
    from benchlib.ui_report import check_lines, ratio_table, size_table

    lines = ["## 4. The web UI: provinstr ui and MLflow's UI in headless Chromium", "",
             f"Command: `{ui['command']}`; commit {ui['machine'].get('commit')}, Chromium "
             f"{ui['machine'].get('chromium')}, MLflow {ui['machine'].get('mlflow')}. Milliseconds from the "
             "navigation's start to first contentful paint and to the content (runs table rows, the run's facts, "
             "its learning curve drawn), medians; 'cold' is a fresh browser context, 'cached' a second load in it; "
             "server is the slowest first byte of the HTML and the page's API requests (bench/ui.py, "
             "bench/benchlib/ui_browser.py).", "", ratio_table(ui["sizes"]), ""]
    for size in ui["sizes"]:
        lines += [size_table(size), ""]
    lines += ["Targets:", "", "```", *check_lines(ui["sizes"]), "```", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="the raw results (and where plots go)")
    parser.add_argument("--out", type=Path, default=RESULTS / "report.md")
    options = parser.parse_args()
    results, out_path = options.results.resolve(), options.out.resolve()
    grids = {path.stem: json.loads(path.read_text()) for path in sorted(results.glob("grid*.json"))}
    # The newest in-process grid first (the headline numbers), then older ones, then process mode.
    ordered = sorted(grids.items(), key=lambda item: item[1]["machine"].get("date") or "", reverse=True)
    ordered.sort(key=lambda item: item[1].get("mode") != "in-process")  # stable: newest first in each mode
    grids = dict(ordered)
    grids.update({path.stem: json.loads(path.read_text()) for path in sorted(results.glob("diagnose*.json"))})
    short, scale = load(results, "short_epochs.json"), load(results, "scale.json")
    notes_file = results / "notes.md"  # the hand-written reading of these numbers, included verbatim
    grid = next(iter(grids.values()), None)
    out = ["# provinstr capture overhead: results", "",
           "Regenerated by `python bench/report.py` from the raw records in `bench/results/` "
           "(grid*.json, short_epochs.json, scale.json, ui.json). Benchmarks: bench/overhead_grid.py, "
           "bench/short_epochs.py, bench/scale.py, bench/ui.py; the training script is bench/models.py (a DenseED-like CNN: conv, encoder, dense block "
           "K=12 L=4, decoder; SGD with momentum and weight decay; MSE; TensorFlow pinned to 1 intra-op and "
           "1 inter-op thread).", ""]
    info = (grid or short or scale or {}).get("machine")
    if info:
        out += ["## Machine and conditions", "", *machine_lines(info), ""]
    if notes_file.exists():
        out += [notes_file.read_text().strip(), ""]
    for stem, data in grids.items():
        section = inprocess_section if data.get("mode") == "in-process" else grid_section
        out += section(data, stem, results, out_path)
    if not grids:
        out += ["## 1. The seed's grid", "", "Not measured (no results/grid*.json).", ""]
    out += short_section(short) if short else ["## 2. Short epochs", "", "Not measured (no results/short_epochs.json).", ""]
    out += scale_section(scale) if scale else ["## 3. Scale", "", "Not measured (no results/scale.json).", ""]
    ui = load(results, "ui.json")
    out += ui_section(ui) if ui else ["## 4. The web UI", "", "Not measured (no results/ui.json).", ""]
    out_path.write_text("\n".join(out))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
