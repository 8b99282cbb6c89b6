"""Does capture make a fit's first epoch do more work? Calls and CPU by library, plain vs captured.

The first epoch traces and compiles the train step: 1.5-2.5 s for the grid's model against ~60 ms for a
later epoch, and identical fits differ by ±100 ms or more, which is more than all of capture costs. Its
time alone cannot say whether capture slows it, so this compares the work done in it instead. Fresh
models are fitted for 3 epochs, plain and captured (as bench/overhead_parts.py captures them) in turn:

  --calls     cProfile the training thread during each first epoch and list the functions whose call
              counts differ between the variants (counts, unlike times, do not drift with the machine).
  perf        run the script under perf (software clock, no hardware counters needed); the first
              epochs' time windows and the training thread's id go to --json, and --analyse then
              counts perf's samples per variant and shared library, on the training thread and on the
              others (provinstr's writer among them).

    python bench/first_epoch.py --fits 12 --calls --json bench/results/first_epoch_calls.json
    perf record -k CLOCK_MONOTONIC -e cpu-clock -F 2000 -o /tmp/first.data -- \\
        python bench/first_epoch.py --fits 12 --json bench/results/first_epoch.json
    python bench/first_epoch.py --analyse /tmp/first.data --json bench/results/first_epoch.json
"""

from __future__ import annotations

import argparse
import bisect
import collections
import cProfile
import json
import pstats
import re
import statistics
import subprocess
import threading
import time
from pathlib import Path

VARIANTS = ("plain", "provinstr")
_PERF_LINE = re.compile(r"^\s*(\d+)\s+([\d.]+):\s+[0-9a-f]+\s+(.*?)\s*\(([^)]*)\)\s*$")


def measure(options: argparse.Namespace) -> dict:
    """Alternating fresh-model fits; per fit the first epoch's times, window and (with --calls) call counts."""
    import tempfile

    import keras

    import provinstr
    from benchlib import fits as keras_fits
    from benchlib.stats import rotated

    class FirstEpoch(keras.callbacks.Callback):
        def __init__(self, profile: bool) -> None:
            super().__init__()
            self.profiler = cProfile.Profile() if profile else None

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 0:
                self.window = [time.clock_gettime(time.CLOCK_MONOTONIC)]
                self.times = [time.perf_counter(), time.thread_time()]
                if self.profiler:
                    self.profiler.enable()

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                if self.profiler:
                    self.profiler.disable()
                self.times = [time.perf_counter() - self.times[0], time.thread_time() - self.times[1]]
                self.window.append(time.clock_gettime(time.CLOCK_MONOTONIC))

    args = keras_fits.model_defaults()
    keras_fits.models.pin_threads(args.threads)
    keras_fits.activate_keras_rules()
    data, _ = keras_fits.models.make_data(options.samples, args.grid, 0)
    fits: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    counts: dict[str, collections.Counter] = {variant: collections.Counter() for variant in VARIANTS}
    with provinstr.run(store=tempfile.mkdtemp(prefix="provinstr-first-epoch-")):
        keras_fits.new_model(args).fit(*data, epochs=1, batch_size=args.batch_size, verbose=0)  # imports, kernels
        for round_ in range(options.fits):
            for variant in rotated(VARIANTS, round_):
                probe = FirstEpoch(options.calls)
                keras_fits.timed_fit(variant, keras_fits.fresh_model(args), data, 3, args.batch_size, probes=(probe,))
                fits[variant].append({"wall_ms": probe.times[0] * 1000, "thread_cpu_ms": probe.times[1] * 1000,
                                      "window": probe.window, "thread": threading.get_native_id()})
                if probe.profiler:
                    for (file, line, name), (_, calls, *_rest) in pstats.Stats(probe.profiler).stats.items():
                        counts[variant][f"{_short(file)}:{line} {name}"] += calls
            print(f"  round {round_:2d} " + " ".join(f"{v} {fits[v][-1]['wall_ms']:.0f} ms" for v in VARIANTS),
                  flush=True)
    result: dict = {"fits": fits}
    if options.calls:
        result["call_differences"] = {
            key: {variant: counts[variant][key] for variant in VARIANTS}
            for key in sorted(set(counts["plain"]) | set(counts["provinstr"]),
                              key=lambda k: -abs(counts["provinstr"][k] - counts["plain"][k]))
            if counts["provinstr"][key] != counts["plain"][key]}
        result["calls_total"] = {variant: sum(counts[variant].values()) for variant in VARIANTS}
    return result


def analyse(perf_data: str, result: dict) -> dict:
    """perf's samples inside the first epochs, per variant: by library on the training thread, and elsewhere."""
    windows = sorted((fit["window"][0], fit["window"][1], variant, fit["thread"])
                     for variant, rows in result["fits"].items() for fit in rows)
    starts = [window[0] for window in windows]
    script = subprocess.run(["perf", "script", "-i", perf_data, "-F", "tid,time,ip,sym,dso"],
                            capture_output=True, text=True, check=True).stdout
    training = {variant: collections.Counter() for variant in VARIANTS}
    others = {variant: collections.Counter() for variant in VARIANTS}
    for line in script.splitlines():
        match = _PERF_LINE.match(line)
        if not match:
            continue
        thread, moment, library = int(match[1]), float(match[2]), Path(match[4]).name
        index = bisect.bisect_right(starts, moment) - 1
        if index < 0 or moment > windows[index][1]:
            continue
        _, _, variant, main = windows[index]
        (training if thread == main else others)[variant][library] += 1
    return {"training_thread": {v: dict(c.most_common()) for v, c in training.items()},
            "other_threads": {v: dict(c.most_common()) for v, c in others.items()}}


def report(result: dict) -> None:
    fits = result["fits"]
    print("\nFirst epoch, median (ms) and median difference to plain paired by round:")
    for key in ("wall_ms", "thread_cpu_ms"):
        plain = [fit[key] for fit in fits["plain"]]
        captured = [fit[key] for fit in fits["provinstr"]]
        paired = statistics.median(c - p for c, p in zip(captured, plain))
        print(f"  {key:14s} plain {statistics.median(plain):8.1f}  provinstr {statistics.median(captured):8.1f}"
              f"  paired {paired:+7.1f}  (n={len(plain)})")
    if "call_differences" in result:
        totals = result["calls_total"]
        print(f"\nFunction calls in the first epochs: plain {totals['plain']}, provinstr {totals['provinstr']}; "
              "the functions called a different number of times:")
        for key, count in list(result["call_differences"].items())[:30]:
            print(f"  {count['provinstr'] - count['plain']:+6d}  {key}")
    if "perf" in result:
        perf = result["perf"]
        print("\nperf samples in the first epochs, by library (training thread):")
        shown = collections.Counter()
        for variant in VARIANTS:
            shown.update(perf["training_thread"][variant])
        print(f"  {'library':48s} {'plain':>8s} {'provinstr':>10s}")
        for library, _ in shown.most_common(15):
            print(f"  {library[:48]:48s} {perf['training_thread']['plain'].get(library, 0):8d} "
                  f"{perf['training_thread']['provinstr'].get(library, 0):10d}")
        for variant in VARIANTS:
            total = sum(perf["training_thread"][variant].values())
            other = perf["other_threads"][variant]
            print(f"  {variant}: training thread {total} samples, other threads {sum(other.values())} "
                  f"({', '.join(f'{k} {n}' for k, n in list(other.items())[:3])})")


def _short(file: str) -> str:
    return file.split("site-packages/")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=12, help="fits per variant")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--calls", action="store_true", help="count calls with cProfile (slows the first epoch)")
    parser.add_argument("--analyse", metavar="PERF_DATA", help="measure nothing: attribute this perf recording's "
                        "samples to the windows --json holds from the run it recorded")
    parser.add_argument("--json", required=True, help="where the measurements go (read back by --analyse)")
    options = parser.parse_args()
    if options.analyse:
        result = json.loads(Path(options.json).read_text())
        result["perf"] = analyse(options.analyse, result)
    else:
        result = {"args": vars(options), **measure(options)}
    Path(options.json).write_text(json.dumps(result, indent=1))
    report(result)


if __name__ == "__main__":
    main()
