"""`provinstr push`: sending a store's runs to a SPARQL server, in bulk where the server takes N-Quads.

A SPARQL Update request per megabyte of one run is what a live run's pusher sends (sync.push_log);
for a store of many runs that keeps the server in one transaction per request (Oxigraph took
1,000 runs at 2.3 runs/s). Here the unsent lines of many runs go in one POST of N-Quads to the
server's Graph Store endpoint (Oxigraph's `/store?no_transaction` takes them through its bulk
loader: 1,000 runs in about 40 s); only the runs' pi:status lines and listing summaries go as
SPARQL Update, so a status is still replaced, never doubled. A server without such an endpoint
gets the Update path for everything, as before.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from provinstr.errors import RemoteError, StoreError
from provinstr.store import logs, sync
from provinstr.store.local import LocalStore

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.store.remote import Endpoint

BULK_BATCH_ENV = "PROVINSTR_PUSH_BULK_BYTES"
DEFAULT_BULK_BYTES = 64 << 20  # per POST: fewer, larger loads cost the server less (16 MB: 1.3x the time)
_NQUADS = "application/n-quads"
# HTTP answers meaning "no Graph Store endpoint here" (or not for N-Quads): push by SPARQL Update instead.
_NOT_HERE = (404, 405, 406, 415, 501)
_STATUS_PREDICATE = b" " + sync.STATUS + b" "

Progress = Callable[[int, int, int, int, int], None]


@dataclass
class Pushed:
    """What push did for one run: records sent now, and (read when asked) how many its log holds."""

    run_id: str
    sent: int
    log: Path = field(repr=False)

    @functools.cached_property
    def total(self) -> int:
        return sync.complete_lines(logs.read_log(self.log)).count(b"\n")


def chosen_runs(store: LocalStore, refs: Iterable[str] = ()) -> list[str]:
    """Every run id of the store, or the one each ref (an id prefix or a run IRI) names."""
    ids = store.run_ids()
    refs = list(refs)
    if not refs:
        return ids
    chosen = []
    for ref in refs:
        key = ref.rsplit("/", 1)[-1]
        matches = [run_id for run_id in ids if run_id.startswith(key)]
        if len(matches) != 1:
            found = "no run" if not matches else f"{len(matches)} runs"
            raise StoreError(f"{ref!r} matches {found} in the store at {store.path} (see: provinstr runs)")
        chosen.append(matches[0])
    return chosen


def unsent_bytes(store: LocalStore, run_ids: list[str], url: str) -> int:
    """Bytes of the runs' logs (uncompressed) not on the server yet, for a progress bar."""
    total = 0
    for run_id in run_ids:
        log = store.log_path(run_id)
        try:
            total += max(0, logs.uncompressed_size(log) - sync.pushed_offset(log, url))
        except OSError:
            pass
    return total


def push_store(store: LocalStore, endpoint: "Endpoint", refs: Iterable[str] = ()) -> list[Pushed]:
    """Send the unsent rest of the store's runs (all, or those whose id starts with a ref) to a server."""
    return push_runs(store, endpoint, chosen_runs(store, refs))


def push_runs(store: LocalStore, endpoint: "Endpoint", run_ids: list[str], progress: Progress | None = None,
              total_bytes: int = 0) -> list[Pushed]:
    """Send the unsent rest of these runs; `progress(done_bytes, total_bytes, done_runs, total_runs, records)`
    is called as batches land (`total_bytes`: what unsent_bytes said)."""
    chosen, total = run_ids, total_bytes
    if endpoint.data_url:
        try:
            return _Bulk(endpoint, chosen, total, progress).push(store)
        except _NoBulkEndpoint:
            endpoint.data_url = None  # what was sent stays recorded; the rest goes by SPARQL Update
    results, done, records = [], 0, 0
    for number, run_id in enumerate(chosen, 1):
        log = store.log_path(run_id)
        before = sync.pushed_offset(log, endpoint.update_url)
        results.append(Pushed(run_id, sync.push_log(endpoint, log), log))
        if progress is not None:
            done += sync.pushed_offset(log, endpoint.update_url) - before
            records += results[-1].sent
            progress(done, total, number, len(chosen), records)
    return results


class _NoBulkEndpoint(Exception):
    """The server has no endpoint taking N-Quads by POST where provinstr looked."""


class _Bulk:
    """Unsent lines of many logs gathered into POSTs of about DEFAULT_BULK_BYTES each."""

    def __init__(self, endpoint: "Endpoint", run_ids: list[str], total_bytes: int, progress: Progress | None) -> None:
        self.endpoint, self.url = endpoint, endpoint.update_url
        self.limit = _bulk_bytes()
        self.run_ids, self.total_bytes, self.progress = run_ids, total_bytes, progress
        self.done_runs = self.done_bytes = self.records = 0
        self._reset()

    def _reset(self) -> None:
        self.data: list[bytes] = []
        self.size = 0
        self.statuses: list[bytes] = []
        self.offsets: dict[Path, int] = {}  # log -> its offset once this batch is on the server
        self.ended: list[Path] = []  # logs whose run ended in this batch: they get a listing summary

    def push(self, store: LocalStore) -> list[Pushed]:
        results = []
        for run_id in self.run_ids:
            log = store.log_path(run_id)
            results.append(Pushed(run_id, self._gather(log), log))
            self.done_runs += 1
        self._send()
        return results

    def _gather(self, log: Path) -> int:
        """Add the log's unsent complete lines to the batches; returns how many lines it adds."""
        offset = sync.pushed_offset(log, self.url)
        added, ended = 0, False
        with logs.open_log(log) as handle:
            handle.seek(offset)
            while True:
                room = max(self.limit - self.size, 4096)
                data = handle.read(room)
                if len(data) == room and not data.endswith(b"\n"):
                    data += handle.readline()  # finish the last line
                chunk = sync.complete_lines(data)
                if not chunk:
                    break
                self._add(chunk)
                ended = ended or sync.ends_run(chunk)
                offset += len(chunk)
                added += chunk.count(b"\n")
                handle.seek(offset)
                self.offsets[log] = offset
                if ended and log not in self.ended:
                    self.ended.append(log)
                if self.size >= self.limit:
                    self._send()
        return added

    def _add(self, chunk: bytes) -> None:
        if _STATUS_PREDICATE in chunk:  # status lines replace the server's status: they go as SPARQL Update
            lines = chunk.splitlines(keepends=True)
            self.statuses += [line for line in lines if _STATUS_PREDICATE in line]
            chunk = b"".join(line for line in lines if _STATUS_PREDICATE not in line)
        self.data.append(chunk)
        self.size += len(chunk)

    def _send(self) -> None:
        """The batch's quads by one POST, then its statuses, then the offsets, then the listing summaries."""
        if not self.offsets:
            return
        body = b"".join(self.data)
        if body:
            self._post(body)
        if self.statuses:
            sync.send_chunk(self.endpoint, b"".join(self.statuses))
        for log, offset in self.offsets.items():
            sync.record_pushed(log, self.url, offset)
        listings = [text for text in map(sync.listing_for, self.ended) if text]
        if listings:
            try:
                self.endpoint.update(" ;\n".join(listings))
            except RemoteError:
                pass  # a summary is an optimisation: without one the run is listed from its records
        self.done_bytes += self.size + sum(map(len, self.statuses))
        self.records += body.count(b"\n") + len(self.statuses)
        if self.progress is not None:
            self.progress(self.done_bytes, self.total_bytes, self.done_runs, len(self.run_ids), self.records)
        self._reset()

    def _post(self, body: bytes) -> None:
        try:
            self.endpoint.post(self.endpoint.data_url, body, _NQUADS)
        except RemoteError as error:
            if error.code in _NOT_HERE:
                raise _NoBulkEndpoint() from None
            if error.code != 400:
                raise
            valid = sync.valid_lines(body)  # a line a failed write tore must not hold back the rest
            if valid:
                self.endpoint.post(self.endpoint.data_url, valid, _NQUADS)


def _bulk_bytes() -> int:
    try:
        return max(4096, int(os.environ.get(BULK_BATCH_ENV) or DEFAULT_BULK_BYTES))
    except ValueError:
        return DEFAULT_BULK_BYTES
