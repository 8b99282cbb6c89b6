"""Epoch loops and the values a script computes in them: what rewritten loops and assignments call.

A `loops` rule makes `for epoch in range(n):` run as `for epoch in loop(range(n), ids, line, "epoch"):`
and `while epoch < n:` as `while loop_test(epoch < n, ids, line, ""):`. The rule's adapter decides
whether the loop is an epoch loop now (e.g. torch is imported and no epoch loop is already running)
by returning an observer; otherwise the iterable passes through untouched and costs nothing per item.
The observer learns each epoch's begin and end, an early exit (break, or an exception: it cannot
tell which, see EpochObserver.exited), and the end of the loop. `value(ids, line, "a,b", a, b)`
follows each `assigns` assignment. Capture faults are guarded: the user's loop always runs as written.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Iterable, Iterator, Protocol

from provinstr.capture.calls import active_rules
from provinstr.capture.hooks import get_adapter
from provinstr.capture.safety import guard, report

__all__ = ["EpochObserver", "loop", "loop_test", "value"]

_local = threading.local()  # per thread: the while loops running as epoch loops, by (frame, line)


class EpochObserver(Protocol):
    """What an adapter gives an epoch loop: told of every epoch boundary, in order."""

    def begin(self, index: int, item: Any) -> None:
        """Epoch `index` (0-based) starts; `item` is what the loop variable takes (None for while loops)."""

    def end(self, index: int) -> None:
        """Epoch `index` completed (the next iteration was asked for, or the loop finished)."""

    def exited(self, index: int) -> None:
        """The loop left epoch `index` early: a break (the epoch completed) or an exception (it did not)."""

    def finished(self) -> None:
        """The loop is over (after end or exited)."""


def _observer(rule_ids: tuple[str, ...], line: int, name: str, kind: str, planned: int | None,
              frame: Any) -> EpochObserver | None:
    with guard("starting an epoch loop"):
        for rule in active_rules(rule_ids):
            observer = get_adapter(rule.adapter).epoch_loop(rule, line, name, kind, planned, frame)
            if observer is not None:
                return observer
    return None


def loop(iterable: Iterable, rule_ids: tuple[str, ...], line: int, name: str) -> Iterable:
    """A for loop's iterable: itself, or an iterator that tells the adapter's observer each epoch."""
    planned = len(iterable) if isinstance(iterable, (range, list, tuple)) else None
    observer = _observer(rule_ids, line, name, "for", planned, sys._getframe(1))
    if observer is None:
        return iterable
    return _Epochs(iter(iterable), observer)


class _Epochs:
    """Yields the iterable's items; the step between two items is an epoch boundary."""

    __slots__ = ("items", "observer", "index", "done", "entry", "__weakref__")

    def __init__(self, items: Iterator, observer: EpochObserver) -> None:
        self.items, self.observer, self.index, self.done = items, observer, -1, False
        self.entry = -1  # a while loop's: the bytecode offset of its first test

    def __iter__(self) -> "_Epochs":
        return self

    def __next__(self) -> Any:
        if self.index >= 0:
            with guard("recording an epoch"):
                self.observer.end(self.index)
        try:
            item = next(self.items)  # the user's iterable: its errors are the user's
        except StopIteration:
            self._finish()
            raise
        self.index += 1
        with guard("recording an epoch"):
            self.observer.begin(self.index, item)
        return item

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            with guard("recording the end of an epoch loop"):
                self.observer.finished()

    def __del__(self) -> None:  # the loop was left before its end: a break, return or exception
        if not self.done and self.index >= 0 and not sys.is_finalizing():
            with guard("recording an epoch loop left early"):
                self.observer.exited(self.index)
            self._finish()


def loop_test(test: Any, rule_ids: tuple[str, ...], line: int, name: str) -> bool:
    """A while loop's test: each true test is a new epoch, a false one ends the loop.

    The test's truth is taken once (a tensor test is one device read, a stateful __bool__ runs once).
    Python 3.11 compiles a while test twice, before the loop and at its back edge: a call from the
    first place while the loop is still open means the loop was left (break, return) and entered again.
    """
    truth = bool(test)
    running = getattr(_local, "whiles", None)
    if running is None:
        running = _local.whiles = {}
    frame = sys._getframe(1)
    key = (id(frame), line)
    state = running.get(key)
    if state is not None and frame.f_lasti == state.entry:  # entered again: the old loop was left early
        del running[key]
        state.__del__()
        state = None
    if state is None:
        if not truth:
            return truth
        observer = _observer(rule_ids, line, name, "while", None, frame)
        if observer is None:
            return truth
        state = running[key] = _Epochs(iter(()), observer)
        state.index, state.entry = 0, frame.f_lasti
        with guard("recording an epoch"):
            observer.begin(0, None)
        return truth
    with guard("recording an epoch"):
        state.observer.end(state.index)
    if truth:
        state.index += 1
        with guard("recording an epoch"):
            state.observer.begin(state.index, None)
    else:
        del running[key]
        state._finish()
    return truth


def value(rule_ids: tuple[str, ...], line: int, names: str, *values: Any) -> None:
    """After an assignment the rules match: each assigned name's value, to the rules' adapters."""
    try:  # runs per batch in some loops (`correct += ...`): one dictionary lookup, then the adapters
        targets = _targets.get((rule_ids, names))
        if targets is None:
            targets = _targets[(rule_ids, names)] = _value_targets(rule_ids, names)
        for handler, rule, index, name in targets:
            handler(rule, name, values[index], line)
    except Exception as error:  # noqa: BLE001 - a capture fault never breaks the loop
        report(error, "recording a value")


_targets: dict[tuple, list] = {}


def _value_targets(rule_ids: tuple[str, ...], names: str) -> list:
    with guard("finding who records a value"):
        return [(get_adapter(rule.adapter).on_value, rule, index, name)
                for rule in active_rules(rule_ids) for index, name in enumerate(names.split(","))
                if rule.matches_assign(name)]
    return []
