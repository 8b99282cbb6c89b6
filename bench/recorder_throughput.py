"""How much a log_metric call costs the training thread, how fast records go through the recorder
into a run log, and how fast the index ingests them.

Usage: python bench/recorder_throughput.py [N_METRICS]   (prints numbers; asserts nothing)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchlib.machine import load_line

import provinstr
from provinstr.analysis.catalog import open_store
from provinstr.capture.nquads import IRI
from provinstr.vocab import PI, PROV, RDF

BURST = 1_000  # metrics per burst: well under the recorder's bound, as an epoch's metrics are


def timed_bursts(run, n: int, call) -> float:
    """Seconds spent in `call(i)` for n calls made in bursts, the writer catching up between bursts."""
    spent = 0.0
    for first in range(0, n, BURST):
        started = time.perf_counter()
        for i in range(first, min(first + BURST, n)):
            call(i)
        spent += time.perf_counter() - started
        run.flush()
    return spent


def main(n: int) -> None:
    store_dir = Path(tempfile.mkdtemp(prefix="provinstr-bench-")) / ".provinstr"
    with provinstr.run(name="bench", store=store_dir) as run:
        run.flush()
        # 1. The training thread's cost per call while the queue has room (the normal case).
        burst_metric = timed_bursts(run, n, lambda i: provinstr.log_metric("loss", 0.5, epoch=i))
        pairs = [(RDF.type, IRI(PI.Metric)), (PI.name, "loss"), (PROV.value, 0.5)]
        burst_emit = timed_bursts(run, n, lambda i: run.emit(f"{run.iri}/bench/{i}", pairs))
        # 2. Sustained: a tight loop outruns the writer, fills the bound and waits for it.
        log = store_dir / "runs" / f"{run.id}.nq"
        size_before, lines_before = log.stat().st_size, sum(1 for _ in open(log, "rb"))
        started = time.perf_counter()
        for i in range(n):
            provinstr.log_metric("accuracy", 0.5, epoch=i)
        run.flush()
        sustained = time.perf_counter() - started
        lines_sustained = sum(1 for _ in open(log, "rb")) - lines_before
        bytes_sustained = log.stat().st_size - size_before

    lines = sum(1 for _ in open(log, "rb"))
    store = open_store(store_dir)
    started = time.perf_counter()
    count = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?m a pi:Metric }").rows[0][0]
    ingest = time.perf_counter() - started
    # Oxigraph joins patterns in the order written: the selective one first is much faster.
    point = {}
    for order, where in (("selective first", "?m pi:epoch 7 ; pi:name 'loss'"), ("broad first", "?m pi:name 'loss' ; pi:epoch 7")):
        started = time.perf_counter()
        store.query(f"SELECT ?v WHERE {{ {where} ; prov:value ?v }}")
        point[order] = time.perf_counter() - started

    print(f"{load_line()}, {n:,} metrics per measurement")
    print(f"log_metric, training thread   {burst_metric / n * 1e6:9.2f} us/call  (bursts of {BURST:,})")
    print(f"emit() alone                  {burst_emit / n * 1e6:9.2f} us/call  (bursts of {BURST:,})")
    print(f"sustained log_metric          {n / sustained:9,.0f} metrics/s into the log "
          f"({lines_sustained / sustained:,.0f} quads/s, {bytes_sustained / sustained / 1e6:.1f} MB/s)")
    print(f"index ingest, first query     {ingest:9.2f} s for {lines:,} quads ({lines / ingest:,.0f} quads/s)")
    for order, seconds in point.items():
        print(f"point query, {order:<16} {seconds * 1e3:9.1f} ms  ({count:,} metrics in the store, index up to date)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("n_metrics", nargs="?", type=int, default=20_000, help="metrics per measurement (20000)")
    main(parser.parse_args().n_metrics)
