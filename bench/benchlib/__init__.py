"""What the benchmarks in bench/ share; each script imports it as `benchlib` (bench/ is the script's folder).

  benchlib.stats    medians per configuration, paired ratios, bootstrap intervals, Markdown tables
  benchlib.machine  what a measurement ran on: cores, CPU, load average, Python and library versions
  benchlib.harness  the process harness: one training per process (bench/models.py), variants interleaved
                    in a rotating order, records and their progress lines
  benchlib.fits     in-process Keras fits, plain or captured as `provinstr run` captures them (imports Keras)
  benchlib.sweep, benchlib.questions, benchlib.scale_report, benchlib.disk
                    bench/scale.py's synthetic sweep and its writers (provinstr, MLflow), the questions it asks
                    each system, its figures / targets / tables, bytes on disk of a store by part
  benchlib.sparql_server  `oxigraph serve` on a free port (bench/scale.py, bench/remote_throughput.py)

Only benchlib.fits imports Keras or TensorFlow: report.py and compare_grids.py run without them.
"""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
KERAS_RULES = ROOT / "rules" / "keras.toml"
