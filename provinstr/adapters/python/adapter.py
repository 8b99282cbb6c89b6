"""The Python adapter's hooks: command-line options (argparse) and random seeds as hyperparameters of the run.

Command-line options: every attribute of the Namespace that parse_args / parse_known_args returned, defaults
included, named by its dest, at <run>/argparse/<dest>/<n>. Seeds: the seed a rule with options.seed_name saw,
named so, at <run>/seed/<name>/<n>; the run's `seed` (at <run>/seed) is written when the run ends, when every
seed the script set was the same value. The n-th different value of a name is node n, and a value already
recorded under that name adds nothing: two parses or two seedings never give one IRI two values.

Imports no framework: argparse results are known by class, seeds by duck typing; the call runs untouched.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provinstr.capture.activity import safe_segment
from provinstr.capture.hooks import Adapter, CallContext
from provinstr.capture.nquads import plain_value
from provinstr.capture.safety import guard
from provinstr.capture.values import MAX_LIST, summarize
from provinstr.vocab import PI

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.run import Run

SEED = "seed"  # the run's one seed, when every seed the script set agrees
_SEED_OPTION = "seed_name"


@dataclass
class _RunNotes:
    """What one run has recorded so far: which values under which names, and every seed set."""

    seen: set[tuple[str, str, str]] = field(default_factory=set)  # (role, name, value digest)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (role, IRI segment) -> nodes so far
    seeds: dict[str, Any] = field(default_factory=dict)  # value digest -> seed

    def node(self, run_iri: str, role: str, name: str, value: Any) -> str | None:
        """The IRI for `value` under `name` (None if already recorded): the n-th different value is node n."""
        key = (role, name, _digest(value))
        if key in self.seen:
            return None
        self.seen.add(key)
        segment = safe_segment(name)  # dests "a-b" and "a_b" share a segment, so they share its count
        number = self.counts[role, segment] = self.counts.get((role, segment), 0) + 1
        return f"{run_iri}/{role}/{segment}/{number}"


class PythonAdapter(Adapter):
    """Records what a script takes from its command line and the seeds it sets, for every framework."""

    name = "python"

    def __init__(self) -> None:
        self._notes: dict[str, _RunNotes] = {}  # run IRI -> notes, until the run ends
        self._lock = threading.Lock()

    def describe(self, value: Any) -> Any:
        """An option's value as a record holds it: paths as their text, the rest summarised."""
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if isinstance(value, (list, tuple)) and any(isinstance(item, os.PathLike) for item in value):
            value = [os.fspath(item) if isinstance(item, os.PathLike) else item for item in value]
        return summarize(value)

    def on_configuration(self, ctx: CallContext, result: Any) -> None:
        seed_name = ctx.rule.option(_SEED_OPTION)
        if seed_name:
            self._seed(ctx, str(seed_name), result)
            return
        # parse_args returns a Namespace; parse_known_args a (Namespace, the words it left) pair.
        namespace = result[0] if isinstance(result, tuple) and result else result
        if isinstance(namespace, argparse.Namespace):
            notes = self._notes_of(ctx.run)
            for dest, value in vars(namespace).items():
                self._record(ctx, notes, "argparse", dest, self.describe(value))

    def _seed(self, ctx: CallContext, name: str, result: Any) -> None:
        given = list(ctx.captured.values()) or list(ctx.args[:1])
        seed = next((found for found in map(seed_value, given) if found is not None), None)
        if seed is None and type(result) is int:  # seed_everything(None) picks a seed and returns it
            seed = result
        if seed is None:  # random.seed(), default_rng(): no fixed seed, nothing to reproduce
            return
        notes = self._notes_of(ctx.run)
        self._record(ctx, notes, SEED, name, seed)
        with self._lock:
            notes.seeds.setdefault(_digest(seed), seed)

    def _record(self, ctx: CallContext, notes: _RunNotes, role: str, name: str, value: Any) -> None:
        with self._lock:
            node = notes.node(ctx.run.iri, role, name, value)
        if node is not None:
            ctx.run.hyperparameter(name, value, iri=node)
            ctx.run.emit(node, [(PI.sourceLine, ctx.line)])

    def _notes_of(self, run: Run) -> _RunNotes:
        with self._lock:
            notes = self._notes.get(run.iri)
            if notes is not None:
                return notes
            notes = self._notes[run.iri] = _RunNotes()
        run.before_end(lambda: self._finish(run))
        return notes

    def _finish(self, run: Run) -> None:
        """At the run's end: its one `seed`, when every seed set agrees."""
        with self._lock:
            notes = self._notes.pop(run.iri, None)
        if notes is not None and len(notes.seeds) == 1:
            with guard("recording the run's seed"):
                (seed,) = notes.seeds.values()
                run.hyperparameter(SEED, seed, iri=f"{run.iri}/{SEED}")


def seed_value(value: Any) -> Any:
    """A seed as a record holds it (a number, a text, a short list of ints), or None when `value` fixes none.

    A NumPy SeedSequence is its entropy (which reproduces it); a Generator or BitGenerator passed on is
    no seed of this call.
    """
    value = plain_value(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, str)):
        return value
    entropy = getattr(value, "entropy", None)
    if entropy is not None and getattr(entropy, "entropy", None) is None:
        return seed_value(entropy)
    if callable(getattr(value, "tolist", None)) and getattr(value, "ndim", None) == 1:
        value = value.tolist()
    if isinstance(value, (list, tuple)) and 0 < len(value) <= MAX_LIST:
        items = [plain_value(item) for item in value]
        if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
            return items
    return None


def _digest(value: Any) -> str:
    """Equal values give one digest; 1, 1.0 and True three (the record's types differ)."""
    text = json.dumps([type(value).__name__, value], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


ADAPTER = PythonAdapter()
