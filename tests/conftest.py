"""Shared fixtures: strict capture (errors raise), a fresh store folder, running Python as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# PROV-O and ML-Schema, for the standards and vocabulary tests (copies of ../shared/vocab).
VOCAB = REPO / "tests" / "data" / "vocab"
# The `provinstr ui` tests' store, server and browser fixtures.
pytest_plugins = ["ui_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def strict_capture():
    """Test mode for the whole session (so module-scoped fixtures, set up before any function-scoped one,
    run under it too): a capture error raises instead of warning, so the suite sees every one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROVINSTR_STRICT", "1")
        patch.delenv("PROVINSTR_STORE", raising=False)
        # No detached indexer per ended run: tests' stores are deleted under it, and one left by a
        # module-scoped fixture's run raced a test reading the store's files (test_background_index turns it on).
        patch.setenv("PROVINSTR_BACKGROUND_INDEX", "0")
        yield


@pytest.fixture
def store_dir(tmp_path) -> Path:
    """A store folder that does not exist yet (the first run creates it)."""
    return tmp_path / ".provinstr"


@pytest.fixture
def run_python(tmp_path):
    """Run a Python script (given as source) in a child process as `python script.py` would.

    Returns the CompletedProcess; the script is written to tmp_path/<name>.
    """

    def run(source: str, *args: str, name: str = "script.py", env: dict | None = None,
            cwd: Path | None = None, timeout: float = 300, python_args: tuple = ()):
        script = (cwd or tmp_path) / name
        script.write_text(textwrap.dedent(source))
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, *python_args, str(script), *args],
            cwd=cwd or tmp_path, env=full_env, capture_output=True, text=True, timeout=timeout,
        )

    return run


def provinstr_cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300, input: str | None = None):
    """Run the real `provinstr` command (python -m provinstr) in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "provinstr", *args],
        cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout, input=input,
    )


@pytest.fixture
def cli():
    return provinstr_cli
