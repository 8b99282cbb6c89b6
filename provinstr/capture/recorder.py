"""The background writer: the training thread only enqueues; this thread renders and appends."""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterable, Protocol

from provinstr.capture import nquads
from provinstr.capture.safety import report

# Bounded so a stalled disk makes the producer wait instead of growing memory without end.
DEFAULT_QUEUE_SIZE = 20_000
# Unwritten text kept for a retry after a write error (a full disk may free up).
MAX_PENDING_CHARS = 64 * 1024 * 1024


class Sink(Protocol):
    """Where rendered N-Quads text goes (a run log, a remote server ...)."""

    def write(self, text: str) -> None: ...

    def close(self) -> None: ...


class _Flush:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class Recorder:
    """Turns (subject, pairs) records into N-Quads of one graph, off the calling thread."""

    def __init__(self, sink: Sink, graph: str, maxsize: int = DEFAULT_QUEUE_SIZE) -> None:
        self.sink = sink
        self.graph = graph
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._pending: list[str] = []
        self._pending_chars = 0
        self._dropped = 0
        self.error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="provinstr-recorder", daemon=True)
        self._thread.start()

    # -- producer side (any thread) ----------------------------------------------------
    def put(self, subject: str, pairs: Iterable[tuple[str, Any]]) -> None:
        """Enqueue one subject's statements; waits only when the queue is full."""
        if self._closed:
            return
        self._queue.put((subject, pairs))

    def flush(self, wait: bool = True, timeout: float | None = 30.0) -> bool:
        """Ask the writer to hand everything queued so far to the sink; optionally wait for it."""
        if self._closed or not self._thread.is_alive():
            return False
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout) if wait else True

    def close(self, timeout: float | None = 30.0) -> None:
        """Write everything still queued, then stop the writer and close the sink."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        try:
            self.sink.close()
        except Exception as error:  # noqa: BLE001
            report(error, "closing the provenance log")

    @property
    def dropped(self) -> int:
        """How many records could not be written at all (reported in a warning)."""
        return self._dropped

    # -- writer thread ---------------------------------------------------------------
    def _loop(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            chunk: list[str] = []
            markers: list[_Flush] = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, _Flush):
                    markers.append(item)
                else:
                    self._render(item, chunk)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._write("".join(chunk))
            for marker in markers:
                marker.done.set()
            if stop:
                return

    def _render(self, item: tuple[str, Iterable[tuple[str, Any]]], chunk: list[str]) -> None:
        try:
            chunk.append(nquads.render(item[0], self.graph, item[1]))
        except Exception as error:  # noqa: BLE001 - one bad value must not stop the writer
            self._dropped += 1
            self._fail(error, "rendering a provenance record")

    def _write(self, text: str) -> None:
        if text:
            self._pending.append(text)
            self._pending_chars += len(text)
        if not self._pending:
            return
        data = "".join(self._pending)
        try:
            self.sink.write(data)
        except Exception as error:  # noqa: BLE001 - disk full, folder read-only, server gone ...
            self._pending = [data]
            if self._pending_chars > MAX_PENDING_CHARS:
                self._dropped += data.count("\n")
                self._pending, self._pending_chars = [], 0
            self._fail(error, "writing provenance")
            return
        self._pending, self._pending_chars = [], 0

    def _fail(self, error: BaseException, where: str) -> None:
        if self.error is None:
            self.error = error
        try:
            report(error, where)
        except BaseException:  # strict mode: the error is re-raised on the producer side
            pass
