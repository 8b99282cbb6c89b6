"""bench/scale.py's figures, targets and tables, read from its result records (also by bench/report.py).

A size record (one element of scale.json's "sizes") holds what was measured at one store size; here
it becomes figures (provinstr's value, MLflow's, their ratio), the issue's targets as checks (PASS or
MISS, never left out), and Markdown tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchlib.questions import QUESTIONS, SERVER_QUESTIONS

TARGET_RUNS = 10_000  # the size the absolute targets are set at
RUNS_TARGET_S = 0.5  # `provinstr runs`, a new process, at 10,000 runs
QUERY_A_TARGET_S = 0.1  # seed query (a) in-process, at 10,000 runs
BYTES_TARGET = 600  # log + index (+ catalog) per recorded metric value, models excluded

LABELS = {
    "listing": "`runs`",
    "where": "`runs --where --sort --limit 20`",
    "group": "`runs --group`",
    "query a": "query (a)",
    "query b": "query (b)",
    "show": "`show last`",
}
API_LABELS = {
    "listing": "store.runs()",
    "where": "store.runs(where=, sort=, limit=)",
    "group": "store.runs(group=)",
    "query a": "store.query(QUERY_A)",
    "query b": "store.query(QUERY_B)",
    "show": "store.run('last') + show",
}


@dataclass
class Figure:
    label: str
    provinstr: float | None
    mlflow: float | None
    unit: str  # "s", "B", "MB"
    speed: bool  # a time: provinstr must be faster than MLflow
    failed: tuple[str, ...] = ()  # the systems whose command or call failed ("provinstr", "MLflow")

    @property
    def ratio(self) -> float | None:
        if self.provinstr is None or not self.mlflow or self.failed:
            return None
        return self.provinstr / self.mlflow


def _get(record: dict, *keys):
    for key in keys:
        if not isinstance(record, dict) or key not in record:
            return None
        record = record[key]
    return record


def _measured(record: dict, part: str, system: str, question: str, which: str) -> tuple[float | None, bool]:
    """(the figure, whether it failed): a question's record with an error, or missing from a failed worker."""
    whole = _get(record, part, system) or {}
    one = whole.get(question) if question else whole
    if not isinstance(one, dict):
        return None, "error" in whole
    return one.get(which), "error" in one


def figures(size: dict) -> list[Figure]:
    """The side-by-side figures of one size record, in table order."""
    def pair(label, part, question, which, unit="s", speed=True):
        (a, a_failed), (b, b_failed) = (_measured(size, part, system, question, which)
                                        for system in ("provinstr", "mlflow"))
        return Figure(label, a, b, unit, speed, tuple(n for n, f in (("provinstr", a_failed), ("MLflow", b_failed))
                                                     if f))

    out = [pair(f"write {size['new_runs']} runs", "write", None, "seconds"),
           pair("`runs`, new process, first", "cli", "listing", "first_s")]
    for question in QUESTIONS:
        if question == "query a":
            out.append(pair("query (a), new process, first (index catch-up)", "cli", question, "first_s"))
        out.append(pair(f"{LABELS[question]}, new process", "cli", question, "warm_s"))
    first = pair("API: open + store.runs(), first call", "api", "listing", "first_s")
    opened = [_get(size, "api", system, "open", "seconds") for system in ("provinstr", "mlflow")]
    first.provinstr, first.mlflow = _plus(first.provinstr, opened[0]), _plus(first.mlflow, opened[1])
    out.append(first)
    for question in QUESTIONS:
        out.append(pair(f"API: {API_LABELS[question]}", "api", question, "warm_s"))
    out.append(Figure("bytes per metric value", _get(size, "bytes", "provinstr", "per_value"),
                      _get(size, "bytes", "mlflow", "per_value"), "B", False))
    out.append(Figure("peak RSS, new-process readers", _peak(size, "cli", "provinstr"), _peak(size, "cli", "mlflow"),
                      "MB", False))
    out.append(Figure("peak RSS, in-process reader", _get(size, "api", "provinstr", "maxrss_mb"),
                      _get(size, "api", "mlflow", "maxrss_mb"), "MB", False))
    out.append(Figure("peak RSS, writer", _get(size, "write", "provinstr", "maxrss_mb"),
                      _get(size, "write", "mlflow", "maxrss_mb"), "MB", False))
    return out


DEFAULT_HTTP_TIMEOUT_S = 10  # provinstr's own (PROVINSTR_HTTP_TIMEOUT); the benchmark waits longer


def server_figures(size: dict) -> list[tuple[str, str]]:
    """The SPARQL server store's figures of one size record: (label, text); a read that failed says so,
    one that took longer than provinstr's default HTTP timeout is marked (it fails without PROVINSTR_HTTP_TIMEOUT)."""
    server = size.get("server")
    if not server:
        return []
    push = server.get("push", {})
    rows = [(f"push {size['new_runs']} runs (`provinstr push`)", _text(push.get("wall_s"), "s", "error" in push)),
            ("push rate", number(push.get("lines_per_s"), "lines/s"))]

    def read(label, part, question, which):
        value, failed = _measured({"x": server}, "x", part, question, which)
        return label, _text(value, "s", failed, timeout=True)

    for question in SERVER_QUESTIONS:
        if question == "listing":
            rows.append(read("`runs --store URL`, new process, first", "cli", question, "first_s"))
        label = "`runs --store URL`" if question == "listing" else f"{LABELS[question]} --store URL"
        rows.append(read(f"{label}, new process", "cli", question, "warm_s"))
    for question in SERVER_QUESTIONS:
        rows.append(read(f"API: open_store(URL){API_LABELS[question][len('store'):]}", "api", question, "warm_s"))
    rows.append(("server folder bytes per metric value, live", number(_get(server, "bytes", "per_value"), "B")))
    rows.append(("... after `oxigraph optimize`", number(_get(server, "bytes", "optimized_per_value"), "B")))
    if server.get("error"):
        rows.append(("the server part failed", server["error"][-200:].replace("|", "/").replace("\n", " ")))
    return rows


def _text(value: float | None, unit: str, failed: bool, timeout: bool = False) -> str:
    if failed:
        return "failed" + (f" ({number(value, unit)})" if value is not None else "")
    mark = " †" if timeout and value is not None and value > DEFAULT_HTTP_TIMEOUT_S else ""
    return number(value, unit) + mark


def _plus(a, b):
    return None if a is None or b is None else a + b


def _peak(size: dict, part: str, system: str) -> float | None:
    values = [q.get("maxrss_mb") for q in (_get(size, part, system) or {}).values() if isinstance(q, dict)]
    values = [v for v in values if v is not None]
    return max(values) if values else None


@dataclass
class Check:
    target: str
    runs: int
    value: float | None
    limit: str
    passed: bool | None  # None: not measured

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else "PASS" if self.passed else "MISS"


def checks(sizes: list[dict]) -> list[Check]:
    """The issue's targets, each PASS, MISS or n/a (not measured), at every size measured."""
    out: list[Check] = []
    by_runs = {size["runs"]: size for size in sizes}
    largest = by_runs.get(TARGET_RUNS)
    for name, value, limit in (
        ("`provinstr runs` (new process, warm) at 10,000 runs",
         _get(largest or {}, "cli", "provinstr", "listing", "warm_s"), RUNS_TARGET_S),
        ("seed query (a) in-process (warm) at 10,000 runs",
         _get(largest or {}, "api", "provinstr", "query a", "warm_s"), QUERY_A_TARGET_S),
    ):
        out.append(Check(name, TARGET_RUNS, value, f"<= {limit} s", None if value is None else value <= limit))
    for size in sizes:
        value = _get(size, "bytes", "provinstr", "per_value")
        out.append(Check("bytes per metric value, logs + index + catalog", size["runs"], value,
                         f"<= {BYTES_TARGET} B", None if value is None else value <= BYTES_TARGET))
        for figure in figures(size):
            if figure.speed:
                passed = False if "provinstr" in figure.failed else None if figure.ratio is None else figure.ratio < 1
                out.append(Check(f"faster than MLflow: {figure.label}", size["runs"], figure.ratio, "ratio < 1",
                                 passed))
        for question, agreed in (size.get("agree") or {}).items():
            out.append(Check(f"same answer as MLflow: {question}", size["runs"], None, "equal", agreed))
        for question, agreed in (_get(size, "server", "agree") or {}).items():
            out.append(Check(f"server store answers as the local one: {question}", size["runs"], None, "equal",
                             agreed))
    return out


def number(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "lines/s":
        return f"{value:,.0f} lines/s"
    return f"{value:,.0f} {unit}"


def ratio_text(figure: Figure) -> str:
    if figure.failed:
        return f"{' and '.join(figure.failed)} failed" + (" MISS" if "provinstr" in figure.failed else "")
    ratio = figure.ratio
    if ratio is None:
        return "—"
    mark = ("" if ratio < 1 else " MISS") if figure.speed else ""
    return (f"{ratio:.3f}" if ratio < 0.1 else f"{ratio:.2f}") + mark


def size_table(size: dict) -> str:
    """Markdown: provinstr, MLflow and their ratio for each figure of one size."""
    lines = [f"| {size['runs']:,} runs ({size['metric_values']:,} metric values) | provinstr | MLflow | provinstr / MLflow |",
             "|---|---|---|---|"]
    for figure in figures(size):
        cells = [_text(value, figure.unit, name in figure.failed)
                 for value, name in ((figure.provinstr, "provinstr"), (figure.mlflow, "MLflow"))]
        lines.append(f"| {figure.label} | {cells[0]} | {cells[1]} | {ratio_text(figure)} |")
    split = _get(size, "bytes", "provinstr")
    if split:
        lines.append(f"| provinstr bytes per value: logs / index / catalog / other | "
                     f"{' / '.join(number(split.get(k), '') for k in ('logs_per_value', 'index_per_value', 'catalog_per_value', 'other_per_value'))}"
                     f" | | |")
    return "\n".join(lines)


def ratio_table(sizes: list[dict]) -> str:
    """Markdown: provinstr / MLflow for each figure (rows) and size (columns); MISS where not faster."""
    columns = [size["runs"] for size in sizes]
    rows: dict[str, dict[int, str]] = {}
    for size in sizes:
        for figure in figures(size):
            label = "write the new runs" if figure.label.startswith("write ") else figure.label
            rows.setdefault(label, {})[size["runs"]] = ratio_text(figure)
    lines = ["| provinstr / MLflow | " + " | ".join(f"{c:,} runs" for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for label, cells in rows.items():
        lines.append(f"| {label} | " + " | ".join(cells.get(c, "—") for c in columns) + " |")
    return "\n".join(lines)


def server_table(sizes: list[dict]) -> str:
    """Markdown: the server store's figures (rows) at each size it was measured (columns)."""
    measured = [size for size in sizes if size.get("server")]
    if not measured:
        return ""
    rows: dict[str, dict[int, str]] = {}
    for size in measured:
        for label, text in server_figures(size):
            key = "push the new runs (`provinstr push`)" if label.startswith("push ") and "runs" in label else label
            rows.setdefault(key, {})[size["runs"]] = text
    lines = ["| SPARQL server store (`oxigraph serve`) | " + " | ".join(f"{s['runs']:,} runs" for s in measured) + " |",
             "|---|" + "---|" * len(measured)]
    for label, cells in rows.items():
        lines.append(f"| {label} | " + " | ".join(cells.get(s["runs"], "—") for s in measured) + " |")
    waited = measured[0]["server"].get("http_timeout_s", "?")
    lines += ["", (f"† longer than provinstr's default HTTP timeout ({DEFAULT_HTTP_TIMEOUT_S} s): without "
                   f"PROVINSTR_HTTP_TIMEOUT set higher (the benchmark sets it to {waited} s) this command fails.")]
    return "\n".join(lines)


def check_lines(sizes: list[dict]) -> list[str]:
    """The targets, one line each, then per size: bytes, how many figures beat MLflow and every one that
    does not (by name), whether the answers agreed."""
    found = checks(sizes)
    lines = []
    for check in found[:2]:
        value = "not measured" if check.value is None else f"{check.value:.3f} s"
        lines.append(f"{check.verdict:4s}  {check.target}: {value} (target {check.limit})")
    for size in sizes:
        mine = [c for c in found[2:] if c.runs == size["runs"]]
        speed = [c for c in mine if c.target.startswith("faster")]
        slower = [c for c in speed if c.passed is False]
        for check in mine:
            if check.target.startswith("bytes"):
                value = "not measured" if check.value is None else f"{check.value:,.0f} B"
                lines.append(f"{check.verdict:4s}  {size['runs']:,} runs: {check.target}: {value} "
                             f"(target {check.limit})")
        compared = any(c.passed is not None for c in speed)
        verdict = "MISS" if slower else "PASS" if compared else "n/a"
        lines.append(f"{verdict:4s}  {size['runs']:,} runs: faster than MLflow in "
                     f"{sum(c.passed is True for c in speed)} of {len(speed)} figures")
        lines += [f"MISS    {c.target[len('faster than MLflow: '):]}: "
                  + ("provinstr failed" if c.value is None else f"provinstr / MLflow = {c.value:.2f}") for c in slower]
        for kind in ("same answer as MLflow", "server store answers as the local one"):
            agreed = [c for c in mine if c.target.startswith(kind)]
            if agreed:
                differ = [c.target.split(": ", 1)[1] for c in agreed if c.passed is False]
                unknown = [c.target.split(": ", 1)[1] for c in agreed if c.passed is None]
                verdict = "MISS" if differ else "n/a" if unknown else "PASS"
                lines.append(f"{verdict:4s}  {size['runs']:,} runs: {kind}: "
                             f"{sum(c.passed is True for c in agreed)} of {len(agreed)} questions"
                             + (f"; differ: {', '.join(differ)}" if differ else "")
                             + (f"; not compared (no answer): {', '.join(unknown)}" if unknown else ""))
    return lines
