"""Capture overhead on the seed paper's grid: plain Keras vs `provinstr run` vs mlflow.keras.autolog.

The grid (Keras-Prov, SBBD 2020, section 4): epochs {20, 50, 100} x learning rate {0.0005, 0.001,
0.002} x weight decay {1e-4, 1e-6} x momentum {0.5, 0.9}, each configuration repeated 5 times, on
a DenseED-like CNN (bench/models.py) scaled so one training takes seconds on a laptop CPU.

Variants, interleaved inside every repetition (the order rotates from one repetition to the next):
  plain      python bench/models.py ARGS
  provinstr  python -m provinstr run --store W/.provinstr bench/models.py ARGS   (default rules)
  mlflow     the same script with mlflow.keras.autolog(log_models=False), SQLite tracking store
  mlflow+model                     mlflow.keras.autolog(log_models=True)

Two times per process: the whole process wall time (what the user waits for, as the seed measured
it) and the in-process time of model.fit (printed by the script). Child CPU seconds (user+sys) and
peak RSS come from wait4. One warm-up process per variant is run first and not counted (it builds
the MLflow SQLite schema, Python's bytecode caches and provinstr's rewrite cache).

--in-process: one fresh worker process per repetition (bench/grid_worker.py) runs every configuration
and variant of that repetition on one warm TensorFlow, the variants alternating as above, so neither
process start-up (~8 s of imports per training) nor between-process noise enters the numbers. Per
training: model.fit seconds, train() seconds (seed, data, model, compile, fit, evaluate) and total
seconds (train() plus the variant's own set-up and tear-down: provinstr's run start and end, MLflow's
autolog on and off).

  python bench/overhead_grid.py --quick             # the documented subset, < 10 min on a quiet machine
  python bench/overhead_grid.py                     # the full grid, 5 repetitions (hours on 2 cores)
  python bench/overhead_grid.py --repeat 3 --epochs 20 50
  python bench/overhead_grid.py --in-process        # the full grid, 5 repetitions, one process each

Raw records go to bench/results/grid-control-after.json with --in-process (the grid's current result),
bench/results/grid-process.json without, or --out; bench/report.py renders them for RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import BENCH, RESULTS
from benchlib.harness import (
    KNOWN_VARIANTS,
    PYTHON,
    VARIANTS,
    child_env,
    config_text,
    keep,
    measure,
    measured_command,
    mlflow_uri,
    parse_config,
    rebuilt,
)
from benchlib.machine import finished, machine
from benchlib.stats import format_table, summarize

EPOCHS = (20, 50, 100)
RATES = (0.0005, 0.001, 0.002)
DECAYS = (1e-4, 1e-6)
MOMENTA = (0.5, 0.9)
PROCESS_METRICS = ("fit_s", "wall_s", "cpu_s")
IN_PROCESS_METRICS = ("fit_s", "train_s", "total_s")
IN_PROCESS_OUT = "grid-control-after.json"  # the grid's current result (bench/RESULTS.md)
PROCESS_OUT = "grid-process.json"

# --quick: every epoch count once, the learning-rate / decay / momentum extremes spread over them.
QUICK = [
    (20, 0.0005, 1e-4, 0.5),
    (50, 0.001, 1e-6, 0.9),
    (100, 0.002, 1e-4, 0.9),
]
QUICK_REPEAT = 2


def worker_command(configs: list[tuple], variants: tuple, rep: int, extra: list[str], work: Path) -> list[str]:
    """bench/grid_worker.py's command line for one repetition (stores in the work folder)."""
    return [PYTHON, str(BENCH / "grid_worker.py"), "--rep", str(rep), "--store", str(work / ".provinstr"),
            "--mlflow-uri", mlflow_uri(work), "--variants", *variants,
            "--configs", *(config_text(c) for c in configs), *extra]


def run_worker(configs: list[tuple], variants: tuple, rep: int, extra: list[str], work: Path,
               log=print, partial: Path | None = None) -> tuple[list[dict], dict | None]:
    """One worker process for one repetition: its records as they come, and its failure, if it failed.

    Its stderr goes to WORK/worker-rep-R.stderr (a pipe could fill and stall it); the tail is reported.
    """
    records: list[dict] = []
    stderr_path = work / f"worker-rep-{rep}.stderr"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(worker_command(configs, variants, rep, extra, work), cwd=work, env=child_env(),
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
        for line in process.stdout:
            kind, _, payload = line.rstrip("\n").partition(" ")
            if kind == "RECORD":
                keep(json.loads(payload), records, partial, log)
            elif kind == "WARMUP":
                warm = json.loads(payload)
                log(f"rep {rep} warm-up {warm['variant']:13s} total {warm.get('total_s', 0):.1f}s"
                    + (f"  ERROR {warm['error'][-300:]}" if "error" in warm else ""))
            elif line.strip():
                log(f"rep {rep} worker: {line.rstrip()}")
        returncode = process.wait()
    if returncode == 0:
        return records, None
    tail = stderr_path.read_text(errors="replace")[-3000:]
    log(f"rep {rep} worker FAILED (exit {returncode}) after {len(records)} trainings; stderr tail:\n{tail}")
    return records, {"rep": rep, "rc": returncode, "records": len(records), "stderr_tail": tail}


def measure_in_process(configs: list[tuple], variants: tuple, repeat: int, extra: list[str], work: Path,
                       log=print, partial: Path | None = None, first_rep: int = 0) -> tuple[list[dict], list[dict]]:
    """One fresh worker per repetition; a crashed worker is reported and the next repetition runs."""
    records: list[dict] = []
    failures: list[dict] = []
    for rep in range(first_rep, first_rep + repeat):
        done, failure = run_worker(configs, variants, rep, extra, work, log, partial)
        records += done
        if failure is not None:
            failures.append(failure)
    return records, failures


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{len(QUICK)} configurations x {QUICK_REPEAT} repetitions")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per configuration (default 5)")
    parser.add_argument("--epochs", type=int, nargs="*", default=list(EPOCHS))
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS),
                        help="plain, provinstr, mlflow, mlflow+model, mlflow-batch, provinstr-NAME (rule file "
                             "WORK/rules-provinstr-NAME.toml, written by you or by --rules-dir), or plain-again "
                             "(plain timed again: the noise floor)")
    parser.add_argument("--configs", nargs="*", default=None, metavar="E/LR/DECAY/MOMENTUM",
                        help="these configurations instead of the grid, e.g. 100/0.002/1e-4/0.9")
    parser.add_argument("--rules-dir", default=None, help="copy rules-provinstr-*.toml from this folder into WORK")
    parser.add_argument("--samples", type=int, default=128, help="training fields per epoch (epoch length)")
    parser.add_argument("--out", default=None,
                        help=f"default bench/results/{PROCESS_OUT} ({IN_PROCESS_OUT} with --in-process)")
    parser.add_argument("--work", default=None, help="folder for the stores (default: a fresh temporary one)")
    parser.add_argument("--from-log", default=None, metavar="LOG",
                        help="measure nothing: rebuild the records of a run cut short from its printed output")
    parser.add_argument("--first-rep", type=int, default=0, metavar="N",
                        help="number the repetitions from N (a later session continuing a grid; see --merge)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="FILE",
                        help="measure nothing: one result from earlier runs' OUT.json or OUT.partial.jsonl files")
    parser.add_argument("--in-process", action="store_true",
                        help="one worker process per repetition, every training in it (bench/grid_worker.py); "
                             f"variants {', '.join(KNOWN_VARIANTS)}")
    options = parser.parse_args()
    if options.in_process and options.from_log:
        parser.error("--from-log rebuilds process-mode runs; an in-process run keeps OUT.partial.jsonl instead")
    if options.in_process and not set(options.variants) <= set(KNOWN_VARIANTS):
        parser.error(f"--in-process runs only the variants {', '.join(KNOWN_VARIANTS)}")
    if options.out is None:
        options.out = str(RESULTS / (IN_PROCESS_OUT if options.in_process else PROCESS_OUT))
    return options


def merged(paths: list[str]) -> tuple[list[dict], dict]:
    """The records of several runs of one grid (their JSON results or partial JSON lines), and what they say.

    A grid too long for one sitting runs in parts (--first-rep, --variants); each part's command and
    the repetitions and variants it measured are kept under "parts".
    """
    records: list[dict] = []
    parts, first = [], None
    for path in map(Path, paths):
        if path.suffix == ".jsonl":
            found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            part = {"file": path.name, "command": None}
        else:
            result = json.loads(path.read_text())
            found = result["records"]
            part = {"file": path.name, "command": result.get("command")}
            first = first or result
        reps = sorted({r["rep"] for r in found})
        variants = sorted({r["variant"] for r in found}, key=lambda v: (
            v not in KNOWN_VARIANTS, KNOWN_VARIANTS.index(v) if v in KNOWN_VARIANTS else 0, v))
        parts.append({**part, "repetitions": reps, "variants": variants, "trainings": len(found)})
        records += found
    keys = [(tuple(r["config"]), r["rep"], r["variant"]) for r in records]
    if len(keys) != len(set(keys)):
        raise SystemExit("--merge: two files hold the same (configuration, repetition, variant); "
                         "give each part its own --first-rep")
    extra = {"parts": parts}
    if first is not None:
        extra.update({k: first[k] for k in ("mode", "machine", "script_args") if k in first})
        extra["seconds"] = sum(json.loads(Path(p).read_text())["machine"].get("seconds") or 0
                               for p in paths if not p.endswith(".jsonl")) or None  # partial parts: unknown
    if any("train_s" in r for r in records) and not any("wall_s" in r for r in records):
        extra["mode"] = "in-process"
    return records, extra


def main() -> None:
    options = parse_options()
    if options.configs:
        configs = [parse_config(c) for c in options.configs]
        repeat = options.repeat or 5
    elif options.quick:
        configs, repeat = QUICK, options.repeat or QUICK_REPEAT
    else:
        configs = list(itertools.product(options.epochs, RATES, DECAYS, MOMENTA))
        repeat = options.repeat or 5
    variants = tuple(options.variants)
    extra = ["--samples", str(options.samples)]
    work = Path(options.work) if options.work else Path(tempfile.mkdtemp(prefix="provinstr-grid-"))
    work.mkdir(parents=True, exist_ok=True)
    if options.rules_dir:
        for rules in Path(options.rules_dir).glob("rules-provinstr-*.toml"):
            shutil.copy(rules, work / rules.name)
    info = machine()
    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    extra_result: dict = {}
    if options.merge:
        records, extra_result = merged(options.merge)
        info.update(extra_result.pop("machine", {}))  # what the first complete part was measured on
        extra = extra_result.pop("script_args", extra)
        variants = tuple(dict.fromkeys(v for v in (*KNOWN_VARIANTS, *options.variants)
                                       if any(r["variant"] == v for r in records)))
        repeat = len({r["rep"] for r in records})
        options.in_process = extra_result.get("mode") == "in-process"
    elif options.from_log:
        records, repeat = rebuilt(options.from_log, info)
    else:
        print(f"{len(configs)} configurations x {repeat} repetitions x {len(variants)} variants"
              f"{' (in-process, one worker per repetition)' if options.in_process else ''}; work folder {work}")
        partial = out.with_suffix(".partial.jsonl")
        partial.unlink(missing_ok=True)
        if options.in_process:
            records, failures = measure_in_process(configs, variants, repeat, extra, work, partial=partial,
                                                   first_rep=options.first_rep)
            extra_result = {"mode": "in-process", "worker_failures": failures}
        else:
            records = measure(configs, variants, repeat, extra, work, partial=partial, first_rep=options.first_rep)
    if options.merge:
        info["seconds"] = extra_result.pop("seconds", None)
    else:
        finished(info, started)
    result = {"machine": info, "quick": options.quick, "repeat": repeat, "variants": list(variants),
              "script_args": extra, "command": measured_command(), "records": records, **extra_result}
    out.write_text(json.dumps(result, indent=1))
    for metric in IN_PROCESS_METRICS if options.in_process else PROCESS_METRICS:
        print(f"\n## median {metric} per configuration\n")
        print(format_table(summarize(records, variants, metric), variants, metric, records))
    print(f"\nraw records: {out}  ({info['seconds'] or 0:.0f} s)")
    if not options.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
