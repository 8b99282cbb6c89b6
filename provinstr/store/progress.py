"""A progress bar on stderr while the index catches up with a large backlog of run logs."""

from __future__ import annotations

import sys
from typing import Callable, Protocol

# A backlog this big takes a couple of seconds to index (about 20 MB/s on a small machine).
SHOW_ABOVE_BYTES = 48 * 1024 * 1024


class Progress(Protocol):
    """What the index reports while catching up: bytes and runs done out of the backlog, quads so far."""

    def __call__(self, done_bytes: int, total_bytes: int, done_runs: int, total_runs: int, quads: int) -> None: ...


class IngestBar:
    """A rich progress bar on stderr, shown only for a backlog worth it and only where someone sees it.

    `show`: True always, False never, None when stderr is a terminal and the backlog is large.
    """

    def __init__(self, total_bytes: int, total_runs: int, title: str = "indexing run logs",
                 show: bool | None = None) -> None:
        self.total_bytes = total_bytes
        self.total_runs = total_runs
        if show is None:
            show = total_bytes >= SHOW_ABOVE_BYTES and sys.stderr.isatty()
        self._bar = None
        if show:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TextColumn("{task.fields[runs]}"), TextColumn("{task.fields[quads]}"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            )
            self._task = self._bar.add_task(title, total=max(total_bytes, 1), runs="", quads="")

    def __enter__(self) -> "IngestBar":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, done_bytes: int, total_bytes: int, done_runs: int, total_runs: int, quads: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done_bytes, total=max(total_bytes, 1),
                             runs=f"{total_runs - done_runs:,} runs left", quads=f"{quads:,} quads" if quads else "")


ProgressFactory = Callable[[int, int], IngestBar]
