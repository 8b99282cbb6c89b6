"""Before and after: the headline numbers of in-process grids, side by side, one grid per column.

For each grid file (bench/overhead_grid.py --in-process output): per variant, the median of the
paired ratios to plain with its 95 % bootstrap interval, for model.fit and for the whole training
(total_s); the variant's extra time outside fit (total_s - fit_s, paired difference to plain, in
ms: set-up, evaluate and anything that overlaps it, such as provinstr's background model save);
the median and worst of the per-configuration medians; and in how many configurations provinstr
cost less than MLflow.

    python bench/compare_grids.py bench/results/grid-control-after.json
    python bench/compare_grids.py OLD.json bench/results/grid-control-after.json   # OLD: e.g. from git history
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from benchlib.harness import CONTROL
from benchlib.stats import median_interval, paired_ratios, paired_summary, summarize


def timed(path: Path) -> list[dict]:
    """The grid's timed trainings, each with its time outside model.fit (`outside_s`: total_s - fit_s)."""
    records = [r for r in json.loads(path.read_text())["records"] if "fit_s" in r]
    return [{**r, "outside_s": r["total_s"] - r["fit_s"]} for r in records]


def outside_fit_ms(records: list[dict], variant: str) -> list[float]:
    """How much longer than plain each of the variant's trainings took outside model.fit (same configuration
    and repetition), in ms."""
    plain = {(tuple(r["config"]), r["rep"]): r["outside_s"] for r in records if r["variant"] == "plain"}
    return [1000 * (r["outside_s"] - plain[key]) for r in records
            if r["variant"] == variant and (key := (tuple(r["config"]), r["rep"])) in plain]


def per_configuration(records: list[dict], variant: str, metric: str) -> dict[tuple, float]:
    """Each configuration's median `metric` of the variant over its median for plain, minus one."""
    return {row["config"]: row[f"{variant}_ratio"] - 1 for row in summarize(records, ("plain", variant), metric)
            if f"{variant}_ratio" in row}


def summary(records: list[dict], variant: str) -> list[tuple[str, str]]:
    """(row label, cell) for one variant of one grid."""
    rows = []
    for metric, label in (("fit_s", "model.fit"), ("total_s", "whole training")):
        rows.append((f"{variant}: {label}, paired median [95 %]", paired_summary(paired_ratios(records, variant, metric))))
    extra = outside_fit_ms(records, variant)
    low, high = median_interval(extra)
    rows.append((f"{variant}: extra time outside fit", f"{statistics.median(extra):+.0f} ms [{low:+.0f}, {high:+.0f}]"))
    configs = per_configuration(records, variant, "fit_s")
    rows.append((f"{variant}: per-configuration medians, fit: median / worst",
                 f"{100 * statistics.median(configs.values()):+.1f} % / {100 * max(configs.values()):+.1f} %"))
    return rows


def cheaper_than_mlflow(records: list[dict]) -> list[tuple[str, str]]:
    """In how many configurations provinstr's median was below MLflow's (fit; whole training)."""
    cells = []
    for metric in ("fit_s", "total_s"):
        provinstr = per_configuration(records, "provinstr", metric)
        mlflow = per_configuration(records, "mlflow", metric)
        shared = provinstr.keys() & mlflow.keys()
        if not shared:
            return []
        cells.append(f"{sum(provinstr[c] < mlflow[c] for c in shared)}/{len(shared)}")
    return [("configurations where provinstr costs less than MLflow (fit; whole training)", "; ".join(cells))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grids", nargs="+", type=Path, help="in-process grid files, oldest first")
    options = parser.parse_args()
    columns: dict[str, dict[str, str]] = {}
    for path in options.grids:
        records = timed(path)
        variants = sorted({r["variant"] for r in records} - {"plain"}, key=lambda v: (v != CONTROL, v))  # floor first
        rows = [row for variant in variants if outside_fit_ms(records, variant) for row in summary(records, variant)]
        columns[path.name] = dict(rows + cheaper_than_mlflow(records))
    labels = list(dict.fromkeys(label for rows in columns.values() for label in rows))
    print("| vs plain | " + " | ".join(f"`{name}`" for name in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for label in labels:
        print(f"| {label} | " + " | ".join(rows.get(label, "-") for rows in columns.values()) + " |")


if __name__ == "__main__":
    main()
