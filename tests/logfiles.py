"""Reading run logs in tests as a user would: `runs/<id>.nq`, or `runs/<id>.nq.gz` once the run has finished."""

from __future__ import annotations

from pathlib import Path

from provinstr.store import logs


def run_logs(store_dir: Path) -> list[Path]:
    """Every run log file of a store (plain or compressed), by run id."""
    return list(logs.log_files(Path(store_dir) / "runs").values())


def log_bytes(store_dir: Path, run_id: str) -> bytes:
    """One run's log, uncompressed."""
    return logs.read_log(logs.find_log(Path(store_dir) / "runs", run_id))


def reopen_log(store_dir: Path, run_id: str) -> Path:
    """The plain log of a finished run, expanded back as a continued run does; its path (to append to)."""
    runs = Path(store_dir) / "runs"
    plain, packed = runs / f"{run_id}.nq", runs / f"{run_id}.nq.gz"
    if packed.exists():
        plain.write_bytes(logs.read_log(packed))
        packed.unlink()
    return plain
