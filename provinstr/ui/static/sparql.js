// The SPARQL page: a plain textarea with line numbers, the named queries (with inputs for their parameters),
// the answer as a table, CSV/JSON downloads of the whole answer, syntax errors at their line and column.
"use strict";
(function () {
  const { el, notice, postJSON } = window.provinstr;
  const data = JSON.parse(document.getElementById("sparql-data").textContent);
  const $ = (id) => document.getElementById(id);
  const editor = $("sparql-editor"), gutter = $("gutter");
  const state = { named: null, namedText: null, badLine: null, lastBody: null };
  const NUMERIC = /^xsd:(integer|int|long|short|byte|decimal|double|float|nonNegativeInteger|positiveInteger|negativeInteger|nonPositiveInteger|unsigned\w+)$/;

  // -- the editor: line numbers, the error's line marked ---------------------------------------
  function renumber() {
    const lines = editor.value.split("\n").length;
    gutter.replaceChildren(...Array.from({ length: lines }, (_, i) =>
      el("span", { class: i + 1 === state.badLine ? "bad" : null }, String(i + 1))));
    gutter.scrollTop = editor.scrollTop;
  }

  function setText(text) {
    editor.value = text;
    state.badLine = null;
    renumber();
  }

  editor.addEventListener("input", () => { state.badLine = null; renumber(); namedEdited(); });
  editor.addEventListener("scroll", () => { gutter.scrollTop = editor.scrollTop; });
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
    else if (event.key === "Tab" && !event.shiftKey) { event.preventDefault(); editor.setRangeText("  ", editor.selectionStart, editor.selectionEnd, "end"); }
  });

  // -- named queries -----------------------------------------------------------------------------
  const SEED_TAGS = { "loss-for-k-l": "seed query (a)", "first-epochs": "seed query (b)" };

  function listNamed() {
    $("named-list").replaceChildren(...data.queries.map((query) => el("button", {
      type: "button", class: "named", "data-name": query.name, onclick: () => choose(query, {}),
    }, el("span", { class: "name" }, query.name), SEED_TAGS[query.name] ? el("span", { class: "seed" }, SEED_TAGS[query.name]) : null,
       el("span", { class: "what" }, query.description || (query.builtin ? "" : "from your project")))));
  }

  function paramInput(parameter, value) {
    const attributes = { "data-param": parameter.name, value: value ?? parameter.default ?? "",
                         placeholder: parameter.required ? "required" : (parameter.default === null ? "any" : "") };
    if (parameter.type === "integer" || parameter.type === "number") {
      Object.assign(attributes, { type: "number", step: parameter.type === "integer" ? "1" : "any" });
    } else attributes.type = "text";
    if (parameter.type === "run") attributes.list = "run-choices";
    return el("label", { title: parameter.help || parameter.type },
      parameter.name + (parameter.required ? " *" : "") + " (" + parameter.type + ")", el("input", attributes));
  }

  function choose(query, values) {
    state.named = query.name;
    state.namedText = query.sparql;
    setText(query.sparql);
    document.querySelectorAll("button.named").forEach((b) => b.classList.toggle("active", b.dataset.name === query.name));
    const box = $("named-params");
    box.hidden = false;
    box.replaceChildren(...[el("strong", {}, query.name), ...query.parameters.map((p) => paramInput(p, values[p.name])),
      query.parameters.length ? null : el("span", { class: "muted" }, "no parameters"),
      el("span", { class: "edited", id: "named-edited", hidden: true }, "edited: runs as written, the parameters no longer apply")]
      .filter(Boolean));
    box.querySelectorAll("input").forEach((input) => input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); run(); }
    }));
    notice("sparql-error", "");
    $("error-where").hidden = true;
  }

  function namedEdited() {
    const edited = state.named !== null && editor.value !== state.namedText;
    const mark = $("named-edited");
    if (mark) mark.hidden = !edited;
    $("named-params").querySelectorAll("input").forEach((input) => { input.disabled = edited; });
  }

  function currentBody() {
    const limit = parseInt($("row-limit").value, 10);
    if (state.named !== null && editor.value === state.namedText) {
      const params = {};
      $("named-params").querySelectorAll("input[data-param]").forEach((input) => {
        if (input.value.trim() !== "") params[input.dataset.param] = input.value.trim();
      });
      return { named: state.named, params, limit };
    }
    return { query: editor.value, limit };
  }

  // -- running -------------------------------------------------------------------------------------
  async function run() {
    const body = currentBody();
    const button = $("run-query");
    button.disabled = true;
    notice("sparql-error", "");
    $("error-where").hidden = true;
    state.badLine = null;
    renumber();
    $("result-meta").replaceChildren(el("span", { class: "muted" }, "running…"));
    $("results-card").hidden = false;
    document.body.dataset.ready = "";
    try {
      const answer = await postJSON("/api/sparql", body);
      state.lastBody = body;
      showAnswer(answer);
    } catch (error) {
      state.lastBody = null;
      showError(error);
    } finally {
      button.disabled = false;
      $("download-csv").disabled = $("download-json").disabled = !state.lastBody;
      document.body.dataset.ready = "sparql";
    }
  }

  function showError(error) {
    $("results-card").hidden = true;
    const info = error.data || {};
    let message = error.message;
    if (info.line) message = "line " + info.line + ", column " + info.column + ": " + message;
    notice("sparql-error", message, "error");
    $("sparql-error").dataset.kind = info.kind || "";
    if (!info.line) return;
    const text = info.sparql !== undefined ? info.sparql : editor.value;
    const lines = text.split("\n");
    const line = lines[info.line - 1] ?? "";
    const where = $("error-where");
    where.hidden = false;
    where.replaceChildren(el("span", {}, String(info.line).padStart(4) + " | " + line + "\n"),
      el("span", { class: "caret" }, " ".repeat(7 + Math.max(0, info.column - 1)) + "^"));
    if (text === editor.value) {  // the error is in what the editor shows: mark and select that line
      state.badLine = info.line;
      renumber();
      const start = lines.slice(0, info.line - 1).reduce((n, l) => n + l.length + 1, 0);
      editor.focus();
      editor.setSelectionRange(start, start + line.length);
      editor.scrollTop = Math.max(0, (info.line - 3) * parseFloat(getComputedStyle(editor).lineHeight || "19"));
      gutter.scrollTop = editor.scrollTop;
    }
  }

  function cell(value) {
    if (value === null) return el("td", { class: "unbound", title: "unbound" }, "");
    if (value.t === "iri") {
      const text = value.s || value.v;
      if (value.run && value.v.endsWith("/run/" + value.run)) {
        return el("td", { class: "iri", title: value.v }, el("a", { href: "/run/" + encodeURIComponent(value.run) }, text));
      }
      return el("td", { class: "iri", title: value.v }, el("span", { class: "mono" }, text));
    }
    if (value.t === "literal") {
      const numeric = value.dt && NUMERIC.test(value.dt);
      return el("td", { class: "literal" + (numeric ? " num" : ""), title: value.dt || (value.lang ? "@" + value.lang : "string") },
                value.v);
    }
    return el("td", { class: "literal" }, value.v);
  }

  function showAnswer(answer) {
    const meta = $("result-meta"), box = $("results");
    const time = answer.seconds < 1 ? Math.round(answer.seconds * 1000) + " ms" : answer.seconds.toFixed(2) + " s";
    if (answer.kind === "ask") {
      meta.replaceChildren(el("span", {}, "ASK answered in " + time));
      box.replaceChildren(el("p", { class: "ask-answer", id: "ask-answer" }, answer.boolean ? "true" : "false"));
      return;
    }
    const shown = answer.rows.length;
    meta.replaceChildren(...[
      el("strong", { id: "row-count" }, (answer.more ? "more than " : "") + answer.total.toLocaleString() + (answer.total === 1 && !answer.more ? " row" : " rows")),
      answer.more ? el("span", { class: "muted" }, "showing the first " + shown.toLocaleString() + "; the downloads hold every row") : null,
      el("span", { class: "muted" }, "· " + time),
      answer.named ? el("span", { class: "muted" }, "· named query " + answer.named) : null].filter(Boolean));
    if (!answer.total) {
      box.replaceChildren(el("p", { class: "muted" }, "No answers. (Names are case-sensitive; metrics are per epoch: pi:epoch counts from 0.)"));
      return;
    }
    box.replaceChildren(el("table", { class: "data results", id: "results-table" },
      el("thead", {}, el("tr", {}, el("th", { class: "rownum" }, "#"), answer.variables.map((v) => el("th", {}, "?" + v)))),
      el("tbody", {}, answer.rows.map((row, i) => el("tr", {}, el("td", { class: "rownum" }, String(i + 1)), row.map(cell))))));
  }

  // -- downloads: the whole answer, fetched again as a SPARQL results file ----------------------
  async function save(kind) {
    if (!state.lastBody) return;
    const response = await fetch("/api/sparql/download?format=" + kind, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(state.lastBody) });
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      notice("sparql-error", message, "error");
      return;
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || "query." + kind;
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  $("run-query").addEventListener("click", run);
  $("download-csv").addEventListener("click", () => save("csv"));
  $("download-json").addEventListener("click", () => save("json"));

  // -- start: the prefixes, the list, what the URL asks (?query=… or ?name=…&param=…) ------------
  $("prefixes").textContent = data.prefixes;
  $("run-choices").replaceChildren(...data.runs.map(([id, name]) => el("option", { value: id.slice(0, 12) }, name)));
  listNamed();
  const start = data.start || {};
  const wanted = start.name && data.queries.find((q) => q.name === start.name);
  if (start.query) { setText(start.query); run(); }
  else if (wanted) { choose(wanted, start); run(); }
  else if (data.queries.length) choose(data.queries[0], {});
  else renumber();
  if (!start.query && !wanted) document.body.dataset.ready = "sparql";
})();
