"""Query latency on stores of 10, 100 and 1,000 runs (100 epochs each), written through the real recorder.

Each synthetic run is what `provinstr run` records for a DenseED fit, minus the layers: a pi:Run
(script, environment), a pi:Training with its hyperparameters (K, L, optimizer, learning_rate,
momentum, weight_decay, epochs, batch_size) and, for each of 100 epochs, the five metrics the Keras
callback writes (loss, mae, val_loss, learning_rate, epoch_seconds), through provinstr.run(...) and
its background writer, into run logs, as a training would.

The store grows 10 -> 100 -> 1,000 runs; at each size, each command is run as a user runs it (a new
process: `provinstr runs`, `provinstr query` with the seed's queries (a) and (b), `provinstr show
last`), 4 times: the first call also brings the index up to date with the new logs ("first"), the
others find it current ("warm", median).

  python bench/scale.py                 # 10, 100, 1000 runs (several minutes: 1,000 runs are written)
  python bench/scale.py --sizes 10 100  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import RESULTS, ROOT
from benchlib.machine import loadavg, machine

QUERY_A = """SELECT DISTINCT ?loss WHERE { GRAPH ?run {
  ?k pi:name "K" ; prov:value 24 .   ?l pi:name "L" ; prov:value 4 .
  ?m a pi:Metric ; pi:name "loss" ; pi:epoch 99 ; prov:value ?loss . } }"""
QUERY_B = """SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
  pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch"""

COMMANDS = {
    "runs": ["runs"],
    "query (a)": ["query", QUERY_A],
    "query (b)": ["query", QUERY_B],
    "show last": ["show", "last"],
}


def write_runs(store: Path, count: int, start: int, epochs: int = 100) -> float:
    """Record `count` synthetic DenseED runs into `store`; seconds taken (until every log is written)."""
    import provinstr
    from provinstr.capture.activity import Activity

    began = time.perf_counter()
    for index in range(start, start + count):
        rng = random.Random(index)
        K, L = (12, 16, 24, 32)[index % 4], (4, 8)[(index // 4) % 2]
        with provinstr.run(name="denseed.py", store=str(store)) as run:
            training = Activity(run, "Training", label="fit").start()
            training.hyperparameters({"K": K, "L": L, "optimizer": "SGD", "learning_rate": 0.001,
                                      "momentum": 0.9, "weight_decay": 1e-4, "epochs": epochs, "batch_size": 32})
            loss = 1.0
            for epoch in range(epochs):
                loss *= 0.97 + 0.02 * rng.random()
                for name, value in (("loss", loss), ("mae", loss ** 0.5), ("val_loss", loss * 1.1),
                                    ("learning_rate", 0.001), ("epoch_seconds", 0.1 + 0.01 * rng.random())):
                    training.metric(name, value, epoch=epoch)
                run.flush(wait=False)  # as the Keras callback does at every epoch end
            training.end()
    return time.perf_counter() - began


def time_command(store: Path, args: list[str]) -> tuple[float, int, str]:
    """Wall seconds of `python -m provinstr ARGS --store STORE` in a new process; exit code; output tail."""
    cmd = [sys.executable, "-m", "provinstr", *args, "--store", str(store)]
    began = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", "PYTHONWARNINGS": "ignore"})
    return time.perf_counter() - began, done.returncode, (done.stdout + done.stderr)[-300:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--calls", type=int, default=4, help="calls of each command at each size")
    parser.add_argument("--out", default=str(RESULTS / "scale.json"))
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="provinstr-scale-"))
    store = work / ".provinstr"
    info = machine()
    rows = []
    empty = [time_command(store, ["runs"])[0] for _ in range(3)]
    print(f"`provinstr runs` on an empty store (start-up cost): median {statistics.median(empty):.2f} s")
    written = 0
    for size in sorted(options.sizes):
        seconds = write_runs(store, size - written, written)
        log_bytes = sum(p.stat().st_size for p in store.rglob("*") if p.is_file() and "index" not in p.parts)
        print(f"\n{size} runs: wrote {size - written} runs in {seconds:.1f} s "
              f"({(size - written) / seconds:.1f} runs/s); store {log_bytes / 1e6:.1f} MB without the index")
        written = size
        for label, args in COMMANDS.items():
            times, problems = [], []
            for _ in range(options.calls):
                elapsed, code, tail = time_command(store, args)
                times.append(elapsed)
                if code != 0:
                    problems.append(tail)
            row = {"runs": size, "command": label, "first_s": times[0], "warm_s": statistics.median(times[1:]),
                   "all_s": times, "write_s": seconds, "store_mb": log_bytes / 1e6}
            if problems:
                row["error"] = problems[0]
            rows.append(row)
            print(f"  {label:10s} first {times[0]:6.2f} s   warm median {row['warm_s']:6.2f} s"
                  + (f"   ERROR {problems[0]!r}" if problems else ""))
    info["loadavg_end"] = loadavg()
    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "empty_store_runs_s": empty, "rows": rows,
                               "command": " ".join(["python", *sys.argv])}, indent=1))
    print(f"\nraw records: {out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
