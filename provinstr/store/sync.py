"""Sending run logs to a SPARQL server (push) and combining stores from many machines (merge).

How far a log has been sent to which server is kept next to it in `runs/<id>.pushed`
({update URL: byte offset}). Sending the same lines twice adds nothing (deterministic IRIs,
RDF set semantics); a run's pi:status is replaced, never duplicated, and a final status is
never overwritten by "running".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pyoxigraph as ox

from provinstr.errors import RemoteError, StoreError
from provinstr.store import catalog, logs
from provinstr.store.local import LocalStore
from provinstr.vocab.terms import CATALOG_GRAPH, PI, RUN_BASE

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.store.remote import Endpoint

BATCH_ENV = "PROVINSTR_PUSH_BATCH_BYTES"
DEFAULT_BATCH_BYTES = 1 << 20
STATUS = f"<{PI.status}>".encode()
RUNNING = b'"running"'
_LISTING = f"<{PI.listingSummary}>"
# Logs longer than this get no listing summary when their run ends (what the catalog's seal skips too).
LISTING_LIMIT_BYTES = 32 * 1024 * 1024


# -- what has been sent ----------------------------------------------------------------
def pushed_path(log: Path) -> Path:
    """runs/<id>.pushed, for the plain and the compressed log alike."""
    return log.with_name(f"{logs.run_id_of(log) or log.stem}.pushed")


def pushed_offset(log: Path, url: str) -> int:
    """Bytes of `log` already on the server at `url`."""
    try:
        return int(json.loads(pushed_path(log).read_text() or "{}").get(url, 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def meant_for(log: Path, url: str) -> bool:
    """True when `log` was recorded to (or pushed to) the server at `url`: its .pushed file names it."""
    try:
        return url in json.loads(pushed_path(log).read_text() or "{}")
    except (OSError, ValueError, TypeError):
        return False


def record_pushed(log: Path, url: str, offset: int) -> None:
    """Note that `log` is on `url` up to `offset` (never moves backwards; safe across processes).

    Offset 0 notes that the log is meant for that server (a run recorded to it, none of it sent yet)."""
    with open(pushed_path(log), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        try:
            sent = json.loads(handle.read() or "{}")
        except ValueError:
            sent = {}
        if url in sent and offset <= int(sent[url]):
            return
        sent[url] = offset
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(sent, indent=0, sort_keys=True) + "\n")
        handle.flush()


def complete_lines(data: bytes) -> bytes:
    """The whole lines of `data` (a torn last line waits for its end)."""
    return data[: data.rfind(b"\n") + 1]


def unsent_lines(log: Path, url: str) -> int:
    """How many complete records of `log` are not on the server at `url` yet."""
    try:
        with logs.open_log(log) as handle:
            handle.seek(pushed_offset(log, url))
            return complete_lines(handle.read()).count(b"\n")
    except OSError:
        return 0


# -- sending -----------------------------------------------------------------------------
def batch_bytes() -> int:
    try:
        return max(4096, int(os.environ.get(BATCH_ENV) or DEFAULT_BATCH_BYTES))
    except ValueError:
        return DEFAULT_BATCH_BYTES


def push_log(endpoint: "Endpoint", log: Path, limit: int | None = None) -> int:
    """Send the unsent complete lines of one run log in batches; returns how many were sent."""
    limit = limit or batch_bytes()
    url = endpoint.update_url
    offset = pushed_offset(log, url)
    sent, ended = 0, False
    with logs.open_log(log) as handle:
        handle.seek(offset)
        while True:
            data = handle.read(limit)
            if not data.endswith(b"\n") and len(data) == limit:
                data += handle.readline()  # finish the last line (or a line longer than a batch)
            chunk = complete_lines(data)
            if not chunk:
                if ended:
                    send_listing(endpoint, log)
                return sent
            send_chunk(endpoint, chunk)
            ended = ended or ends_run(chunk)
            offset += len(chunk)
            handle.seek(offset)
            record_pushed(log, url, offset)
            sent += chunk.count(b"\n")


def send_chunk(endpoint: "Endpoint", chunk: bytes) -> None:
    """Insert N-Quads lines on the server; lines a failed write tore are left out."""
    try:
        text = to_update(chunk)
    except ValueError:
        text = to_update(valid_lines(chunk))
    if not text:
        return
    try:
        endpoint.update(text)
    except RemoteError as error:
        if error.code != 400:
            raise
        text = to_update(valid_lines(chunk))  # one bad line must not hold back the rest
        if text:
            endpoint.update(text)


def ends_run(chunk: bytes) -> bool:
    """True when the lines' last pi:status is a final one (as the run's writer tells it at close)."""
    return logs.last_status(chunk, b" " + STATUS + b" ") in logs.FINAL_STATUSES


# -- listing summaries -----------------------------------------------------------------------
def send_listing(endpoint: "Endpoint", log: Path) -> None:
    """Keep an ended run's listing summary on the server (pi:listingSummary in the catalog graph), replacing
    the one before, so `provinstr runs --store URL` reads one value per run instead of every metric."""
    text = listing_for(log)
    if text:
        with contextlib.suppress(RemoteError):  # a summary is an optimisation: without one the run is listed
            endpoint.update(text)


def listing_for(log: Path) -> str | None:
    """The SPARQL Update setting an ended run's listing summary, or None (unreadable, or too big to parse)."""
    run_id = logs.run_id_of(log)
    try:
        if run_id is None or logs.uncompressed_size(log) > LISTING_LIMIT_BYTES:
            return None  # a run's exit must not wait for parsing a huge log: it is listed from its records
        entry = catalog.log_entry(log)
    except (OSError, ValueError):
        return None
    return listing_update(RUN_BASE + run_id, entry) if entry is not None else None


def listing_update(run_iri: str, entry: dict) -> str:
    """The SPARQL Update that sets a run's listing summary from its catalog entry."""
    summary = {"version": catalog.ENTRY_VERSION, "hyperparameters": entry.get("hyperparameters", {}),
               "metrics": entry.get("metrics", {})}
    literal = ox.Literal(json.dumps(summary, default=str, allow_nan=True))
    graph, subject = f"<{CATALOG_GRAPH}>", str(ox.NamedNode(run_iri))
    return (f"DELETE WHERE {{ GRAPH {graph} {{ {subject} {_LISTING} ?old }} }} ;\n"
            f"INSERT DATA {{ GRAPH {graph} {{ {subject} {_LISTING} {literal} }} }}")


def read_listing(text: object) -> dict | None:
    """A listing summary's details, or None when it is unreadable or of another entry version."""
    try:
        summary = json.loads(str(text))
    except ValueError:
        return None
    if not isinstance(summary, dict) or summary.get("version") != catalog.ENTRY_VERSION:
        return None
    return summary


def to_update(chunk: bytes) -> str:
    """A SPARQL Update adding N-Quads lines; a run's pi:status replaces the one on the server.

    Raises ValueError on a line that is not `<s> <p> o <g> .`.
    """
    graphs: dict[bytes, list[bytes]] = {}
    statuses: dict[tuple[bytes, bytes], bytes] = {}
    for line in chunk.splitlines():
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        body, graph, dot = line.rsplit(b" ", 2)
        subject, predicate, _ = body.split(b" ", 2)
        if dot != b"." or not graph.startswith(b"<") or not graph.endswith(b">") or not subject.startswith(b"<"):
            raise ValueError(f"not a run-log line: {line[:80]!r}")
        if predicate == STATUS:
            statuses[(graph, subject)] = body.split(b" ", 2)[2]
            continue
        graphs.setdefault(graph, []).append(body)
    parts = []
    if graphs:
        inner = "".join(
            f"GRAPH {g.decode()} {{\n" + " .\n".join(b.decode("utf-8") for b in bodies) + " .\n}\n"
            for g, bodies in graphs.items()
        )
        parts.append(f"INSERT DATA {{\n{inner}}}")
    status = STATUS.decode()
    for (g, s), value in statuses.items():
        graph, subject = g.decode(), s.decode()
        if value == RUNNING:  # only a run without any status yet is "running"
            parts.append(  # a run continued under its id: its earlier summary no longer holds
                f"DELETE WHERE {{ GRAPH <{CATALOG_GRAPH}> {{ {subject} {_LISTING} ?summary }} }}"
            )
            parts.append(
                f"INSERT {{ GRAPH {graph} {{ {subject} {status} \"running\" }} }} "
                f"WHERE {{ FILTER NOT EXISTS {{ GRAPH {graph} {{ {subject} {status} ?old }} }} }}"
            )
        else:
            parts.append(
                f"DELETE WHERE {{ GRAPH {graph} {{ {subject} {status} ?old }} }} ;\n"
                f"INSERT DATA {{ GRAPH {graph} {{ {subject} {status} {value.decode('utf-8')} }} }}"
            )
    return " ;\n".join(parts)


def valid_lines(chunk: bytes) -> bytes:
    """The lines of `chunk` that parse as N-Quads in a named graph, in canonical form."""
    good = []
    for line in chunk.splitlines():
        with contextlib.suppress(SyntaxError):
            for quad in ox.parse(line, format=ox.RdfFormat.N_QUADS):
                if isinstance(quad.graph_name, ox.NamedNode):
                    good.append(f"{quad.subject} {quad.predicate} {quad.object} {quad.graph_name} .\n")
    return "".join(good).encode("utf-8")


# -- merging -------------------------------------------------------------------------------
@dataclass
class Merged:
    """What merge did with one run log: copied, extended, combined, kept (already there) or skipped."""

    source: Path
    run_id: str
    action: str
    lines: int = 0


def merge_stores(sources: Iterable[str | os.PathLike], target: LocalStore) -> list[Merged]:
    """Copy every run of each source store into `target`; a run already there gets only its missing lines."""
    results = []
    for source in sources:
        store = LocalStore(source)
        if store.path.resolve() == target.path.resolve():
            raise StoreError(f"{source} is the target store itself; name the other machines' stores")
        for run_id in store.run_ids():
            merged = _merge_log(store.log_path(run_id), target, run_id)
            merged.source = store.path
            results.append(merged)
    return results


def _merge_log(src: Path, target: LocalStore, run_id: str) -> Merged:
    data = complete_lines(logs.read_log(src))
    dst = target.log_path(run_id)
    if not dst.exists():
        target.create()
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dst)  # a plain log: the next reindex compresses it if its run has finished
        return Merged(src, run_id, "copied", data.count(b"\n"))
    if target.is_live(run_id):
        return Merged(src, run_id, "skipped (being recorded here now)")
    if logs.is_compressed(dst):
        dst = logs.expand_log(dst)  # it gets more lines: plain (appendable) again
    have = dst.read_bytes()
    if have.startswith(data):
        return Merged(src, run_id, "kept")
    if data.startswith(have) and have.endswith(b"\n"):
        extra = data[len(have):]
    else:
        known = set(have.splitlines())
        extra = b"".join(line + b"\n" for line in data.splitlines() if line not in known)
        if have and not have.endswith(b"\n"):
            extra = b"\n" + extra
    if not extra.strip():
        return Merged(src, run_id, "kept")
    with open(dst, "ab") as handle:
        handle.write(extra)
    return Merged(src, run_id, "extended", extra.count(b"\n"))
