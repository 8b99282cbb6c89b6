"""Keep secrets out of the provenance: values under secret-looking names, URL passwords, project patterns.

The recorder renders every record through a `Redactor` (on its background thread, never on the training
thread), so nothing written to a run log — and therefore nothing in the store, in an export or in a push —
holds the original text. A redacted value becomes the literal "<redacted>"; the node it belonged to gets
`pi:redacted true` and the run gets one `pi:redaction` per thing redacted, by name and place, never by value.
What counts as secret is described in docs/redaction.md.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from rdflib.term import URIRef

from provinstr.capture.nquads import IRI, _IRI_TYPES, _json_default, literal, plain_value
from provinstr.errors import RedactionError
from provinstr.vocab import MLS, PI, PROV, RDF

__all__ = ["REDACTED", "RedactionError", "Redactor", "looks_secret", "project_redactor", "redact_argv"]

REDACTED = "<redacted>"

_NAME, _VALUE, _TYPE, _ARGV = str(PI.name), str(PROV.value), str(RDF.type), str(PI.argv)
_KINDS = {
    str(PI.Hyperparameter): "hyperparameter", str(MLS.HyperParameterSetting): "hyperparameter",
    str(PI.Metric): "metric", str(PI.Attribute): "attribute",
}
_MARK = f"<{PI.redacted}> {literal(True)}"
_REDACTION = f"<{PI.redaction}>"
# Objects written as typed literals or IRIs: never text, never scrubbed (the metric hot path).
_TYPED = frozenset((int, float, bool, _dt.datetime, IRI, URIRef))


# -- names that look secret --------------------------------------------------------------------
# A name is split into words (snake_case, kebab-case, dotted, camelCase, UPPER_CASE) and judged word by word.
_ANY_WORD = frozenset((
    "secret", "secrets", "password", "passwords", "passwd", "passphrase", "pwd", "credential", "credentials",
    "auth", "oauth", "authorization", "apikey", "apikeys", "accesskey", "secretkey", "privatekey",
    "accesstoken", "authtoken", "apitoken", "sessiontoken", "refreshtoken",
))
# "key" and "token" only as the last word: api_key, access_token, token — but not key_dim, max_tokens.
_LAST_WORD = frozenset(("key", "token"))
# Tokenizers' special-token settings are not secrets: pad_token, eos_token ...
_NOT_SECRET_TOKENS = frozenset(("pad", "bos", "eos", "unk", "cls", "sep", "mask", "start", "end", "special"))
# "keys" only after a word that makes it a credential: api_keys, ssh_keys — not num_keys.
_KEY_OWNERS = frozenset(("api", "access", "private", "secret", "ssh", "signing", "encryption", "client", "auth"))
_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@functools.lru_cache(maxsize=8192)  # the same few names recur every epoch
def looks_secret(name: str) -> bool:
    """True for names like api_key, apiKey, API-KEY, access_token, client_secret, db_password, --auth-header."""
    words = [w.lower() for w in _PARTS.findall(str(name))]
    if not words:
        return False
    if any(w in _ANY_WORD for w in words):
        return True
    last = words[-1]
    if last in _LAST_WORD:
        return not (last == "token" and len(words) > 1 and words[-2] in _NOT_SECRET_TOKENS)
    return last == "keys" and len(words) > 1 and words[-2] in _KEY_OWNERS


# -- command lines ----------------------------------------------------------------------------
_NUMBER = re.compile(r"^-\d+(\.\d*)?([eE][-+]?\d+)?$")
_ASSIGNMENT = re.compile(r"^\+{0,2}~?([A-Za-z_][\w.\-]*)=")  # KEY=VALUE, Hydra's key=value, +key=value


def redact_argv(argv: Sequence[Any]) -> tuple[list[Any], list[str]]:
    """argv with the values of secret-looking long options and KEY=VALUE words replaced; and what was.

    `--api-key VALUE` and `--api-key=VALUE` are judged by the option's name; short options (`-p`) are
    not judged by name (their letters say nothing); argv[0], the program, is kept.
    """
    out = list(argv)
    labels: list[str] = []
    i = 1
    while i < len(out):
        word = out[i]
        if isinstance(word, str):
            if word.startswith("--") and len(word) > 2:
                name, eq, _ = word[2:].partition("=")
                if looks_secret(name):
                    labels.append(f"argv --{name}")
                    if eq:
                        out[i] = f"--{name}={REDACTED}"
                    elif i + 1 < len(out) and not _is_option(out[i + 1]):
                        out[i + 1] = REDACTED
                        i += 1
            elif not word.startswith("-"):
                found = _ASSIGNMENT.match(word)
                if found and looks_secret(found.group(1)):
                    labels.append(f"argv {found.group(1)}")
                    out[i] = word[: found.end()] + REDACTED
        i += 1
    return out, labels


def _is_option(word: Any) -> bool:
    """What argparse would take for an option rather than a value: starts with '-', not a negative number."""
    return isinstance(word, str) and word.startswith("-") and not _NUMBER.match(word)


# -- text --------------------------------------------------------------------------------------
# scheme://user:password@host — the password goes, the user and host stay.
# The password may hold '/' (raw cloud keys do): it runs to the last '@' before a space, a quote, '?' or '#'.
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:\"'<>\\]*):(?P<secret>[^\s?#\"'<>\\]+)@")
# name=value and name: value (query strings, connection strings, headers, messages) where name looks secret.
_ASSIGNED = re.compile(
    r"(?P<name>\b[A-Za-z_][\w.\-]*)(?P<sep>[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<secret>(?:(?:Bearer|Basic|Token)\s+)?[^\s&;,\"'<>\\]+)"
)
# Every secret-looking name holds one of these: text without any skips the name=value search.
_HINTS = ("key", "token", "secret", "pass", "pwd", "credential", "auth")  # (substring tests beat a regex 6x)


def _hinted(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in _HINTS)


_CACHE_LIMIT = 50_000
_CACHE_TEXT = 256  # longer texts are scrubbed every time (they rarely recur)


class Redactor:
    """Renders records as N-Quads like `nquads.render`, with every secret replaced by "<redacted>".

    `patterns` are compiled regular expressions (the project's `[tool.provinstr] redact`); each match in
    any text value is replaced. One Redactor per run: it remembers which `pi:redaction` facts it wrote.
    """

    def __init__(self, patterns: Sequence[re.Pattern] = ()) -> None:
        self.patterns = tuple(patterns)
        self._seen: set[str] = set()
        self._cache: dict[str, tuple[str, tuple[str, ...]] | None] = {}

    # -- the recorder's entry point ------------------------------------------------------------
    def render(self, subject: str, graph: str, pairs: Iterable[tuple[str, Any]]) -> str:
        if type(pairs) is not list and type(pairs) is not tuple:
            pairs = tuple(pairs)  # a zip from the metric path: it is read twice
        name = None
        for p, o in pairs:
            if p == _NAME if type(p) is str else str(p) == _NAME:  # rdflib terms never equal a str
                name = o
                break
        secret = type(name) is str and looks_secret(name)
        s, g = f"<{subject}>", f"<{graph}>"
        lines: list[str] = []
        labels: list[str] | None = None
        for p, o in pairs:
            if o is None:
                continue
            t = type(o)
            if secret and _same(p, _VALUE):
                o = REDACTED
                labels = (labels or []) + [f"{_kind(pairs)} {name}"]
            elif t is str:
                found = self._scrub(o)
                if found is not None:
                    o = found[0]
                    labels = (labels or []) + [f"{r} in {_context(p, name, pairs)}" for r in found[1]]
            elif t not in _TYPED:
                o, more = self._other(p, o, name, pairs)
                if more:
                    labels = (labels or []) + more
            lines.append(f"{s} <{p}> {literal(o)} {g} .\n")
        if labels:
            lines.append(f"{s} {_MARK} {g} .\n")
            for label in labels:
                if label not in self._seen:
                    self._seen.add(label)
                    lines.append(f"{g} {_REDACTION} {literal(self._scrub_label(label))} {g} .\n")
        return "".join(lines)

    # -- values ----------------------------------------------------------------------------------
    def _other(self, p: str, o: Any, name: Any, pairs: Sequence) -> tuple[Any, list[str]]:
        """Anything but a plain str or a typed literal: containers (as JSON text), str subclasses, objects."""
        value = plain_value(o)
        if isinstance(value, _IRI_TYPES) or isinstance(value, (bool, int, float, _dt.datetime)):
            return value, []
        labels: list[str] = []
        if isinstance(value, (list, tuple, dict)):
            if _same(p, _ARGV) and isinstance(value, (list, tuple)):
                value, found = redact_argv(value)
                labels += found
            value = self._redact_keys(value, _context(p, name, pairs), labels)
            text = json.dumps(value, default=_json_default, sort_keys=isinstance(value, dict))
        else:
            text = str(value)
        found = self._scrub(text)
        if found is not None:
            text = found[0]
            labels += [f"{r} in {_context(p, name, pairs)}" for r in found[1]]
        return text, labels

    def _redact_keys(self, value: Any, where: str, labels: list[str]) -> Any:
        """Dicts (at any depth) with the values of secret-looking keys replaced."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if isinstance(key, str) and looks_secret(key):
                    out[key] = REDACTED
                    labels.append(f"{where}[{key}]")
                else:
                    out[key] = self._redact_keys(item, where, labels)
            return out
        if isinstance(value, (list, tuple)):
            return [self._redact_keys(item, where, labels) for item in value]
        return value

    def _scrub(self, text: str) -> tuple[str, tuple[str, ...]] | None:
        """(scrubbed text, what was found) or None when the text holds nothing to redact."""
        short = len(text) <= _CACHE_TEXT
        if short:
            try:
                return self._cache[text]
            except KeyError:
                pass
        found: list[str] = []
        out = text
        if "=" in out or ":" in out:
            if "@" in out:
                out, n = _URL_CREDENTIALS.subn(_keep_head, out)
                if n:
                    found.append("URL password")
            if _hinted(out):
                out = _redact_assignments(out, found)
        for number, pattern in enumerate(self.patterns, 1):
            out, n = pattern.subn(REDACTED, out)
            if n:
                found.append(f"pattern {number}")
        result = (out, tuple(dict.fromkeys(found))) if found else None
        if short:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = result
        return result

    def _scrub_label(self, label: str) -> str:
        found = self._scrub(label)
        return label if found is None else found[0]


def _keep_head(match: re.Match) -> str:
    return f"{match.group('head')}:{REDACTED}@"


def _redact_assignments(text: str, found: list[str]) -> str:
    """`name=value` / `name: value` with a secret-looking name: the value goes. A match whose name is not
    secret resumes at its value, so `failed: password=x` still finds `password=x`."""
    parts: list[str] = []
    done = position = 0
    while True:
        match = _ASSIGNED.search(text, position)
        if match is None:
            break
        name = match.group("name")
        if looks_secret(name) and match.group("secret") != REDACTED:
            found.append(name)
            parts += [text[done:match.start("secret")], REDACTED]
            done = position = match.end()
        else:
            position = match.start("secret")
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _same(p: Any, predicate: str) -> bool:
    """p is `predicate`, as a str or as an rdflib URIRef (whose == is False against any plain str)."""
    return p == predicate if type(p) is str else str(p) == predicate


def _kind(pairs: Sequence[tuple[str, Any]]) -> str:
    for p, o in pairs:
        if _same(p, _TYPE) and str(o) in _KINDS:
            return _KINDS[str(o)]
    return "value"


def _context(p: str, name: Any, pairs: Sequence[tuple[str, Any]]) -> str:
    """Where a redaction happened, for its pi:redaction label: `hyperparameter db`, `argv`, `exceptionMessage`."""
    if _same(p, _VALUE) and isinstance(name, str):
        return f"{_kind(pairs)} {name}"
    return str(p).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


# -- the project's patterns ----------------------------------------------------------------------
def compile_patterns(entries: Sequence[tuple[Any, int | None]], path: str | os.PathLike | None) -> list[re.Pattern]:
    """Compile `[tool.provinstr] redact` entries ((text, line) pairs); a RedactionError on the first bad one."""
    compiled = []
    for number, (text, line) in enumerate(entries, 1):
        if not isinstance(text, str) or not text:
            raise RedactionError(f"[tool.provinstr] redact entry {number} must be a non-empty string (a regular "
                                 f"expression), not {text!r}; write it like redact = [\"sk-[A-Za-z0-9]+\"]", path, line)
        try:
            pattern = re.compile(text)
        except re.error as error:
            raise RedactionError(f"[tool.provinstr] redact entry {number} is not a regular expression ({error}); "
                                 "fix it (Python `re` syntax; in TOML prefer 'single quotes' so backslashes stay) "
                                 "or remove it", path, line) from None
        if pattern.search(""):
            raise RedactionError(f"[tool.provinstr] redact entry {number} matches empty text, so it would redact "
                                 "everywhere; make it match at least one character (e.g. + instead of *)", path, line)
        compiled.append(pattern)
    return compiled


def project_redactor(*places: str | os.PathLike | Path | None) -> Redactor:
    """A Redactor with the `redact` patterns of the pyproject.toml nearest each place (default: the working folder)."""
    from provinstr.config import redact_settings

    patterns: list[re.Pattern] = []
    seen: set[Path] = set()
    for place in places or (None,):
        entries, path = redact_settings(place)
        if path is None or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        patterns += compile_patterns(entries, path)
    return Redactor(patterns)
