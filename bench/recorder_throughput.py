"""How fast records go through the recorder into a run log, and how fast the index ingests them.

Usage: python bench/recorder_throughput.py [N_METRICS]   (prints numbers; asserts nothing)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import provinstr
from provinstr.analysis.catalog import open_store
from provinstr.capture.nquads import IRI
from provinstr.vocab import PI, PROV, RDF


def main(n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="provinstr-bench-"))
    store_dir = folder / ".provinstr"

    with provinstr.run(name="bench", store=store_dir) as run:
        run.flush()
        # 1. The training thread's cost of one log_metric call (the writer thread runs meanwhile).
        started = time.perf_counter()
        for i in range(n):
            provinstr.log_metric("loss", 0.5, epoch=i)
        enqueued = time.perf_counter() - started
        run.flush()
        through = time.perf_counter() - started

        # 2. The cost of emit() alone: prebuilt statements, enqueue only.
        pairs = [(RDF.type, IRI(PI.Metric)), (PI.name, "loss"), (PROV.value, 0.5)]
        subject = f"{run.iri}/bench"
        started = time.perf_counter()
        for _ in range(n):
            run.emit(subject, pairs)
        emitted = time.perf_counter() - started
        run.flush()

    log = next((store_dir / "runs").glob("*.nq"))
    lines = sum(1 for _ in open(log, "rb"))
    store = open_store(store_dir)
    started = time.perf_counter()
    count = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?m a pi:Metric }").rows[0][0]
    ingest = time.perf_counter() - started
    started = time.perf_counter()
    store.query("SELECT (COUNT(*) AS ?n) WHERE { ?m a pi:Metric }")
    warm_query = time.perf_counter() - started

    print(f"metrics logged              {n:>12,}")
    print(f"log_metric, training thread {enqueued / n * 1e6:>12.2f} us/call  (writer running alongside)")
    print(f"emit() alone                {emitted / n * 1e6:>12.2f} us/call")
    print(f"through recorder into log   {n / through:>12,.0f} metrics/s  ({lines:,} lines, "
          f"{log.stat().st_size / 1e6:.1f} MB, {lines / through:,.0f} quads/s incl. emit test below)")
    print(f"index ingest (first query)  {ingest:>12.2f} s  ({lines / ingest:,.0f} quads/s; {count:,} metrics)")
    print(f"query on an up-to-date index{warm_query * 1e3:>11.1f} ms")
    print(f"store folder                {store_dir}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
