"""The background indexer: when a run ends, a detached, low-priority process folds the new logs into
the catalog and the index, so the next listing or query finds no backlog (like `git gc --auto`).

It works in steps of one catch-up batch (`BATCH_BYTES` of log text) and lets go of the index lock
between them, so a reader that comes meanwhile waits for one step at most; it stops when nothing new
is left, or at once when another process holds the index (that reader brings it up to date itself).
Nothing depends on it: the logs stay the truth, and every reader still catches the index up first.
Set PROVINSTR_BACKGROUND_INDEX=0 to turn it off.

  python -m provinstr.store.background STORE_FOLDER
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from provinstr.store import logs

ENV = "PROVINSTR_BACKGROUND_INDEX"
_OFF = {"0", "false", "no", "off"}
NICENESS = 10  # below the training that may start next on the same machine
PAUSE_SECONDS = 0.05  # between steps: a reader blocked on the lock takes it first
_started: list[int] = []  # children not yet reaped (a notebook may end many runs)


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in _OFF


def start(store_path: str | os.PathLike) -> int | None:
    """Start the indexer for this store unless it is turned off or a reader holds the index; its pid.

    Never raises: at worst the next reader catches the index up, as it always does.
    """
    try:
        _reap()
        if not enabled() or not sys.executable or logs.locked_elsewhere(Path(store_path) / "index.lock"):
            return None
        devnull = os.devnull
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "provinstr.store.background", os.path.abspath(store_path)],
            os.environ,
            # Its own session and no terminal: Ctrl-C, a closed terminal or a pipe's end leave it alone.
            file_actions=[(os.POSIX_SPAWN_OPEN, fd, devnull, os.O_RDWR, 0) for fd in (0, 1, 2)],
            setsid=True,
        )
    except Exception:  # noqa: BLE001 - an optimisation: never the run's problem
        return None
    _started.append(pid)
    return pid


def _reap() -> None:
    for pid in list(_started):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        _started.remove(pid)


def catch_up(store_path: str | os.PathLike, most_bytes: int | None = None) -> None:
    """Fold the new logs into the catalog, then the index, step by step, until nothing is new or a
    reader takes over."""
    from provinstr.store.catalog import RunCatalog
    from provinstr.store.local import BATCH_BYTES, LocalStore

    store, catalog = LocalStore(store_path), RunCatalog(store_path)
    while True:
        catalog.entries()  # first: a listing is what a user asks for soonest
        if store.index_some(most_bytes or BATCH_BYTES) is not False:
            break
        time.sleep(PAUSE_SECONDS)
    catalog.entries()  # the runs that ended meanwhile


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m provinstr.store.background STORE_FOLDER", file=sys.stderr)
        return 2
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    try:
        catch_up(args[0])
    except Exception as error:  # noqa: BLE001 - detached: nobody to tell; the next reader does the work
        print(f"provinstr: background indexing of {args[0]} stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
