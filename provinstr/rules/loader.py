"""Reading and validating rule files: TOML text in, Rule objects out, or one RuleError naming file:line."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Iterable, Sequence

from provinstr.errors import RuleError
from provinstr.rules import adapters
from provinstr.rules.model import ACTIVITY_KINDS, ENTITY_KINDS, RECORD_KINDS, Rule, normalise

__all__ = ["RuleError", "builtin_rule_files", "load_rule_file", "load_rules", "rule_files", "rules_digest"]

# Every key a [[rule]] table may hold (the contract of docs/rules.md).
RULE_KEYS = (
    "id", "calls", "method", "receivers", "functions", "loops", "assigns", "record", "entity", "activity",
    "label", "capture", "adapter", "options", "enabled",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_PATTERN = re.compile(r"^[\w.*?\[\]!-]+$")
_NAME_PATTERN = re.compile(r"^[\w*?\[\]!-]+$")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def builtin_rule_files() -> list[Path]:
    """The rule files shipped with provinstr: provinstr/builtin_rules/ in a wheel, REPO/rules in a checkout."""
    package = Path(__file__).resolve().parent.parent
    for folder in (package / "builtin_rules", package.parent / "rules"):
        if folder.is_dir():
            return sorted(folder.glob("*.toml"))
    return []


def rule_files(
    extra: Iterable[str | os.PathLike] = (), project_dir: str | os.PathLike | None = None, builtin: bool = True
) -> list[Path]:
    """The rule files that apply, in order of precedence: `extra`, the project's, the builtin ones."""
    files: list[Path] = []
    for item in extra:
        path = Path(item)
        if not path.is_file():
            raise RuleError(f"no such rule file {str(item)!r}; check the path given to --rules")
        files.append(path)
    files += _project_files(project_dir)
    if builtin:
        files += builtin_rule_files()
    unique: list[Path] = []
    for path in files:
        if path.resolve() not in {p.resolve() for p in unique}:
            unique.append(path)
    return unique


def load_rules(
    extra: Iterable[str | os.PathLike] = (), project_dir: str | os.PathLike | None = None, builtin: bool = True
) -> list[Rule]:
    """Every rule that applies; an id defined by an earlier file overrides (or disables) later ones."""
    chosen: dict[str, Rule | None] = {}
    for path in rule_files(extra, project_dir, builtin):
        for rule_id, rule in _load(path):
            chosen.setdefault(rule_id, rule)
    return [rule for rule in chosen.values() if rule is not None]


def load_rule_file(path: str | os.PathLike) -> list[Rule]:
    """The enabled rules of one file, validated (RuleError on the first problem)."""
    return [rule for _, rule in _load(Path(path)) if rule is not None]


def rules_digest(rules: Sequence[Rule]) -> str:
    """A digest of everything the rewriting depends on in these rules (for cache keys)."""
    text = repr([(r.id, r.record, r.calls, r.method, r.receivers, r.functions, r.loops, r.assigns) for r in rules])
    return hashlib.sha256(text.encode()).hexdigest()


# -- one file ---------------------------------------------------------------------------------
def _load(path: Path) -> list[tuple[str, Rule | None]]:
    """(id, rule) for each [[rule]] of a file; rule is None for `enabled = false` (it disables that id)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RuleError(f"cannot read the rule file ({error.strerror or error}); check the path", path) from None
    except UnicodeDecodeError:
        raise RuleError("the rule file is not UTF-8 text; save it as UTF-8", path, 1) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_POSITION.search(message)
        line = int(found.group(1)) if found else None
        detail = _TOML_POSITION.sub(f"(column {found.group(2)})", message) if found else message
        raise RuleError(f"TOML syntax error: {detail}; fix the syntax (see docs/rules.md)", path, line) from None
    where = _Positions(path, text)
    for key in data:
        if key != "rule":
            raise RuleError(f"unknown top-level key {key!r}{_did_you_mean(key, ['rule'])}; "
                            "a rule file holds only [[rule]] tables", path, where.top_line(key))
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise RuleError("'rule' must be an array of tables: write each rule under a [[rule]] header",
                        path, where.top_line("rule"))
    loaded: list[tuple[str, Rule | None]] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        rule_id, rule = _Validator(where, index, table).rule()
        if rule_id in seen:
            raise RuleError(f"duplicate rule id {rule_id!r} (first defined at line {seen[rule_id]}); "
                            "give each rule its own id", path, where.key_line(index, "id"))
        seen[rule_id] = where.rule_line(index)
        loaded.append((rule_id, rule))
    return loaded


class _Positions:
    """Line numbers of rules and keys, found in the text (tomllib reports none)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.rule_starts = [n for n, line in enumerate(self.lines, 1) if re.match(r"^\s*\[\[\s*rule\s*\]\]", line)]

    def top_line(self, key: str) -> int | None:
        return self._find(rf"^\s*(\[+\s*)?[\"']?{re.escape(key)}[\"']?\s*(=|\.|\]|$)", 1, len(self.lines) + 1)

    def rule_line(self, index: int) -> int | None:
        if index < len(self.rule_starts):
            return self.rule_starts[index]
        return self.top_line("rule")

    def key_line(self, index: int, key: str, sub: str | None = None) -> int | None:
        """The line of `key` (or of `key.sub` / `sub` inside the `key` table) in the index-th rule."""
        start = self.rule_line(index) or 1
        end = self.rule_starts[index + 1] if index + 1 < len(self.rule_starts) else len(self.lines) + 1
        name = rf"[\"']?{re.escape(key)}[\"']?"
        own = self._find(rf"^\s*({name}\s*[=.]|\[\s*rule\s*\.\s*{name}\s*\])", start, end)
        if sub is None or own is None:
            return own or start
        inner = rf"[\"']?{re.escape(sub)}[\"']?\s*="
        return self._find(rf"(^|[{{,.\s]){inner}", own, end) or own

    def _find(self, pattern: str, start: int, end: int) -> int | None:
        regex = re.compile(pattern)
        for number in range(start, min(end, len(self.lines) + 1)):
            if regex.search(self.lines[number - 1]):
                return number
        return None


class _Validator:
    """Checks one [[rule]] table and builds its Rule; the first problem raises RuleError."""

    def __init__(self, where: _Positions, index: int, table: dict[str, Any]) -> None:
        self.where, self.index, self.table = where, index, table

    def fail(self, message: str, key: str | None = None, sub: str | None = None) -> RuleError:
        line = self.where.key_line(self.index, key, sub) if key else self.where.rule_line(self.index)
        name = self.table.get("id")
        prefix = f"rule {name!r}: " if isinstance(name, str) and name else f"rule #{self.index + 1}: "
        return RuleError(prefix + message, self.where.path, line)

    def rule(self) -> tuple[str, Rule | None]:
        for key in self.table:
            if key not in RULE_KEYS:
                raise self.fail(f"unknown key {key!r}{_did_you_mean(key, RULE_KEYS)}; "
                                f"the keys are {', '.join(RULE_KEYS)}", key)
        rule_id = self.table.get("id")
        if rule_id is None:
            raise self.fail('has no id; add a unique id = "..." line')
        rule_id = self.text("id")
        if not self.flag("enabled", True):
            return rule_id, None
        calls = tuple(normalise(p) for p in self.names("calls", _PATTERN, "a qualified-name pattern"))
        for pattern in calls:
            if not pattern.strip("*?.") or "." not in pattern and set(pattern) <= set("*?"):
                raise self.fail(f"calls pattern {pattern!r} would match every call; "
                                "name a module, e.g. \"keras.layers.*\"", "calls")
        method = self.optional_text("method")
        if method is not None and not _IDENTIFIER.match(method):
            raise self.fail(f"method {method!r} is not a method name; write the bare name, e.g. \"fit\"", "method")
        receivers = tuple(normalise(r) for r in self.names("receivers", _DOTTED, "a qualified class name"))
        if method and not receivers:
            raise self.fail(f"method {method!r} has no receivers; add receivers = [\"package.Class\"] "
                            "(a .{method} on anything else runs untouched)".replace("{method}", method), "method")
        if receivers and not method:
            raise self.fail("receivers without a method; add method = \"name\"", "receivers")
        functions = self.names("functions", _IDENTIFIER, "a function name")
        loops = self.names("loops", _NAME_PATTERN, "a name pattern such as \"*epoch*\"")
        assigns = self.names("assigns", _NAME_PATTERN, "a name pattern such as \"val_*\"")
        if not (calls or method or functions or loops or assigns):
            raise self.fail("matches nothing; add calls = [...], method = \"...\" with receivers, "
                            "functions = [...], loops = [...] or assigns = [...]")
        record = self.record()
        for key, kind in (("loops", "epochs"), ("assigns", "values")):
            if (key in self.table) != (record == kind):
                raise self.fail(f"{key} = [...] goes with record = \"{kind}\" (and only with it)",
                                key if key in self.table else "record")
        entity = self.choice("entity", ENTITY_KINDS)
        activity = self.choice("activity", ACTIVITY_KINDS)
        if entity is not None and record != "component":
            raise self.fail(f"entity is for record = \"component\", not {record!r}; remove it or change record",
                            "entity")
        if activity is not None and record != "activity":
            raise self.fail(f"activity is for record = \"activity\", not {record!r}; remove it or change record",
                            "activity")
        label = self.optional_text("label")
        if label is not None and record != "activity":
            raise self.fail("label names an activity; use it with record = \"activity\"", "label")
        adapter = self.adapter()
        return rule_id, Rule(
            id=rule_id,
            origin=f"{self.where.path}:{self.where.rule_line(self.index) or 1}",
            record=record,
            calls=calls,
            method=method,
            receivers=receivers,
            functions=functions,
            loops=loops,
            assigns=assigns,
            entity=entity,
            activity=(activity or "Transformation") if record == "activity" else None,
            label=label,
            capture=self.capture(),
            adapter=adapter,
            options=self.options(adapter),
        )

    # -- typed accessors ---------------------------------------------------------------------
    def text(self, key: str) -> str:
        value = self.table[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key} must be a non-empty string, not {_shown(value)}", key)
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if key in self.table else None

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key} must be true or false, not {_shown(value)}", key)
        return value

    def names(self, key: str, shape: re.Pattern, what: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(f"{key} must be a list of strings, not {_shown(value)}", key)
        for item in value:
            if not isinstance(item, str) or not shape.match(item):
                raise self.fail(f"{key} entry {_shown(item)} is not {what}", key)
        return tuple(value)

    def choice(self, key: str, allowed: Sequence[str]) -> str | None:
        if key not in self.table:
            return None
        value = self.text(key)
        if value not in allowed:
            raise self.fail(f"{key} {value!r} is unknown{_did_you_mean(value, allowed)}; "
                            f"use one of {', '.join(allowed)}", key)
        return value

    def record(self) -> str:
        if "record" not in self.table:
            if "activity" in self.table:
                return "activity"
            if "entity" in self.table:
                return "component"
            raise self.fail(f"says not what the call is; add record = one of {', '.join(RECORD_KINDS)}")
        return self.choice("record", RECORD_KINDS) or ""

    def capture(self) -> dict[str, bool]:
        value = self.table.get("capture", {})
        if not isinstance(value, dict):
            raise self.fail(f"capture must be a table of switches like {{ padding = true, \"*\" = false }}, "
                            f"not {_shown(value)}", "capture")
        for name, switch in value.items():
            if not isinstance(switch, bool):
                raise self.fail(f"capture switch {name!r} must be true or false, not {_shown(switch)}",
                                "capture", name)
            if name != "*" and not _IDENTIFIER.match(name):
                raise self.fail(f"capture key {name!r} is not an argument name (use \"*\" for the default)",
                                "capture", name)
        return dict(value)

    def adapter(self) -> str | None:
        if "adapter" not in self.table:
            return None
        return self.choice("adapter", adapters.known())

    def options(self, adapter: str | None) -> dict[str, Any]:
        """The options table, each key one the engine or the rule's adapter declares, of the declared kind."""
        value = self.table.get("options", {})
        if not isinstance(value, dict):
            raise self.fail(f"options must be a table like {{ save_model = true }}, not {_shown(value)}", "options")
        declared = adapters.rule_options(adapter)
        owner = f"adapter {adapter}" if adapter else "a rule without an adapter"
        for name, setting in value.items():
            option = declared.get(name)
            if option is None:
                close = _closest(name, declared)
                advice = f"did you mean {close!r}?" if close else f"the options are {', '.join(sorted(declared))}"
                raise RuleError(f"unknown option {name!r} for {owner}; {advice}", self.where.path,
                                self.where.key_line(self.index, "options", name))
            problem = option.problem(setting)
            if problem is not None:
                raise RuleError(f"option {name!r} for {owner} {problem}", self.where.path,
                                self.where.key_line(self.index, "options", name))
        return dict(value)


# -- the project's rule files -------------------------------------------------------------------
def _project_files(project_dir: str | os.PathLike | None) -> list[Path]:
    from provinstr.config import project_settings

    settings, pyproject = project_settings(project_dir)
    if pyproject is None or "rules" not in settings:
        return []
    entries = settings["rules"]
    line = _Positions(pyproject, pyproject.read_text(encoding="utf-8")).top_line("rules")
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise RuleError(f"[tool.provinstr] rules must be a list of file paths, not {_shown(entries)}",
                        pyproject, line)
    files = []
    for entry in entries:
        path = (pyproject.parent / entry)
        if not path.is_file():
            raise RuleError(f"[tool.provinstr] rules names {entry!r}, which is not a file under {pyproject.parent}; "
                            "fix the path or remove it", pyproject, line)
        files.append(path)
    return files


def _closest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = _closest(word, choices)
    return f" (did you mean {close!r}?)" if close else ""


def _shown(value: Any) -> str:
    kind = type(value).__name__
    return f"{value!r} ({kind})"
