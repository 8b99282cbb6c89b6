"""Runs: one per training process (implicit) or per `with provinstr.run(...)` block (explicit)."""

from __future__ import annotations

import atexit
import getpass
import hashlib
import itertools
import os
import signal
import sys
import threading
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

from provinstr import __version__
from provinstr.capture import environment
from provinstr.capture.activity import ENTITY, Activity, safe_segment
from provinstr.capture.nquads import IRI
from provinstr.capture.recorder import Recorder
from provinstr.capture.redaction import RedactionError, project_redactor
from provinstr.capture.safety import guard, report, strict
from provinstr.config import store_location
from provinstr.store import open_backend
from provinstr.vocab import AGENT_BASE, MLS, PI, PROV, RDF, RDFS, RUN_BASE

STATUS_RUNNING, STATUS_COMPLETED, STATUS_FAILED = "running", "completed", "failed"
GROUP_ENV = "PROVINSTR_GROUP"  # the sweep a run belongs to when Run(group=...) is not given
SWEEP_BASE = "https://w3id.org/provinstr/sweep/"


class _DiscardSink:
    """Where records go when the store cannot be opened: nowhere (one warning said so)."""

    def write(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class Run(Activity):
    """A recorded execution: a pi:Run activity whose named graph holds everything it captured."""

    def __init__(
        self,
        name: str | None = None,
        store: str | os.PathLike | None = None,
        script: str | os.PathLike | None = None,
        argv: list[str] | None = None,
        group: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.id = run_id or uuid.uuid4().hex
        self.script = Path(script) if script else _guess_script()
        self.name = name or (self.script.name if self.script else "python")
        self.argv = list(sys.argv if argv is None else argv)
        self.group = group or os.environ.get(GROUP_ENV) or None
        self.store_location = store
        self.status: str | None = None
        self._counters: dict[str, itertools.count] = {}
        self._stack: list[Activity] = []
        self._lock = threading.Lock()
        self._ending = False
        self._finishers: list[Callable[[], None]] = []
        self.error: BaseException | None = None
        self.recorder: Recorder | None = None
        self.store = None
        super().__init__(self, "Run", label=self.name, iri=f"{RUN_BASE}{self.id}")

    # -- identity and plumbing ---------------------------------------------------------
    def new_iri(self, kind: str) -> str:
        """A fresh, deterministic IRI for the n-th node of a kind: <run>/<kind>/<n>."""
        with self._lock:
            counter = self._counters.setdefault(kind, itertools.count(1))
            return f"{self.iri}/{safe_segment(kind)}/{next(counter)}"

    def emit(self, subject: str, pairs: Iterable[tuple[str, Any]]) -> None:
        """Enqueue statements about `subject` into this run's graph (never blocks on I/O)."""
        recorder = self.recorder
        if recorder is None:
            return
        if recorder.error is not None:
            self._raise_if_strict()
        recorder.put(subject, pairs)

    def flush(self, wait: bool = True) -> None:
        """Hand everything recorded so far to the store (wait=False: just ask the writer to)."""
        if self.recorder is not None:
            self.recorder.flush(wait=wait)
            self._raise_if_strict()

    def _raise_if_strict(self) -> None:
        """In test mode, raise (once) the error the writer thread met."""
        error = self.recorder.take_error() if self.recorder is not None and strict() else None
        if error is not None:
            raise error

    def push_activity(self, activity: Activity) -> None:
        if activity is not self:
            self._stack.append(activity)

    def pop_activity(self, activity: Activity) -> None:
        if activity in self._stack:
            self._stack.remove(activity)

    def innermost(self, kind: str | None = None) -> Activity:
        """The most recently started open activity (of `kind` if given), else the run itself."""
        for activity in reversed(self._stack):
            if kind is None or activity.kind == kind:
                return activity
        return self

    def before_end(self, finish: Callable[[], None]) -> None:
        """Have `finish()` run when the run ends, before its status is written (e.g. wait for a save)."""
        self._finishers.append(finish)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, **properties: Any) -> "Run":
        sink = _DiscardSink()
        where = self.store_location
        redactor = None
        try:  # secrets are redacted by the writer; with unusable patterns nothing is written (fail closed)
            redactor = project_redactor(None, self.script.parent if self.script else None)
        except RedactionError as error:
            report(error, "reading the [tool.provinstr] redact patterns",
                   advice="your program continues, but this run is not recorded, so no secret can reach the store")
        try:
            if redactor is not None:
                where = store_location(self.store_location)
                self.store = open_backend(where, create=True)
                sink = self.store.open_log(self.id)
        except Exception as error:  # noqa: BLE001 - an unwritable store must not stop the program
            report(
                error,
                f"opening the provenance store {where}",
                advice="your program continues without recording this run; point store= or "
                "PROVINSTR_STORE at a writable folder",
            )
        self.recorder = Recorder(sink, self.iri, redactor=redactor)
        super().start()
        self.status = STATUS_RUNNING
        # Describing who, what and where is capture too: a failure there must not stop the program.
        with guard("recording the run's agents, script and environment"):
            self._describe()
        self.flush(wait=False)
        return self

    def _describe(self) -> None:
        """The run's own statements, its agents, its sweep, its script and its environment."""
        user, host = _user(), environment.host_name()
        person = f"{AGENT_BASE}person/{safe_segment(user)}@{safe_segment(host)}"
        tool = f"{AGENT_BASE}provinstr/{__version__}"
        self.emit(
            self.iri,
            [
                (RDF.type, IRI(MLS.Run)),
                (PI.status, STATUS_RUNNING),
                (PI.argv, self.argv),
                (PI.host, host),
                (PI.processId, os.getpid()),
                (PI.group, self.group),
                (PROV.wasAssociatedWith, IRI(person)),
                (PROV.wasAssociatedWith, IRI(tool)),
            ],
        )
        self.emit(person, [(RDF.type, IRI(PROV.Agent)), (RDF.type, IRI(PROV.Person)), (RDFS.label, user)])
        self.emit(
            tool,
            [
                (RDF.type, IRI(PROV.Agent)),
                (RDF.type, IRI(PROV.SoftwareAgent)),
                (RDFS.label, "provinstr"),
                (PI.version, __version__),
            ],
        )
        if self.group:  # one pi:Sweep node per group name, the same IRI from every machine
            sweep = f"{SWEEP_BASE}{urllib.parse.quote(self.group, safe='')}"
            self.emit(sweep, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Sweep)), (RDFS.label, self.group),
                              (PI.group, self.group), (MLS.hasPart, IRI(self.iri))])
        self._record_script()
        self._record_environment()

    def _record_script(self) -> None:
        if self.script is None:
            return
        node = f"{self.iri}/script"
        digest = None
        try:
            digest = hashlib.sha256(self.script.read_bytes()).hexdigest()
        except OSError:
            pass
        self.emit(
            node,
            [
                (RDF.type, ENTITY),
                (RDF.type, IRI(PI.Script)),
                (RDFS.label, self.script.name),
                (PROV.atLocation, str(self.script.resolve())),
                (PI.sha256, digest),
            ],
        )
        self.used(node)

    def _record_environment(self, libraries_only: bool = False) -> None:
        node = f"{self.iri}/environment"
        pairs: list[tuple[str, Any]] = []
        if not libraries_only:
            facts = environment.describe()
            pairs += [
                (RDF.type, ENTITY),
                (RDF.type, IRI(PI.Environment)),
                (PI.pythonVersion, f"{facts['implementation']} {facts['python']}"),
                (PI.platform, facts["platform"]),
                (PI.host, facts["host"]),
                (PI.cpuCount, facts["cpu_count"]),
                (PI.memoryBytes, facts["memory_bytes"]),
                *((PI.gpu, model) for model in facts["gpus"]),
            ]
            self.used(node)
        for distribution, version in environment.imported_libraries().items():
            library = f"{node}/library/{safe_segment(distribution)}"
            pairs.append((PI.library, IRI(library)))
            self.emit(library, [(RDF.type, ENTITY), (PI.name, distribution), (PI.version, version)])
        self.emit(node, pairs)

    def end(self, error: BaseException | None = None) -> None:
        """Close the run: status completed, or failed with the exception; write everything."""
        with self._lock:  # the SIGTERM path and the main thread may both try
            if self._ending or self.recorder is None:
                return
            self._ending = True
        self.error = error  # what the finishers see: the run ends because of it (None: it completed)
        unfinished = None  # reported once everything is written (strict mode raises it)
        for finish in self._finishers:
            try:
                finish()
            except BaseException as problem:  # noqa: BLE001 - even Ctrl-C: the run is written first
                unfinished = problem
        for activity in reversed(list(self._stack)):
            activity.end(error)
        self.status = STATUS_FAILED if error is not None else STATUS_COMPLETED
        try:
            self._record_environment(libraries_only=True)
        except Exception as problem:  # noqa: BLE001
            report(problem, "recording library versions")
        self.emit(self.iri, [(PI.status, self.status)])
        super().end(error)
        self.recorder.close()
        _forget(self)
        if isinstance(unfinished, Exception):
            report(unfinished, "finishing the run")
        elif unfinished is not None:
            raise unfinished
        self._raise_if_strict()

    def __enter__(self) -> "Run":
        if self.status is None:
            self.start()
        _remember(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        error = None if exc is None or isinstance(exc, SystemExit) and not exc.code else exc
        self.end(error)


def _guess_script() -> Path | None:
    main = sys.modules.get("__main__")
    candidate = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if candidate and os.path.isfile(candidate):
        return Path(candidate)
    return None


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - containers without a passwd entry
        return f"uid{os.getuid()}"


# -- the process's current run ---------------------------------------------------------
_active: list[Run] = []
_state_lock = threading.RLock()
_uncaught: list[BaseException] = []
_hooks_installed = False


def _remember(run: Run) -> None:
    with _state_lock:
        _install_hooks()
        if run not in _active:
            _active.append(run)


def _forget(run: Run) -> None:
    with _state_lock:
        if run in _active:
            _active.remove(run)


def active_run() -> Run | None:
    """The innermost run in progress in this process, or None."""
    return _active[-1] if _active else None


def active_runs() -> list[Run]:
    """Every run in progress in this process, outermost first."""
    return list(_active)


def current_run() -> Run:
    """The run captures go to: the innermost active one, or a new implicit run for this process."""
    run = active_run()
    if run is not None:
        return run
    with _state_lock:
        if _active:
            return _active[-1]
        run = Run()
        run.start()
        _remember(run)
        return run


def start_run(**options: Any) -> Run:
    """Start an explicit run and make it current (end it with run.end() or use `with`)."""
    run = Run(**options)
    run.start()
    _remember(run)
    return run


def end_all(error: BaseException | None = None) -> None:
    """End every run still open in this process (at exit, or after a crash)."""
    for run in reversed(list(_active)):
        try:
            run.end(error)
        except Exception as problem:  # noqa: BLE001
            report(problem, "ending the run")


def _at_exit() -> None:
    error = _uncaught[-1] if _uncaught else None
    if error is None and not hasattr(sys, "ps1"):
        # Someone replaced our excepthook; the interpreter still noted the uncaught exception here.
        error = getattr(sys, "last_value", None)
    end_all(error)


def _excepthook(exc_type, exc, tb) -> None:
    if not issubclass(exc_type, SystemExit):
        _uncaught.append(exc)
        end_all(exc)
    _previous_excepthook(exc_type, exc, tb)


_previous_excepthook = sys.excepthook


# How long a SIGTERM waits for the runs to be written before the process dies anyway.
SIGTERM_GRACE_SECONDS = 10.0


def _on_sigterm(signum, frame) -> None:
    # End the runs on another thread: the interrupted main thread may hold a lock they need.
    error = RuntimeError(f"terminated by signal {signal.Signals(signum).name}")
    ender = threading.Thread(target=end_all, args=(error,), name="provinstr-sigterm", daemon=True)
    ender.start()
    ender.join(SIGTERM_GRACE_SECONDS)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_hooks() -> None:
    global _hooks_installed, _previous_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    # Only claim SIGTERM when nobody else did, and only from the main thread (Python's rule).
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):
            pass


def _after_fork_in_child() -> None:
    # The parent's writer thread does not exist in the child: the child records its own run,
    # and lets go of the parent's log so the parent's run shows as interrupted if it dies.
    for run in _active:
        release = getattr(run.recorder.sink if run.recorder else None, "release_after_fork", None)
        if release is not None:
            release()
    _active.clear()
    _uncaught.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
