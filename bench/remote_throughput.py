"""Records per second to a SPARQL server, and the capture overhead of a server store against a local one.

    python bench/remote_throughput.py                    # starts its own `oxigraph serve` on a free port
    python bench/remote_throughput.py --url http://HOST:PORT --records 50000

Prints: push throughput (N-Quads lines/s by SPARQL Update batches) for a few batch sizes; for a local
store and a server store, the training thread's cost per captured metric, the time until everything
is in the local log, and (server store) until everything is on the server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from benchlib.sparql_server import OxigraphServer

import provinstr
from provinstr.capture.run import start_run
from provinstr.store import logs, sync
from provinstr.store.local import LocalStore
from provinstr.store.remote import Endpoint


def capture(store: str, records: int) -> tuple[float, float, Path]:
    """(seconds on the training thread, seconds until all is in the local log, the log)."""
    run = start_run(name="bench", store=store)
    started = time.perf_counter()
    for i in range(records):
        provinstr.log_metric("loss", 1.0 / (i + 1), epoch=i)
    calls = time.perf_counter() - started
    run.flush()
    written = time.perf_counter() - started
    path = Path(run.recorder.sink.path)
    run.end()
    # A finished run's log is compressed (runs/<id>.nq.gz) when the run ends.
    return calls, written, path if path.exists() else path.with_name(path.name + ".gz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an existing SPARQL server (default: start oxigraph serve)")
    parser.add_argument("--records", type=int, default=20_000, help="metrics to capture (default 20000)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="provinstr-bench-"))
    os.environ["PROVINSTR_SPOOL"] = str(work / "spool")
    os.environ.setdefault("PROVINSTR_PUSH_EXIT_WAIT", "120")
    server = None
    url = args.url
    if url is None:
        server = OxigraphServer(work / "server").start()
        url = server.url
    try:
        calls_l, written_l, log_l = capture(str(work / "local"), args.records)
        lines = logs.read_log(log_l).count(b"\n")
        print(f"{args.records} metrics = {lines} N-Quads lines per run")
        print(f"local store : {calls_l / args.records * 1e6:6.2f} us/metric on the training thread, "
              f"in the log after {written_l:.2f} s")
        started = time.perf_counter()
        calls_r, written_r, log_r = capture(url, args.records)
        on_server = time.perf_counter() - started
        left = sync.unsent_lines(log_r, Endpoint(url).update_url)
        print(f"server store: {calls_r / args.records * 1e6:6.2f} us/metric on the training thread, "
              f"in the log after {written_r:.2f} s, on the server after {on_server:.2f} s ({left} lines unsent)")
        print(f"training-thread overhead, server vs local store: {(calls_r / calls_l - 1) * 100:+.1f} %")
        for batch in (256 << 10, 1 << 20, 4 << 20):
            log = log_l.with_name(f"copy-{batch}.nq")
            log.write_bytes(logs.read_log(log_l))  # a fresh copy: nothing of it pushed yet (the server dedups)
            started = time.perf_counter()
            sent = sync.push_log(Endpoint(url), log, limit=batch)
            elapsed = time.perf_counter() - started
            print(f"push, {batch >> 10:5d} KiB batches: {sent / elapsed:9.0f} lines/s ({sent} lines, {elapsed:.2f} s)")
        LocalStore(work / "local")  # still a valid store after the bench
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
