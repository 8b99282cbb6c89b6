"""Checkpoint files as pi:Model entities: what a fit's ModelCheckpoint callbacks wrote, what a Trainer loaded.

Lightning tells callbacks that a checkpoint is being made (on_save_checkpoint, with its epoch) before the
file is written, never the path; so the files each ModelCheckpoint names (its top-k, best, last and
latest) are looked at (a stat, no read) at every epoch boundary and validation end, and a new or
rewritten file is hashed once and recorded with the epoch of the save that made it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from provinstr.capture import records
from provinstr.capture.activity import ENTITY
from provinstr.capture.nquads import IRI
from provinstr.vocab import MLS, PI, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity
    from provinstr.capture.run import Run

_REMOVED = "removed by its checkpoint callback before the fit ended (no longer among the files it keeps)"
# absolute path -> the pi:Model node of its latest recorded content (so a Test of ckpt_path="best" uses it)
FILES: dict[str, str] = {}


def model_node(run: "Run", path: "str | os.PathLike") -> str:
    """A new pi:Model for a checkpoint file: its location, sha256 and name; remembered by path."""
    absolute = os.path.abspath(path)
    node = run.new_iri("model")
    run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Model)), (RDF.type, IRI(MLS.Model)),
                    (RDFS.label, os.path.basename(absolute))])
    records.file_facts(run, node, absolute)
    FILES[absolute] = node
    return node


def used_file(run: "Run", path: Any) -> str | None:
    """The pi:Model of a checkpoint a call loads: this run's node for it, else a new one (None: no file)."""
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        return None
    node = FILES.get(os.path.abspath(path))
    return node if records.in_run(run, node) else model_node(run, path)


def written_paths(callback: Any) -> Iterator[str]:
    """The files a ModelCheckpoint says it keeps: its top-k, best, last and most recent."""
    yield from list(getattr(callback, "best_k_models", None) or {})
    for name in ("best_model_path", "last_model_path", "_last_checkpoint_saved"):
        path = getattr(callback, name, None)
        if isinstance(path, str) and path:
            yield path


class Checkpoints:
    """The checkpoint files of one fit, each a pi:Model its Training generated, with pi:epoch."""

    def __init__(self, training: "Activity") -> None:
        self.training = training
        self.versions: dict[str, tuple[int, int]] = {}  # absolute path -> (mtime_ns, size) last recorded
        self.nodes: dict[str, str] = {}  # absolute path -> node of its last recorded content
        self.saving: int | None = None  # the epoch of a save Lightning announced and no file has shown yet

    def existing(self, trainer: Any) -> None:
        """Before the fit: the files its callbacks already name (an earlier fit's) are not this fit's."""
        for path in self._paths(trainer):
            version = _version(path)
            if version is not None:
                self.versions[path] = version

    def announced(self, epoch: Any) -> None:
        """on_save_checkpoint: a checkpoint of `epoch` is about to be written."""
        if isinstance(epoch, int):
            self.saving = epoch

    def look(self, trainer: Any, epoch: int | None) -> None:
        """Record each new or rewritten file of the trainer's checkpoint callbacks (hashed once a version)."""
        found = False
        for absolute in self._paths(trainer):
            version = _version(absolute)
            if version is None or self.versions.get(absolute) == version:
                continue  # not written yet, removed by the callback (no longer in its top k), or seen
            self.versions[absolute] = version
            node = model_node(self.training.run, absolute)
            self.nodes[absolute] = node
            self.training.generated(node)
            at = self.saving if self.saving is not None else epoch
            if at is not None:
                self.training.run.emit(node, [(PI.epoch, at)])
            found = True
        if found:
            self.saving = None

    @staticmethod
    def _paths(trainer: Any) -> list[str]:
        return [os.path.abspath(path) for callback in list(getattr(trainer, "checkpoint_callbacks", []) or [])
                for path in written_paths(callback)]

    def finish(self, trainer: Any) -> None:
        """At the end of the fit: which file is each callback's best, and which files it removed."""
        run = self.training.run
        for callback in list(getattr(trainer, "checkpoint_callbacks", []) or []):
            best = getattr(callback, "best_model_path", None)
            node = self.nodes.get(os.path.abspath(best)) if isinstance(best, str) and best else None
            if node is None:
                continue
            monitor, score = getattr(callback, "monitor", None), getattr(callback, "best_model_score", None)
            if monitor and score is not None:
                score = score.item() if hasattr(score, "item") else score
                comment = f"the best checkpoint of {type(callback).__name__} ({monitor} = {score})"
                run.emit(node, [(RDFS.comment, comment)])
        for path, node in self.nodes.items():
            if not os.path.exists(path):
                run.emit(node, [(RDFS.comment, _REMOVED)])


def _version(path: str) -> tuple[int, int] | None:
    """(mtime_ns, size) of a file; None when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


__all__ = ["FILES", "Checkpoints", "model_node", "used_file", "written_paths"]
