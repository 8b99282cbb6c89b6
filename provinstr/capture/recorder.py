"""The background writer: the training thread only enqueues; this thread renders and appends."""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Iterable, Protocol

from provinstr.capture.redaction import Redactor
from provinstr.capture.safety import report

# Bounded so a stalled disk makes the producer wait instead of growing memory without end.
DEFAULT_QUEUE_SIZE = 20_000
# How often the writer looks for new records when nobody asked it to flush (seconds): what a live
# query may lag behind. Each wake-up takes the GIL; a timer lands mostly while TensorFlow runs without
# it (a wake at every epoch end and a 0.1 s poll cost +0.5 ms per epoch more, bench/overhead_parts.py).
POLL_SECONDS = 0.5
# Records rendered and written per write call, so a long backlog frees room for producers early.
BATCH = 5_000
# Unwritten text kept for a retry after a write error (a full disk may free up).
MAX_PENDING_CHARS = 64 * 1024 * 1024
# After a failed write, wait this long before trying again (unless a flush or close asks).
RETRY_SECONDS = 1.0


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
    """Turns (subject, pairs) records into N-Quads of one graph, off the calling thread.

    The producer side is a lock-free deque append (the GIL makes it atomic); the writer polls
    it, so a training thread never contends for a lock or wakes a thread per record.
    """

    def __init__(self, sink: Sink, graph: str, maxsize: int = DEFAULT_QUEUE_SIZE,
                 redactor: Redactor | None = None) -> None:
        self.sink = sink
        self.graph = graph
        # Every record is rendered through it, so no secret text reaches the sink (default: names and URLs only,
        # no project patterns; Run passes the project's).
        self.redactor = redactor if redactor is not None else Redactor()
        self.maxsize = maxsize
        self._items: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._pending: list[str] = []
        self._pending_chars = 0
        self._retry_at = 0.0
        self._dropped = 0
        self.error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="provinstr-recorder", daemon=True)
        self._thread.start()

    # -- producer side (any thread) ----------------------------------------------------
    def put(self, subject: str, pairs: Iterable[tuple[str, Any]]) -> None:
        """Enqueue one subject's statements; waits only when `maxsize` records are waiting."""
        if self._closed:
            report(RuntimeError(f"a record for {subject} arrived after its run ended"), "recording after the run ended")
            return
        self._items.append((subject, pairs))
        if len(self._items) >= self.maxsize:
            self._wait_for_room()

    def _wait_for_room(self) -> None:
        self._wake.set()
        with self._room:
            while len(self._items) >= self.maxsize and self._thread.is_alive():
                self._room.wait(POLL_SECONDS)

    def flush(self, wait: bool = True, timeout: float | None = 30.0) -> bool:
        """Ask the writer to hand everything queued so far to the sink; optionally wait for it."""
        if self._closed or not self._thread.is_alive():
            return False
        marker = _Flush()
        self._items.append(marker)
        self._wake.set()
        return marker.done.wait(timeout) if wait else True

    def close(self, timeout: float | None = 30.0) -> None:
        """Write everything still queued, then stop the writer and close the sink."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._items.append(_STOP)
            self._wake.set()
            self._thread.join(timeout)
        if self._pending and not self._thread.is_alive():  # the store never took them back
            lost = sum(text.count("\n") for text in self._pending)
            self._dropped += lost
            self._fail(RuntimeError(f"{lost} statements were never written"), "writing provenance as the run ended",
                       advice=f"they are lost; the store at {_where(self.sink)} refused them to the end")
        try:
            self.sink.close()
        except Exception as error:  # noqa: BLE001
            self._fail(error, "closing the provenance log")

    def take_error(self) -> BaseException | None:
        """The first capture error not yet handed to a caller (strict mode raises each one once)."""
        error, self.error = self.error, None
        return error

    @property
    def dropped(self) -> int:
        """How many statements could not be written at all (a warning said so)."""
        return self._dropped

    @property
    def backlog(self) -> int:
        """Records enqueued and not yet rendered."""
        return len(self._items)

    # -- writer thread ---------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                if self._drain():
                    return
            except BaseException as error:  # noqa: BLE001 - the writer must outlive any one problem
                self._fail(error, "writing provenance")

    def _drain(self) -> bool:
        """Render and write everything queued now; True when told to stop."""
        items = self._items
        chunk: list[str] = []
        markers: list[_Flush] = []
        stop = False
        while items and not stop:
            item = items.popleft()
            if item is _STOP:
                stop = True
            elif isinstance(item, _Flush):
                markers.append(item)
            else:
                self._render(item, chunk)
                if len(chunk) >= BATCH:
                    self._write("".join(chunk))
                    chunk = []
                    self._make_room()
        self._write("".join(chunk), force=bool(markers) or stop)
        self._make_room()
        for marker in markers:
            marker.done.set()
        return stop

    def _make_room(self) -> None:
        with self._room:
            self._room.notify_all()

    def _render(self, item: tuple[str, Iterable[tuple[str, Any]]], chunk: list[str]) -> None:
        try:
            chunk.append(self.redactor.render(item[0], self.graph, item[1]))
        except Exception as error:  # noqa: BLE001 - one bad value must not stop the writer
            self._dropped += 1
            self._fail(error, "rendering a provenance record")

    def _write(self, text: str, force: bool = False) -> None:
        if text:
            self._pending.append(text)
            self._pending_chars += len(text)
        if not self._pending or (not force and time.monotonic() < self._retry_at):
            return
        data = "".join(self._pending)
        self._pending = [data]
        try:
            self.sink.write(data)
        except Exception as error:  # noqa: BLE001 - disk full, folder read-only, server gone ...
            self._retry_at = time.monotonic() + RETRY_SECONDS
            self._fail(error, f"writing provenance to {_where(self.sink)}", advice=WRITE_ADVICE)
            if self._pending_chars > MAX_PENDING_CHARS:
                lost = data.count("\n")
                self._dropped += lost
                self._pending, self._pending_chars = [], 0
                self._fail(RuntimeError(f"{lost} statements were dropped"), "keeping unwritten provenance in memory",
                           advice=f"more than {MAX_PENDING_CHARS >> 20} MB waited for the store; {WRITE_ADVICE}")
            return
        self._pending, self._pending_chars, self._retry_at = [], 0, 0.0

    def _fail(self, error: BaseException, where: str, advice: str | None = None) -> None:
        if self.error is None:
            self.error = error
        try:
            report(error, where, advice=advice)
        except BaseException:  # strict mode: the error is re-raised on the producer side
            pass


WRITE_ADVICE = (
    "provinstr keeps what it could not write and retries; free space or fix the folder "
    "(or point PROVINSTR_STORE elsewhere for the next run)"
)


def _where(sink: Sink) -> str:
    return str(getattr(sink, "path", None) or type(sink).__name__)
