"""Where a captured fit's extra time goes, per epoch and per fit: capture behaviours switched on and off, alternating.

One warm process, the grid's DenseED-like model on its short epochs (`--samples 64`: ~60 ms, 2 steps).
Per-epoch costs are measured on one long fit per variant and round (the model is reused, so nothing
is traced again): the epoch as the user's own callback times it, and the gap between one epoch's end
and the next one's begin, where the capture callbacks and Keras' own per-epoch work run. Per-fit
costs are measured on fresh models: the time from the call to the first epoch's begin, and from the
last epoch's end to the return; then, as a script goes on, an evaluate right after the fit, which
runs while the model saver writes the trained model, and the CPU time the saver's thread spent on
that model (its warm-up during the fit and its save after it).

Variants:
  plain         model.fit as the user wrote it
  provinstr     the fit captured as `provinstr run` captures it (keras.fit rule, default options)
  epoch-wake    captured, with the writer woken at every epoch end and polling every 0.1 s (before 2026-11-28)
  no-warm-up    captured, without reading the variables in the background during the fit (before 2026-11-28)
  save-as-before  captured, with the saver as it was before 2026-11-28 10:00: Keras' skip-sets built at every
                save (its cache misses) and the weights compared before the write as well as after
  switch-0.5ms  captured, with Python's GIL switch interval at 0.5 ms (not 5) while the saver writes
  no-save       captured with the rule option save_model = false: no model file, so no warm-up and no save
Rounds run every variant once, in an order rotated per round; the tables give medians of the
differences to plain paired within a round (the VM's speed drifts by ±10 % between fits).

    python bench/overhead_parts.py [--rounds 8] [--epochs 100] [--fits 8] [--variants ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from benchlib.fits import activate_keras_rules, add_model_arguments, fresh_model, models, new_model, timed_fit
from benchlib.stats import differences, rotated

import provinstr
from provinstr.adapters.keras import adapter, callback, saving
from provinstr.capture import recorder

VARIANTS = ("plain", "provinstr", "epoch-wake", "no-warm-up", "save-as-before", "no-save", "switch-0.5ms")
saver_cpu = [0.0]  # the saver thread's CPU seconds since the last reset (warm-up and save)


@contextlib.contextmanager
def behaviour(variant: str):
    """The capture as it behaved before a change, for the variants that measure that change."""
    with contextlib.ExitStack() as stack:
        def swap(owner, name: str, value) -> None:
            stack.enter_context(mock.patch.object(owner, name, value))

        if variant == "epoch-wake":
            record = callback.CaptureCallback.record_epoch

            def record_epoch(self, epoch, logs):
                record(self, epoch, logs)
                self.training.run.flush(wait=False)

            swap(recorder, "POLL_SECONDS", 0.1)
            swap(callback.CaptureCallback, "record_epoch", record_epoch)
        if variant in ("no-warm-up", "no-save"):
            swap(saving, "warm_up", lambda model: None)
        if variant == "save-as-before":
            check = saving._check_unchanged
            swap(saving, "_keep_keras_skipsets", lambda: None)
            swap(saving, "_prime_keras_saving", lambda: None)
            swap(saving, "_check_unchanged", lambda job, read_weights: check(job, read_weights=True))
        if variant == "switch-0.5ms":
            write = saving.write_checked

            def switching(job):
                before = sys.getswitchinterval()
                sys.setswitchinterval(0.0005)
                try:
                    return write(job)
                finally:
                    sys.setswitchinterval(before)

            swap(saving, "write_checked", switching)
        if variant == "no-save":  # what `options = { save_model = false }` on the keras.fit rule switches off
            swap(adapter.KerasAdapter, "_save_trained", lambda self, ctx, training: None)
        yield


def count_saver_cpu() -> None:
    """Add the saver thread's CPU time in its warm-ups and saves to saver_cpu (wrapping both, once)."""
    def counted(work):
        def run(job):
            start = time.thread_time()
            try:
                return work(job)
            finally:
                saver_cpu[0] += time.thread_time() - start
        return run

    saving._warm, saving.write_checked = counted(saving._warm), counted(saving.write_checked)


def per_epoch(variant: str, model, data, args) -> dict:
    timeline, start, end, _ = timed_fit(variant, model, data, args.epochs, args.batch_size, behaviour=behaviour)
    epochs = [e - b for b, e in zip(timeline.begins, timeline.ends)]
    gaps = [b - e for e, b in zip(timeline.ends, timeline.begins[1:])]
    return {"epoch_ms": statistics.median(epochs) * 1000, "gap_ms": statistics.median(gaps) * 1000,
            "fit_per_epoch_ms": (end - start) / args.epochs * 1000}


def per_fit(variant: str, data, test, args) -> dict:
    model = fresh_model(args)
    saver_cpu[0] = 0.0
    evaluate = lambda: model.evaluate(*test, batch_size=args.batch_size, verbose=0)  # noqa: E731
    timeline, start, end, after = timed_fit(variant, model, data, 3, args.batch_size, then=evaluate,
                                              behaviour=behaviour)
    return {"before_first_epoch_ms": (timeline.begins[0] - start) * 1000,
            "first_epoch_ms": (timeline.ends[0] - timeline.begins[0]) * 1000,
            "after_last_epoch_ms": (end - timeline.ends[-1]) * 1000,
            "evaluate_after_ms": after * 1000, "saver_cpu_ms": saver_cpu[0] * 1000}


def rounds(variants: list[str], count: int, measure) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {variant: [] for variant in variants}
    for round_ in range(count):
        for variant in rotated(variants, round_):
            result = measure(variant)
            results[variant].append(result)
            print(f"  round {round_:2d} {variant:11s} " + " ".join(f"{k} {v:.2f}" for k, v in result.items()), flush=True)
    return results


def table(title: str, results: dict[str, list[dict]]) -> None:
    plain = results["plain"]
    keys = list(plain[0])
    print(f"\n{title}: median, and median difference to plain paired by round (ms)")
    print(f"{'variant':12s} " + " ".join(f"{k:>28s}" for k in keys))
    for variant, rows in results.items():
        cells = []
        for key in keys:
            median = statistics.median(row[key] for row in rows)
            paired = statistics.median(differences([row[key] for row in rows], [base[key] for base in plain]))
            cells.append(f"{median:14.2f} {paired:+13.2f}")
        print(f"{variant:12s} " + " ".join(f"{c:>28s}" for c in cells))


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (`arguments([])`: the defaults, the model and data every measurement here uses)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="long fits per variant (per-epoch costs)")
    parser.add_argument("--epochs", type=int, default=100, help="epochs of each long fit")
    parser.add_argument("--fits", type=int, default=8, help="fresh-model fits per variant (per-fit costs)")
    parser.add_argument("--samples", type=int, default=64)
    add_model_arguments(parser)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--json", help="also write every measurement here")
    return parser.parse_args(argv)


def main() -> None:
    args = arguments()
    variants = ["plain", *(v for v in args.variants if v != "plain")]

    models.pin_threads(args.threads)
    activate_keras_rules()
    data, test = models.make_data(args.samples, args.grid, 0)
    count_saver_cpu()
    with provinstr.run(store=tempfile.mkdtemp(prefix="provinstr-parts-")):
        model = new_model(args)
        model.fit(*data, epochs=2, batch_size=args.batch_size, verbose=0)  # traced once, for every variant
        print(f"per epoch: {args.rounds} rounds of {args.epochs}-epoch fits of one model", flush=True)
        epochs = rounds(variants, args.rounds, lambda variant: per_epoch(variant, model, data, args))
        print(f"per fit: {args.fits} rounds of 3-epoch fits of fresh models", flush=True)
        fits = rounds(variants, args.fits, lambda variant: per_fit(variant, data, test, args))
    table("Per epoch", epochs)
    table("Per fit", fits)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "per_epoch": epochs, "per_fit": fits}, indent=1))


if __name__ == "__main__":
    main()
