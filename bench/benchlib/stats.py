"""Medians per configuration, paired ratios and differences, bootstrap intervals and Markdown tables.

A record is one timed training: {"variant", "config", "rep", <metric>: seconds, ...}. Two records of the
same configuration and repetition ran seconds or minutes apart, so their ratio cancels the machine's drift.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence

# Resamples for the 95 % bootstrap interval of a median of paired ratios (fixed seed: tables reproduce).
BOOTSTRAP = 2000


def rotated(items: Sequence, step: int) -> tuple:
    """The items in the order of the step-th round: each goes first in turn (with two, they alternate)."""
    items = tuple(items)
    shift = step % len(items)
    return items[shift:] + items[:shift]


def ratios(values: Sequence[float], bases: Sequence[float]) -> list[float]:
    """value / base for each pair taken in the same round."""
    return [value / base for value, base in zip(values, bases)]


def differences(values: Sequence[float], bases: Sequence[float]) -> list[float]:
    """value - base for each pair taken in the same round."""
    return [value - base for value, base in zip(values, bases)]


def percent(ratio: float) -> str:
    """A ratio to plain as an overhead: 1.015 -> '+1.5 %'."""
    return f"{(ratio - 1) * 100:+.1f} %"


def summarize(records: list[dict], variants: tuple, metric: str = "fit_s") -> list[dict]:
    """Per configuration: the median of `metric` for each variant and its ratio to the first variant (plain)."""
    rows = []
    configs = sorted({tuple(r["config"]) for r in records})
    for config in configs:
        row = {"config": config}
        for variant in variants:
            values = [r[metric] for r in records if tuple(r["config"]) == config and r["variant"] == variant
                      and metric in r]
            row[variant] = statistics.median(values) if values else None
            row[variant + "_n"] = len(values)
        for variant in variants[1:]:
            if row.get(variant) and row.get(variants[0]):
                row[variant + "_ratio"] = row[variant] / row[variants[0]]
        rows.append(row)
    return rows


def paired_ratios(records: list[dict], variant: str, metric: str, base: str = "plain") -> list[float]:
    """variant / base for each (configuration, repetition): the two ran minutes apart, so load drift cancels."""
    by_key = {(tuple(r["config"]), r["rep"], r["variant"]): r.get(metric) for r in records}
    return [value / by_key[(config, rep, base)] for (config, rep, name), value in by_key.items()
            if name == variant and value and by_key.get((config, rep, base))]


def paired_differences(records: list[dict], variant: str, metric: str, base: str = "plain") -> list[float]:
    """variant - base for each (configuration, repetition): an added cost in the metric's own unit."""
    by_key = {(tuple(r["config"]), r["rep"], r["variant"]): r.get(metric) for r in records}
    return [value - by_key[(config, rep, base)] for (config, rep, name), value in by_key.items()
            if name == variant and value is not None and by_key.get((config, rep, base)) is not None]


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """A percentile-bootstrap interval for the median of `values` (fixed seed)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(BOOTSTRAP))
    cut = int(BOOTSTRAP * (1 - level) / 2)
    return medians[cut], medians[-cut - 1]


def paired_summary(ratios: list[float]) -> str:
    """'+1.2 % [-0.4, +2.6] (n=108)': the median overhead and its 95 % interval."""
    low, high = median_interval(ratios)
    return f"{(statistics.median(ratios) - 1) * 100:+.1f} % [{(low - 1) * 100:+.1f}, {(high - 1) * 100:+.1f}] (n={len(ratios)})"


def difference_summary(differences: list[float], scale: float = 1.0, unit: str = "") -> str:
    """'+212 ms [+190, +240] (n=10)': the median difference times `scale` and its 95 % interval."""
    low, high = median_interval(differences)
    return (f"{statistics.median(differences) * scale:+.1f}{' ' + unit if unit else ''} "
            f"[{low * scale:+.1f}, {high * scale:+.1f}] (n={len(differences)})")


def format_table(rows: list[dict], variants: tuple, metric: str, records: list[dict] | None = None) -> str:
    """A Markdown table: medians, ratios to plain (+x.x %), then median and worst overhead per variant.

    With `records`, a last row gives the median of the paired (same repetition) ratios over all configurations,
    with its 95 % bootstrap interval.
    """
    head = ["epochs", "lr", "decay", "momentum"] + [f"{v} {metric}" for v in variants] + \
           [f"{v} vs plain" for v in variants[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [str(c) for c in row["config"]]
        cells += [f"{row[v]:.2f}" if row.get(v) is not None else "-" for v in variants]
        cells += [percent(row[v + "_ratio"]) if v + "_ratio" in row else "-" for v in variants[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    for label, pick in (("median", statistics.median), ("worst", max)):
        cells = [f"**{label}**", "", "", ""] + [""] * len(variants)
        for v in variants[1:]:
            found = [row[v + "_ratio"] for row in rows if v + "_ratio" in row]
            cells.append(f"**{percent(pick(found))}**" if found else "-")
        lines.append("| " + " | ".join(cells) + " |")
    if records is not None:
        cells = ["**median of paired ratios [95 % interval]**", "", "", ""] + [""] * len(variants)
        for v in variants[1:]:
            found = paired_ratios(records, v, metric, variants[0])
            cells.append(paired_summary(found) if found else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
