"""The background indexer: when a run ends, a detached, low-priority process folds the new logs into
the catalog and the index, and compacts the index when small loads have piled up (like `git gc --auto`).

One works per store at a time (it holds `<store>/background.lock`). It works in steps of STEP_BYTES
of log text and lets go of the index lock between them, so a reader that comes meanwhile waits for one
step at most; it stops when nothing new is left, or at once when another process holds the index (that
reader brings it up to date itself), or when the store folder is deleted or moved. Nothing depends on
it: the logs stay the truth, and every reader still catches the index up first. What goes wrong is
written to `<store>/background.log`. Set PROVINSTR_BACKGROUND_INDEX=0 to turn it off.

  python -m provinstr.store.background [--lock-fd N] STORE_FOLDER
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from provinstr.store import logs

ENV = "PROVINSTR_BACKGROUND_INDEX"
_OFF = {"0", "false", "no", "off"}
NICENESS = 10  # below the training that may start next on the same machine
PAUSE_SECONDS = 0.05  # between steps: a reader blocked on the lock takes it first
# A step is one bulk load: each load adds files that RocksDB compacts (rewriting much of the index), so
# fewer, larger steps keep up with a sweep; a reader waits for one step at most (~430k quads, 4-8 s here).
# 16 MB steps fell behind at 3,400 runs of the 10,000-run benchmark (5 runs/s against 14 written).
STEP_BYTES = 64 * 1024 * 1024
LOCK_NAME = "background.lock"
LOG_NAME = "background.log"
LOG_LIMIT_BYTES = 256 * 1024  # a longer log is started afresh
MOST_ROUNDS = 100  # looks for runs that ended while it worked, at most this often
# Through a shell that starts it in the background and exits at once: the indexer is never the run's
# child, so it leaves no zombie and a script's os.wait() never returns it.
_SHELL_SCRIPT = 'log=$1; shift; "$@" </dev/null >/dev/null 2>>"$log" & echo $!'


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in _OFF


def start(store_path: str | os.PathLike) -> int | None:
    """Start the indexer for this store unless it is turned off, one already works for it, or a reader
    holds the index; its pid. Never raises: at worst the next reader catches the index up, as it always does.
    """
    try:
        folder = Path(os.path.abspath(store_path))
        if not enabled() or not sys.executable or logs.locked_elsewhere(folder / "index.lock"):
            return None
        lock = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # one works already, and it looks again for ended runs before it stops
            return _spawn(folder, lock)
        finally:
            os.close(lock)  # the indexer holds the lock through its own copy of this descriptor
    except Exception:  # noqa: BLE001 - an optimisation: never the run's problem
        return None


def _spawn(folder: Path, lock: int) -> int | None:
    # A script that found provinstr through sys.path (a checkout, a vendored copy) is not alone; an
    # installed provinstr is found anyway (site-packages first on PYTHONPATH would shadow the stdlib).
    here = str(Path(__file__).resolve().parents[2])  # the folder holding the provinstr package
    env = dict(os.environ)
    if here not in _site_folders():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "provinstr.store.background", "--lock-fd", str(lock), str(folder)]
    shell = subprocess.run(
        ["/bin/sh", "-c", _SHELL_SCRIPT, "sh", str(folder / LOG_NAME), *command],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        close_fds=True, pass_fds=(lock,),  # nothing else of the training process goes with it
        start_new_session=True,  # no terminal: Ctrl-C, a closed terminal or a pipe's end leave it alone
        timeout=10, check=False,
    )
    answer = shell.stdout.decode().strip()
    return int(answer) if shell.returncode == 0 and answer.isdigit() else None


def _site_folders() -> set[str]:
    import site

    folders = [*site.getsitepackages(), site.getusersitepackages()]
    return {str(Path(folder).resolve()) for folder in folders}


def catch_up(store_path: str | os.PathLike, lock_fd: int | None = None, step_bytes: int = STEP_BYTES) -> str:
    """Fold the new logs into the catalog, then the index, step by step, and compact the index when it is
    due; until nothing new is left. Holds the store's background lock (taken here unless `lock_fd` holds
    it); returns why it stopped: "done", "busy" (a reader or another indexer has it), "gone" (the
    store folder was deleted or moved)."""
    folder = Path(store_path)
    with _background_lock(folder, lock_fd) as lock:
        if lock is None:
            return "busy"
        return _work(folder, lock, step_bytes)


def _work(folder: Path, lock: int, step_bytes: int) -> str:
    from provinstr.store import compaction
    from provinstr.store.catalog import RunCatalog
    from provinstr.store.local import LocalStore

    identity = _identity(folder)
    store, catalog = LocalStore(folder), RunCatalog(folder)
    compaction.remove_leftovers(folder)  # of a compaction that was killed: only this process makes them
    behind: set[str] = set()
    for _ in range(MOST_ROUNDS):
        while True:
            if _identity(folder) != identity:
                return "gone"
            catalog.refresh()  # first: a listing is what a user asks for soonest
            done = store.index_some(step_bytes)
            if done is None:
                return "busy"
            if done:
                break
            time.sleep(PAUSE_SECONDS)
        if compaction.due(store.index_dir, store.read_record()) and _identity(folder) == identity:
            try:
                compaction.compact_aside(store)
            except Exception as error:  # noqa: BLE001 - the index as it is still answers; the logs say why
                _say(f"compaction of {folder}/index failed, the index is left as it is: {type(error).__name__}: {error}")
        # Let go, then look once more: a run that ended while this held the lock started no indexer.
        fcntl.flock(lock, fcntl.LOCK_UN)
        still = store.finished_logs_behind()
        if not still or still == behind:
            return "done"  # nothing new, or logs it cannot read to the end (a reader will say why)
        behind = still
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "busy"  # the indexer that run started goes on
    return "done"


@contextlib.contextmanager
def _background_lock(folder: Path, lock_fd: int | None):
    if lock_fd is not None:
        yield lock_fd  # taken by the process that started this one
        return
    try:
        lock = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield None
        return
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield lock
    finally:
        os.close(lock)


def _identity(folder: Path) -> tuple[int, int] | None:
    """The store folder's device and inode while it is still a store there (None once deleted or moved)."""
    try:
        stat = folder.stat()
        if not (folder / "store.json").exists() or not (folder / "runs").is_dir():
            return None
        return stat.st_dev, stat.st_ino
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m provinstr.store.background",
                                     description="bring a store's catalog and index up to date")
    parser.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("store")
    options = parser.parse_args(argv)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    with contextlib.suppress(OSError):
        if os.fstat(2).st_size > LOG_LIMIT_BYTES:
            os.truncate(Path(options.store) / LOG_NAME, 0)
    try:
        catch_up(options.store, options.lock_fd)
    except Exception as error:  # noqa: BLE001 - detached: the log says it; the next reader does the work
        _say(f"stopped: {type(error).__name__}: {error}")
        return 1
    return 0


def _say(message: str) -> None:
    """A line on stderr: <store>/background.log when a run started this process."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} provinstr background indexer (pid {os.getpid()}) {message}",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
