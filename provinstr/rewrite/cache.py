"""A cache of capture plans, so `provinstr run` skips libcst when neither the source nor the rules changed."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Sequence

from provinstr import __version__
from provinstr.rewrite.plan import Match, Plan
from provinstr.rules.loader import rules_digest
from provinstr.rules.model import Rule

CACHE_ENV = "PROVINSTR_CACHE"  # a folder; "off" disables the cache
_FORMAT = 4  # bump when Match changes, or what a plan matches (2: no qualified name through a call; 3: kind; 4: sweeps)


def folder() -> Path | None:
    setting = os.environ.get(CACHE_ENV)
    if setting and setting.lower() in ("0", "off", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "provinstr" / "plans"


def key(source: str, rules: Sequence[Rule]) -> str:
    """Everything a plan depends on: the source text, the rules' matching fields, provinstr's version."""
    text = f"{_FORMAT}\0{__version__}\0{rules_digest(rules)}\0{source}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def load(source: str, rules: Sequence[Rule], filename: str) -> Plan | None:
    where = folder()
    if where is None:
        return None
    try:
        data = json.loads((where / f"{key(source, rules)}.json").read_text(encoding="utf-8"))
        matches = tuple(Match(*m[:4], tuple(m[4]), m[5], m[6], m[7]) for m in data["matches"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Plan(filename, matches)


def store(source: str, rules: Sequence[Rule], plan: Plan) -> None:
    """Write the plan atomically; a cache that cannot be written is simply not used."""
    where = folder()
    if where is None:
        return
    rows = [[m.line, m.column, m.end_line, m.end_column, list(m.rule_ids), m.name, m.callee, m.kind]
            for m in plan.matches]
    try:
        where.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=where, suffix=".tmp", delete=False, encoding="utf-8") as handle:
            json.dump({"matches": rows}, handle)
        os.replace(handle.name, where / f"{key(source, rules)}.json")
    except OSError:
        pass
