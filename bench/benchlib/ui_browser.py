"""Time a web page's first paint and its real content in headless Chromium (bench/ui.py).

A load is one navigation in a page of its own. Before any of the page's scripts run, an init script
watches the document (a MutationObserver) for each of the load's *checks*: a JavaScript function body that
returns true once the content it stands for is in the DOM (table rows present, a learning curve's line
drawn). For each check it records, in the page's own clock (milliseconds since the navigation started):

  dom      the mutation that made the check true (or, for a change no mutation reports, a 100 ms timer)
  frame    the next animation frame (the frame that paints it begins)
  painted  the animation frame after that: the content has been painted ("content" in the tables)

and, from the browser's own timing APIs, first contentful paint (`performance.getEntriesByType('paint')`),
the largest contentful paint, the navigation's time to first byte (the server's time for the HTML),
DOMContentLoaded and load, and every request the page made (path, start, time to first byte, end, bytes):
the server's part of the wait (an /api/ or /ajax-api/ request's first byte) against the browser's.

`cold` loads get a fresh browser context (empty HTTP cache, no cookies or storage); a `cached` load is a
second page in the context of a cold one, so its assets come from the cache, as for a user who has
opened the page before. Nothing is fetched from outside: the browser only talks to the servers measured.
"""

from __future__ import annotations

import faulthandler
import json
import time
from dataclasses import dataclass, field

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}

_WATCH = """
(() => {
  const checks = %s;
  const marks = {}, fns = {};
  for (const [name, body] of Object.entries(checks)) fns[name] = new Function(body);
  window.__bench = marks;
  let pending = Object.keys(fns).length, observer = null, timer = null;
  function check(by) {
    if (!pending) return;
    const now = performance.now();
    for (const [name, fn] of Object.entries(fns)) {
      if (marks[name]) continue;
      let ok = false;
      try { ok = !!fn(); } catch (e) { ok = false; }
      if (!ok) continue;
      pending--;
      const mark = marks[name] = { dom: now, by: by };
      requestAnimationFrame(() => { mark.frame = performance.now();
        requestAnimationFrame(() => { mark.painted = performance.now(); }); });
    }
    if (!pending) { if (observer) observer.disconnect(); clearInterval(timer); }
  }
  observer = new MutationObserver(() => check("mutation"));
  observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["d"] });
  timer = setInterval(() => check("timer"), 100);  // a change no mutation reports (a class, a text)
  try {
    new PerformanceObserver((list) => { const e = list.getEntries(); if (e.length) window.__lcp = e[e.length - 1].startTime; })
      .observe({ type: "largest-contentful-paint", buffered: true });
  } catch (e) { /* no LCP in this browser */ }
})();
"""

_COLLECT = """
() => {
  const nav = performance.getEntriesByType("navigation")[0] || {};
  const paint = Object.fromEntries(performance.getEntriesByType("paint").map((e) => [e.name, e.startTime]));
  const requests = performance.getEntriesByType("resource").map((e) => ({
    path: new URL(e.name).pathname, start: e.startTime,
    ttfb: e.responseStart > 0 ? e.responseStart - e.requestStart : null, end: e.responseEnd,
    bytes: e.transferSize, body: e.encodedBodySize, kind: e.initiatorType }));
  return { marks: window.__bench || {}, lcp: window.__lcp === undefined ? null : window.__lcp,
           fcp: paint["first-contentful-paint"] === undefined ? null : paint["first-contentful-paint"],
           first_paint: paint["first-paint"] === undefined ? null : paint["first-paint"],
           nav: { ttfb: nav.responseStart, html_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd,
                  load: nav.loadEventEnd, html_bytes: nav.transferSize },
           requests };
}
"""


@dataclass
class PageSpec:
    """What to load and the checks that prove its content is there ({name: JS function body})."""

    system: str
    page: str
    url: str
    checks: dict[str, str] = field(default_factory=dict)


def rows_check(selector: str, at_least: int) -> str:
    return f"return document.querySelectorAll({json.dumps(selector)}).length >= {int(at_least)};"


def plotly_line_check(scope: str = "") -> str:
    """A Plotly line trace drawn (inside `scope`, a selector): a `path.js-line` with a real path, not an empty one."""
    selector = f"{scope} .scatterlayer .trace path.js-line".strip()
    return (f"for (const p of document.querySelectorAll({json.dumps(selector)})) {{ const d = p.getAttribute('d'); "
            "if (d && d.length > 50) return true; } return false;")


class Browser:
    """One headless Chromium (the system's, never a downloaded one) for every load of a run."""

    def __init__(self, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s
        self._playwright = None
        self._browser = None

    def __enter__(self) -> "Browser":
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            if self._playwright is not None:
                self._playwright.stop()

    @property
    def version(self) -> str:
        return self._browser.version

    def load_pair(self, spec: PageSpec, cached: bool = True, between_s: float = 0.0) -> list[dict]:
        """A cold load (fresh context) and, if `cached`, `between_s` later a second load in the same context."""
        context = self._browser.new_context(viewport=VIEWPORT)
        try:
            context.add_init_script(_WATCH % json.dumps(spec.checks))
            records = [self._load(context, spec, "cold")]
            if cached:
                time.sleep(between_s)
                records.append(self._load(context, spec, "cached"))
            return records
        finally:
            context.close()

    def _load(self, context, spec: PageSpec, mode: str) -> dict:
        # A load that outlives its timeouts by far is stuck in the browser: say where, on stderr, every minute.
        faulthandler.dump_traceback_later(2 * self.timeout_s + 60, repeat=True)
        try:
            return self._load_page(context, spec, mode)
        finally:
            faulthandler.cancel_dump_traceback_later()

    def _load_page(self, context, spec: PageSpec, mode: str) -> dict:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)[:300]))
        record: dict = {"system": spec.system, "page": spec.page, "mode": mode, "url": spec.url}
        began = time.perf_counter()
        try:
            page.goto(spec.url, wait_until="commit", timeout=self.timeout_s * 1000)
        except Exception as error:  # noqa: BLE001 - no document: nothing to ask it (asking may hang)
            record["error"] = f"navigation: {type(error).__name__}: {str(error).splitlines()[0][:300]}"
            record["wall_s"] = time.perf_counter() - began
            page.close(run_before_unload=False)
            return record
        try:
            names = json.dumps(list(spec.checks))
            page.wait_for_function(
                f"() => window.__bench && {names}.every((n) => window.__bench[n] && window.__bench[n].painted)",
                timeout=self.timeout_s * 1000)
        except Exception as error:  # noqa: BLE001 - a timeout is a result too
            record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        record["wall_s"] = time.perf_counter() - began
        try:  # the paint entry is queued when the frame is presented, a moment after the content's frame
            page.wait_for_function("() => performance.getEntriesByType('paint').some("
                                   "(e) => e.name === 'first-contentful-paint')", timeout=5000)
        except Exception:  # noqa: BLE001 - no paint at all: recorded as None
            pass
        try:
            collected = page.evaluate(_COLLECT)
            record.update(collected)
            record["content"] = {name: (mark or {}).get("painted") for name, mark in collected["marks"].items()}
        except Exception as error:  # noqa: BLE001
            record.setdefault("error", f"collect: {type(error).__name__}: {error}")
        if errors:
            record["page_errors"] = errors[:5]
        page.close()
        return record
