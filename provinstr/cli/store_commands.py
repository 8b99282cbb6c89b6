"""Commands that read a store: runs, query, export, reindex, validate."""

from __future__ import annotations

import csv
import datetime as _dt
import enum
import json
import re
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from provinstr.analysis.catalog import cell
from provinstr.analysis.store import RunInfo, open_store
from provinstr.cli.application import UsageError, app
from provinstr.cli.common import StoreOption, print_table, stdout_console, user_errors
from provinstr.store import QuerySyntaxError
from provinstr.store.results import QueryResult
from provinstr.vocab.terms import PREFIXES


class QueryFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormat(str, enum.Enum):
    prov_json = "prov-json"
    prov_n = "prov-n"
    prov_xml = "prov-xml"
    jsonld = "jsonld"
    turtle = "turtle"
    trig = "trig"
    nquads = "nquads"


# -- runs ------------------------------------------------------------------------------
@app.command()
def runs(
    store: Optional[str] = StoreOption,
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON (the same as --format json)."),
    group: Optional[str] = typer.Option(None, "--group", help="Only the runs of this sweep (--group / PROVINSTR_GROUP)."),
    status: Optional[str] = typer.Option(
        None, "--status", help="Only the runs in this state: running, completed, failed or interrupted."),
    where: Optional[str] = typer.Option(
        None, "--where", help="Only the runs matching, e.g. \"learning_rate < 0.01 and K = 24\" "
        "(hyperparameters, final metrics, run fields; = != < <= > >=, and, or, parentheses)."),
    sort: Optional[str] = typer.Option(
        None, "--sort", help="Sort by these keys: val_loss, -val_loss (descending), K,-val_loss; "
        "ties stay oldest first, runs lacking a key go last."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, help="Show only the first N runs."),
    fmt: QueryFormat = typer.Option(QueryFormat.table, "--format", help="Output format: table, csv or json."),
) -> None:
    """List the runs in the store, oldest first (or as --sort says), filtered by --group, --status, --where."""
    from provinstr.analysis.selection import WhereError, names_in, sort_keys

    with user_errors():
        opened = open_store(store)
        try:
            infos = opened.runs(where=where, sort=sort, limit=limit, group=group, status=status)
            shown = [*(names_in(where) if where else []), *(name for name, _ in sort_keys(sort))]
        except WhereError as error:
            raise UsageError(str(error)) from None
    if as_json or fmt is QueryFormat.json:
        typer.echo(json.dumps([_run_dict(info) for info in infos], indent=2, default=_json_value))
        return
    if fmt is QueryFormat.csv:
        _print_runs_csv(infos)
        return
    if not infos:
        filtered = any(v is not None for v in (group, status, where, limit))
        typer.echo(f"no runs match in {opened.location}" if filtered else f"no runs yet in {opened.location}")
        return
    _print_runs_table(infos, list(dict.fromkeys(shown)))
    for info in infos:  # a server store: records that could not be sent yet are only in the local spool
        if info.unsent:
            typer.echo(f"run {info.id[:8]}: {info.unsent} records not yet on {opened.location}; "
                       "send them with: provinstr push")


_RUN_FIELDS = ("id", "name", "group", "status", "start", "end", "duration", "host")


def _print_runs_table(infos: list[RunInfo], keys: list[str]) -> None:
    """id, name, (group), start, duration, status, then the columns --where and --sort name."""
    from provinstr.analysis.selection import lookup

    extra = [key for key in keys if key not in ("id", "name", "start", "duration", "status")]
    with_group = any(info.group for info in infos) and "group" not in extra
    columns = ["id", "name", *(["group"] if with_group else []), "start", "duration", "status", *extra]
    print_table(columns, [[info.id[:8], info.name, *([info.group or ""] if with_group else []), cell(info.started),
                           _duration(info.duration), info.status, *(cell(lookup(info, key)) for key in extra)]
                          for info in infos])


def _print_runs_csv(infos: list[RunInfo]) -> None:
    """One row per run: run fields, a column per hyperparameter, per final metric and per best value."""
    from provinstr.analysis.listing import run_record

    records = [run_record(info, infos) for info in infos]
    columns = list(records[0]) if records else list(_RUN_FIELDS[:-1])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else _json_value(record[c]) for c in columns])


def _run_dict(info: RunInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "iri": info.iri,
        "name": info.name,
        "started": info.started.isoformat(),
        "ended": info.ended.isoformat() if info.ended else None,
        "duration_seconds": info.duration,
        "status": info.status,
        "host": info.host,
        "pid": info.pid,
        "group": info.group,
        "error": info.error,
        "hyperparameters": info.params,
        "metrics": {name: {"final": value, "best": info.best.get(name)} for name, value in info.final.items()},
    }


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


# -- query -----------------------------------------------------------------------------
@app.command()
def query(
    sparql: Optional[str] = typer.Argument(None, help="The SPARQL query (prov, pi, mls, xsd, rdf, rdfs predeclared)."),
    params: Optional[list[str]] = typer.Argument(None, help="NAME=VALUE parameters of a named query."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Read the query from this file."),
    fmt: QueryFormat = typer.Option(QueryFormat.table, "--format", help="Output format."),
    run: Optional[str] = typer.Option(None, "--run", help="Ask only this run's graph (an id prefix or 'last')."),
    list_named: bool = typer.Option(False, "--list", help="List the named queries (provinstr query NAME k=v)."),
    store: Optional[str] = StoreOption,
) -> None:
    """Answer a SPARQL SELECT, ASK or CONSTRUCT query over every run (or one run), or a named query."""
    from provinstr.analysis import queries as named  # named queries: analysis/queries.py

    with user_errors():
        if list_named:
            return stdout_console().print(named.list_table(), highlight=False, markup=False)
        if sparql is not None and file is None and named.is_named(sparql):
            values = named.parse_assignments(params or []) | ({"run": run} if run else {})
            return _print_answer(named.run_named(open_store(store), sparql, values), fmt)
        if params:
            raise UsageError(f"{params[0]!r}: NAME=VALUE parameters go with a named query (provinstr query --list)")
        text, source = _query_text(sparql, file)
        opened = open_store(store)
        try:
            answer = opened.query(text, run=run)
        except QuerySyntaxError as error:
            raise UsageError(describe_syntax_error(text, str(error), source)) from None
    _print_answer(answer, fmt)


def _query_text(sparql: Optional[str], file: Optional[Path]) -> tuple[str, str]:
    """The query and where it came from (for error messages)."""
    if sparql is not None and file is not None:
        raise UsageError("give the query either as an argument or with --file, not both")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8"), str(file)
        except OSError as error:
            raise UsageError(f"cannot read the query file {file}: {error.strerror or error}") from None
    if sparql is None:
        raise UsageError('no query: provinstr query "SELECT ..." or provinstr query --file QUERY.rq')
    return sparql, ""


_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.S)
_PREFIXED = re.compile(r"([A-Za-z][\w.-]*)?:[\w.-]*$")


_CHAR_CLASS = re.compile(r"\[[^\[\]]*\.\.=[^\[\]]*\]")
_ONE_CHAR = re.compile(r"\['(.)'\]")


def _readable(detail: str) -> str:
    """The parser's 'expected' list without its Unicode character-class ranges."""
    detail = _ONE_CHAR.sub(r'"\1"', _CHAR_CLASS.sub("a name character", detail))
    parts = detail.split(", ")
    return ", ".join(p for i, p in enumerate(parts) if p not in parts[:i])


def describe_syntax_error(text: str, message: str, source: str = "") -> str:
    """The parser's complaint on one line, at the line:column of the user's own query text (or file)."""
    found = _POSITION.search(message)
    if not found:
        return f"{source + ': ' if source else ''}" + " ".join(message.split())
    line, column, detail = int(found[1]), int(found[2]), " ".join(found[3].split())
    lines = text.splitlines()
    source_line = lines[line - 1] if line <= len(lines) else ""
    if "Prefix not found" in detail:
        prefix = _PREFIXED.search(source_line[: column - 1].rstrip())
        name = f"{prefix[1] or ''}:" if prefix else "a prefix"
        detail = (f"unknown prefix {name} (predeclared: {', '.join(PREFIXES)}; "
                  f"declare others with PREFIX name: <IRI>)")
    else:
        detail = _readable(detail)
    if len(detail) > 160:
        detail = detail[:157] + "..."
    if line > len(lines) or (line == len(lines) and column > len(source_line.rstrip())):
        # the parser ran off the end: an unclosed brace or expression
        where = "at the end of the query" if not source else f"{source}: at the end of the query"
        return f"malformed SPARQL {where}: {detail}"
    near = f" (in: {source_line.strip()})"
    if source:
        return f"{source}:{line}:{column}: malformed SPARQL: {detail}{near}"
    return f"malformed SPARQL at line {line}, column {column} of the query: {detail}{near}"


def _print_answer(answer: QueryResult, fmt: QueryFormat) -> None:
    if answer.boolean is not None:
        value = "true" if answer.boolean else "false"
        typer.echo(json.dumps({"boolean": answer.boolean}) if fmt is QueryFormat.json else value)
    elif answer.triples is not None:
        _print_triples(answer.triples, fmt)
    elif fmt is QueryFormat.json:
        typer.echo(json.dumps(answer.dicts(), indent=2, default=_json_value))
    elif fmt is QueryFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(answer.variables)
        writer.writerows([["" if v is None else _json_value(v) for v in row] for row in answer.rows])
    else:
        print_table(answer.variables, [[cell(v) for v in row] for row in answer.rows])
        typer.echo(f"{len(answer.rows)} row{'s' if len(answer.rows) != 1 else ''}")


def _print_triples(triples: list, fmt: QueryFormat) -> None:
    """A CONSTRUCT answer: Turtle for people, subject/predicate/object rows for csv and json."""
    import pyoxigraph as ox

    if fmt is QueryFormat.table:
        typer.echo(ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES).decode("utf-8"), nl=False)
        return
    rows = [{"subject": t.subject.value, "predicate": t.predicate.value, "object": t.object.value} for t in triples]
    if fmt is QueryFormat.json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        writer = csv.DictWriter(sys.stdout, ["subject", "predicate", "object"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _json_value(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return value


# -- export ----------------------------------------------------------------------------
@app.command()
def export(
    run: str = typer.Argument(..., help="The run: an id prefix, its IRI, or 'last'."),
    fmt: ExportFormat = typer.Option(ExportFormat.prov_json, "--format", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    store: Optional[str] = StoreOption,
) -> None:
    """Export one run's provenance as PROV-JSON, PROV-N, PROV-XML, JSON-LD, Turtle, TriG or N-Quads."""
    from provinstr.analysis.export import export_run

    with user_errors():
        opened = open_store(store)
        text = export_run(opened, opened.run(run), fmt.value)
        if output is None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    typer.echo(f"wrote {output} ({fmt.value})", err=True)


# -- reindex ---------------------------------------------------------------------------
@app.command()
def reindex(store: Optional[str] = StoreOption) -> None:
    """Rebuild the store's query index from its run logs (the logs are the truth), compressing finished logs."""
    import time

    with user_errors():
        opened = open_store(store)
        began = time.perf_counter()
        backend = opened.backend
        # A progress bar on stderr whenever it is a terminal, whatever the backlog.
        quads = backend.reindex(show_progress=True if sys.stderr.isatty() else False) \
            if hasattr(backend, "show_progress") else backend.reindex()
        seconds = time.perf_counter() - began
        logs = len(backend.run_ids())
    typer.echo(f"reindexed {opened.location}: {quads} quads from {logs} run log{'s' if logs != 1 else ''} "
               f"in {seconds:.1f} s")


# -- validate --------------------------------------------------------------------------
@app.command()
def validate(
    run: str = typer.Argument(..., help="The run: an id prefix, its IRI, or 'last'."),
    prov_o: Optional[Path] = typer.Option(
        None, "--prov-o", help="A PROV-O ontology file: also check every prov: term the run uses is defined there."
    ),
    store: Optional[str] = StoreOption,
) -> None:
    """Check one run against PROV-O's constraints and the provinstr vocabulary; exit 1 on problems."""
    from provinstr.analysis.validate import check_run

    with user_errors():
        opened = open_store(store)
        info = opened.run(run)
        if prov_o is not None and not prov_o.is_file():
            raise UsageError(f"--prov-o {prov_o}: no such file")
        try:
            problems = check_run(opened, info, prov_o)
        except SyntaxError as error:  # the --prov-o file is not RDF
            raise UsageError(f"--prov-o {prov_o}: not readable as RDF ({' '.join(str(error).split())})") from None
    for problem in problems:
        typer.echo(problem)
    if problems:
        typer.echo(f"run {info.id[:8]} ({info.name}): {len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    typer.echo(f"run {info.id[:8]} ({info.name}): no problems")
