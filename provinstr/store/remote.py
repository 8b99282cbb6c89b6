"""The SPARQL server store: runs written to any SPARQL 1.1 endpoint, through a local spool log.

Writes go to the run's log in a local spool folder first (the truth, as for a local store);
a background thread sends the new lines in batches of SPARQL Update to the server, with
retries and backoff, and records in `runs/<id>.pushed` how far it got. Reads are SPARQL
Protocol queries. Credentials come from the URL, the environment or ~/.netrc and never
appear in provenance, messages or logs.
"""

from __future__ import annotations

import base64
import json
import netrc
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from provinstr.config import DEFAULT_STORE, project_settings
from provinstr.errors import ProvinstrWarning, QuerySyntaxError, RemoteError, StoreError
from provinstr.store import sync
from provinstr.store.local import LocalStore
from provinstr.store.results import QueryResult, collect
from provinstr.store.scoping import scoped
from provinstr.vocab.terms import CATALOG_GRAPH, PI, PREFIXES, RUN_BASE

QUERY_URL_ENV = "PROVINSTR_QUERY_URL"
UPDATE_URL_ENV = "PROVINSTR_UPDATE_URL"
DATA_URL_ENV = "PROVINSTR_DATA_URL"  # where `provinstr push` POSTs N-Quads; "none": SPARQL Update only
SPOOL_ENV = "PROVINSTR_SPOOL"
TOKEN_ENV = "PROVINSTR_TOKEN"
USER_ENV = "PROVINSTR_USER"
PASSWORD_ENV = "PROVINSTR_PASSWORD"
TIMEOUT_ENV = "PROVINSTR_HTTP_TIMEOUT"
EXIT_WAIT_ENV = "PROVINSTR_PUSH_EXIT_WAIT"

DEFAULT_TIMEOUT = 10.0
DEFAULT_EXIT_WAIT = 10.0
MAX_BACKOFF = 30.0

_RESULTS_JSON = "application/sparql-results+json"
_RESULTS_XML = "application/sparql-results+xml"
_ACCEPT = f"{_RESULTS_JSON}, {_RESULTS_XML};q=0.9, application/n-triples;q=0.8, text/turtle;q=0.7"
_RDF_FORMATS = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
_PROLOGUE = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items())
_GRAPHS_QUERY = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?g a pi:Run } }"
_SUMMARIES_QUERY = f"SELECT ?run ?summary WHERE {{ GRAPH <{CATALOG_GRAPH}> {{ ?run <{PI.listingSummary}> ?summary }} }}"
_EXAMPLES = "Oxigraph: http://HOST:7878, Fuseki: http://HOST:3030/DATASET, GraphDB: http://HOST:7200/repositories/REPO"


def is_url(location: str | os.PathLike | None) -> bool:
    """True when a store location names a server (http:// or https://) rather than a folder."""
    return location is not None and "://" in str(location)


def spool_location() -> Path:
    """Where runs recorded to a server keep their local logs: $PROVINSTR_SPOOL, pyproject `spool`, ./.provinstr."""
    if os.environ.get(SPOOL_ENV):
        return Path(os.environ[SPOOL_ENV])
    settings, path = project_settings()
    if settings.get("spool") and path is not None:
        return (path.parent / str(settings["spool"])).resolve()
    return Path(DEFAULT_STORE)


class Endpoint:
    """A SPARQL 1.1 server: its query and update URLs and how to authenticate to it."""

    def __init__(self, location: str, query_url: str | None = None, update_url: str | None = None) -> None:
        parts = urllib.parse.urlsplit(str(location).strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(
                f"{redact(location)}: not a SPARQL server URL; use http://HOST:PORT/... or https://... "
                f"({_EXAMPLES})"
            )
        self._user = urllib.parse.unquote(parts.username) if parts.username else None
        self._password = urllib.parse.unquote(parts.password) if parts.password else None
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), parts.query, ""))
        self.host = parts.hostname
        settings, _ = project_settings()
        derived_query, derived_update, derived_data = _derive(self.url)
        self.query_url = _clean(query_url or os.environ.get(QUERY_URL_ENV) or settings.get("query_url") or derived_query)
        self.update_url = _clean(
            update_url or os.environ.get(UPDATE_URL_ENV) or settings.get("update_url") or derived_update
        )
        data_url = os.environ.get(DATA_URL_ENV) or settings.get("data_url") or derived_data
        self.data_url = None if not data_url or str(data_url).lower() == "none" else _clean(data_url)
        try:
            self.timeout = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
        except ValueError:
            self.timeout = DEFAULT_TIMEOUT

    def __str__(self) -> str:
        return self.url

    # -- authentication (never stored, never printed) ---------------------------------
    def _authorization(self) -> str | None:
        token = os.environ.get(TOKEN_ENV)
        if token:
            return f"Bearer {token}"
        user, password = self._user, self._password
        if user is None and os.environ.get(USER_ENV):
            user, password = os.environ[USER_ENV], os.environ.get(PASSWORD_ENV, "")
        if user is None:
            try:
                entry = netrc.netrc(os.environ.get("NETRC") or None).authenticators(self.host)
            except (OSError, netrc.NetrcParseError):
                entry = None
            if entry:
                user, password = entry[0], entry[2]
        if user is None:
            return None
        raw = f"{user}:{password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    # -- requests ------------------------------------------------------------------------
    def post(self, url: str, body: bytes, content_type: str, accept: str = "*/*",
             timeout: float | None = None) -> tuple[str, bytes]:
        """POST `body` to `url`; returns (content type, answer). Raises RemoteError with a message to act on."""
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", content_type)
        request.add_header("Accept", accept)
        request.add_header("User-Agent", "provinstr")
        authorization = self._authorization()
        if authorization:
            request.add_header("Authorization", authorization)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as answer:
                kind = answer.headers.get_content_type()
                return kind, answer.read()
        except urllib.error.HTTPError as error:
            detail = _snippet(error.read() if error.fp else b"")
            problem = self._http_error(url, error.code, error.reason, detail)
            problem.code = error.code
            raise problem from None
        except urllib.error.URLError as error:
            reason = getattr(error.reason, "strerror", None) or str(error.reason)
            raise RemoteError(
                f"cannot reach the SPARQL server {redact(url)} ({reason}); is it running? "
                "Records stay in the local log; send them later with: provinstr push"
            ) from None
        except (socket.timeout, TimeoutError):
            raise RemoteError(
                f"the SPARQL server {redact(url)} did not answer within {timeout or self.timeout:g} s "
                f"(set {TIMEOUT_ENV} to wait longer)"
            ) from None
        except (ConnectionError, OSError) as error:
            raise RemoteError(f"the connection to the SPARQL server {redact(url)} failed ({error})") from None

    def _http_error(self, url: str, code: int, reason: str, detail: str) -> RemoteError:
        where = redact(url)
        if code in (401, 403):
            return RemoteError(
                f"the SPARQL server {where} refused the credentials (HTTP {code} {reason}): set {TOKEN_ENV} "
                f"(bearer token) or {USER_ENV}/{PASSWORD_ENV}, or add `machine {self.host}` to ~/.netrc",
                permanent=True,
            )
        if code in (404, 405, 501):
            return RemoteError(
                f"{where} is not a SPARQL endpoint (HTTP {code} {reason}); check the store URL "
                f"({_EXAMPLES}) or set {QUERY_URL_ENV} / {UPDATE_URL_ENV}",
                permanent=True,
            )
        if code == 400:
            return RemoteError(f"the SPARQL server {where} rejected the request (HTTP 400): {detail}", permanent=True)
        return RemoteError(f"the SPARQL server {where} failed (HTTP {code} {reason}){': ' + detail if detail else ''}")

    def update(self, text: str, timeout: float | None = None) -> None:
        """Run a SPARQL Update request."""
        self.post(self.update_url, text.encode("utf-8"), "application/sparql-update", timeout=timeout)

    def select(self, sparql: str, default_graphs: list[str] | None = None,
               named_graphs: list[str] | None = None) -> QueryResult:
        """Answer a query (prefixes predeclared); graph lists become the protocol's dataset parameters."""
        fields: list[tuple[str, str]] = [("query", _PROLOGUE + sparql)]
        fields += [("default-graph-uri", g) for g in default_graphs or ()]
        fields += [("named-graph-uri", g) for g in named_graphs or ()]
        body = urllib.parse.urlencode(fields).encode("ascii")
        try:
            kind, data = self.post(self.query_url, body, "application/x-www-form-urlencoded", _ACCEPT)
        except RemoteError as error:
            if error.code == 400:
                detail = str(error).split("(HTTP 400): ", 1)[-1]
                raise QuerySyntaxError(f"malformed SPARQL (the server {redact(self.query_url)} says): {detail}") from None
            raise
        return self._parse_answer(kind, data)

    def _parse_answer(self, kind: str, data: bytes) -> QueryResult:
        try:
            if kind == _RESULTS_JSON or kind == "application/json":
                return collect(ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON))
            if kind == _RESULTS_XML:
                return collect(ox.parse_query_results(data, format=ox.QueryResultsFormat.XML))
            if kind in _RDF_FORMATS:
                quads = ox.parse(data, format=_RDF_FORMATS[kind])
                return QueryResult(triples=[ox.Triple(q.subject, q.predicate, q.object) for q in quads])
        except (SyntaxError, ValueError) as error:
            raise RemoteError(f"{redact(self.query_url)} sent an unreadable SPARQL answer ({error})") from None
        raise RemoteError(
            f"{redact(self.query_url)} is not a SPARQL endpoint: it answered a query with {kind or 'no content type'}, "
            f"not SPARQL results; check the store URL ({_EXAMPLES}) or set {QUERY_URL_ENV}",
            permanent=True,
        )


class RemoteStore:
    """A SPARQL server used as a provinstr store; records are spooled locally first."""

    def __init__(self, location: str, create: bool = False, spool: str | os.PathLike | None = None) -> None:
        self.endpoint = Endpoint(location)
        self.location = self.path = self.endpoint.url
        self.spool_path = Path(spool) if spool is not None else spool_location()

    def spool(self, create: bool = False) -> LocalStore | None:
        """The local spool store (None when it does not exist and `create` is false)."""
        if not create and not (self.spool_path / "runs").is_dir():
            return None
        return LocalStore(self.spool_path, create=create)

    # -- reading ---------------------------------------------------------------------
    def run_graphs(self) -> list[str]:
        """IRIs of every run graph on the server."""
        return [row[0] for row in self.endpoint.select(_GRAPHS_QUERY).rows]

    def run_ids(self) -> list[str]:
        return sorted(g[len(RUN_BASE):] for g in self.run_graphs() if g.startswith(RUN_BASE))

    def query(self, sparql: str, graphs: list[str] | None = None, most: int | None = None) -> QueryResult:
        """Answer SPARQL as a local store does: the default graph is the union of the run graphs (or `graphs`);
        at most `most` rows kept (`more` says whether there were others).

        A query that reads only `GRAPH ?var { … }` patterns is asked of the server's dataset as it is, each
        ?var kept to the run graphs (store/scoping.py): naming 10,000 graphs in the request made the listing
        query take 27 s on Oxigraph instead of 1.1 s."""
        narrowed = scoped(sparql, RUN_BASE) if graphs is None else None
        if narrowed is not None:
            result = self.endpoint.select(narrowed)
        else:
            every = self.run_graphs()
            result = self.endpoint.select(sparql, default_graphs=graphs if graphs is not None else every,
                                          named_graphs=every)
        if most is not None and len(result.terms or result.triples or []) > most:
            if result.triples is not None:
                result.triples = result.triples[:most]
            else:
                result.rows, result.terms = result.rows[:most], result.terms[:most]
            result.more = True
        return result

    def listing_summaries(self) -> dict[str, dict[str, Any]]:
        """Run IRI -> {"hyperparameters", "metrics"} as `provinstr push` summarised each ended run (one query);
        a summary of another entry version, or unreadable, is left out (the run is then asked in full)."""
        summaries = {}
        for run, text in self.endpoint.select(_SUMMARIES_QUERY).rows:
            summary = sync.read_listing(text)
            if summary is not None:
                summaries[run] = summary
        return summaries

    def run_quads(self, run_iri: str) -> list[ox.Quad]:
        """Every quad of one run's graph."""
        graph = ox.NamedNode(run_iri)
        answer = self.endpoint.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{run_iri}> {{ ?s ?p ?o }} }}")
        return [ox.Quad(s, p, o, graph) for s, p, o in answer.terms]

    def is_live(self, run_id: str) -> bool:
        """A run spooled here is live while its process holds the log; a run from elsewhere is taken as live."""
        spool = self.spool()
        if spool is not None and spool.log_path(run_id).exists():
            return spool.is_live(run_id)
        return True

    def reindex(self) -> int:
        raise StoreError(
            f"{self.location} is a SPARQL server: it has no local index to rebuild "
            f"(the spool {self.spool_path} does: provinstr reindex --store {self.spool_path})"
        )

    def unsent(self) -> dict[str, int]:
        """Run id -> number of records in the spool not yet on this server."""
        spool = self.spool()
        if spool is None:
            return {}
        counts = {}
        for run_id in spool.run_ids():
            log = spool.log_path(run_id)
            if not sync.meant_for(log, self.endpoint.update_url):
                continue  # a run of the spool folder used as a local store, or recorded to another server
            lines = sync.unsent_lines(log, self.endpoint.update_url)
            if lines:
                counts[run_id] = lines
        return counts

    # -- writing -----------------------------------------------------------------------
    def models_folder(self, run_id: str) -> Path:
        """Where a run's files (the trained models provinstr saves) go: <spool>/models/<run-id> (not created).

        A server holds only provenance: the files stay in the local spool, and their entities'
        prov:atLocation says where.
        """
        return Path(os.path.abspath(self.spool_path)) / "models" / run_id

    def open_log(self, run_id: str) -> "RemoteSink":
        """A sink that appends to the spool log and sends new lines to the server from its own thread."""
        spool = self.spool(create=True)
        assert spool is not None
        return RemoteSink(self.endpoint, spool.open_log(run_id, index_when_ended=False))  # the server is queried


class RemoteSink:
    """A run's writer for a server store: the local log first, then the server, never blocking the caller."""

    def __init__(self, endpoint: Endpoint, log: Any) -> None:
        self.endpoint = endpoint
        self.log = log
        self.path: Path = log.path
        sync.record_pushed(self.path, endpoint.update_url, 0)  # this run is meant for that server
        self._wake = threading.Event()
        self._stopping = False
        self._warned: set[str] = set()
        self.failure: RemoteError | None = None
        self._thread = threading.Thread(target=self._loop, name="provinstr-push", daemon=True)
        self._thread.start()

    def write(self, text: str) -> None:
        self.log.write(text)
        self._wake.set()

    def close(self) -> None:
        """Send what is left (waiting at most $PROVINSTR_PUSH_EXIT_WAIT seconds), then close the log."""
        self._stopping = True
        self._wake.set()
        try:
            wait = float(os.environ.get(EXIT_WAIT_ENV) or DEFAULT_EXIT_WAIT)
        except ValueError:
            wait = DEFAULT_EXIT_WAIT
        self._thread.join(wait)
        left = sync.unsent_lines(self.path, self.endpoint.update_url)
        if left:
            reason = f" ({self.failure})" if self.failure else ""
            self._warn(
                "unsent",
                f"{left} records of run {self.path.stem} are not on {self.endpoint}{reason}; they are kept in "
                f"{self.path}; send them with: provinstr push --to {self.endpoint} --store {self.path.parent.parent}",
            )
        self.log.close()

    def release_after_fork(self) -> None:
        """In a forked child: let go of the parent's log (the child records its own run)."""
        release = getattr(self.log, "release_after_fork", None)
        if release is not None:
            release()

    def _loop(self) -> None:
        backoff = 0.5
        while True:
            self._wake.wait(None if not self.failure else backoff)
            self._wake.clear()
            stopping = self._stopping
            try:
                sync.push_log(self.endpoint, self.path)
            except RemoteError as error:
                self.failure = error
                if error.permanent or stopping:
                    self._warn("fail", f"{error}")
                    return
                self._warn("retry", f"{error}; retrying in the background")
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except Exception as error:  # noqa: BLE001 - the pusher must never take the program down
                self.failure = RemoteError(str(error))
                self._warn("fail", f"sending provenance to {self.endpoint} failed ({type(error).__name__}: {error})")
                return
            self.failure, backoff = None, 0.5
            if stopping:
                return

    def _warn(self, key: str, message: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        warnings.warn(f"provinstr: {message}", ProvinstrWarning, stacklevel=2)


def redact(url: str | os.PathLike) -> str:
    """A URL with any user name, password and query string removed (safe to print)."""
    parts = urllib.parse.urlsplit(str(url))
    if not parts.hostname:
        return str(url)
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _derive(url: str) -> tuple[str, str, str | None]:
    """Query, update and bulk-load URLs from a store URL, following the servers' usual layouts.

    The bulk-load URL takes a POST of N-Quads (the Graph Store Protocol on a dataset); None where the
    layout has no known one. A server that answers it 404 gets SPARQL Update instead."""
    path = urllib.parse.urlsplit(url).path
    if path.endswith("/query"):
        return url, url[: -len("/query")] + "/update", None
    if path.endswith("/update"):
        return url[: -len("/update")] + "/query", url, None
    if path.endswith("/sparql"):  # Virtuoso, Blazegraph: one endpoint for both
        return url, url, None
    if "/repositories/" in path:  # GraphDB, RDF4J
        return url, url + "/statements", url + "/statements"
    # Oxigraph (its bulk loader: no transaction, so a failed POST may leave part of it, sent again later), Fuseki
    return url + "/query", url + "/update", url + "/store?no_transaction"


def _clean(url: Any) -> str:
    """A URL without credentials in it (they are taken separately)."""
    parts = urllib.parse.urlsplit(str(url))
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _snippet(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    try:
        text = json.loads(text).get("message", text)  # some servers answer errors as JSON
    except (ValueError, AttributeError):
        pass
    text = " ".join(text.split())
    return text[:300] + ("…" if len(text) > 300 else "")
