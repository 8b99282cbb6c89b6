"""In-process A/B: the same DenseED-like fit, plain and captured, alternating, in one warm process.

Process-level timings on a small VM drift by ±10 % between processes; inside one process with
TensorFlow already loaded, only the model and the capture differ. `--profile` adds a cProfile of
one captured fit, listing provinstr's functions by cumulative time.

    python bench/inprocess_ab.py [--pairs 4] [--epochs 10] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import keras  # noqa: E402

import provinstr  # noqa: E402
from provinstr.capture import calls  # noqa: E402
from provinstr.rules import load_rule_file  # noqa: E402


def fit_once(models, data, epochs: int, captured: bool, profile: cProfile.Profile | None = None):
    keras.utils.set_random_seed(0)
    model = models.build_model(32, 12, 4)
    model.compile(optimizer=keras.optimizers.SGD(0.001, momentum=0.9), loss="mse")
    times = models.EpochTimes()
    fit = calls.wrap(model.fit, ("keras.fit",), 1) if captured else model.fit
    start = time.perf_counter()
    if profile:
        profile.enable()
    fit(*data, epochs=epochs, batch_size=32, callbacks=[times], verbose=0)
    if profile:
        profile.disable()
    return time.perf_counter() - start, times.seconds[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    import models

    models.pin_threads(1)

    calls.activate(load_rule_file(BENCH.parent / "rules" / "keras.toml"))
    data, _ = models.make_data(512, 32, 0)
    ratios = []
    with provinstr.run(store=tempfile.mkdtemp(prefix="provinstr-ab-")):
        for pair in range(args.pairs):
            order = (False, True) if pair % 2 == 0 else (True, False)
            seconds = {}
            for captured in order:
                seconds[captured], first = fit_once(models, data, args.epochs, captured)
                print(f"pair {pair} {'captured' if captured else 'plain   '} fit {seconds[captured]:.2f}s "
                      f"epoch0 {first:.2f}s", flush=True)
            ratios.append(seconds[True] / seconds[False])
        ratios.sort()
        print(f"captured/plain per pair: {', '.join(f'{r:.3f}' for r in ratios)}; "
              f"median {ratios[len(ratios) // 2]:.3f}")
        if args.profile:
            profile = cProfile.Profile()
            total, _ = fit_once(models, data, args.epochs, True, profile)
            print(f"profiled captured fit: {total:.2f}s; provinstr's functions by cumulative time:")
            pstats.Stats(profile).sort_stats("cumulative").print_stats("provinstr", 12)


if __name__ == "__main__":
    main()
