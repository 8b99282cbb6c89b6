"""Named queries: parameterised SPARQL files (.rq) shipped in the package or kept in a project folder.

A query file starts with comment lines: a description, then one line per parameter,

    # param NAME: TYPE [(required)] [= DEFAULT] [-- what it is]

with TYPE one of run, string, integer, number, boolean, any. The values given (`key=value` on
the command line) are bound to the variables ?NAME by a VALUES row placed at the start of the
query's WHERE block; a parameter left out stays an unbound variable, i.e. matches anything.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provinstr.config import project_settings
from provinstr.store import QuerySyntaxError, StoreError
from provinstr.vocab.terms import XSD

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import Store
    from provinstr.store.results import QueryResult

TYPES = ("run", "string", "integer", "number", "boolean", "any")
PROJECT_FOLDER = "queries"  # ./queries/*.rq, unless [tool.provinstr] queries = "folder"
_PARAM = re.compile(
    r"^#\s*param\s+(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<type>\w+)\s*(?P<required>\(required\))?"
    r"\s*(?:=\s*(?P<default>.*?))?\s*(?:--\s*(?P<help>.*))?$"
)
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


class QueryError(StoreError):
    """A named query that does not exist, a bad parameter or a malformed query file."""


@dataclass
class Parameter:
    name: str
    type: str
    required: bool = False
    default: str | None = None
    help: str = ""

    def describe(self) -> str:
        text = f"{self.name}={self.type}"
        if self.required:
            text += " (required)"
        elif self.default is not None:
            text += f" (default {self.default})"
        return text


@dataclass
class NamedQuery:
    """One .rq file: its name (the file's stem), description, parameters and SPARQL text."""

    name: str
    path: Path | Any
    description: str
    parameters: list[Parameter] = field(default_factory=list)
    sparql: str = ""
    builtin: bool = True

    def bind(self, values: dict[str, str], store: "Store | None" = None) -> str:
        """The SPARQL text with the given parameter values (and defaults) bound."""
        known = {p.name: p for p in self.parameters}
        unknown = [k for k in values if k not in known]
        if unknown:
            listed = ", ".join(p.describe() for p in self.parameters) or "none"
            raise QueryError(f"query {self.name!r} has no parameter {unknown[0]!r}; its parameters: {listed}")
        names, terms = [], []
        for parameter in self.parameters:
            value = values.get(parameter.name, parameter.default)
            if value is None:
                if parameter.required:
                    raise QueryError(f"query {self.name!r} needs {parameter.name}=VALUE "
                                     f"({parameter.help or parameter.type}), e.g. provinstr query {self.name} "
                                     f"{parameter.name}=...")
                continue
            names.append(f"?{parameter.name}")
            terms.append(self._term(parameter, value, store))
        if not names:
            return self.sparql
        row = f"\n  VALUES ({' '.join(names)}) {{ ({' '.join(terms)}) }}\n"
        match = _WHERE.search(self.sparql) or re.search(r"\{", self.sparql)
        if match is None:
            raise QueryError(f"{self.path}: no WHERE block to bind parameters in")
        return self.sparql[: match.end()] + row + self.sparql[match.end():]

    def _term(self, parameter: Parameter, value: str, store: "Store | None") -> str:
        try:
            return term(parameter.type, value, store)
        except ValueError:
            raise QueryError(f"query {self.name!r}: {parameter.name}={value!r} is not a {parameter.type}") from None


def term(kind: str, value: str, store: "Store | None" = None) -> str:
    """The SPARQL term for a parameter value of a type (ValueError when it is not one)."""
    text = value.strip()
    if kind == "run":
        if store is None:
            raise ValueError(value)
        return f"<{store.run(text).iri}>"
    if kind == "integer":
        return f'"{int(text)}"^^<{XSD.integer}>'
    if kind == "number":
        try:
            return term("integer", text)
        except ValueError:
            return f'"{float(text)!r}"^^<{XSD.double}>'
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(value)
        return f'"{text.lower()}"^^<{XSD.boolean}>'
    if kind == "any":
        for guess in ("number", "boolean"):
            try:
                return term(guess, text)
            except ValueError:
                pass
    return json.dumps(value.strip('"') if kind == "any" else value)  # a JSON string is a SPARQL string


def parse(text: str, name: str, path: Any, builtin: bool) -> NamedQuery:
    """Read the comment header of a query file."""
    description, parameters = [], []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        if re.match(r"#\s*param\b", stripped):
            match = _PARAM.match(stripped)
            if match is None or match["type"] not in TYPES:
                raise QueryError(f"{path}:{number}: bad parameter line {stripped!r}; write "
                                 f"'# param NAME: TYPE [= DEFAULT] -- help' with TYPE one of {', '.join(TYPES)}")
            parameters.append(Parameter(match["name"], match["type"], bool(match["required"]),
                                        match["default"] or None, match["help"] or ""))
        elif not parameters:
            description.append(stripped.lstrip("#").strip())
    return NamedQuery(name, path, " ".join(d for d in description if d), parameters, text, builtin)


def project_folders(start: str | os.PathLike | None = None) -> list[Path]:
    """Where a project keeps its own queries: [tool.provinstr] queries, else ./queries/."""
    settings, pyproject = project_settings(start)
    configured = settings.get("queries")
    if configured and pyproject is not None:
        entries = configured if isinstance(configured, list) else [configured]
        return [pyproject.parent / str(entry) for entry in entries]
    return [Path(start or os.getcwd()) / PROJECT_FOLDER]


def available(start: str | os.PathLike | None = None) -> dict[str, NamedQuery]:
    """Every named query, by name; a project's file replaces a shipped one of the same name."""
    found: dict[str, NamedQuery] = {}
    shipped = resources.files(__package__).joinpath("queries")
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            name = entry.name[:-3]
            found[name] = parse(entry.read_text(encoding="utf-8"), name, f"provinstr/analysis/queries/{entry.name}",
                                builtin=True)
    for folder in project_folders(start):
        for path in sorted(folder.glob("*.rq")) if folder.is_dir() else ():
            found[path.stem] = parse(path.read_text(encoding="utf-8"), path.stem, path, builtin=False)
    return found


def is_named(text: str, start: str | os.PathLike | None = None) -> bool:
    """True when `text` is the name of a query rather than SPARQL (for `provinstr query ARG`)."""
    return bool(re.fullmatch(r"[\w.-]+", text.strip())) and text.strip() in available(start)


def find(name: str, start: str | os.PathLike | None = None) -> NamedQuery:
    queries = available(start)
    if name in queries:
        return queries[name]
    close = difflib.get_close_matches(name, list(queries), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise QueryError(f"no named query {name!r}{hint} (list them with: provinstr query --list)")


def parse_assignments(items: list[str]) -> dict[str, str]:
    """['epoch=3', 'metric=loss'] -> {'epoch': '3', 'metric': 'loss'}."""
    values = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise QueryError(f"{item!r}: give parameters as NAME=VALUE, e.g. epoch=3")
        values[key.strip()] = value
    return values


def run_named(store: "Store", name: str, values: dict[str, str] | list[str] | None = None,
              start: str | os.PathLike | None = None) -> "QueryResult":
    """Answer the named query with these parameter values (a dict, or NAME=VALUE strings)."""
    query = find(name, start)
    if isinstance(values, list):
        values = parse_assignments(values)
    sparql = query.bind(values or {}, store)
    try:
        return store.query(sparql)
    except QuerySyntaxError as error:
        raise QueryError(f"{query.path}: {error}") from None


def list_table(start: str | os.PathLike | None = None):
    """`provinstr query --list`: every named query with its parameters and what it answers."""
    from rich.table import Table

    table = Table("name", "parameters", "what it answers", "from")
    for query in available(start).values():
        table.add_row(query.name, " ".join(p.describe() for p in query.parameters), query.description,
                      "provinstr" if query.builtin else str(query.path))
    return table
