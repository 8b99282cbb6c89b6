"""Rule options: what an adapter (or the engine) declares it reads from a rule's `options` table, checked at load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Option kinds: the TOML value each accepts, and how a message names it.
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "bool": ((bool,), "true or false"),
    "number": ((int, float), "a number"),
    "string": ((str,), "a string"),
    "names": ((dict,), 'a table of names, e.g. { n_iter_ = "n_iter" }'),
}


@dataclass(frozen=True)
class Option:
    """One option a rule may set: its name, kind (bool, number, string, names), default and meaning."""

    name: str
    kind: str
    default: Any
    meaning: str

    def problem(self, value: Any) -> str | None:
        """Why `value` does not fit this option (None when it does)."""
        types, wanted = _KINDS[self.kind]
        fits = isinstance(value, types) and not (self.kind == "number" and isinstance(value, bool))
        if fits and self.kind == "names":
            fits = all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return None if fits else f"must be {wanted}, not {value!r} ({type(value).__name__})"


# The size above which an adapter fingerprints data from a sample of rows (capture/records.py).
HASH_LIMIT = Option("hash_limit_mb", "number", 256,
                    "arrays over this many MB are fingerprinted from a sample of rows, not hashed whole")

# Options the capture engine itself reads, valid in any rule.
ENGINE_OPTIONS = (
    Option("result_metric", "string", None,
           "record the call's return value as a pi:Metric of this name instead of an output attribute"),
    Option("epoch_argument", "string", None, "take the metric's pi:epoch from this argument of the call"),
)


def options_markdown(declared: dict[str, tuple[Option, ...]]) -> str:
    """The options table of docs/rules.md: the engine's, then each adapter's, from their declarations."""
    rows = ["| adapter | option | type | default | meaning |", "|---|---|---|---|---|"]
    for owner, options in [("any rule", ENGINE_OPTIONS), *sorted(declared.items())]:
        for option in options:
            default = "—" if option.default is None else f"`{_toml(option.default)}`"
            rows.append(f"| {owner} | `{option.name}` | {option.kind} | {default} | {option.meaning} |")
    return "\n".join(rows)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'{k} = "{v}"' for k, v in value.items()) + " }" if value else "{}"
    return repr(value) if isinstance(value, str) else str(value)

