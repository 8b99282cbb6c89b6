// The compare page: overlaid curves, the sweep's parallel coordinates and scatter, the table of what differs.
// Plotly draws every chart; this file only turns /api/compare's JSON into Plotly traces and table rows.
"use strict";
(function () {
  const { el, fmt, getJSON, notice, plotConfig, plotLayout, palette, plotText } = window.provinstr;
  const request = JSON.parse(document.getElementById("compare-request").textContent);
  const $ = (id) => document.getElementById(id);
  const state = { data: null, runsAsColumns: null, sort: null };

  function apiURL(everything) {
    const query = new URLSearchParams();
    if (request.group) query.set("group", request.group);
    else query.set("runs", request.runs.join(","));
    if (everything) query.set("all", "1");
    return "/api/compare?" + query.toString();
  }

  const colourOf = (index) => palette[index % palette.length];
  const runLabel = (run) => run.name + " " + run.id.slice(0, 8);

  function options(select, items, chosen) {
    select.replaceChildren(...items.map(([value, text]) => el("option", { value, selected: value === chosen }, text)));
  }

  // -- learning curves ---------------------------------------------------------------------
  function adaptationText(a) {
    return a.name + ": " + fmt(a.old) + " → " + fmt(a.new) + (a.trigger ? " (" + a.trigger + ")" : "");
  }

  // One trace per run: its curve of the metric, a diamond where an adaptation changed a value.
  function curveTraces(metric) {
    const traces = [];
    state.data.runs.forEach((run, index) => {
      const points = (state.data.curves[run.id] || {})[metric];
      if (!points || !points.length) return;
      const changes = {};
      for (const a of state.data.adaptations[run.id] || []) (changes[a.epoch] = changes[a.epoch] || []).push(adaptationText(a));
      const epochs = points.map((p) => p[0]);
      traces.push({
        type: "scatter", mode: points.length <= 60 ? "lines+markers" : "lines", name: plotText(runLabel(run)),
        x: epochs, y: points.map((p) => p[1]), meta: run.id,
        line: { color: colourOf(index), width: 2 },
        marker: { color: colourOf(index), size: epochs.map((e) => (changes[e] ? 11 : 5)),
                  symbol: epochs.map((e) => (changes[e] ? "diamond" : "circle")) },
        text: epochs.map((e) => (changes[e] ? plotText(changes[e].join("; ")) : "")),
        hovertemplate: "%{y:.5g}%{text}<extra>" + plotText(runLabel(run)) + "</extra>",
      });
      traces[traces.length - 1].text = traces[traces.length - 1].text.map((t) => (t ? " · " + t : ""));
    });
    return traces;
  }

  function drawCurves() {
    const metric = $("curve-metric").value;
    const traces = curveTraces(metric);
    const box = $("curves");
    if (!traces.length) {
      Plotly.purge(box);
      box.replaceChildren(el("p", { class: "muted empty" }, state.data.metrics.length
        ? "None of these runs has per-epoch values of " + metric + "."
        : "None of these runs recorded per-epoch metrics (a scikit-learn fit has only final scores: see the table)."));
      return;
    }
    if (box.querySelector(".empty")) box.replaceChildren();
    const layout = plotLayout({
      height: 420, xaxis: { title: { text: "epoch" }, gridcolor: "#e4e7eb", zeroline: false, tickformat: "d" },
      yaxis: { title: { text: plotText(metric) }, type: $("curve-log").checked ? "log" : "linear", gridcolor: "#e4e7eb",
               zeroline: false },
      showlegend: true,
    });
    if (traces.length > 10) {  // a sweep: the legend scrolls beside the chart instead of growing under it
      layout.legend = { orientation: "v", x: 1.02, y: 1, font: { size: 11 } };
      layout.margin = Object.assign({}, layout.margin, { r: 20 });
    }
    Plotly.react(box, traces, layout, plotConfig);
  }

  function setUpCurves() {
    const names = state.data.metrics;
    options($("curve-metric"), names.map((n) => [n, n]), state.data.default_metric);
    $("curve-metric").disabled = !names.length;
    const left = state.data.curves_left_out;
    $("curves-note").hidden = !left;
    $("curves-note").textContent = left ? "Curves of the first " + (state.data.runs.length - left) + " runs; " +
      left + " more are in the sweep views below." : "";
    drawCurves();
  }

  // -- the sweep: parallel coordinates and scatter ------------------------------------------
  const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

  // How a hyperparameter's values sit on an axis: numbers (log10 when they span decades) or categories.
  function axisOf(name, values) {
    const present = values.filter((v) => v !== null && v !== undefined);
    if (present.length === values.length && present.every(isNumber)) {
      const unique = Array.from(new Set(present)).sort((a, b) => a - b);
      const log = unique[0] > 0 && unique[unique.length - 1] / unique[0] >= 20;
      const position = (v) => (log ? Math.log10(v) : v);
      const axis = { name, kind: "number", log, position, values: values.map(position) };
      if (unique.length <= 12) { axis.tickvals = unique.map(position); axis.ticktext = unique.map(fmt); }
      else if (log) {
        const low = Math.floor(Math.log10(unique[0])), high = Math.ceil(Math.log10(unique[unique.length - 1]));
        axis.tickvals = []; axis.ticktext = [];
        for (let p = low; p <= high; p++) { axis.tickvals.push(p); axis.ticktext.push(fmt(Math.pow(10, p))); }
      }
      return axis;
    }
    const text = values.map((v) => plotText(v === null || v === undefined ? "—" : fmt(v)));
    const unique = Array.from(new Set(text)).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    return { name, kind: "category", values: text.map((t) => unique.indexOf(t)), tickvals: unique.map((_, i) => i),
             ticktext: unique, labels: text };
  }

  function metricChoices() {
    const sweep = state.data.sweep;
    const choices = [];
    for (const name of Object.keys(sweep.final)) choices.push(["final:" + name, "final " + name]);
    for (const name of Object.keys(sweep.best)) choices.push(["best:" + name, "best " + name]);
    return choices;
  }

  function chosenMetric() {
    const [which, name] = $("sweep-metric").value.split(/:(.*)/s);
    const values = (state.data.sweep[which] || {})[name] || [];
    return { which, name, values, higher: !!state.data.sweep.higher_is_better[name], label: which + " " + name };
  }

  function drawParallel() {
    const sweep = state.data.sweep, metric = chosenMetric();
    $("sweep-metric-name").textContent = metric.label;
    const keep = metric.values.map((v, i) => (isNumber(v) ? i : -1)).filter((i) => i >= 0);
    const names = Object.keys(sweep.params);
    const dimensions = names.map((name) => {
      const axis = axisOf(name, keep.map((i) => sweep.params[name][i]));
      const dimension = { label: plotText(name) + (axis.log ? " (log)" : ""), values: axis.values };
      if (axis.tickvals) { dimension.tickvals = axis.tickvals; dimension.ticktext = axis.ticktext; }
      if (axis.kind === "category") dimension.range = [-0.3, axis.ticktext.length - 0.7];
      return dimension;
    });
    const colours = keep.map((i) => metric.values[i]);
    dimensions.push({ label: plotText(metric.label), values: colours });
    const left = metric.values.length - keep.length;
    $("parallel-note").hidden = !left;
    $("parallel-note").textContent = left ? left + " run(s) without a " + metric.label + " value are left out." : "";
    Plotly.react($("parallel"), [{
      type: "parcoords", dimensions,
      line: { color: colours, colorscale: "Viridis", reversescale: !metric.higher, showscale: true,
              colorbar: { title: { text: plotText(metric.label) }, thickness: 14 } },
      labelangle: dimensions.length > 6 ? -20 : 0, labelside: "top",
    }], plotLayout({ height: 460, margin: { l: 70, r: 90, t: 70, b: 30 } }), plotConfig);
  }

  function drawScatter() {
    const sweep = state.data.sweep, metric = chosenMetric(), param = $("scatter-param").value;
    const colourBy = $("scatter-colour").value;
    const runs = state.data.runs;
    const keep = runs.map((_, i) => i).filter((i) => isNumber(metric.values[i]));
    const axis = axisOf(param, keep.map((i) => sweep.params[param][i]));
    const names = Object.keys(sweep.params);
    const hover = keep.map((i) => "<b>" + plotText(runLabel(runs[i])) + "</b><br>" +
      names.map((n) => plotText(n + " = " + fmt(sweep.params[n][i]))).join("<br>"));
    const trace = {
      type: "scatter", mode: "markers", x: axis.kind === "category" ? axis.labels : keep.map((i) => sweep.params[param][i]),
      y: keep.map((i) => metric.values[i]), text: hover, customdata: keep.map((i) => runs[i].id),
      hovertemplate: "%{text}<br>" + plotText(metric.label) + " = %{y:.5g}<extra></extra>",
      marker: { size: 11, line: { width: 1, color: "#fff" }, color: keep.map((i) => colourOf(i)) },
    };
    if (colourBy) {
      const by = axisOf(colourBy, keep.map((i) => sweep.params[colourBy][i]));
      trace.marker.color = by.values;
      trace.marker.colorscale = by.kind === "category" ? "Turbo" : "Viridis";
      trace.marker.showscale = true;
      trace.marker.colorbar = { title: { text: plotText(colourBy) }, thickness: 14, tickvals: by.tickvals, ticktext: by.ticktext };
    }
    const xaxis = { title: { text: plotText(param) }, gridcolor: "#e4e7eb", zeroline: false };
    if (axis.kind === "category") { xaxis.type = "category"; xaxis.categoryarray = axis.ticktext; xaxis.categoryorder = "array"; }
    else if (axis.log) xaxis.type = "log";
    Plotly.react($("scatter"), [trace], plotLayout({
      height: 380, hovermode: "closest", xaxis, showlegend: false,
      yaxis: { title: { text: plotText(metric.label) }, gridcolor: "#e4e7eb", zeroline: false },
    }), plotConfig);
  }

  function setUpSweep() {
    const sweep = state.data.sweep, names = Object.keys(sweep.params), choices = metricChoices();
    const card = $("sweep-card");
    if (state.data.runs.length < 3 || !names.length || !choices.length) {
      card.hidden = false;
      card.replaceChildren(el("h2", {}, "Sweep"), el("p", { class: "muted" }, state.data.runs.length < 3
        ? "Parallel coordinates and the scatter need three runs or more: open a group, or select more runs."
        : !names.length ? "These runs share every hyperparameter: nothing to plot against."
                        : "These runs have no final metrics to plot against."));
      return false;
    }
    card.hidden = false;
    const preferred = ["final:val_loss", "final:loss"].find((v) => choices.some((c) => c[0] === v)) || choices[0][0];
    options($("sweep-metric"), choices, preferred);
    options($("scatter-param"), names.map((n) => [n, n]), names[0]);
    options($("scatter-colour"), [["", "run"], ...names.map((n) => [n, n])], names.length > 1 ? names[1] : "");
    drawParallel();
    drawScatter();
    $("scatter").on("plotly_click", (event) => {
      const id = event.points && event.points[0] && event.points[0].customdata;
      if (id) location.href = "/run/" + encodeURIComponent(id);
    });
    $("sweep-metric").addEventListener("change", () => { drawParallel(); drawScatter(); });
    $("scatter-param").addEventListener("change", drawScatter);
    $("scatter-colour").addEventListener("change", drawScatter);
    return true;
  }

  // -- the table of what differs ------------------------------------------------------------
  // "val_loss final" -> the set of runs (indexes) holding the best value (lowest, or highest for accuracy-like metrics).
  function bestOf(row) {
    const match = /^(.*) (final|best)$/.exec(row.label) || /^test (.*)$/.exec(row.label);
    if (!match || row.same) return new Set();
    if (match[2] && !(match[1] in state.data.sweep.best)) return new Set();  // a learning rate or a timing: no "best"
    const numbers = row.values.map((v) => parseFloat(String(v)));
    const known = numbers.filter(Number.isFinite);
    if (known.length < 2) return new Set();
    const higher = !!state.data.sweep.higher_is_better[match[1]] || /acc|auc|precision|recall|f1|r2|score/i.test(match[1]);
    const top = higher ? Math.max(...known) : Math.min(...known);
    return new Set(numbers.map((n, i) => (n === top ? i : -1)).filter((i) => i >= 0));
  }

  function runHeader(run) {
    return el("div", { class: "run-head" }, el("a", { href: "/run/" + encodeURIComponent(run.id) }, run.name),
              " ", el("span", { class: "mono muted" }, run.id.slice(0, 8)));
  }

  // Runs as rows sort by a column (-1: the run's name): numbers as numbers, missing values ("—") last.
  function sortBy(column) {
    const same = state.sort && state.sort.column === column;
    state.sort = { column, desc: same ? !state.sort.desc : false };
    drawTable();
  }

  const missing = (v) => v === "—" || v === "" || v === undefined;

  function compareCells(a, b) {
    const x = Number(a), y = Number(b);
    if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
    const p = parseFloat(a), q = parseFloat(b);  // "0.18 (epoch 7)"
    if (Number.isFinite(p) && Number.isFinite(q) && p !== q) return p - q;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function rowOrder(runs, columns) {
    const order = runs.map((_, i) => i);
    if (!state.sort) return order;
    const { column, desc } = state.sort;
    const key = (i) => (column < 0 ? runs[i].name : columns[column].row.values[i]);
    return order.sort((a, b) => {
      if (missing(key(a)) !== missing(key(b))) return missing(key(a)) ? 1 : -1;  // last either way
      return compareCells(key(a), key(b)) * (desc ? -1 : 1);
    });
  }

  // One table: runs as columns (each section a band of rows) or as rows (each section a band of columns).
  function drawTable() {
    const data = state.data, box = $("differences");
    const runs = data.table_runs.map((id) => data.runs.find((r) => r.id === id));
    if (state.runsAsColumns === null) state.runsAsColumns = runs.length <= 8;
    const sections = data.sections.filter((section) => section.rows.length);
    const cell = (row, i, best) => el("td", { class: "value" + (best.has(i) ? " best" : "") + (row.same ? " same" : ""),
                                              title: row.values[i] }, row.values[i]);
    let table = null;
    if (sections.length && state.runsAsColumns) {
      table = el("table", { class: "data diff", id: "differences-table" },
        el("thead", {}, el("tr", {}, el("th", {}, ""), runs.map((r) => el("th", {}, runHeader(r))))),
        el("tbody", {}, sections.flatMap((section) => [
          el("tr", { class: "band" }, el("th", { colspan: runs.length + 1 }, section.title)),
          ...section.rows.map((row) => {
            const best = bestOf(row);
            return el("tr", { class: row.same ? "same" : null }, el("th", { scope: "row" }, row.label),
                      row.values.map((_, i) => cell(row, i, best)));
          })])));
    } else if (sections.length) {
      const columns = sections.flatMap((section) => section.rows.map((row) => ({ row, best: bestOf(row) })));
      const sorted = state.sort;
      const header = (label, column, extra) => el("th", {
        class: "sortable" + (extra || "") + (sorted && sorted.column === column ? (sorted.desc ? " desc" : " asc") : ""),
        title: "sort by " + label, onclick: () => sortBy(column) }, label);
      table = el("table", { class: "data diff", id: "differences-table" },
        el("thead", {},
          el("tr", { class: "band" }, el("th", {}, ""), sections.map((section) => el("th", { colspan: section.rows.length }, section.title))),
          el("tr", {}, header("run", -1), columns.map((c, k) => header(c.row.label, k, c.row.same ? " same" : "")))),
        el("tbody", {}, rowOrder(runs, columns).map((i) => el("tr", {}, el("th", { scope: "row" }, runHeader(runs[i])),
          columns.map((c) => cell(c.row, i, c.best))))));
    }
    const notes = data.sections.filter((section) => section.hidden || section.note).map((section) => el("p", { class: "muted" },
      section.hidden ? section.hidden + " " + section.noun + (section.rows.length ? " identical" : " all identical") +
                       (data.everything ? "" : " (tick “also what is the same” to see them)") : "",
      section.hidden && section.note ? "; " : "", section.note || ""));
    if (data.table_left_out) notes.push(el("p", { class: "muted" }, "The table shows the first " + runs.length +
      " runs; " + data.table_left_out + " more are in the sweep views."));
    box.replaceChildren(...[table ? el("div", { class: "scroll" }, table) : el("p", { class: "muted" },
      "These runs differ in nothing recorded."), ...notes]);
  }

  // -- loading ------------------------------------------------------------------------------
  async function load(everything) {
    try {
      state.data = await getJSON(apiURL(everything));
    } catch (error) {
      notice("compare-notice", error.message, "error");
      return false;
    }
    notice("compare-notice", "");
    return true;
  }

  async function start() {
    if (!(await load(false))) return;
    setUpCurves();
    setUpSweep();
    drawTable();
    $("curve-metric").addEventListener("change", drawCurves);
    $("curve-log").addEventListener("change", drawCurves);
    $("table-swap").addEventListener("click", () => { state.runsAsColumns = !state.runsAsColumns; state.sort = null; drawTable(); });
    $("table-all").addEventListener("change", async (event) => {
      const keep = state.data;
      if (await load(event.target.checked)) { keep.sections = state.data.sections; keep.everything = state.data.everything; }
      state.data = keep;
      drawTable();
    });
    document.body.dataset.ready = "compare";
  }

  start();
})();
