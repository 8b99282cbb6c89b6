// Shared helpers for every page: JSON fetches, element building, number formatting, Plotly defaults.
"use strict";
window.provinstr = (function () {
  // Fetch JSON; a non-2xx answer throws an Error carrying the server's {"error": ...} message.
  async function getJSON(url, options) {
    const response = await fetch(url, Object.assign({ headers: { Accept: "application/json" } }, options || {}));
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? data.error : response.status + " " + response.statusText;
      const error = new Error(message);
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  // POST a JSON body (the content type also keeps other sites from posting forms here).
  function postJSON(url, body) {
    return getJSON(url, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
                          body: JSON.stringify(body) });
  }

  // el("a", {href: "/", class: "x"}, "text", child, ...): text children are text nodes, never HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Numbers as a person reads them: 4 significant digits, exponent for very small or large.
  function fmt(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") {
      if (Number.isInteger(value)) return String(value);
      const a = Math.abs(value);
      if (a !== 0 && (a < 1e-3 || a >= 1e6)) return value.toExponential(3);
      return String(Number(value.toPrecision(4)));
    }
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const s = Math.round(seconds);
    if (s < 60) return (seconds < 10 ? seconds.toFixed(1) : s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric",
                                                           hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function statusBadge(status) {
    return el("span", { class: "status status-" + status, title: status }, status);
  }

  // A message box in `where` (an element or its id); kind: "error" or "info". Empty text clears it.
  function notice(where, text, kind) {
    const box = typeof where === "string" ? document.getElementById(where) : where;
    if (!box) return;
    box.textContent = text || "";
    box.className = "notice" + (text ? " notice-" + (kind || "error") : "");
    box.hidden = !text;
  }

  // Call fn every `ms` while the tab is visible; fn may return false to stop.
  function poll(fn, ms) {
    let timer = null, stopped = false;
    async function tick() {
      if (stopped) return;
      if (!document.hidden) {
        try { if ((await fn()) === false) { stopped = true; return; } } catch (e) { console.warn(e); }
      }
      timer = setTimeout(tick, ms);
    }
    timer = setTimeout(tick, ms);
    return { stop() { stopped = true; clearTimeout(timer); } };
  }

  // Recorded text as Plotly shows it: Plotly reads <a>, <b>, style in its strings and %{...} in
  // hover templates, so a run named `<a href=…>` would draw a link. Every string a chart shows goes through this.
  function plotText(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/%\{/g, "%\u200b{");
  }

  // Plotly defaults every chart shares.
  const plotConfig = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  function plotLayout(extra) {
    return Object.assign({
      margin: { l: 60, r: 20, t: 30, b: 50 },
      font: { family: "system-ui, -apple-system, Segoe UI, sans-serif", size: 12, color: "#1f2933" },
      paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff",
      hovermode: "x unified",
      legend: { orientation: "h", y: -0.2 },
      xaxis: { gridcolor: "#e4e7eb", zeroline: false },
      yaxis: { gridcolor: "#e4e7eb", zeroline: false },
    }, extra || {});
  }
  const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
                   "#4b5563", "#65a30d"];

  // The query parameters of the page's URL as an object.
  function params() { return Object.fromEntries(new URLSearchParams(location.search)); }

  return { getJSON, postJSON, el, fmt, duration, when, statusBadge, notice, poll, plotConfig, plotLayout, plotText,
           palette, params };
})();
