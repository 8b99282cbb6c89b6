"""Rewrite speed for a 500-line script (target <= 0.5 s) and `provinstr run` start-up over `python` (<= 0.3 s)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provinstr.rewrite import make_plan, rewrite_source
from provinstr.rules import load_rules

BLOCK = '''\
def block_{n}(x, K={n}, L=4):
    """A block: a layer, a user function call, a method call."""
    layer = keras.layers.Dense(units=K, activation="relu")  # comment
    y = dense_block(x, K=K, L=L)
    model.fit(x, y, epochs=2, batch_size=32)
    values = [layer(v) for v in range(L)]
    return np.mean(values)

'''


def script(lines: int = 500) -> str:
    parts = ["import numpy as np\nfrom tensorflow import keras\n\n"]
    n = 0
    while sum(p.count("\n") for p in parts) < lines:
        parts.append(BLOCK.format(n=n))
        n += 1
    return "".join(parts)


def main(repeat: int = 7) -> None:
    """Prints medians (and bests) of `repeat` tries; python and provinstr start-ups are timed alternately."""
    rules = load_rules()
    source = script()
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        rewrite_source(source, make_plan(source, rules), [])
        timings.append(time.perf_counter() - start)
    print(f"rewrite of a {source.count(chr(10))}-line script: median {statistics.median(timings):.3f} s, "
          f"best {min(timings):.3f} s (target <= 0.5 s)")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plain.py"
        path.write_text("total = sum(range(1000))\n")
        env = {**os.environ, "PROVINSTR_STORE": str(Path(folder) / "store")}
        python, provinstr = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, str(path)], check=True, env=env, cwd=folder)
            python.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "provinstr", "run", str(path)], check=True, env=env, cwd=folder)
            provinstr.append(time.perf_counter() - start)
    overhead = [p - q for p, q in zip(provinstr, python)]
    print(f"start-up: python {statistics.median(python):.3f} s, provinstr run {statistics.median(provinstr):.3f} s, "
          f"overhead median {statistics.median(overhead):.3f} s, best {min(overhead):.3f} s (target <= 0.3 s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeat", nargs="?", type=int, default=7, help="tries of each measurement (7)")
    main(parser.parse_args().repeat)
