"""Capture overhead on very short epochs (~0.05-0.1 s, where DLProv measured +31.6 %), per epoch and per batch.

Same harness as bench/overhead_grid.py (interleaved processes, rotating order, one uncounted warm-up
per variant), one configuration of the seed grid (lr 0.001, weight decay 1e-4, momentum 0.9) with
a tiny epoch: --samples 64 --batch-size 16 (4 batches an epoch), 100 epochs by default.

Variants (model saving off everywhere, so like is compared with like):
  plain            python bench/models.py
  provinstr-epoch  provinstr run, the shipped keras.fit rule with save_model = false  (per-epoch metrics)
  provinstr-batch  the same rule with per_batch = true                                 (every batch's metrics)
  mlflow           mlflow.keras.autolog(log_models=False)                              (per-epoch metrics)
  mlflow-batch     mlflow.keras.autolog(log_models=False, log_every_epoch=False, log_every_n_steps=1)

Two measures: the whole fit (in-process, includes the first epoch's graph tracing) and the steady
epoch, (fit - first epoch) / (epochs - 1), which carries every per-epoch and per-batch capture cost.

  python bench/short_epochs.py --quick        # 3 repetitions, ~8 min on a quiet 2-core machine
  python bench/short_epochs.py                # 5 repetitions
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from overhead_grid import BENCH, ROOT, format_table, machine, measure, measured_command, records_from_log, summarize

VARIANTS = ("plain", "provinstr-epoch", "provinstr-batch", "mlflow", "mlflow-batch")
CONFIG = (100, 0.001, 1e-4, 0.9)
SCRIPT_ARGS = ["--samples", "64", "--batch-size", "16"]


def fit_rule(save_model: bool, per_batch: bool) -> str:
    """The shipped keras.fit rule (same id: it overrides the builtin one) with other options."""
    text = (ROOT / "rules" / "keras.toml").read_text()
    blocks = re.split(r"(?m)^(?=\[\[rule\]\])", text)
    block = next(b for b in blocks if re.search(r'(?m)^id = "keras\.fit"', b))
    options = (f"options = {{ save_model = {str(save_model).lower()}, per_batch = {str(per_batch).lower()}, "
               "hash_limit_mb = 256 }")
    return re.sub(r"(?m)^options = .*$", options, block)


def write_rules(work: Path) -> None:
    (work / "rules-provinstr-epoch.toml").write_text(fit_rule(save_model=False, per_batch=False))
    (work / "rules-provinstr-batch.toml").write_text(fit_rule(save_model=False, per_batch=True))


def add_steady(records: list[dict]) -> None:
    for record in records:
        if "first_epoch_s" in record:
            epochs = record["config"][0]
            record["steady_epoch_s"] = (record["fit_s"] - record["first_epoch_s"]) / (epochs - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=CONFIG[0])
    parser.add_argument("--out", default=str(BENCH / "results" / "short_epochs.json"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--from-log", default=None, metavar="LOG",
                        help="measure nothing: rebuild the records of a run cut short from its printed output")
    options = parser.parse_args()
    repeat = options.repeat or (3 if options.quick else 5)
    config = (options.epochs, *CONFIG[1:])
    work = Path(options.work) if options.work else Path(tempfile.mkdtemp(prefix="provinstr-short-"))
    work.mkdir(parents=True, exist_ok=True)
    write_rules(work)
    info = machine()
    started = time.perf_counter()
    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if options.from_log:
        records = records_from_log(Path(options.from_log).read_text())
        info["note"] = f"records rebuilt from the progress lines of a run cut short ({options.from_log})"
        repeat = max((r["rep"] for r in records), default=-1) + 1
    else:
        partial = out.with_suffix(".partial.jsonl")
        partial.unlink(missing_ok=True)
        records = measure([config], VARIANTS, repeat, SCRIPT_ARGS, work, partial=partial)
    add_steady(records)
    info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    info["seconds"] = time.perf_counter() - started
    out.write_text(json.dumps({"machine": info, "repeat": repeat, "variants": list(VARIANTS),
                               "script_args": SCRIPT_ARGS, "command": measured_command(),
                               "records": records}, indent=1))
    plain = [r["epoch_median_s"] for r in records if r["variant"] == "plain" and "epoch_median_s" in r]
    if plain:
        print(f"\nplain epoch length (median of the user's epoch timer): {statistics.median(plain):.3f} s")
    for metric in ("fit_s", "steady_epoch_s", "wall_s", "cpu_s"):
        print(f"\n## median {metric}\n")
        print(format_table(summarize(records, VARIANTS, metric), VARIANTS, metric))
    print(f"\nraw records: {out}  ({info['seconds']:.0f} s)")
    if not options.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
