// The run page: facts in cards, learning curves in Plotly with the adaptations marked, grown live by polling.
"use strict";
(function () {
  const P = window.provinstr, el = P.el, $ = (id) => document.getElementById(id);
  const root = document.querySelector(".run-page");
  const runId = root.dataset.run;
  const steerMode = JSON.parse($("steer-mode").textContent);
  let facts = JSON.parse($("initial").textContent);
  const curves = { names: [], epochs: [], series: {}, adaptations: [], best: {}, unscored: [], higher: [] };
  let chosen = null, poller = null, lastStatus = null;

  // -- curves ---------------------------------------------------------------------------------
  function absorb(update, whole) {
    if (whole) { curves.epochs = []; curves.series = {}; }
    for (const name of update.names) if (!curves.series[name]) curves.series[name] = curves.epochs.map(() => null);
    for (let i = 0; i < update.epochs.length; i++) {
      const epoch = update.epochs[i];
      let at = curves.epochs.indexOf(epoch);  // a later fit may send an epoch again: it replaces the old one
      if (at < 0) { at = curves.epochs.length; curves.epochs.push(epoch); for (const n in curves.series) curves.series[n].push(null); }
      for (const name of update.names) curves.series[name][at] = update.series[name][i];
    }
    curves.names = update.names;
    curves.adaptations = update.adaptations;
    curves.best = update.best;
    curves.unscored = update.unscored;
    curves.higher = update.higher_is_better;
  }

  function defaultChoice() {
    const names = curves.names;
    const wanted = names.filter((n) => n === "loss" || n === "val_loss" || n === "train_loss");
    if (wanted.length) return wanted;
    const scored = names.filter((n) => !curves.unscored.includes(n) && n !== "epoch_seconds");
    return scored.slice(0, 2).length ? scored.slice(0, 2) : names.slice(0, 1);
  }

  function chips() {
    if (chosen === null && curves.names.length) chosen = defaultChoice();
    const box = $("metric-chips");
    const have = Array.from(box.querySelectorAll("input")).map((i) => i.value).join("\0");
    if (have === curves.names.join("\0")) return;
    box.replaceChildren(...curves.names.map((name) => {
      const input = el("input", { type: "checkbox", value: name });
      input.checked = chosen.includes(name);
      input.addEventListener("change", () => {
        chosen = Array.from(box.querySelectorAll("input:checked")).map((i) => i.value);
        draw();
      });
      return el("label", { class: "chip" }, input, name);
    }));
  }

  function colourOf(name) {
    // a metric and its val_ twin share a colour (the validation curve is dashed)
    const base = name.replace(/^val_/, "");
    const bases = Array.from(new Set(curves.names.map((n) => n.replace(/^val_/, ""))));
    return P.palette[bases.indexOf(base) % P.palette.length];
  }

  function draw() {
    chips();
    const plot = $("curves");
    const empty = $("no-curves");
    if (!curves.epochs.length) {
      plot.hidden = true;
      empty.hidden = false;
      empty.textContent = facts.run.status === "running" ? "No epoch flushed yet: the curves appear with the first one."
                                                         : "This run recorded no per-epoch metrics.";
      return;
    }
    plot.hidden = false; empty.hidden = true;
    const log = $("log").checked;
    const secondary = chosen.some((n) => curves.unscored.includes(n)) && chosen.some((n) => !curves.unscored.includes(n));
    const traces = chosen.map((name) => ({
      type: "scatter", mode: curves.epochs.length > 60 ? "lines" : "lines+markers", name: plotText(name),
      x: curves.epochs, y: curves.series[name], yaxis: secondary && curves.unscored.includes(name) ? "y2" : "y",
      line: { color: colourOf(name), width: 2, dash: name.startsWith("val_") ? "dash" : "solid" },
      marker: { size: 5 }, hovertemplate: "%{y:.6g}<extra>" + plotText(name) + "</extra>",
    }));
    const marks = adaptationMarks();
    const layout = P.plotLayout({
      height: 380,
      xaxis: { title: { text: "epoch" }, gridcolor: "#e4e7eb", zeroline: false, rangemode: "tozero" },
      yaxis: { type: log ? "log" : "linear", gridcolor: "#e4e7eb", zeroline: false, exponentformat: "e" },
      shapes: marks.shapes, annotations: marks.annotations, uirevision: "keep",
      hoverdistance: -1,  // anywhere over the plot shows the nearest epoch's values
    });
    if (secondary) layout.margin = Object.assign({}, layout.margin, { r: 70 });
    if (secondary) layout.yaxis2 = { overlaying: "y", side: "right", type: log ? "log" : "linear", showgrid: false,
                                     tickformat: log ? "" : ".3~g", exponentformat: "e", automargin: true, tickmode: "auto", nticks: 6,
                                     title: { text: plotText(chosen.filter((n) => curves.unscored.includes(n)).join(", ")) } };
    Plotly.react(plot, traces, layout, P.plotConfig);
    $("adaptation-note").textContent = adaptationNote();
  }

  function adaptationNote() {
    const found = curves.adaptations.filter((a) => a.epoch !== null && a.epoch !== undefined);
    if (!found.length) return "";
    const kinds = new Map();
    for (const a of found) {
      const key = a.name + " by " + (a.trigger || "?");
      if (!kinds.has(key)) kinds.set(key, []);
      kinds.get(key).push(a.epoch);
    }
    return "▼ " + found.length + " adaptation" + (found.length > 1 ? "s" : "") + " (dotted lines; hover a marker for the change): " +
      Array.from(kinds, ([key, epochs]) => key + " at epoch" + (epochs.length > 1 ? "s " : " ") + epochs.join(", ")).join("; ");
  }

  // Plotly reads a few HTML tags in its texts: recorded names and values are shown as text, never as tags
  const plotText = P.plotText;

  function adaptationMarks() {
    const shapes = [], annotations = [];
    const byEpoch = new Map();
    for (const a of curves.adaptations) {
      if (a.epoch === null || a.epoch === undefined) continue;
      if (!byEpoch.has(a.epoch)) byEpoch.set(a.epoch, []);
      byEpoch.get(a.epoch).push(a);
    }
    for (const [epoch, items] of byEpoch) {
      const user = items.some((a) => a.trigger === "user");
      const colour = user ? "#9333ea" : "#ea580c";
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: epoch, x1: epoch, y0: 0, y1: 1,
                    line: { color: colour, width: 1.5, dash: "dot" }, name: "adaptation" });
      const text = items.map((a) => plotText("epoch " + epoch + ": " + a.name + " " + P.fmt(a.old) + " → " + P.fmt(a.new) +
                                    " by " + (a.trigger || "?") + (a.agent ? " (" + a.agent + ")" : ""))).join("<br>");
      annotations.push({ x: epoch, xref: "x", y: 1, yref: "paper", yanchor: "bottom", showarrow: false,
                         text: user ? "✎" : "▼", font: { color: colour, size: 13 }, hovertext: text,
                         captureevents: true, name: "adaptation" });
    }
    return { shapes, annotations };
  }

  // -- live -----------------------------------------------------------------------------------
  async function refresh() {
    const since = curves.epochs.length ? Math.max(...curves.epochs) : -1;
    // an epoch may be flushed in parts: ask again for the last one we have
    const update = await P.getJSON("/api/run/" + encodeURIComponent(runId) + "/metrics?since=" + (since - 1));
    const seen = JSON.stringify([curves.epochs.length, curves.adaptations.length, lastValues()]);
    absorb(update, false);
    if (JSON.stringify([curves.epochs.length, curves.adaptations.length, lastValues()]) !== seen) draw();
    const before = facts.run.status;
    facts.run = update.run;
    header();
    steerCard();  // a run that ended can no longer be steered: hide it now, not after the facts reload
    if (update.run.status !== before) {  // it ended: its tests, model and final facts are in now
      facts = await P.getJSON("/api/run/" + encodeURIComponent(runId));
      render();
      return false;
    }
    live();
    return update.run.status === "running";
  }

  function lastValues() { return curves.names.map((n) => (curves.series[n] || []).slice(-1)[0]); }

  function live() {
    const running = facts.run.status === "running";
    $("live").textContent = running ? "live: " + curves.epochs.length + " epochs so far" : curves.epochs.length + " epochs";
    $("live").className = running ? "live" : "muted";
  }

  function follow() {
    if (poller) poller.stop();
    if (facts.run.status === "running") poller = P.poll(refresh, 500);
  }

  // -- sections -------------------------------------------------------------------------------
  function kv(pairs) {
    return el("table", { class: "kv" }, el("tbody", {}, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
  }

  function header() {
    const r = facts.run, d = facts.details;
    const argv = Array.isArray(d.argv) ? d.argv.join(" ") : d.argv;
    const error = d.error ? (d.error_type ? d.error_type + ": " : "") + d.error : r.error;
    $("header").replaceChildren(
      el("div", { class: "toolbar" },
        el("h1", {}, r.name), P.statusBadge(r.status), el("span", { class: "mono muted" }, r.id),
        r.group ? el("a", { href: "/compare?group=" + encodeURIComponent(r.group), title: "compare this group's runs" },
                     "group " + r.group) : null,
        el("span", { class: "grow" }),
        el("a", { class: "button", href: "/graph/" + encodeURIComponent(r.id) }, "Provenance graph"),
        el("a", { class: "button", href: "/" }, "All runs")),
      kv([
        ["script", d.script ? el("span", {}, el("code", {}, d.script), d.sha256 ? el("span", { class: "muted sha", title: d.sha256 }, "  sha256 " + d.sha256.slice(0, 12)) : null) : null],
        ["command", argv ? el("code", {}, argv) : null],
        ["started", P.when(r.started)],
        ["ended", r.ended ? P.when(r.ended) : (r.status === "running" ? "still running" : null)],
        ["duration", P.duration(r.duration)],
        ["host", r.host ? r.host + (r.pid ? "  pid " + r.pid : "") : null],
        ["error", error ? el("span", { class: "error-text" }, error) : null],
      ]));
  }

  function card(title, body, extra) {
    return body ? el("div", { class: "card " + (extra || ""), dataset: { section: title } }, el("h2", {}, title), body) : null;
  }

  function table(columns, rows, cls) {
    if (!rows.length) return null;
    return el("div", { class: "scroll section-table" }, el("table", { class: "data " + (cls || "") },
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c)))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) =>
        c instanceof Node ? el("td", {}, c) : el("td", { class: typeof c === "number" ? "num" : "" }, P.fmt(c))))))));
  }

  function hyperparameters() {
    const rows = facts.hyperparameters;
    if (!rows.length) return null;
    const kinds = new Set(rows.map((r) => r.activity));
    const filter = el("input", { type: "search", placeholder: "filter", class: "section-filter" });
    const body = table((kinds.size > 1 ? ["activity"] : []).concat(["name", "value"]),
      rows.map((r) => (kinds.size > 1 ? [r.activity] : []).concat([el("b", {}, r.name), el("span", { title: r.full || null }, P.fmt(r.value))])));
    filter.addEventListener("input", () => {
      const text = filter.value.toLowerCase();
      for (const tr of body.querySelectorAll("tbody tr")) tr.hidden = !!text && !tr.textContent.toLowerCase().includes(text);
    });
    return el("div", {}, filter, body);
  }

  function sourceLine(line) { return line === null || line === undefined ? "" : el("span", { class: "mono" }, "line " + line); }

  function sections() {
    const f = facts, env = f.environment;
    const epochsTable = () => {
      if (!curves.epochs.length) return null;
      const names = curves.names;
      const best = curves.best;
      return table(["epoch"].concat(names), curves.epochs.map((e, i) => [e].concat(names.map((n) => {
        const v = curves.series[n][i];
        const isBest = best[n] && best[n][0] === e;
        return isBest ? el("b", { class: "best", title: "best " + n }, P.fmt(v) + " ★") : v;
      }))), "epochs");
    };
    const narrow = [
      card("Hyperparameters", hyperparameters()),
      card("Transformations", table(["transformation", "calls", "inputs", "outputs", "line"],
        f.transformations.map((t) => [el("b", {}, t.label), "×" + t.calls, el("code", {}, t.inputs), el("span", { class: "muted" }, t.outputs), t.lines.join(", ")]))),
      card("Adaptations", table(["epoch", "name", "change", "trigger", "by"],
        f.adaptations.map((a) => [a.epoch, a.name, P.fmt(a.old) + " → " + P.fmt(a.new), a.trigger || "", a.agent || ""]))),
      card("Test results", f.tests.length ? kv(f.tests.map((m) => [m.name, P.fmt(m.value)])) : null),
      card("Training results", f.training_results.length ? kv(f.training_results.map((m) => [m.name, P.fmt(m.value)])) : null),
      card("Environment", kv(Object.entries(env.facts).map(([k, v]) => [k, P.fmt(v)]).concat(
        Object.keys(env.libraries).length ? [["libraries", el("div", {}, Object.entries(env.libraries).map(([n, v]) => el("span", { class: "tag" }, n + " " + v)))]] : []))),
    ];
    const wide = [
      card("Layers", table(["#", "class", "name", "arguments", "source"],
        f.layers.map((l) => [l.index, el("b", { title: l.qualified || "" }, l.class), l.name || "", el("span", { class: "args" }, l.arguments), sourceLine(l.line)]))),
      card("Datasets", table(["name", "shape", "dtype", "sha256", "used by"],
        f.datasets.map((d) => [el("b", {}, d.name), d.shape, d.dtype || "", d.sha256 ? el("code", { class: "sha" }, d.sha256) : "", d.used_by || ""]))),
      card("Model", f.models.length ? table(["saved to", "sha256", "line"],
        f.models.map((m) => [el("code", {}, m.location || "?"), m.sha256 ? el("code", { class: "sha" }, m.sha256) : "", m.line === null ? "" : m.line])) : null),
      card("Metrics per epoch", epochsTable()),
    ];
    $("sections").replaceChildren(...narrow.filter(Boolean));
    $("wide").replaceChildren(...wide.filter(Boolean));
  }

  // -- steering -------------------------------------------------------------------------------
  function currentRate() {
    for (const name of ["learning_rate", "lr"]) {
      const values = curves.series[name];
      if (values) for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    }
    const h = facts.hyperparameters.find((r) => r.name === "learning_rate" || r.name === "lr");
    return h ? Number(h.value) : null;
  }

  function steerCard() {
    const box = $("steer");
    const running = facts.run.status === "running";
    box.hidden = !running;
    if (!running) return;
    if (box.dataset.drawn) return;  // keep what the user typed while the page polls
    box.dataset.drawn = "1";
    if (!steerMode.allowed) {
      box.replaceChildren(el("h2", {}, "Steer"), el("p", { class: "muted" },
        "This page is read-only. Start the server with provinstr ui --allow-steer to change this training's learning rate from here (or run provinstr steer " + runId.slice(0, 8) + " --set learning_rate=…)."));
      return;
    }
    const rate = currentRate();
    const input = el("input", { type: "text", id: "steer-value", inputmode: "decimal", size: 12, value: rate !== null ? String(rate) : "" });
    const button = el("button", { class: "primary", id: "steer-apply" }, "Set learning rate");
    const message = el("div", { id: "steer-message", class: "notice", hidden: true });
    button.addEventListener("click", () => steer(input.value, button, message));
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") steer(input.value, button, message); });
    box.replaceChildren(el("h2", {}, "Steer this training"),
      el("div", { class: "toolbar" }, el("label", { for: "steer-value" }, "learning rate"), input, button,
         el("span", { class: "muted" }, "applied at the next epoch, recorded as an Adaptation by you")), message);
  }

  async function steer(text, button, message) {
    const value = Number(text);
    if (!text.trim() || !Number.isFinite(value)) { P.notice(message, "Give a number, e.g. 0.001", "error"); return; }
    button.disabled = true;
    try {
      let answer = await P.postJSON("/api/run/" + encodeURIComponent(runId) + "/steer", { learning_rate: value });
      P.notice(message, "Asked the run to set learning_rate = " + value + " at its next epoch…", "info");
      const deadline = Date.now() + 120000;
      while (answer.status === "pending" && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 400));
        answer = await P.getJSON("/api/run/" + encodeURIComponent(runId) + "/steer/" + encodeURIComponent(answer.request));
      }
      if (answer.status === "applied") P.notice(message, "Applied at epoch " + answer.epoch + ": learning_rate = " + P.fmt(answer.applied.learning_rate), "info");
      else if (answer.status === "refused") P.notice(message, "Refused: " + Object.values(answer.refused || {}).join("; "), "error");
      else if (answer.status === "expired") P.notice(message, "Not applied: " + (answer.reason || "the run ended first"), "error");
      else P.notice(message, "Still waiting for the next epoch; it stays queued.", "info");
    } catch (error) {
      P.notice(message, error.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  function render() {
    absorb(facts.curves, true);
    header();
    draw();
    live();
    sections();
    steerCard();
    follow();
  }

  $("log").addEventListener("change", draw);
  render();
})();
