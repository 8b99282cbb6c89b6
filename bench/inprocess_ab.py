"""In-process A/B: the same DenseED-like fit, plain and captured, alternating, in one warm process.

Process-level timings on a small VM drift by ±10 % between processes; inside one process with
TensorFlow already loaded, only the model and the capture differ. `--profile` adds a cProfile of
one captured fit, listing provinstr's functions by cumulative time.

    python bench/inprocess_ab.py [--pairs 4] [--epochs 10] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time

from benchlib.fits import activate_keras_rules, fit_of, keras, models
from benchlib.stats import rotated

import provinstr


def fit_once(data, epochs: int, captured: bool, profile: cProfile.Profile | None = None):
    keras.utils.set_random_seed(0)
    model = models.build_model(32, 12, 4)
    model.compile(optimizer=keras.optimizers.SGD(0.001, momentum=0.9), loss="mse")
    times = models.EpochTimes()
    fit = fit_of(model, captured)
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
    models.pin_threads(1)
    activate_keras_rules()
    data, _ = models.make_data(512, 32, 0)
    ratios = []
    with provinstr.run(store=tempfile.mkdtemp(prefix="provinstr-ab-")):
        for pair in range(args.pairs):
            seconds = {}
            for captured in rotated((False, True), pair):
                seconds[captured], first = fit_once(data, args.epochs, captured)
                print(f"pair {pair} {'captured' if captured else 'plain   '} fit {seconds[captured]:.2f}s "
                      f"epoch0 {first:.2f}s", flush=True)
            ratios.append(seconds[True] / seconds[False])
        ratios.sort()
        print(f"captured/plain per pair: {', '.join(f'{r:.3f}' for r in ratios)}; "
              f"median {ratios[len(ratios) // 2]:.3f}")
        if args.profile:
            profile = cProfile.Profile()
            total, _ = fit_once(data, args.epochs, True, profile)
            print(f"profiled captured fit: {total:.2f}s; provinstr's functions by cumulative time:")
            pstats.Stats(profile).sort_stats("cumulative").print_stats("provinstr", 12)


if __name__ == "__main__":
    main()
