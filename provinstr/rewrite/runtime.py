"""What instrumented code calls as `__provinstr__`: the capture engine's wrap, and activation for rewritten files."""

from __future__ import annotations

import os
from typing import Sequence

from provinstr.capture.calls import activate as _activate_rules
from provinstr.capture.calls import wrap
from provinstr.capture.epochs import loop, loop_test, value

__all__ = ["activate", "loop", "loop_test", "value", "wrap"]


def activate(rule_files: Sequence[str] = (), script: str | None = None) -> None:
    """Load and activate the rule files a `provinstr rewrite` output names (paths relative to the script)."""
    from provinstr.rules.loader import load_rules

    folder = os.path.dirname(os.path.abspath(script)) if script else os.getcwd()
    paths = [path if os.path.isabs(path) else os.path.join(folder, path) for path in rule_files]
    _activate_rules(load_rules(paths, project_dir=folder), script)
