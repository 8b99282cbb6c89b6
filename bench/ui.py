"""provinstr ui against MLflow's UI in headless Chromium: time to first paint and to real content (issue 17).

The data: bench/benchlib/sweep.py's synthetic sweep (N runs x 100 epochs x 5 metrics, a group per 100
runs, every 50th run failed part-way) plus one run of 1,000 epochs (`denseed-long-1000`, group `long`),
written through provinstr's real recorder into a local store and with `MlflowClient().log_batch` into an
MLflow SQLite store (`sqlite:///WORK/mlflow.db`, artifacts under WORK/mlruns), each writer a process of
its own, both at once. The stores grow: at each of --sizes only the missing runs are written (what is
there is read from the stores, so --work DIR keeps them between invocations and a cut-short write resumes).
provinstr's run catalog and index are then brought up to date with the new logs (timed, reported): what the
first command after a sweep pays (bench/scale.py measures it) is not put on the first page load.

At each size both servers are started as users start them, `provinstr ui --store WORK/store --port P` and
`mlflow ui --backend-store-uri sqlite:///WORK/mlflow.db --default-artifact-root WORK/mlruns --host
127.0.0.1 --port Q`, and one headless Chromium (Debian's, via Playwright) loads, interleaved in a rotating
order for --rounds rounds, each page in a fresh browser context ("cold": empty cache) and then, 1.1 s later,
again in that context ("cached": assets from the cache):

  provinstr /                     the runs page            content: 10 rows of the runs table
  MLflow #/experiments/ID/runs    its runs table           content: 10 rows (AG Grid rows with a run link)
  provinstr /run/ID               the 1,000-epoch run      content: the facts (header and sections) and,
                                                             separately, the learning curve (a Plotly line)
  MLflow #/experiments/ID/runs/RUN                         content: the facts (Run ID and the parameters)
  MLflow #/experiments/ID/runs/RUN/model-metrics           content: a learning curve (a Plotly line)

Each load records first contentful paint, each content check's time (painted: two animation frames after
the DOM change that satisfied it) and every request's time to first byte (benchlib/ui_browser.py). Every load
starts at least 1.1 s after the previous one (cold or cached), so provinstr's run list (shared between requests for 1 s,
provinstr/ui/recent.py) is never reused from the previous load. Before the rounds each page is loaded once
(the first load after its server started, reported apart). Medians per page, mode and size, provinstr /
MLflow ratios and the targets (content within 1 s at 10,000 runs; sooner than MLflow) as PASS / MISS
(benchlib/ui_report.py); results are rewritten to --out after every size.

  python bench/ui.py --sizes 50 200 --rounds 2 --out /tmp/ui.json        # quick check (about 5 min)
  python bench/ui.py --sizes 1000 --work /tmp/ui-work                     # keeps the stores
  python bench/ui.py --sizes 1000 10000 --work /tmp/ui-work               # then 10,000 (writing ~40 min)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib import RESULTS
from benchlib.harness import child_env
from benchlib.machine import commit, finished, loadavg, machine
from benchlib.sweep import EXPERIMENT, SweepRun, sweep, write_mlflow, write_provinstr
from benchlib.ui_browser import Browser, PageSpec, plotly_line_check, rows_check
from benchlib.ui_report import check_lines, checks, first_loads, is_api, ratio_table, ratios, size_table, summarize
from benchlib.ui_servers import mlflow_ui, provinstr_ui

PYTHON = sys.executable
SCRIPT = Path(__file__).resolve()
PAUSE_S = 1.1  # > provinstr/ui/recent.py's TTL: every provinstr load lists the store afresh
FINISHED = {"provinstr": {"completed", "failed"}, "mlflow": {"FINISHED", "FAILED"}}


@dataclass(frozen=True)
class LongRun(SweepRun):
    """The run whose page is measured: the sweep's run 0 (its hyperparameters, its curve) with more epochs."""

    @property
    def name(self) -> str:
        return f"denseed-long-{self.epochs}"

    @property
    def group(self) -> str:
        return "long"

    @property
    def failed(self) -> bool:
        return False


# -- worker processes: writing runs, reading what a store holds -----------------------------
def worker(options: argparse.Namespace) -> None:
    if options.worker == "write":
        runs = [LongRun(0, options.epochs)] if options.long else sweep(options.start, options.count, options.epochs)
        every = max(1, min(500, len(runs) // 10))
        if options.system == "provinstr":
            seconds = write_provinstr(Path(options.target), runs, every)
        else:
            seconds = write_mlflow(options.target, runs, every)
        print("BENCH " + json.dumps({"seconds": seconds, "runs": len(runs)}), flush=True)
    else:
        print("BENCH " + json.dumps(present(options.system, options.target, options.long_name)), flush=True)


def present(system: str, target: str, long_name: str) -> dict:
    """What the store holds: finished run names, the long run's id, (MLflow) the experiment's id."""
    if system == "provinstr":
        if not Path(target).exists():
            return {"names": [], "long_id": None, "unfinished": 0}
        import provinstr

        store = provinstr.open_store(target)
        began = time.perf_counter()
        infos = store.runs()  # brings the run catalog up to date with the logs written since
        listed = time.perf_counter()
        store.query("ASK { GRAPH ?g { ?s ?p ?o } }")  # and the index (a run page reads it)
        indexed = time.perf_counter()
        done = [i for i in infos if i.status in FINISHED[system]]
        long_id = next((i.id for i in done if i.name == long_name), None)
        return {"names": [i.name for i in done], "long_id": long_id, "unfinished": len(infos) - len(done),
                "catalog_s": listed - began, "index_s": indexed - listed}
    from mlflow.tracking import MlflowClient

    client = MlflowClient(target)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return {"names": [], "long_id": None, "experiment_id": None, "unfinished": 0}
    names, long_id, unfinished, token = [], None, 0, None
    while True:
        page = client.search_runs([experiment.experiment_id], max_results=5000, page_token=token)
        for run in page:
            if run.info.status not in FINISHED[system]:
                unfinished += 1
                continue
            names.append(run.info.run_name)
            if run.info.run_name == long_name:
                long_id = run.info.run_id
        token = page.token
        if not token:
            break
    return {"names": names, "long_id": long_id, "experiment_id": experiment.experiment_id, "unfinished": unfinished}


def start_worker(args: list[str], env: dict, work: Path) -> subprocess.Popen:
    """A worker (`ui.py --worker ...`), its progress lines on our stderr."""
    return subprocess.Popen([PYTHON, str(SCRIPT), *args], cwd=work, env=env, stdout=subprocess.PIPE, text=True)


def finish_worker(process: subprocess.Popen, what: str) -> dict:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {process.returncode})")
    line = next((l for l in reversed(out.splitlines()) if l.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"{what} printed no result")
    return json.loads(line[6:])


def read_both(paths: dict, env: dict, long_name: str) -> dict:
    procs = {system: start_worker(["--worker", "present", "--system", system, "--target", str(paths[system]),
                                   "--long-name", long_name], env, paths["work"])
             for system in ("provinstr", "mlflow")}
    return {system: finish_worker(proc, f"reading the {system} store") for system, proc in procs.items()}


def ranges(missing: list[int]) -> list[tuple[int, int]]:
    """Consecutive indices as (start, count)."""
    out: list[tuple[int, int]] = []
    for index in missing:
        if out and out[-1][0] + out[-1][1] == index:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((index, 1))
    return out


def grow(size: int, options: argparse.Namespace, paths: dict, env: dict) -> tuple[dict, dict]:
    """Write what each store lacks of `size` sweep runs and the long run, both systems at once; (writes, ids)."""
    long_name = LongRun(0, options.long_epochs).name
    held = read_both(paths, env, long_name)
    jobs: dict[str, list[list[str]]] = {}
    for system in ("provinstr", "mlflow"):
        names = set(held[system]["names"])
        beyond = len(names - {long_name} - {run.name for run in sweep(0, size, options.epochs)})
        if beyond:
            raise SystemExit(f"the {system} store in {paths['work']} holds {beyond} runs beyond {size:,}: "
                             "a store only grows, so measure smaller sizes in another --work folder")
        if held[system].get("unfinished"):
            print(f"  note: {system} holds {held[system]['unfinished']} unfinished runs (a write cut short); "
                  "they stay, and their runs are written again", flush=True)
        base = ["--worker", "write", "--system", system, "--target", str(paths[system])]
        jobs[system] = [] if long_name in names else [[*base, "--long", "--epochs", str(options.long_epochs)]]
        missing = [i for i, run in enumerate(sweep(0, size, options.epochs)) if run.name not in names]
        jobs[system] += [[*base, "--start", str(start), "--count", str(count), "--epochs", str(options.epochs)]
                         for start, count in ranges(missing)]
        print(f"  {system}: {len(names)} runs held, writing {len(missing)} of the sweep"
              + ("" if long_name in names else f" and {long_name}"), flush=True)
    writes: dict = {}
    began = time.perf_counter()

    def run_jobs(system: str) -> subprocess.Popen | None:
        return start_worker(jobs[system].pop(0), env, paths["work"]) if jobs[system] else None

    running = {system: run_jobs(system) for system in jobs}
    totals = {system: {"runs": 0, "seconds": 0.0} for system in jobs}
    while any(running.values()):
        for system, proc in list(running.items()):
            if proc is None or proc.poll() is None:
                continue
            record = finish_worker(proc, f"{system} writing")
            totals[system]["runs"] += record["runs"]
            totals[system]["seconds"] += record["seconds"]
            running[system] = run_jobs(system)
            if running[system] is None:
                totals[system]["wall_s"] = time.perf_counter() - began
        time.sleep(0.2)
    for system, total in totals.items():
        if total["runs"]:
            total["runs_per_s"] = total["runs"] / total["seconds"]
            print(f"  {system}: {total['runs']} runs written in {total['seconds']:.0f} s "
                  f"({total['runs_per_s']:.1f} runs/s)", flush=True)
        writes[system] = total
    held = read_both(paths, env, long_name) if any(t["runs"] for t in totals.values()) else held
    catch_up = {k: held["provinstr"].get(k) for k in ("catalog_s", "index_s")}
    print(f"  provinstr's catalog and index brought up to date before the servers start: "
          f"{catch_up['catalog_s']:.1f} s and {catch_up['index_s']:.1f} s", flush=True)
    writes["provinstr"]["catch_up"] = catch_up
    ids = {"provinstr_run": held["provinstr"]["long_id"], "mlflow_run": held["mlflow"]["long_id"],
           "mlflow_experiment": held["mlflow"]["experiment_id"],
           "runs": {system: len(held[system]["names"]) for system in held}}
    if not all((ids["provinstr_run"], ids["mlflow_run"], ids["mlflow_experiment"])):
        raise RuntimeError(f"the long run is missing from a store: {ids}")
    return writes, ids


# -- one size -----------------------------------------------------------------------------
def specs(ids: dict, provinstr_base: str, mlflow_base: str, size: int) -> list[PageSpec]:
    rows = min(10, size + 1)
    experiment, run = ids["mlflow_experiment"], ids["mlflow_run"]
    mlflow_facts = ("const e = document.querySelector('[data-testid=\"key-value-Run ID\"]');"
                    f" if (!e || !e.textContent.includes({json.dumps(run)})) return false;"
                    " for (const c of document.querySelectorAll('[role=\"cell\"] span'))"
                    " if (c.textContent === 'batch_size') return true; return false;")
    return [
        PageSpec("provinstr", "runs", provinstr_base + "/", {"rows": rows_check("#runs tbody tr a.run-link", rows)}),
        PageSpec("mlflow", "runs", f"{mlflow_base}/#/experiments/{experiment}/runs?workflowType=machine_learning",
                 {"rows": rows_check('.ag-row a[href*="/runs/"]', rows)}),
        PageSpec("provinstr", "run", f"{provinstr_base}/run/{ids['provinstr_run']}",
                 {"facts": "return !!document.querySelector('#header h1') && "
                           "!!document.querySelector('#sections [data-section]');",
                  "curve": plotly_line_check("#curves")}),
        PageSpec("mlflow", "run", f"{mlflow_base}/#/experiments/{experiment}/runs/{run}", {"facts": mlflow_facts}),
        PageSpec("mlflow", "metrics", f"{mlflow_base}/#/experiments/{experiment}/runs/{run}/model-metrics",
                 {"curve": plotly_line_check()}),
    ]


def measure(browser: Browser, pages: list[PageSpec], rounds: int, cached: bool) -> list[dict]:
    loads: list[dict] = []
    last = 0.0

    def pause() -> None:
        wait = PAUSE_S - (time.perf_counter() - last)
        if wait > 0:
            time.sleep(wait)

    print("  first loads (each page's first after its server started)", flush=True)
    for spec in pages:
        pause()
        [record] = browser.load_pair(spec, cached=False)
        last = time.perf_counter()
        record["warmup"] = True
        loads.append(record)
        progress(record)
    for round_ in range(rounds):
        print(f"  round {round_ + 1}/{rounds}", flush=True)
        order = pages[round_ % len(pages):] + pages[:round_ % len(pages)]
        for spec in order:
            pause()
            for mode_record in browser.load_pair(spec, cached=cached, between_s=PAUSE_S):
                mode_record["round"] = round_
                loads.append(mode_record)
                progress(mode_record)
            last = time.perf_counter()
    return loads


def progress(record: dict) -> None:
    def ms(value):
        return "    -" if value is None else f"{value:5.0f}"

    content = "  ".join(f"{name} {ms(value)}" for name, value in (record.get("content") or {}).items())
    server = [r["ttfb"] for r in record.get("requests", []) if r.get("ttfb") is not None and is_api(r["path"])]
    html = (record.get("nav") or {}).get("ttfb")
    error = f"  ERROR {record['error']}" if "error" in record else ""
    print(f"    {record['system']:9s} {record['page']:7s} {record['mode']:6s} FCP {ms(record.get('fcp'))} ms  "
          f"content {content or '-'} ms  html {ms(html)}  api max {ms(max(server) if server else None)} ms{error}",
          flush=True)


_ID = re.compile(r"[0-9a-f]{32}")


def request_medians(loads: list[dict]) -> dict:
    """{"system/page/mode": {request path (ids as ID): median ms to first byte}}, the HTML as 'html'."""
    out: dict = {}
    for load in loads:
        if load.get("warmup") or "error" in load:
            continue
        entry = out.setdefault(f"{load['system']}/{load['page']}/{load['mode']}", {})
        entry.setdefault("html", []).append((load.get("nav") or {}).get("ttfb"))
        for request in load.get("requests", []):
            if is_api(request["path"]):
                entry.setdefault(_ID.sub("ID", request["path"]), []).append(request.get("ttfb"))
    return {key: {path: statistics.median(v for v in values if v is not None) if any(v is not None for v in values)
                  else None for path, values in entry.items()} for key, entry in out.items()}


def compact(load: dict) -> dict:
    """A load as the result file keeps it: its data requests one by one, its assets (scripts, styles) summed up."""
    requests = load.get("requests") or []
    assets = [r for r in requests if not is_api(r["path"])]
    kept = {k: v for k, v in load.items() if k != "requests"}
    kept["requests"] = [{k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items() if k != "kind"}
                        for r in requests if is_api(r["path"])]
    kept["assets"] = {"count": len(assets), "bytes": sum(r.get("bytes") or 0 for r in assets),
                      "body_bytes": sum(r.get("body") or 0 for r in assets),
                      "end": max((r["end"] for r in assets), default=None)}
    return kept


def measure_size(size: int, options: argparse.Namespace, paths: dict, env: dict, browser: Browser) -> dict:
    record: dict = {"runs": size, "epochs": options.epochs, "long_epochs": options.long_epochs,
                    "rounds": options.rounds, "loadavg_start": loadavg()}
    began = time.perf_counter()
    print(f"\n== {size:,} runs (+ the {options.long_epochs:,}-epoch run)", flush=True)
    record["write"], record["ids"] = grow(size, options, paths, env)
    record["commit"] = commit()  # what the servers run (others may commit during a long run)
    provinstr_server, provinstr_base = provinstr_ui(paths["provinstr"], paths["work"], env)
    mlflow_server, mlflow_base = mlflow_ui(paths["mlflow"], paths["artifacts"], paths["work"], env, EXPERIMENT)
    try:
        provinstr_server.start()
        mlflow_server.start()
        record["server_start_s"] = {"provinstr": provinstr_server.started_s, "mlflow": mlflow_server.started_s}
        print(f"  servers answering: provinstr ui {provinstr_server.started_s:.1f} s ({provinstr_base}), "
              f"mlflow ui {mlflow_server.started_s:.1f} s ({mlflow_base})", flush=True)
        pages = specs(record["ids"], provinstr_base, mlflow_base, size)
        record["pages"] = [{"system": s.system, "page": s.page, "url": s.url, "checks": s.checks} for s in pages]
        loads = measure(browser, pages, options.rounds, not options.no_cached)
    finally:
        provinstr_server.stop()
        mlflow_server.stop()
    record["summary"] = summarize(loads)
    record["first"] = first_loads(loads)
    record["requests"] = request_medians(loads)
    record["ratios"] = ratios(record)
    record["loads"] = [compact(load) for load in loads]
    record["seconds"] = time.perf_counter() - began
    record["loadavg_end"] = loadavg()
    return record


def save(out: Path, result: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str))
    os.replace(tmp, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="runs in the stores")
    parser.add_argument("--epochs", type=int, default=100, help="epochs of each sweep run")
    parser.add_argument("--long-epochs", type=int, default=1000, help="epochs of the run whose page is loaded")
    parser.add_argument("--rounds", type=int, default=5, help="loads of each page per mode at each size")
    parser.add_argument("--no-cached", action="store_true", help="cold loads only (no second load in a context)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a page may take to show its content")
    parser.add_argument("--work", type=Path, help="keep the stores in this folder (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RESULTS / "ui.json")
    parser.add_argument("--worker", choices=("write", "present"), help=argparse.SUPPRESS)
    parser.add_argument("--system", choices=("provinstr", "mlflow"), help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--long", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--long-name", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker(options)
        return
    options.sizes = sorted(set(options.sizes))
    # a plain `kill` ends the run through its finally blocks: the servers it started are stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = (options.work or Path(tempfile.mkdtemp(prefix="provinstr-ui-bench-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()) and not (work / ".ui-work").exists():
        parser.error(f"{work} is not empty and not a bench/ui.py work folder")
    (work / ".ui-work").touch()
    paths = {"work": work, "provinstr": work / "store", "mlflow_db": work / "mlflow.db",
             "mlflow": f"sqlite:///{work / 'mlflow.db'}", "artifacts": work / "mlruns"}
    paths["artifacts"].mkdir(exist_ok=True)
    env = {**child_env(), "MLFLOW_TRACKING_URI": paths["mlflow"]}
    env.pop("PROVINSTR_STORE", None)
    env.pop("PROVINSTR_UI_TOKEN", None)
    started = time.perf_counter()
    info = machine()
    measured_commit = info.get("commit")
    print(f"provinstr {measured_commit}, {info.get('cores')} cores, load {info.get('loadavg_start')}; work {work}; "
          f"sizes {options.sizes}, {options.rounds} rounds", flush=True)
    result = {"machine": info, "command": " ".join(["python", *sys.argv]),
              "options": {"sizes": options.sizes, "epochs": options.epochs, "long_epochs": options.long_epochs,
                          "rounds": options.rounds, "cached": not options.no_cached, "timeout": options.timeout},
              "sizes": []}
    with Browser(timeout_s=options.timeout) as browser:
        result["machine"]["chromium"] = browser.version
        for size in options.sizes:
            result["sizes"].append(measure_size(size, options, paths, env, browser))
            print(f"\n{size_table(result['sizes'][-1])}\n", flush=True)
            if commit() != measured_commit:
                result["commit_changed"] = f"{measured_commit} -> {commit()}"
                print(f"WARNING: provinstr changed during the run: {result['commit_changed']}", flush=True)
            save(options.out, result)
    result["machine"] = finished(info, started)
    result["checks"] = [{**vars(check), "verdict": check.verdict} for check in checks(result["sizes"])]
    save(options.out, result)
    print("## provinstr / MLflow, content time (median ms)\n")
    print(ratio_table(result["sizes"]) + "\n")
    print("## Targets\n")
    print("\n".join(check_lines(result["sizes"])))
    print(f"\nresults: {options.out} ({(time.perf_counter() - started) / 60:.1f} min)")
    if not options.work:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
