// The provenance page: Graphviz's SVG of the run's PROV graph, panned and zoomed through its viewBox;
// a click on a node shows its properties, a click on a group (double border) asks the server to expand it.
"use strict";
(function () {
  const { el, getJSON, notice } = window.provinstr;
  const request = JSON.parse(document.getElementById("graph-request").textContent);
  const $ = (id) => document.getElementById(id);
  const present = (...items) => items.filter((item) => item !== null && item !== undefined && item !== false);
  const view = $("graph-view"), canvas = $("graph-canvas"), panel = $("node-panel");
  const READABLE = 0.55;  // screen pixels per point below which Graphviz's 10-point labels are hard to read
  const state = { data: null, expanded: new Set(request.expand || []), selected: null, svg: null, base: null,
                  box: null, edges: [] };

  // -- loading and drawing --------------------------------------------------------------------
  async function load(focus) {
    document.body.dataset.ready = "";
    const query = state.expanded.size ? "?expand=" + Array.from(state.expanded).join(",") : "";
    let data;
    try {
      data = await getJSON("/api/graph/" + encodeURIComponent(request.run) + query);
    } catch (error) {
      notice("graph-notice", error.message, "error");
      return;
    }
    state.data = data;
    state.expanded = new Set(data.expanded);  // ids the server did not know (a stale link) drop out here
    history.replaceState(null, "", location.pathname + (state.expanded.size ? "?expand=" + Array.from(state.expanded).join(",") : ""));
    $("collapse-all").disabled = !state.expanded.size;
    if (data.svg) {
      notice("graph-notice", "");
      draw(data.svg);
    } else {
      notice("graph-notice", data.problem, "error");
      canvas.replaceChildren();
      view.hidden = true;
    }
    listNodes();
    if (focus && data.nodes[focus]) select(focus, true);
    else if (state.selected && data.nodes[state.selected]) select(state.selected, false);
    else showHelp();
    document.body.dataset.ready = "graph";
  }

  // Graphviz's SVG, cleaned of anything that could run (it never has any), with readable tooltips.
  function draw(text) {
    const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
    const svg = parsed.documentElement;
    if (svg.nodeName !== "svg") { notice("graph-notice", "the graph's SVG could not be read", "error"); return; }
    svg.querySelectorAll("script, foreignObject, a").forEach((node) => node.replaceWith(...node.childNodes));
    svg.querySelectorAll("*").forEach((node) => {
      for (const attribute of Array.from(node.attributes)) {
        if (/^on/i.test(attribute.name) || /href$/i.test(attribute.name)) node.removeAttribute(attribute.name);
      }
    });
    const byId = state.data.nodes;
    svg.querySelectorAll("g.edge").forEach((edge) => {
      const title = edge.querySelector("title");
      const [from, to] = (title ? title.textContent : "").split("->");
      edge.dataset.from = from;
      edge.dataset.to = to;
      if (title && byId[from] && byId[to]) {
        const label = edge.querySelector("text");
        title.textContent = firstLines(byId[from]) + " —" + (label ? label.textContent : "") + "→ " + firstLines(byId[to]);
      }
    });
    svg.querySelectorAll("g.node").forEach((node) => {
      const title = node.querySelector("title");
      const info = byId[node.id];
      if (title && info) title.textContent = info.kind === "group" ? firstLines(info) + " — click to expand" : firstLines(info);
      if (info) node.classList.add("kind-" + info.kind, ...(info.kind === "group" ? ["group"] : []));  // older Graphviz drops DOT's class
    });
    const [x, y, w, h] = (svg.getAttribute("viewBox") || "0 0 100 100").split(/[\s,]+/).map(Number);
    state.base = { x, y, w, h };
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    const adopted = document.importNode(svg, true);
    canvas.replaceChildren(adopted);
    view.hidden = false;
    state.svg = adopted;
    state.edges = Array.from(adopted.querySelectorAll("g.edge"), (edge) => ({ element: edge, from: edge.dataset.from,
                                                                            to: edge.dataset.to }));
    firstView();
  }

  const firstLines = (info) => info.label.split("\n").slice(0, 2).join(" · ");

  // -- pan and zoom (the picture is Graphviz's; only its viewBox moves) -----------------------
  // The box always has the view's proportions, so a point in the picture stays where the pointer put it.
  function setBox(x, y, w, h) {
    const aspect = view.clientWidth / Math.max(1, view.clientHeight);
    if (w / h < aspect) { const wider = h * aspect; x -= (wider - w) / 2; w = wider; }
    else { const taller = w / aspect; y -= (taller - h) / 2; h = taller; }
    state.box = { x, y, w, h };
    state.seen = { w: view.clientWidth, h: view.clientHeight };
    state.svg.setAttribute("viewBox", [x, y, w, h].join(" "));
  }

  // A resized view keeps its centre and its zoom (pixels per point), showing more or less around it.
  function resized() {
    if (!state.box || !state.seen || !view.clientWidth || !view.clientHeight) return;
    const scale = state.seen.w / state.box.w, box = state.box;
    const cx = box.x + box.w / 2, cy = box.y + box.h / 2;
    const w = view.clientWidth / scale, h = view.clientHeight / scale;
    setBox(cx - w / 2, cy - h / 2, w, h);
  }

  function fit() {
    if (!state.base) return;
    const b = state.base, margin = 0.03;
    setBox(b.x - b.w * margin, b.y - b.h * margin, b.w * (1 + 2 * margin), b.h * (1 + 2 * margin));
  }

  // The picture's coordinates of a point on the screen.
  function toPicture(clientX, clientY) {
    const point = state.svg.createSVGPoint();
    point.x = clientX; point.y = clientY;
    return point.matrixTransform(state.svg.getScreenCTM().inverse());
  }

  function zoom(factor, clientX, clientY) {
    if (!state.svg) return;
    const rect = view.getBoundingClientRect();
    const at = toPicture(clientX ?? rect.left + rect.width / 2, clientY ?? rect.top + rect.height / 2);
    const box = state.box;
    const w = Math.min(Math.max(box.w * factor, 40), Math.max(state.base.w, state.base.h) * 4);
    const scale = w / box.w;
    setBox(at.x - (at.x - box.x) * scale, at.y - (at.y - box.y) * scale, w, box.h * scale);
  }

  // Show a node in the middle at a readable size (`scale` screen pixels per point), or the whole
  // picture when that is smaller.
  function centreOn(element, scale) {
    const rect = element.getBoundingClientRect();
    const centre = toPicture(rect.left + rect.width / 2, rect.top + rect.height / 2);
    const w = Math.min(view.clientWidth / (scale || 1), state.base.w * 1.06);
    const h = Math.min(view.clientHeight / (scale || 1), state.base.h * 1.06);
    setBox(centre.x - w / 2, centre.y - h / 2, w, h);
  }

  // A first view: the whole picture, unless its labels would be too small to read; then the node with
  // the most edges (the run's training, usually) at a readable size ("fit" shows everything).
  function firstView() {
    fit();
    if (view.clientWidth / state.box.w >= READABLE) return;
    const degree = {};
    for (const edge of state.edges) for (const end of [edge.from, edge.to]) degree[end] = (degree[end] || 0) + 1;
    const hub = Object.keys(degree).sort((a, b) => degree[b] - degree[a])[0];
    const element = hub && state.svg.getElementById(hub);
    if (element) centreOn(element, READABLE * 1.4);
  }

  view.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoom(Math.exp(event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015)), event.clientX, event.clientY);
  }, { passive: false });

  let drag = null;
  view.addEventListener("pointerdown", (event) => {
    if (!state.svg || event.button !== 0 || event.target.closest(".graph-tools")) return;
    drag = { x: event.clientX, y: event.clientY, box: Object.assign({}, state.box), moved: false,
             node: event.target.closest("g.node") };
    view.setPointerCapture(event.pointerId);
  });
  view.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    view.classList.add("dragging");
    const perPixel = 1 / state.svg.getScreenCTM().a;
    setBox(drag.box.x - dx * perPixel, drag.box.y - dy * perPixel, drag.box.w, drag.box.h);
  });
  function endDrag(event) {
    if (!drag) return;
    const clicked = !drag.moved && drag.node;
    drag = null;
    view.classList.remove("dragging");
    if (view.hasPointerCapture(event.pointerId)) view.releasePointerCapture(event.pointerId);
    if (clicked) activate(clicked.id);
  }
  view.addEventListener("pointerup", endDrag);
  view.addEventListener("pointercancel", endDrag);

  $("zoom-in").addEventListener("click", () => zoom(1 / 1.4));
  $("zoom-out").addEventListener("click", () => zoom(1.4));
  $("zoom-fit").addEventListener("click", fit);
  window.addEventListener("resize", resized);
  $("collapse-all").addEventListener("click", () => { state.expanded.clear(); state.selected = null; load(); });

  // -- selecting, expanding, collapsing -------------------------------------------------------
  // A click: a group expands (and its first member is shown), any other node shows its properties.
  function activate(id) {
    const info = state.data && state.data.nodes[id];
    if (!info) return;
    if (info.kind === "group") expand(id);
    else select(id, false);
  }

  function expand(id) {
    state.expanded.add(id);
    state.selected = null;
    load(null).then(() => {
      const first = Object.entries(state.data.nodes).find(([, n]) => n.member_of === id);
      if (first) select(first[0], true);
    });
  }

  function collapse(groupId) {
    state.expanded.delete(groupId);
    load(groupId);
  }

  function select(id, centre) {
    state.selected = id;
    if (state.svg) {
      state.svg.querySelectorAll("g.node.selected").forEach((n) => n.classList.remove("selected"));
      state.svg.querySelectorAll("g.edge.lit").forEach((n) => n.classList.remove("lit"));
      const element = state.svg.getElementById(id);
      if (element) {
        element.classList.add("selected");
        if (centre) centreOn(element);
      }
      for (const edge of state.edges) if (edge.from === id || edge.to === id) edge.element.classList.add("lit");
    }
    showNode(id);
  }

  // -- the side panel ---------------------------------------------------------------------------
  function showHelp() {
    panel.querySelectorAll(".node-info").forEach((n) => n.remove());
    $("node-help").hidden = false;
  }

  function sparqlLink(query) {
    return el("a", { class: "button", href: "/sparql?query=" + encodeURIComponent(query) }, "Query it in SPARQL");
  }

  function linkTo(id, text) {
    if (!id || !state.data.nodes[id]) return el("span", {}, text);
    return el("a", { href: "#", onclick: (event) => { event.preventDefault(); select(id, true); } }, text);
  }

  function linkText(link) {
    return link.more ? el("span", { class: "muted" }, "… and " + link.more + " more") : linkTo(link.id, link.text);
  }

  function showNode(id) {
    const info = state.data.nodes[id];
    showHelp();
    $("node-help").hidden = true;
    const box = el("div", { class: "node-info", "data-node": id });
    if (info.kind === "group") {
      box.append(...present(
        el("h2", {}, "Group of " + info.size + " " + (info.what === "metric" ? "epochs" : info.what)),
        el("div", { class: "label" }, info.label),
        el("p", { class: "muted" }, "of " + info.owner),
        el("div", { class: "actions" },
           el("button", { class: "primary", type: "button", onclick: () => expand(id) }, "Expand"), sparqlLink(info.sparql)),
        el("ul", { class: "preview" }, info.preview.map((line) => el("li", {}, line))),
        info.more ? el("p", { class: "muted" }, "… and " + info.more + " more") : null));
    } else {
      const actions = el("div", { class: "actions" }, sparqlLink(info.sparql));
      if (info.run) actions.append(el("a", { class: "button", href: "/run/" + encodeURIComponent(info.run) }, "Run page"));
      if (info.member_of) {
        actions.append(el("button", { type: "button", onclick: () => collapse(info.member_of) }, "Collapse its group"));
      }
      const rows = info.properties.map(([name, values]) => el("tr", {}, el("th", {}, name), el("td", {}, values.join(", "))));
      const out = info.links.filter((l) => l.direction === "out"), incoming = info.links.filter((l) => l.direction === "in");
      box.append(...present(
        el("h2", {}, info.classes.join(", ") || info.kind),
        el("div", { class: "label" }, info.label),
        el("div", { class: "iri" }, info.iri),
        actions,
        rows.length ? el("table", { class: "kv" }, el("tbody", {}, rows)) : null,
        out.length ? el("h3", {}, "links to") : null,
        out.length ? el("ul", { class: "links" }, out.map((l) => el("li", {}, el("span", { class: "tag" }, l.predicate), " ", linkText(l)))) : null,
        incoming.length ? el("h3", {}, "linked from") : null,
        incoming.length ? el("ul", { class: "links" }, incoming.map((l) => el("li", {}, linkText(l), " ", el("span", { class: "tag" }, l.predicate)))) : null));
    }
    panel.append(box);
  }

  // Without a picture (no Graphviz), every node is still listed and can be opened.
  function listNodes() {
    const card = $("node-list-card");
    card.hidden = !!state.data.svg;
    if (state.data.svg) return;
    const entries = Object.entries(state.data.nodes).sort((a, b) => a[1].label.localeCompare(b[1].label));
    $("node-list").replaceChildren(...entries.map(([id, info]) => el("li", {},
      el("a", { href: "#", "data-node": id, onclick: (event) => { event.preventDefault(); activate(id); } },
         firstLines(info) + (info.kind === "group" ? " (" + info.size + ")" : "")))));
  }

  load();
})();
