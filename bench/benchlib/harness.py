"""The process harness: one training per process (bench/models.py), variants interleaved in a rotating order.

Used by bench/overhead_grid.py (the seed's grid) and bench/short_epochs.py (short epochs); the variants'
names and bench/models.py's arguments are also those of bench/grid_worker.py, which runs them in-process.
bench/torch_overhead.py times its own scripts' processes with timed_process.

Variants:
  plain, plain-again  python bench/models.py ARGS (plain-again: plain timed again, the run's noise floor)
  provinstr[-NAME]    python -m provinstr run --store W/.provinstr [--rules W/rules-provinstr-NAME.toml] ...
  mlflow[+model|-batch]  python bench/models.py ARGS --mlflow nomodel|model|batch (SQLite tracking store)
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import BENCH
from benchlib.stats import rotated

SCRIPT = BENCH / "models.py"
PYTHON = sys.executable

VARIANTS = ("plain", "provinstr", "mlflow", "mlflow+model")
# The A/A control: plain Keras timed again as if it were a variant. Its "overhead" is the noise floor
# of the run (what a ratio of two identical trainings looks like on this machine). Opt-in: --variants.
CONTROL = "plain-again"
KNOWN_VARIANTS = (*VARIANTS, CONTROL)
WARMUP_CONFIG = (1, 0.001, 1e-4, 0.9)  # one epoch: imports, graph tracing, stores' schemas, caches


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
    record = {"variant": variant, **timed_process(cmd, env, work, timeout)}
    if "error" not in record:
        record.update(epoch_summary(record.pop("epoch_s")))
    return record


def timed_process(cmd: list[str], env: dict, cwd: Path, timeout: float = 1800, report: bool = True,
                  show_stderr: bool = False, keep_output: bool = False) -> dict:
    """Run one process: its wall, CPU and peak RSS, return code and (`report`) the last BENCH {json} it printed.

    A process that failed, or printed no BENCH line when one is expected, has "error" (the end of its output);
    one still running after `timeout` seconds is killed (rc -9, "error" says so).
    With `show_stderr` its stderr (progress lines) goes to ours instead of being kept; with `keep_output`
    the end of its stdout is the record's "output".
    """
    start = time.perf_counter()
    process = _Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=None if show_stderr else subprocess.PIPE,
                     text=True)
    try:
        out, err = process.communicate(timeout=timeout)  # communicate reaps via waitpid; rusage below
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        err = f"{err or ''}\nkilled after {timeout:.0f} s"
    record = {"wall_s": time.perf_counter() - start, "rc": process.returncode}
    usage = getattr(process, "_bench_rusage", None)
    if usage is not None:
        record.update(usage)
    if keep_output:
        record["output"] = out[-4000:]
    lines = [line for line in out.splitlines() if line.startswith("BENCH ")]
    if process.returncode != 0 or (report and not lines):
        record["error"] = (err or out)[-2000:]
    elif lines:
        record.update(json.loads(lines[-1][6:]))
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


def rebuilt(log: str, info: dict) -> tuple[list[dict], int]:
    """--from-log LOG: the records of a run cut short and its repetitions; `info` (machine facts) notes it."""
    records = records_from_log(Path(log).read_text())
    info["note"] = f"records rebuilt from the progress lines of a run cut short ({log})"
    return records, max((r["rep"] for r in records), default=-1) + 1


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
