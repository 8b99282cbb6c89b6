// The runs page: one page of rows from /api/runs (the server filters, sorts and pages), polled while runs run.
"use strict";
(function () {
  const P = window.provinstr, el = P.el;
  const COLUMNS_KEY = "provinstr.runs.columns";
  const FIXED = [  // [sort key, header, cell]
    ["status", "status", (r) => P.statusBadge(r.status)],
    ["name", "name", (r) => el("a", { href: "/run/" + encodeURIComponent(r.id), class: "run-link",
                                      title: r.error ? "error: " + r.error : null }, r.name)],
    ["id", "id", (r) => el("span", { class: "mono muted", title: r.id }, r.id.slice(0, 8))],
    ["group", "group", (r) => r.group ? el("a", { href: "#", class: "group-link", dataset: { group: r.group },
                                                   onclick: (e) => { e.preventDefault(); setGroup(r.group); } }, r.group) : ""],
    ["start", "started", (r) => el("span", { title: r.started }, P.when(r.started))],
    ["duration", "duration", (r) => P.duration(r.duration)],
  ];
  const query = P.params();
  const state = {
    where: query.where || "", sort: query.sort || "-start", status: query.status || "", group: query.group || "",
    q: query.q || "", offset: Number(query.offset || 0), limit: Number(query.limit || 100),
  };
  const selected = new Set();
  let data = null, sequence = 0, shownSequence = 0, poller = null;

  const $ = (id) => document.getElementById(id);

  function chosenColumns() {
    try { const saved = JSON.parse(localStorage.getItem(COLUMNS_KEY)); if (saved && saved.params) return saved; }
    catch (e) { /* nothing saved */ }
    return null;
  }
  function columns() {
    const saved = chosenColumns(), all = data.columns;
    const pick = saved || data.suggested;
    return { params: pick.params.filter((n) => all.params.includes(n)), final: pick.final.filter((n) => all.final.includes(n)) };
  }

  function apiURL() {
    const p = new URLSearchParams();
    for (const [key, value] of Object.entries(state)) if (value !== "" && value !== null) p.set(key, value);
    return p;
  }

  async function load() {
    const mine = ++sequence;
    const p = apiURL();
    try {
      const answer = await P.getJSON("/api/runs?" + p.toString());
      if (mine < shownSequence) return;  // an older answer arriving late
      shownSequence = mine;
      P.notice("error", "");
      $("where").classList.remove("invalid");
      show(answer);
    } catch (error) {
      if (mine < shownSequence) return;
      shownSequence = mine;
      P.notice("error", error.message, "error");
      if (error.status === 400) $("where").classList.add("invalid");
      schedule();  // a failed poll (server restarting, store busy) tries again instead of freezing the list
    }
    // keep the address shareable: the filters live in the URL
    p.delete("limit"); if (state.limit !== 100) p.set("limit", state.limit);
    if (state.sort === "-start") p.delete("sort");
    if (!state.offset) p.delete("offset");
    history.replaceState(null, "", location.pathname + (p.toString() ? "?" + p.toString() : ""));
  }

  function show(answer) {
    data = answer;
    state.offset = answer.offset;
    const counts = Object.entries(answer.statuses).map(([s, n]) => n + " " + s).join(" · ");
    $("summary").textContent = answer.all + " runs" + (counts ? " (" + counts + ")" : "") +
      (answer.total !== answer.all ? ", " + answer.total + " shown by the filter" : "");
    fillSelect($("status"), ["running", "completed", "failed", "interrupted"], state.status, "any status");
    fillSelect($("group"), answer.groups, state.group, "any group");
    columnMenu();
    table();
    pager();
    compareButton();
    schedule();
  }

  function fillSelect(select, values, current, anyLabel) {
    const wanted = [""].concat(values);
    if (current && !wanted.includes(current)) wanted.push(current);
    const have = Array.from(select.options).map((o) => o.value);
    if (have.join("\0") !== wanted.join("\0")) {
      select.replaceChildren(...wanted.map((v) => el("option", { value: v }, v || anyLabel)));
    }
    select.value = current;
  }

  function sortMark(key) {
    if (state.sort === key) return " ▲";
    if (state.sort === "-" + key) return " ▼";
    return "";
  }

  function header(key, label, cls) {
    return el("th", { class: "sortable " + (cls || ""), dataset: { sort: key }, title: "sort by " + key,
                      onclick: () => sortBy(key) }, label + sortMark(key));
  }

  function table() {
    const cols = columns();
    const all = el("input", { type: "checkbox", title: "select this page's runs", class: "select-all" });
    const ids = data.rows.map((r) => r.id);
    all.checked = ids.length > 0 && ids.every((id) => selected.has(id));
    all.addEventListener("change", () => { for (const id of ids) all.checked ? selected.add(id) : selected.delete(id); table(); compareButton(); });
    const head = el("tr", {}, el("th", { class: "check" }, all),
      FIXED.map(([key, label]) => header(key, label)),
      cols.params.map((n) => header("param." + n, n, "param")),
      // a metric named like a hyperparameter (PyTorch's lr) is headed final.NAME, as provinstr runs heads it
      cols.final.map((n) => header("final." + n, data.columns.params.includes(n) ? "final." + n : n, "metric")));
    const bands = el("tr", { class: "bands" }, el("th", { colspan: 1 + FIXED.length }),
      cols.params.length ? el("th", { colspan: cols.params.length, class: "band param" }, "hyperparameters") : null,
      cols.final.length ? el("th", { colspan: cols.final.length, class: "band metric" }, "final metrics") : null);
    $("runs").tHead.replaceChildren(bands, head);
    const rows = data.rows.map((r) => {
      const box = el("input", { type: "checkbox", class: "select", value: r.id, title: "select for comparison" });
      box.checked = selected.has(r.id);
      box.addEventListener("change", () => { box.checked ? selected.add(r.id) : selected.delete(r.id); compareButton(); });
      return el("tr", { dataset: { id: r.id, status: r.status } }, el("td", { class: "check" }, box),
        FIXED.map(([key, , cell]) => el("td", { class: "col-" + key }, cell(r))),
        cols.params.map((n) => valueCell(r.params[n], "param")),
        cols.final.map((n) => valueCell(r.final[n], "metric")));
    });
    $("runs").tBodies[0].replaceChildren(...rows);
    const empty = $("empty");
    empty.hidden = data.rows.length > 0;
    empty.textContent = data.all === 0 ? "No runs in this store yet: record one with provinstr run train.py"
                                       : "No run matches the filter.";
  }

  function valueCell(value, cls) {
    const text = P.fmt(value);
    return el("td", { class: (typeof value === "number" ? "num " : "") + cls, title: text.length > 24 ? text : null },
              text.length > 40 ? text.slice(0, 39) + "…" : text);
  }

  function columnMenu() {
    const menu = document.querySelector("#columns .menu");
    if (menu.contains(document.activeElement)) return;  // the user is choosing: do not redraw under the pointer
    const cols = columns();
    const section = (title, names, kind) => names.length ? el("div", { class: "menu-section" },
      el("div", { class: "menu-title" }, title),
      names.map((n) => {
        const box = el("input", { type: "checkbox", value: n, dataset: { kind } });
        box.checked = cols[kind].includes(n);
        box.addEventListener("change", chooseColumns);
        return el("label", {}, box, " ", n);
      })) : null;
    menu.replaceChildren(
      section("Hyperparameters", data.columns.params, "params"),
      section("Final metrics", data.columns.final, "final"),
      el("button", { type: "button", onclick: () => { localStorage.removeItem(COLUMNS_KEY); table(); columnMenu(); } }, "Reset"));
  }

  function chooseColumns() {
    const boxes = document.querySelectorAll("#columns .menu input[type=checkbox]");
    const pick = { params: [], final: [] };
    for (const box of boxes) if (box.checked) pick[box.dataset.kind].push(box.value);
    localStorage.setItem(COLUMNS_KEY, JSON.stringify(pick));
    table();
  }

  function pager() {
    const first = data.total ? data.offset + 1 : 0, last = data.offset + data.rows.length;
    $("range").textContent = first + "–" + last + " of " + data.total;
    $("prev").disabled = data.offset <= 0;
    $("next").disabled = last >= data.total;
    $("limit").value = String(state.limit);
  }

  function compareButton() {
    const button = $("compare");
    button.disabled = selected.size < 2;
    button.textContent = selected.size ? "Compare selected (" + selected.size + ")" : "Compare selected";
    let group = $("compare-group");
    if (state.group && !group) {
      group = el("a", { id: "compare-group", class: "button" }, "");
      button.before(group);
    }
    if (group) {
      group.hidden = !state.group;
      group.textContent = "Compare group " + state.group;
      group.href = "/compare?group=" + encodeURIComponent(state.group);
    }
  }

  function sortBy(key) {
    state.sort = state.sort === key ? "-" + key : key;
    state.offset = 0;
    load();
  }
  function setGroup(group) { state.group = group; state.offset = 0; $("group").value = group; load(); }

  function schedule() {
    // poll quickly while something runs (statuses, durations, final metrics change), slowly otherwise
    if (poller) poller.stop();
    poller = P.poll(async () => { await load(); return false; }, data && data.running ? 2000 : 10000);
  }

  let typing = null;
  function refilter(delay) {
    clearTimeout(typing);
    typing = setTimeout(() => { state.offset = 0; load(); }, delay);
  }
  $("where").value = state.where;
  $("text").value = state.q;
  $("where").addEventListener("keydown", (e) => { if (e.key === "Enter") { state.where = e.target.value.trim(); refilter(0); } });
  $("where").addEventListener("input", (e) => { state.where = e.target.value.trim(); refilter(700); });
  $("text").addEventListener("input", (e) => { state.q = e.target.value.trim(); refilter(250); });
  $("status").addEventListener("change", (e) => { state.status = e.target.value; refilter(0); });
  $("group").addEventListener("change", (e) => { state.group = e.target.value; refilter(0); });
  $("limit").addEventListener("change", (e) => { state.limit = Number(e.target.value); refilter(0); });
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); load(); });
  $("next").addEventListener("click", () => { state.offset += state.limit; load(); });
  $("compare").addEventListener("click", () => {
    if (selected.size >= 2) location.href = "/compare?runs=" + Array.from(selected).map(encodeURIComponent).join(",");
  });

  const initial = JSON.parse(document.getElementById("initial").textContent);
  if (initial) show(initial); else load();
})();
