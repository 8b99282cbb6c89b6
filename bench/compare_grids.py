"""Before and after: the headline numbers of in-process grids, side by side, one grid per column.

For each grid file (bench/overhead_grid.py --in-process output): per variant, the median of the
paired ratios to plain with its 95 % bootstrap interval, for model.fit and for the whole training
(total_s); the variant's extra time outside fit (total_s - fit_s, paired difference to plain, in
ms: set-up, evaluate and anything that overlaps it, such as provinstr's background model save);
the median and worst of the per-configuration medians; and in how many configurations provinstr
cost less than MLflow.

    python bench/compare_grids.py bench/results/grid-control.json bench/results/grid-control-after.json
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
from pathlib import Path

from overhead_grid import CONTROL, median_interval, paired_summary

Group = dict[str, dict]  # variant -> the record of one configuration and repetition


def groups(path: Path) -> list[Group]:
    """The grid's trainings, grouped by (configuration, repetition); groups without plain are dropped."""
    by_pair: dict[tuple, Group] = collections.defaultdict(dict)
    for record in json.loads(path.read_text())["records"]:
        if "fit_s" in record:
            by_pair[(tuple(record["config"]), record["rep"])][record["variant"]] = record
    return [group for group in by_pair.values() if "plain" in group]


def outside_fit_ms(group: Group, variant: str) -> float:
    """How much longer than plain the variant's training took outside model.fit, in ms."""
    def outside(record: dict) -> float:
        return record["total_s"] - record["fit_s"]
    return 1000 * (outside(group[variant]) - outside(group["plain"]))


def per_configuration(pairs: list[Group], variant: str, metric: str) -> dict[tuple, float]:
    """Each configuration's median `metric` of the variant over its median for plain, minus one."""
    values: dict[tuple, dict[str, list[float]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for group in pairs:
        for name in (variant, "plain"):
            if name in group:
                values[tuple(group["plain"]["config"])][name].append(group[name][metric])
    return {config: statistics.median(v[variant]) / statistics.median(v["plain"]) - 1
            for config, v in values.items() if v[variant]}


def summary(pairs: list[Group], variant: str) -> list[tuple[str, str]]:
    """(row label, cell) for one variant of one grid."""
    paired = [group for group in pairs if variant in group]
    if not paired:
        return []
    rows = []
    for metric, label in (("fit_s", "model.fit"), ("total_s", "whole training")):
        ratios = [group[variant][metric] / group["plain"][metric] for group in paired]
        rows.append((f"{variant}: {label}, paired median [95 %]", paired_summary(ratios)))
    extra = [outside_fit_ms(group, variant) for group in paired]
    low, high = median_interval(extra)
    rows.append((f"{variant}: extra time outside fit", f"{statistics.median(extra):+.0f} ms [{low:+.0f}, {high:+.0f}]"))
    configs = per_configuration(pairs, variant, "fit_s")
    rows.append((f"{variant}: per-configuration medians, fit: median / worst",
                 f"{100 * statistics.median(configs.values()):+.1f} % / {100 * max(configs.values()):+.1f} %"))
    return rows


def cheaper_than_mlflow(pairs: list[Group]) -> list[tuple[str, str]]:
    """In how many configurations provinstr's median was below MLflow's (fit; whole training)."""
    cells = []
    for metric in ("fit_s", "total_s"):
        provinstr, mlflow = per_configuration(pairs, "provinstr", metric), per_configuration(pairs, "mlflow", metric)
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
        pairs = groups(path)
        variants = sorted({v for group in pairs for v in group} - {"plain"}, key=lambda v: (v != CONTROL, v))  # floor first
        rows = [row for variant in variants for row in summary(pairs, variant)] + cheaper_than_mlflow(pairs)
        columns[path.name] = dict(rows)
    labels = list(dict.fromkeys(label for rows in columns.values() for label in rows))
    print("| vs plain | " + " | ".join(f"`{name}`" for name in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for label in labels:
        print(f"| {label} | " + " | ".join(rows.get(label, "-") for rows in columns.values()) + " |")


if __name__ == "__main__":
    main()
