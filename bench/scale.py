"""provinstr against MLflow at 100, 1,000 and 10,000 runs, side by side in one run (issue 16), and the server store.

The sweep (benchlib/sweep.py): synthetic DenseED runs of 100 epochs x 5 metrics (loss, mae, val_loss,
learning_rate, epoch_seconds) with K, L, learning_rate, ... as hyperparameters and a group (a sweep of
100 runs) each; every 50th run fails part-way. The store grows 100 -> 1,000 -> 10,000: at each size only
the new runs are written, through provinstr's real recorder (`provinstr.run(...)`, an `Activity`, a
flush per epoch) into a local store, and the same runs into MLflow (SQLite tracking store, one run
each, params, a `group` tag and `log_batch` of the metrics with steps).

At each size the same questions (benchlib/questions.py: the listing, `--where ... --sort val_loss
--limit 20`, `--group`, the seed's queries (a) and (b), `show last`) are asked of both:
  new process  as a user runs them: `python -m provinstr ...` / a `python -c` script importing mlflow;
               --calls times each, "first" is the first call after the runs were written (provinstr's
               first `runs` folds the new logs into the catalog, its first query (a) the index),
               "warm" the median of the others; wall time and the process's peak RSS
  in-process   one Python process per system (open_store(path) / MlflowClient): --api-calls calls of
               each question, first and warm median; the process's peak RSS
and their answers are compared (counts, names in order). Bytes on disk per recorded metric value:
provinstr's logs / index / catalog (models excluded; there are none), MLflow's SQLite file.

The server store (issue 16 item 6), at each of --server-sizes: a real `oxigraph serve`; the new runs
sent with `provinstr push --to URL --store DIR` (timed), then `provinstr runs --store URL` and the
queries (a), (b) through it, new process and in-process (open_store(URL)).

Prints progress, a table per size and at the end the provinstr / MLflow ratios, the server's table and
every target as PASS / MISS; the results so far are rewritten to --out after every size (a run cut
short keeps them). On a 2-core VM: 100 runs 2.4 min, 1,000 runs 23 min, 10,000 runs an estimated
3-4 h (bench/README.md says where the time goes).

  python bench/scale.py                                 # 100, 1,000, 10,000 runs, server at each
  python bench/scale.py --sizes 20 100 --calls 2 --api-calls 2 --out /tmp/scale.json   # quick check
  python bench/scale.py --sizes 100 1000 --server-sizes 1000 --work /tmp/scale-work    # keep the stores
  python bench/scale.py --sizes 10000 --server-sizes 10000 --without-mlflow          # the server store alone
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import RESULTS
from benchlib.disk import folder_bytes, provinstr_bytes
from benchlib.harness import child_env, timed_process
from benchlib.machine import commit, finished, loadavg, machine
from benchlib.questions import (
    PROVINSTR_COMMANDS,
    QUESTIONS,
    SERVER_QUESTIONS,
    mlflow_questions,
    mlflow_script,
    provinstr_questions,
)
from benchlib.scale_report import check_lines, checks, ratio_table, server_table, size_table
from benchlib.sparql_server import OxigraphServer
from benchlib.sweep import metric_values, sweep, write_mlflow, write_provinstr

PYTHON = sys.executable
SCRIPT = Path(__file__).resolve()
TIMEOUT_S = 4 * 3600  # one process at most (MLflow writing 9,000 runs is the longest)
PUSH_HTTP_TIMEOUT_S = 3600  # PROVINSTR_HTTP_TIMEOUT of `provinstr push` (provinstr's default: 10 s per batch)


# -- the worker processes: writing, and the in-process questions --------------------------
def worker(options: argparse.Namespace) -> None:
    """One child process: write runs into one system, or ask it every question in-process; prints BENCH {json}."""
    if options.worker == "write":
        runs = sweep(options.start, options.count, options.epochs)
        write = write_provinstr if options.system == "provinstr" else write_mlflow
        seconds = write(Path(options.target) if options.system == "provinstr" else options.target, runs)
        print("BENCH " + json.dumps({"seconds": seconds}), flush=True)
        return
    began = time.perf_counter()
    if options.system == "provinstr":
        import provinstr

        imported = time.perf_counter()
        questions = provinstr_questions(provinstr.open_store(options.target))
    else:
        import mlflow  # noqa: F401 - imported here to time the import apart from opening the store

        imported = time.perf_counter()
        questions = mlflow_questions(options.target)
    opened = time.perf_counter()
    record: dict = {"import_s": imported - began, "open": {"seconds": opened - imported}}
    print("BENCH " + json.dumps(record), flush=True)
    for question in options.questions:
        call, digest = questions[question]
        times, answer, error = [], None, None
        for _ in range(options.calls):
            start = time.perf_counter()
            try:
                result = call()
            except Exception as problem:  # noqa: BLE001 - recorded; the other questions are still asked
                times.append(time.perf_counter() - start)
                error = f"{type(problem).__name__}: {problem}"[-600:]
                break  # asked again, it would fail again (or take as long again)
            times.append(time.perf_counter() - start)
            answer = digest(result) if answer is None else answer
            del result
        record[question] = {"first_s": times[0], "warm_s": statistics.median(times[1:] or times), "all_s": times,
                            "answer": answer, **({"error": error} if error else {})}
        print(f"      {options.system} in-process {question:8s} first {times[0]:8.3f} s  "
              f"warm {record[question]['warm_s']:8.3f} s" + (f"  ERROR {error[-300:]!r}" if error else ""),
              file=sys.stderr, flush=True)
        print("BENCH " + json.dumps(record), flush=True)  # so far: a worker killed later (memory) keeps these


def run_worker(args: list[str], env: dict, what: str) -> dict:
    """Start a worker (`scale.py --worker ...`), its progress on our stderr; its record, wall and peak RSS."""
    record = timed_process([PYTHON, str(SCRIPT), *args], env, Path(env["SCALE_WORK"]), TIMEOUT_S, show_stderr=True,
                           keep_output=True)
    output = record.pop("output", "")
    if "error" in record:
        said = [line for line in output.splitlines() if not line.startswith("BENCH ")]  # its stderr was shown
        record["error"] = f"exited with {record['rc']}" + (": " + "\n".join(said)[-600:] if said else "")
        print(f"    {what} FAILED: {record['error']}", flush=True)
        done = [line for line in output.splitlines() if line.startswith("BENCH ")]
        if done:  # what it measured before it failed
            record.update({k: v for k, v in json.loads(done[-1][6:]).items() if k not in record})
    return record


# -- one size ---------------------------------------------------------------------------
def timed_calls(cmd: list[str], env: dict, calls: int, timeout: float = TIMEOUT_S) -> dict:
    """`calls` new processes of one command: first and warm median wall, peak RSS, errors (a failed call is
    not repeated: it would fail again, or take as long again)."""
    records = []
    for _ in range(calls):
        records.append(timed_process(cmd, env, Path(env["SCALE_WORK"]), timeout, report=False))
        if "error" in records[-1]:
            break
    times = [r["wall_s"] for r in records]
    out = {"first_s": times[0], "warm_s": statistics.median(times[1:] or times), "all_s": times,
           "maxrss_mb": max(r.get("maxrss_mb", 0) for r in records), "cpu_s": [r.get("cpu_s") for r in records]}
    errors = [r["error"][-600:] for r in records if "error" in r]
    if errors:
        out["error"] = errors[0]
    return out


def cli_provinstr(store: str, env: dict, calls: int, questions=QUESTIONS, timeout: float = TIMEOUT_S,
                  after_failure=None) -> dict:
    out = {}
    for question in questions:
        out[question] = timed_calls([PYTHON, "-m", "provinstr", *PROVINSTR_COMMANDS[question], "--store", store],
                                    env, calls, timeout)
        progress("provinstr", "new process", question, out[question])
        if "error" in out[question] and after_failure is not None:
            after_failure()
    return out


def cli_mlflow(uri: str, env: dict, calls: int) -> dict:
    out = {}
    for question in QUESTIONS:
        out[question] = timed_calls([PYTHON, "-c", mlflow_script(question, uri)], env, calls)
        progress("MLflow", "new process", question, out[question])
    return out


def progress(system: str, how: str, question: str, record: dict) -> None:
    error = f"  ERROR {record['error'][-300:]!r}" if "error" in record else ""
    print(f"      {system} {how} {question:8s} first {record['first_s']:8.3f} s  warm {record['warm_s']:8.3f} s  "
          f"rss {record['maxrss_mb']:5.0f} MB{error}", flush=True)


def agreement(provinstr: dict, mlflow: dict, questions=QUESTIONS) -> dict:
    """{question: whether both answered alike} (None where one of them has no answer)."""
    out = {}
    for question in questions:
        a, b = (provinstr.get(question) or {}).get("answer"), (mlflow.get(question) or {}).get("answer")
        out[question] = None if a is None or b is None else a == b
        if out[question] is False:
            print(f"    WARNING: the answers to {question} differ: {a!r:.200} vs {b!r:.200}", flush=True)
    return out


def measure_size(size: int, written: int, options: argparse.Namespace, paths: dict, env: dict,
                 server: OxigraphServer | None) -> dict:
    store, uri = str(paths["store"]), paths["mlflow"]
    record: dict = {"runs": size, "new_runs": size - written, "epochs": options.epochs,
                    "metric_values": metric_values(size, options.epochs), "loadavg_start": loadavg()}
    began = time.perf_counter()
    print(f"\n== {size:,} runs: writing {size - written:,} new runs", flush=True)
    record["write"] = {}
    systems = [(system, target) for system, target in (("provinstr", store), ("mlflow", uri))
               if system in options.systems]
    for system, target in systems:
        args = ["--worker", "write", "--system", system, "--target", target, "--start", str(written),
                "--count", str(size - written), "--epochs", str(options.epochs)]
        record["write"][system] = run_worker(args, env, f"{system} writing")
        print(f"    {system}: {size - written:,} runs in {record['write'][system].get('seconds', float('nan')):.1f} s "
              f"(process {record['write'][system]['wall_s']:.1f} s)", flush=True)
    print(f"  -- questions, new processes ({options.calls} calls each)", flush=True)
    record["cli"] = {"provinstr": cli_provinstr(store, env, options.calls)}
    if "mlflow" in options.systems:
        record["cli"]["mlflow"] = cli_mlflow(uri, env, options.calls)
    print(f"  -- questions, in-process ({options.api_calls} calls each)", flush=True)
    record["api"] = {}
    for system, target in systems:
        args = ["--worker", "ask", "--system", system, "--target", target, "--calls", str(options.api_calls)]
        record["api"][system] = run_worker(args, env, f"{system} in-process")
    record["agree"] = agreement(record["api"]["provinstr"], record["api"].get("mlflow", {}))
    split = provinstr_bytes(paths["store"])
    values = record["metric_values"]
    record["bytes"] = {"provinstr": {**split, "per_value": split["total"] / values,
                                     **{f"{k}_per_value": split[k] / values for k in ("logs", "index", "catalog", "other")}},
                       "mlflow": {"total": folder_bytes(paths["mlflow_db"]),
                                  "per_value": folder_bytes(paths["mlflow_db"]) / values}}
    if "mlflow" not in options.systems:
        del record["bytes"]["mlflow"]
    if server is not None and size in options.server_sizes:
        record["server"] = {}
        try:
            measure_server(server, record, options, paths, env, record["server"])
        except Exception as problem:  # noqa: BLE001 - the run goes on; the tables say the server part failed
            print(f"    the server part FAILED: {type(problem).__name__}: {problem}", flush=True)
            record["server"]["error"] = f"{type(problem).__name__}: {problem}"[-2000:]
    record["seconds"] = time.perf_counter() - began
    record["loadavg_end"] = loadavg()
    return record


def measure_server(server: OxigraphServer, record: dict, options: argparse.Namespace, paths: dict, env: dict,
                   out: dict) -> None:
    """Push the store's unsent runs to the server (`provinstr push`), then ask it the server questions; into `out`."""
    print(f"  -- SPARQL server store {server.url}: provinstr push", flush=True)
    # The server may take longer than provinstr's default HTTP timeout (10 s) to answer: the push waits for it.
    env = {**env, "PROVINSTR_HTTP_TIMEOUT": str(PUSH_HTTP_TIMEOUT_S)}
    push = timed_process([PYTHON, "-m", "provinstr", "push", "--to", server.url, "--store", str(paths["store"])],
                         env, paths["work"], TIMEOUT_S, report=False, keep_output=True)
    found = re.search(r"pushed (\d+) of (\d+) runs \((\d+) records\)", push.pop("output", ""))
    out["push"] = {k: push.get(k) for k in ("wall_s", "rc", "maxrss_mb", "cpu_s", "error") if k in push}
    if "error" in push:
        print(f"    push FAILED: {push['error'][-600:]}", flush=True)
    out["push"].update(_push_counts(push, found))
    print(f"    pushed {out['push'].get('runs')} runs, {out['push'].get('lines')} lines in {push['wall_s']:.1f} s "
          f"({out['push'].get('lines_per_s') or 0:,.0f} lines/s)", flush=True)
    # Reads wait up to --server-timeout per SPARQL request; a read that failed is not asked again (in-process
    # neither), and the server is restarted after it, so that a query it is still answering holds no core.
    server_env = {**env, "PROVINSTR_SPOOL": str(paths["spool"]),  # a reader's spool of its own, empty
                  "PROVINSTR_HTTP_TIMEOUT": str(options.server_timeout)}
    out["cli"] = cli_provinstr(server.url, server_env, options.server_calls, SERVER_QUESTIONS,
                               timeout=3 * options.server_timeout + 300, after_failure=server.restart)
    asked = [q for q in SERVER_QUESTIONS if "error" not in out["cli"][q]]
    args = ["--worker", "ask", "--system", "provinstr", "--target", server.url, "--calls", str(options.server_calls),
            "--questions", *asked]
    out["api"] = run_worker(args, server_env, "provinstr in-process through the server") if asked else {}
    for question in SERVER_QUESTIONS:
        if question not in asked:
            out["api"][question] = {"first_s": None, "warm_s": None, "all_s": [],
                                    "error": "not asked: it failed as a new process"}
    if any("error" in (out["api"].get(q) or {}) for q in asked) or "error" in out["api"]:
        server.restart()
    out["agree"] = agreement(out["api"], record["api"]["provinstr"], SERVER_QUESTIONS)
    out["http_timeout_s"] = options.server_timeout
    # The live folder is mostly RocksDB's write-ahead log; `oxigraph optimize` (server stopped) compacts it.
    live, values = folder_bytes(server.folder), record["metric_values"]
    out["bytes"] = {"total": live, "per_value": live / values}
    print(f"    server folder {live / 1e9:.2f} GB; stopping it for `oxigraph optimize`", flush=True)
    optimize_s = server.optimize()
    compact = folder_bytes(server.folder)
    print(f"    after `oxigraph optimize` ({optimize_s:.0f} s): {compact / 1e9:.2f} GB; server restarted", flush=True)
    out["bytes"].update({"optimized": compact, "optimized_per_value": compact / values, "optimize_s": optimize_s})


def _push_counts(push: dict, found) -> dict:
    if not found:
        return {}
    lines = int(found.group(3))
    return {"runs": int(found.group(1)), "of_runs": int(found.group(2)), "lines": lines,
            "lines_per_s": lines / push["wall_s"] if push["wall_s"] else None}


# -- the whole run ----------------------------------------------------------------------
def room_for(size: int, written: int, done: list[dict], options: argparse.Namespace, work: Path) -> bool:
    """Whether the disk has room for the next size, judged by the bytes per value of the last one measured;
    without room for the server's copy too, the server is left out at this size (said so). 2 GB kept free."""
    if not done:
        return True
    last, new_values = done[-1], metric_values(size, options.epochs) - metric_values(written, options.epochs)
    local = (last["bytes"]["provinstr"]["per_value"] + last["bytes"].get("mlflow", {}).get("per_value", 0)) \
        * new_values * 1.3
    # The server: its compacted bytes per value for what is pushed now, and room for a write-ahead log
    # three times the largest seen (it is compacted after each size).
    served = [d["server"]["bytes"] for d in done if "optimized" in d.get("server", {}).get("bytes", {})]
    pushed_since = max((d["runs"] for d in done if d.get("server", {}).get("push")), default=0)
    remote = (max((b["optimized_per_value"] for b in served), default=0) * 1.3
              * (metric_values(size, options.epochs) - metric_values(pushed_since, options.epochs))
              + 3 * max((b["total"] - b["optimized"] for b in served), default=0))
    free = shutil.disk_usage(work).free - 2e9
    print(f"disk: {free / 1e9:.1f} GB free beyond 2 GB; {size:,} runs need about {local / 1e9:.1f} GB"
          + (f" + {remote / 1e9:.1f} GB on the server" if size in options.server_sizes else ""), flush=True)
    if local > free:
        print(f"STOPPED: not enough free disk for {size:,} runs", flush=True)
        return False
    if size in options.server_sizes and local + remote > free:
        print(f"WARNING: no room for the server's copy: the server store is not measured at {size:,} runs",
              flush=True)
        options.server_sizes = [s for s in options.server_sizes if s != size]
    return True


def startup(paths: dict, env: dict) -> dict:
    """What the CLI costs before any run: `provinstr runs` on an empty store; `python -c "import mlflow"`."""
    empty = paths["work"] / "empty-store"
    provinstr = [timed_process([PYTHON, "-m", "provinstr", "runs", "--store", str(empty)], env, paths["work"],
                               report=False)["wall_s"] for _ in range(3)]
    mlflow = [timed_process([PYTHON, "-c", "import mlflow"], env, paths["work"], report=False)["wall_s"]
              for _ in range(3)]
    print(f"start-up: `provinstr runs` on an empty store {statistics.median(provinstr):.2f} s, "
          f"`python -c 'import mlflow'` {statistics.median(mlflow):.2f} s (medians of 3)", flush=True)
    return {"provinstr_runs_empty_s": provinstr, "mlflow_import_s": mlflow}


def save(out: Path, result: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str))
    os.replace(tmp, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000], help="store sizes (runs)")
    parser.add_argument("--server-sizes", type=int, nargs="*", default=None,
                        help="sizes at which the server store is measured (default: every size; none: no server)")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--calls", type=int, default=4, help="new processes of each command at each size")
    parser.add_argument("--api-calls", type=int, default=5, help="in-process calls of each question at each size")
    parser.add_argument("--server-calls", type=int, default=3,
                        help="calls of each question through the server, new processes and in-process")
    parser.add_argument("--server-timeout", type=float, default=1800,
                        help="seconds a read through the server may wait for one SPARQL request (its "
                             "PROVINSTR_HTTP_TIMEOUT; provinstr's default is 10); past it the read fails")
    parser.add_argument("--without-mlflow", dest="systems", action="store_const", const=("provinstr",),
                        default=("provinstr", "mlflow"),
                        help="provinstr alone (e.g. the server store at 10,000 runs): no ratios, no MLflow time")
    parser.add_argument("--work", type=Path, help="keep the stores in this folder (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    # a worker process (started by this script)
    parser.add_argument("--worker", choices=("write", "ask"), help=argparse.SUPPRESS)
    parser.add_argument("--system", choices=("provinstr", "mlflow"), help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--questions", nargs="+", default=list(QUESTIONS), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker(options)
        return
    options.sizes = sorted(set(options.sizes))
    options.server_sizes = options.sizes if options.server_sizes is None else sorted(set(options.server_sizes))
    work = options.work or Path(tempfile.mkdtemp(prefix="provinstr-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()) and not (work / ".scale-work").exists():
        parser.error(f"{work} is not empty and not a scale.py work folder")
    (work / ".scale-work").touch()
    for leftover in ("store", "mlflow.db", "server", "spool", "empty-store", "mlruns", "mlartifacts"):
        if (work / leftover).is_dir():
            shutil.rmtree(work / leftover)
        elif (work / leftover).exists():
            (work / leftover).unlink()
    paths = {"work": work, "store": work / "store", "mlflow_db": work / "mlflow.db",
             "mlflow": f"sqlite:///{work / 'mlflow.db'}", "spool": work / "spool"}
    # Every process runs in the work folder (a user's project folder; MLflow's relative paths land there).
    env = {**child_env(), "COLUMNS": "200", "MLFLOW_TRACKING_URI": paths["mlflow"], "SCALE_WORK": str(work)}
    env.pop("PROVINSTR_STORE", None)
    started = time.perf_counter()
    info = machine()
    measured_commit = info.get("commit")
    print(f"provinstr {measured_commit}, {info.get('cores')} cores, load {info.get('loadavg_start')}; work {work}; "
          f"sizes {options.sizes}, server at {options.server_sizes or 'none'}", flush=True)
    result = {"machine": info, "command": " ".join(["python", *sys.argv]),
              "options": {"sizes": options.sizes, "server_sizes": options.server_sizes, "epochs": options.epochs,
                          "calls": options.calls, "api_calls": options.api_calls,
                          "server_calls": options.server_calls, "server_timeout_s": options.server_timeout,
                          "systems": list(options.systems)},
              "startup": startup(paths, env), "sizes": []}
    server = OxigraphServer(work / "server").start() if options.server_sizes else None
    try:
        written = 0
        for size in options.sizes:
            if not room_for(size, written, result["sizes"], options, work):
                result["stopped"] = f"not enough free disk for {size:,} runs"
                break
            result["sizes"].append(measure_size(size, written, options, paths, env, server))
            written = size
            print(f"\n{size_table(result['sizes'][-1])}\n", flush=True)
            if "server" in result["sizes"][-1]:
                print(server_table(result["sizes"][-1:]) + "\n", flush=True)
            if commit() != measured_commit:
                result["commit_changed"] = f"{measured_commit} -> {commit()}"
                print(f"WARNING: provinstr changed during the run: {result['commit_changed']}", flush=True)
            save(options.out, result)
    finally:
        if server is not None:
            server.stop()
    result["machine"] = finished(info, started)
    result["checks"] = [{**vars(check), "verdict": check.verdict} for check in checks(result["sizes"])]
    save(options.out, result)
    print("## provinstr / MLflow, per size (MISS: provinstr not faster)\n")
    print(ratio_table(result["sizes"]) + "\n")
    if any("server" in size for size in result["sizes"]):
        print(server_table(result["sizes"]) + "\n")
    print("## Targets\n")
    print("\n".join(check_lines(result["sizes"])))
    print(f"\nresults: {options.out} ({(time.perf_counter() - started) / 60:.1f} min)")
    if not options.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
