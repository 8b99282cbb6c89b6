"""bench/ui.py's figures: medians per page, system and mode, the provinstr / MLflow ratios, the targets.

A size's `loads` are bench/benchlib/ui_browser.py records. The figures compared are in milliseconds from
the navigation's start: first contentful paint, and "content" (a check's `painted` mark: the runs table's
rows, the run's facts, the learning curve's line drawn). Server time is the slowest first byte among the
HTML and the page's API requests (provinstr's pages carry their data in the HTML; MLflow's page asks its
/ajax-api/ and /graphql for it).

Targets (issue 17): each provinstr page's content within 1 s at 10,000 runs, and sooner than MLflow's UI
on the same data (every size, cold loads; cached loads are reported the same way).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

TARGET_MS = 1000.0
TARGET_RUNS = 10000
MODES = ("cold", "cached")
# (what is compared, provinstr's page and check, MLflow's page and check)
COMPARISONS = (
    ("runs page: table rows", ("runs", "rows"), ("runs", "rows")),
    ("run page: facts", ("run", "facts"), ("run", "facts")),
    ("run page: learning curve", ("run", "curve"), ("metrics", "curve")),
)
PAGE_NAMES = {("provinstr", "runs"): "/", ("provinstr", "run"): "/run/ID",
              ("mlflow", "runs"): "#/experiments/ID/runs", ("mlflow", "run"): "#/experiments/ID/runs/RUN",
              ("mlflow", "metrics"): "#/experiments/ID/runs/RUN/model-metrics"}


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def is_api(path: str) -> bool:
    """A request for data (provinstr's /api/, MLflow's /ajax-api/ and /graphql), not an asset."""
    return "/api/" in path or "/ajax-api/" in path or path.startswith("/graphql")


def server_ms(load: dict) -> float | None:
    """The slowest first byte of the HTML and of the page's API requests (ms)."""
    times = [(load.get("nav") or {}).get("ttfb")]
    times += [r.get("ttfb") for r in load.get("requests", []) if is_api(r["path"])]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def summarize(loads: list[dict]) -> dict:
    """{"system/page/mode": {n, errors, fcp_ms, content_ms: {check: median}, server_ms, lcp_ms}} (medians)."""
    out: dict = {}
    keys = sorted({(l["system"], l["page"], l["mode"]) for l in loads if not l.get("warmup")})
    for system, page, mode in keys:
        mine = [l for l in loads if (l["system"], l["page"], l["mode"]) == (system, page, mode) and not l.get("warmup")]
        good = [l for l in mine if "error" not in l]
        checks = sorted({c for l in mine for c in (l.get("content") or {})})
        out[f"{system}/{page}/{mode}"] = {
            "n": len(good), "errors": len(mine) - len(good),
            "fcp_ms": _median([l.get("fcp") for l in good]),
            "lcp_ms": _median([l.get("lcp") for l in good]),
            "content_ms": {c: _median([(l.get("content") or {}).get(c) for l in good]) for c in checks},
            "content_all_ms": {c: [(l.get("content") or {}).get(c) for l in good] for c in checks},
            "server_ms": _median([server_ms(l) for l in good]),
            "html_ttfb_ms": _median([(l.get("nav") or {}).get("ttfb") for l in good]),
        }
    return out


def first_loads(loads: list[dict]) -> dict:
    """The warm-up loads (each page's first after its server started): {"system/page": {fcp, content, server}}."""
    return {f"{l['system']}/{l['page']}": {"fcp_ms": l.get("fcp"), "content_ms": l.get("content"),
                                           "server_ms": server_ms(l), "error": l.get("error")}
            for l in loads if l.get("warmup")}


def _figure(summary: dict, system: str, page: str, mode: str, check: str) -> tuple:
    entry = summary.get(f"{system}/{page}/{mode}") or {}
    return entry.get("fcp_ms"), (entry.get("content_ms") or {}).get(check), entry.get("server_ms")


def ratios(size: dict) -> dict:
    """{"comparison/mode": {provinstr_ms, mlflow_ms, ratio, fcp_ratio}} for one size."""
    out = {}
    for label, (p_page, p_check), (m_page, m_check) in COMPARISONS:
        for mode in MODES:
            p_fcp, p_content, _ = _figure(size["summary"], "provinstr", p_page, mode, p_check)
            m_fcp, m_content, _ = _figure(size["summary"], "mlflow", m_page, mode, m_check)
            out[f"{label}/{mode}"] = {
                "provinstr_ms": p_content, "mlflow_ms": m_content,
                "ratio": p_content / m_content if p_content and m_content else None,
                "fcp_ratio": p_fcp / m_fcp if p_fcp and m_fcp else None}
    return out


def _ms(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _x(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def size_table(size: dict) -> str:
    """One size: per comparison and mode, FCP / content / server ms of each system and the ratios."""
    lines = [f"### {size['runs']:,} runs (+1 run of {size['long_epochs']:,} epochs), medians of "
             f"{size['rounds']} loads, ms from navigation start",
             "",
             "| page | load | provinstr FCP | provinstr content | provinstr server | MLflow FCP | MLflow content "
             "| MLflow server | content provinstr / MLflow | FCP provinstr / MLflow |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, (p_page, p_check), (m_page, m_check) in COMPARISONS:
        for mode in MODES:
            p = _figure(size["summary"], "provinstr", p_page, mode, p_check)
            m = _figure(size["summary"], "mlflow", m_page, mode, m_check)
            r = size["ratios"][f"{label}/{mode}"]
            lines.append(f"| {label} | {mode} | {_ms(p[0])} | **{_ms(p[1])}** | {_ms(p[2])} | {_ms(m[0])} | "
                         f"**{_ms(m[1])}** | {_ms(m[2])} | {_x(r['ratio'])} | {_x(r['fcp_ratio'])} |")
    errors = {k: v["errors"] for k, v in size["summary"].items() if v["errors"]}
    if errors:
        lines += ["", "Loads that failed (timed out or errored): "
                  + ", ".join(f"{k} {n}" for k, n in errors.items())]
    first = size.get("first") or {}
    if first:
        lines += ["", "First load after each server started (cold): "
                  + "; ".join(f"{k} FCP {_ms(v['fcp_ms'])}, content "
                              + "/".join(_ms(c) for c in (v.get("content_ms") or {}).values())
                              + (f" ({v['error']})" if v.get("error") else "")
                              for k, v in first.items())]
    return "\n".join(lines)


def ratio_table(sizes: list[dict]) -> str:
    """Content time provinstr / MLflow per comparison (rows) and size (columns), cold and cached."""
    header = "| provinstr / MLflow (content) | " + " | ".join(f"{s['runs']:,} runs cold | cached" for s in sizes) + " |"
    lines = [header, "|---|" + "---|---|" * len(sizes)]
    for label, _, _ in COMPARISONS:
        cells = []
        for size in sizes:
            for mode in MODES:
                r = size["ratios"][f"{label}/{mode}"]
                cells.append(f"{_x(r['ratio'])} ({_ms(r['provinstr_ms'])} / {_ms(r['mlflow_ms'])} ms)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass
class Check:
    what: str
    value: float | None
    limit: float | None
    ok: bool | None
    note: str = ""

    @property
    def verdict(self) -> str:
        return "n/a" if self.ok is None else "PASS" if self.ok else "MISS"


def checks(sizes: list[dict]) -> list[Check]:
    out: list[Check] = []
    at_target = [s for s in sizes if s["runs"] >= TARGET_RUNS]
    largest = max(sizes, key=lambda s: s["runs"]) if sizes else None
    for label, (p_page, p_check), _ in COMPARISONS:
        if at_target:
            size = at_target[0]
            value = _figure(size["summary"], "provinstr", p_page, "cold", p_check)[1]
            out.append(Check(f"{size['runs']:,} runs: provinstr {label} within 1 s (cold load)", value, TARGET_MS,
                             None if value is None else value <= TARGET_MS))
        elif largest is not None:
            value = _figure(largest["summary"], "provinstr", p_page, "cold", p_check)[1]
            out.append(Check(f"10,000 runs: provinstr {label} within 1 s", value, TARGET_MS, None,
                             f"not measured at 10,000 runs; {_ms(value)} ms at {largest['runs']:,}"))
    for size in sizes:
        for label, _, _ in COMPARISONS:
            for mode in MODES:
                r = size["ratios"][f"{label}/{mode}"]
                out.append(Check(f"{size['runs']:,} runs: provinstr {label} sooner than MLflow ({mode})", r["ratio"], 1.0,
                                 None if r["ratio"] is None else r["ratio"] < 1.0,
                                 f"{_ms(r['provinstr_ms'])} vs {_ms(r['mlflow_ms'])} ms"))
    return out


def check_lines(sizes: list[dict]) -> list[str]:
    lines = []
    for check in checks(sizes):
        value = "-" if check.value is None else (f"{check.value:,.0f} ms" if check.limit == TARGET_MS
                                                 else f"ratio {check.value:.2f}")
        lines.append(f"{check.verdict:5s} {check.what}: {value}" + (f" ({check.note})" if check.note else ""))
    return lines
