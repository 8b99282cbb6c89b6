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

Raw records go to bench/results/grid.json (grid-inprocess.json with --in-process, or --out);
bench/report.py turns them into RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SCRIPT = BENCH / "models.py"
PYTHON = sys.executable

EPOCHS = (20, 50, 100)
RATES = (0.0005, 0.001, 0.002)
DECAYS = (1e-4, 1e-6)
MOMENTA = (0.5, 0.9)
VARIANTS = ("plain", "provinstr", "mlflow", "mlflow+model")
# The A/A control: plain Keras timed again as if it were a variant. Its "overhead" is the noise floor
# of the run (what a ratio of two identical trainings looks like on this machine). Opt-in: --variants.
CONTROL = "plain-again"
KNOWN_VARIANTS = (*VARIANTS, CONTROL)
# Resamples for the 95 % bootstrap interval of a median of paired ratios (fixed seed: tables reproduce).
BOOTSTRAP = 2000
WARMUP_CONFIG = (1, 0.001, 1e-4, 0.9)  # one epoch: imports, graph tracing, stores' schemas, caches
PROCESS_METRICS = ("fit_s", "wall_s", "cpu_s")
IN_PROCESS_METRICS = ("fit_s", "train_s", "total_s")

# --quick: every epoch count once, the learning-rate / decay / momentum extremes spread over them.
QUICK = [
    (20, 0.0005, 1e-4, 0.5),
    (50, 0.001, 1e-6, 0.9),
    (100, 0.002, 1e-4, 0.9),
]
QUICK_REPEAT = 2


def child_env() -> dict[str, str]:
    """Pinned threads and quiet libraries, the same for every variant."""
    env = dict(os.environ)
    env.update({
        "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1", "PYTHONHASHSEED": "0", "GIT_PYTHON_REFRESH": "quiet",
        "MLFLOW_TRACKING_URI": "", "PYTHONWARNINGS": "ignore",
    })
    env.pop("PROVINSTR_STRICT", None)
    return env


def command(variant: str, args: list[str], work: Path, rules: Path | None = None) -> tuple[list[str], dict]:
    """The command line and environment of one variant.

    provinstr-NAME uses the rule file WORK/rules-provinstr-NAME.toml when there is one (bench/short_epochs.py
    writes them); mlflow-batch logs every batch instead of every epoch.
    """
    env = child_env()
    if variant in ("plain", CONTROL):
        return [PYTHON, str(SCRIPT), *args], env
    if variant.startswith("provinstr"):
        rules = rules or (work / f"rules-{variant}.toml")
        extra = ["--rules", str(rules)] if rules.exists() else []
        return [PYTHON, "-m", "provinstr", "run", "--store", str(work / ".provinstr"), *extra, str(SCRIPT), *args], env
    if variant.startswith("mlflow"):
        env["MLFLOW_TRACKING_URI"] = mlflow_uri(work)
        return [PYTHON, str(SCRIPT), *args, "--mlflow", mlflow_mode(variant)], env
    raise ValueError(variant)


def mlflow_mode(variant: str) -> str:
    """bench/models.py's --mlflow mode of an MLflow variant: model, batch or nomodel."""
    return "model" if variant.endswith("+model") else "batch" if variant.endswith("-batch") else "nomodel"


def mlflow_uri(work: Path) -> str:
    """The MLflow tracking store of a run: SQLite in the work folder (as a user's local setup would be)."""
    return f"sqlite:///{work / 'mlflow.db'}"


def run_once(variant: str, args: list[str], work: Path, rules: Path | None = None, timeout: float = 1800) -> dict:
    """Run one training process; its wall, CPU, peak RSS and the script's own BENCH report."""
    cmd, env = command(variant, args, work, rules)
    start = time.perf_counter()
    process = _Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=timeout)  # communicate reaps via waitpid; rusage below
    wall = time.perf_counter() - start
    record = {"variant": variant, "wall_s": wall, "rc": process.returncode}
    usage = getattr(process, "_bench_rusage", None)
    if usage is not None:
        record.update(usage)
    report = [line for line in out.splitlines() if line.startswith("BENCH ")]
    if process.returncode != 0 or not report:
        record["error"] = (err or out)[-2000:]
        return record
    data = json.loads(report[-1][6:])
    data.update(epoch_summary(data.pop("epoch_s")))
    record.update(data)
    return record


def epoch_summary(epoch_s: list[float]) -> dict:
    """The first epoch (graph tracing included) and the median of the others (the steady state)."""
    return {"epoch_median_s": statistics.median(epoch_s[1:] or epoch_s), "first_epoch_s": epoch_s[0]}


class _Popen(subprocess.Popen):
    """Popen that keeps the child's own rusage (CPU seconds, peak RSS) from wait4 (run_once's children only)."""

    def _try_wait(self, wait_flags):
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            self._bench_rusage = {"cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_mb": usage.ru_maxrss / 1024}
        return pid, status


def machine() -> dict:
    """What the numbers were measured on."""
    info = {"python": platform.python_version(), "platform": platform.platform(), "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["loadavg_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    for package in ("keras", "tensorflow-cpu", "tensorflow", "mlflow", "pyoxigraph"):
        try:
            from importlib.metadata import version
            info[package] = version(package)
        except Exception:  # noqa: BLE001
            info[package] = None
    sys.path.insert(0, str(ROOT))
    try:
        import provinstr
        info["provinstr"] = provinstr.__version__
    except Exception:  # noqa: BLE001
        info["provinstr"] = None
    return info


def script_args(config: tuple, extra: list[str]) -> list[str]:
    """bench/models.py's arguments for one configuration (epochs, lr, decay, momentum)."""
    epochs, lr, decay, momentum = config
    return ["--epochs", str(epochs), "--lr", str(lr), "--decay", str(decay), "--momentum", str(momentum), *extra]


def parse_config(text: str) -> tuple:
    """E/LR/DECAY/MOMENTUM (the --configs syntax) as (epochs, lr, decay, momentum)."""
    epochs, *rest = text.split("/")
    return (int(epochs), *(float(value) for value in rest))


def config_text(config: tuple) -> str:
    """The inverse of parse_config (floats written by repr, so they read back exactly)."""
    return "/".join(str(value) for value in config)


def rotated(variants: tuple, step: int) -> tuple:
    """The variants in the order of the step-th (configuration, repetition): each goes first in turn."""
    shift = step % len(variants)
    return variants[shift:] + variants[:shift]


def progress_line(record: dict) -> str:
    """One printed line per timed training; process mode's line is what records_from_log reads back."""
    if "error" in record:
        return f"  {record['variant']} {tuple(record['config'])} FAILED: {record['error'][-400:]}"
    head = f"rep {record['rep']} {str(tuple(record['config'])):28s} {record['variant']:13s}"
    if "wall_s" in record:  # a process
        middle = (f"fit {record['fit_s']:6.2f}s  wall {record['wall_s']:6.2f}s  cpu {record.get('cpu_s', 0):6.2f}s  "
                  f"rss {record.get('maxrss_mb', 0):5.0f}MB")
    else:  # a training inside a worker
        middle = f"fit {record['fit_s']:6.2f}s  train {record['train_s']:6.2f}s  total {record['total_s']:6.2f}s"
    return f"{head} {middle}  epoch0 {record['first_epoch_s']:.2f}s  epoch {record['epoch_median_s']:.3f}s"


def keep(record: dict, records: list[dict], partial: Path | None, log=print) -> None:
    """Add a timed training's record, append it to the partial JSON lines (a run cut short keeps it), print it."""
    records.append(record)
    if partial is not None:
        with open(partial, "a") as handle:
            handle.write(json.dumps(record) + "\n")
    log(progress_line(record))


def measure(configs: list[tuple], variants: tuple, repeat: int, extra: list[str], work: Path,
            rules: Path | None = None, log=print, partial: Path | None = None, first_rep: int = 0) -> list[dict]:
    """Warm up each variant once, then run repetition by repetition, variants interleaved (rotating order).

    With `partial`, the records so far are rewritten there (JSON lines) after every process, so a run
    cut short still leaves its numbers.
    """
    records: list[dict] = []
    for variant in variants:
        warm = run_once(variant, script_args(WARMUP_CONFIG, extra), work, rules)
        log(f"warm-up {variant:13s} wall {warm['wall_s']:.1f}s" + (f"  ERROR {warm['error'][-300:]}" if "error" in warm else ""))
    for rep in range(first_rep, first_rep + repeat):
        for index, config in enumerate(configs):
            for variant in rotated(variants, rep * len(configs) + index):
                record = run_once(variant, script_args(config, extra), work, rules)
                record.update({"config": list(config), "rep": rep})
                keep(record, records, partial, log)
    return records


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


def summarize(records: list[dict], variants: tuple, metric: str = "fit_s") -> list[dict]:
    """Per configuration: the median of `metric` for each variant and its ratio to plain."""
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
        cells += [f"{(row[v + '_ratio'] - 1) * 100:+.1f} %" if v + "_ratio" in row else "-" for v in variants[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    for label, pick in (("median", statistics.median), ("worst", max)):
        cells = [f"**{label}**", "", "", ""] + [""] * len(variants)
        for v in variants[1:]:
            ratios = [row[v + "_ratio"] for row in rows if v + "_ratio" in row]
            cells.append(f"**{(pick(ratios) - 1) * 100:+.1f} %**" if ratios else "-")
        lines.append("| " + " | ".join(cells) + " |")
    if records is not None:
        cells = ["**median of paired ratios [95 % interval]**", "", "", ""] + [""] * len(variants)
        for v in variants[1:]:
            ratios = paired_ratios(records, v, metric, variants[0])
            cells.append(paired_summary(ratios) if ratios else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_LOG_LINE = re.compile(r"^rep (\d+) \(([^)]*)\)\s+(\S+)\s+fit\s+([\d.]+)s\s+wall\s+([\d.]+)s\s+cpu\s+([\d.]+)s"
                       r"\s+rss\s+([\d.]+)MB(?:\s+epoch0\s+([\d.]+)s\s+epoch\s+([\d.]+)s)?")


def records_from_log(text: str) -> list[dict]:
    """The records of a run cut short, rebuilt from its printed progress lines (fit, wall, cpu, rss)."""
    records = []
    for line in text.splitlines():
        match = _LOG_LINE.match(line)
        if not match:
            continue
        rep, config, variant, fit, wall, cpu, rss, first, epoch = match.groups()
        record = {"variant": variant, "rep": int(rep), "config": [float(c) if "." in c or "e" in c else int(c)
                                                                  for c in config.split(", ")],
                  "fit_s": float(fit), "wall_s": float(wall), "cpu_s": float(cpu), "maxrss_mb": float(rss),
                  "from_log": True}
        if first is not None:
            record.update({"first_epoch_s": float(first), "epoch_median_s": float(epoch)})
        records.append(record)
    return records


def measured_command() -> str:
    """This command line as it measured (without --from-log LOG / --out FILE)."""
    argv, kept = sys.argv[1:], []
    while argv:
        arg = argv.pop(0)
        if arg in ("--from-log", "--out"):
            argv = argv[1:]
        elif not arg.startswith(("--from-log=", "--out=")):
            kept.append(arg)
    return " ".join(["python", f"bench/{Path(sys.argv[0]).name}", *kept])


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
                        help="default bench/results/grid.json (grid-inprocess.json with --in-process)")
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
        options.out = str(BENCH / "results" / ("grid-inprocess.json" if options.in_process else "grid.json"))
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
        records = records_from_log(Path(options.from_log).read_text())
        info["note"] = f"records rebuilt from the progress lines of a run cut short ({options.from_log})"
        repeat = max((r["rep"] for r in records), default=-1) + 1
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
        info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
        info["seconds"] = time.perf_counter() - started
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
