"""The provenance page's data: a run's PROV graph laid out by Graphviz (SVG), each drawn node with its
properties, links and the SPARQL that selects it, and the collapsed groups a click expands."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

from provinstr.analysis.graph import INSTALL_HINT, Group, Picture, dot_text, picture
from provinstr.analysis.summary import brief
from provinstr.ui.sparql_text import curie
from provinstr.vocab import PI, PROV, RDFS, RUN_BASE

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.graph import _Node
    from provinstr.analysis.store import RunInfo, Store

__all__ = ["EXPAND_LIMIT", "graph_data", "group_id", "node_id"]

EXPAND_LIMIT = 150  # an expanded group draws this many members; the rest stay one node, expandable again
PREVIEW = 40  # members listed in a group's panel
LINKS_SHOWN = 25  # links of one kind listed in a node's panel
DOT_SECONDS = 60  # Graphviz gets this long to lay out one drawing


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def node_id(iri: str) -> str:
    """The SVG id of a drawn node: the same in every drawing of the run."""
    return "n" + _digest(iri)


def group_id(key: str) -> str:
    """The SVG id of a collapsed group, and what the page sends back to expand it."""
    return "g" + _digest(key)


class _Ids:
    """The groups to expand, named by the ids the page sends (`key in expand` is all picture() asks)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = set(ids)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and group_id(key) in self.ids


def graph_data(store: "Store", ref: str, expand: list[str]) -> dict[str, Any]:
    """The page's JSON: the run, the SVG (None without Graphviz; `problem` says why), nodes by SVG id."""
    run = store.run(ref)
    drawing = picture(run, expand=_Ids(expand), limit=EXPAND_LIMIT)
    ids = {node.iri: node_id(node.iri) for node in drawing.drawn}
    ids.update({key: group_id(key) for key in drawing.groups})
    links_to: dict[str, list[tuple[str, str]]] = {}
    for subject, outgoing in drawing.links_from.items():
        for predicate, target in outgoing:
            links_to.setdefault(target, []).append((subject, predicate))
    nodes = {ids[node.iri]: _describe_node(run, drawing, node, ids, links_to.get(node.iri, []))
             for node in drawing.drawn}
    nodes.update({ids[key]: _describe_group(run, drawing, group) for key, group in drawing.groups.items()})
    dot = _dot(drawing, ids)
    svg, problem = _svg(dot)
    return {
        "run": {"id": run.id, "name": run.name, "status": run.status, "group": run.group},
        "svg": svg, "problem": problem, "nodes": nodes,
        "expanded": sorted({group_id(key) for key in drawing.opened.values()}),
        "counts": {"nodes": len(drawing.drawn), "groups": len(drawing.groups), "edges": len(drawing.edges)},
    }


def _dot(drawing: Picture, ids: dict[str, str]) -> str:
    """DOT whose SVG elements carry the page's ids; collapsed groups get a double border."""
    extra = {key: f'id="{ids[key]}"' for key in ids if key not in drawing.groups}
    extra.update({key: f'id="{ids[key]}", class="group", peripheries=2' for key in drawing.groups})
    return dot_text(drawing, ids, extra)


def _svg(dot: str) -> tuple[str | None, str | None]:
    """(the SVG Graphviz draws, None), or (None, why there is no picture)."""
    program = shutil.which("dot")
    if program is None:
        return None, ("Graphviz's `dot` program is not installed on the machine running provinstr ui, so the "
                      f"graph cannot be laid out. To see it, {INSTALL_HINT}, then reload this page. "
                      "The nodes are listed below.")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot.encode("utf-8"), capture_output=True,
                              timeout=DOT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return None, f"Graphviz took longer than {DOT_SECONDS} s to lay this graph out; collapse some groups"
    except OSError as error:
        return None, f"Graphviz's dot could not be started: {error.strerror or error}"
    text = done.stdout.decode("utf-8", errors="replace")
    start = text.find("<svg")
    if done.returncode != 0 or start < 0:
        return None, "Graphviz failed to draw the graph: " + done.stderr.decode(errors="replace").strip()
    return text[start:], None  # without the XML prolog and doctype: the page inserts the element


def _title(drawing: Picture, iri: str) -> str:
    """A node's first two label lines ('Training · fit'), for links to it."""
    node = drawing.nodes.get(iri)
    if node is None:
        return iri.rsplit("/", 1)[-1]
    return " · ".join(drawing.label(node).split("\n")[:2])


def _links(drawing: Picture, node: "_Node", ids: dict[str, str],
           incoming: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Statements to and from the node, each pointing at the drawn node (or group) that stands for the other end."""
    found = []
    for predicate, target in drawing.links_from.get(node.iri, ()):
        shown = drawing.replaced.get(target, target)
        found.append({"direction": "out", "predicate": curie(predicate), "id": ids.get(shown),
                      "text": _title(drawing, target), "iri": target})
    for subject, predicate in incoming:
        if subject != node.iri:
            shown = drawing.replaced.get(subject, subject)
            found.append({"direction": "in", "predicate": curie(predicate), "id": ids.get(shown),
                          "text": _title(drawing, subject), "iri": subject})
    found.sort(key=lambda link: (link["direction"], link["predicate"], _natural(link["iri"])))
    kept: list[dict[str, Any]] = []
    for (direction, predicate), links in itertools.groupby(found, key=lambda l: (l["direction"], l["predicate"])):
        links = list(links)
        kept += links[:LINKS_SHOWN]
        if len(links) > LINKS_SHOWN:  # a training's thousands of metrics: the SPARQL link selects them all
            kept.append({"direction": direction, "predicate": predicate, "more": len(links) - LINKS_SHOWN})
    return kept


def _natural(iri: str) -> tuple:
    """<…>/layer/2 before <…>/layer/10."""
    match = re.search(r"(\d+)$", iri)
    return (iri[: match.start()] if match else iri, int(match.group(1)) if match else -1)


def _describe_node(run: "RunInfo", drawing: Picture, node: "_Node", ids: dict[str, str],
                   incoming: list[tuple[str, str]]) -> dict[str, Any]:
    """One drawn node: what it is, every literal property, its links, its SPARQL."""
    group = drawing.opened.get(node.iri)
    tail = node.iri[len(RUN_BASE):] if node.iri.startswith(RUN_BASE) else ""
    return {
        "kind": node.kind, "iri": node.iri, "label": drawing.label(node),
        "classes": sorted(curie(t) for t in node.types),
        "properties": [[curie(p), [brief(v, width=400) for v in values]] for p, values in sorted(node.props.items())],
        "links": _links(drawing, node, ids, incoming),
        "member_of": None if group is None else group_id(group),
        "run": tail if tail and "/" not in tail else None,  # a run node links to its run page
        "sparql": _node_query(run, node),
    }


def _describe_group(run: "RunInfo", drawing: Picture, group: Group) -> dict[str, Any]:
    """A collapsed group: how many it holds, the first of them, the SPARQL that selects them all."""
    members = group.members
    return {
        "kind": "group", "iri": None, "label": group.label, "size": len(members), "what": _group_kind(group),
        "preview": [_member_line(drawing, m) for m in members[:PREVIEW]], "more": max(0, len(members) - PREVIEW),
        "classes": sorted({curie(t) for m in members for t in m.types}), "owner": _title(drawing, group.owner),
        "sparql": _group_query(run, group),
    }


def _member_line(drawing: Picture, member: "_Node") -> str:
    epoch = member.first(PI.epoch)
    if member.pi_class == "Metric" and epoch is not None:
        return f"epoch {epoch}: {brief(member.first(PROV.value))}"
    return " · ".join(drawing.label(member).split("\n")[:3])


def _group_kind(group: Group) -> str:
    return {"Metric": "metric", "Layer": "layers", "Hyperparameter": "hyperparameters",
            "Attribute": "attributes"}.get(group.members[0].pi_class or "", "nodes")


def _node_query(run: "RunInfo", node: "_Node") -> str:
    """SPARQL selecting everything recorded about the node."""
    name = node.first(PI.name) or node.first(RDFS.label)
    what = (node.pi_class or node.kind) + (f" {brief(name)}" if name is not None else "")
    return (f"# Everything recorded about this {what} (run {run.name}, {run.id[:12]})\n"
            f"SELECT ?property ?value WHERE {{\n  GRAPH <{run.iri}> {{ <{node.iri}> ?property ?value }}\n}}\n"
            "ORDER BY ?property\n")


def _group_query(run: "RunInfo", group: Group) -> str:
    """SPARQL selecting every member of a collapsed group."""
    kind, graph, owner = _group_kind(group), f"<{run.iri}>", f"<{group.owner}>"
    if kind == "metric":
        name = group.members[0].first(PI.name)
        return (f"# The {name} of every epoch of this activity (run {run.name}, {run.id[:12]})\n"
                f"SELECT ?epoch ?value WHERE {{ GRAPH {graph} {{\n"
                f"  ?m a pi:Metric ; pi:name {json.dumps(str(name))} ; pi:epoch ?epoch ; prov:value ?value ;\n"
                f"     prov:wasGeneratedBy {owner} .\n}} }}\nORDER BY ?epoch\n")
    if kind == "layers":
        return (f"# The model's layers in order (run {run.name}, {run.id[:12]})\n"
                f"SELECT ?index ?class ?name ?line ?layer WHERE {{ GRAPH {graph} {{\n"
                "  ?layer a pi:Layer .\n  OPTIONAL { ?layer pi:index ?index } OPTIONAL { ?layer pi:layerClass ?class }\n"
                "  OPTIONAL { ?layer rdfs:label ?name } OPTIONAL { ?layer pi:sourceLine ?line }\n} }\n"
                "ORDER BY ?index\n")
    cls = "pi:Hyperparameter" if kind == "hyperparameters" else "pi:Attribute"
    return (f"# The {kind} this activity used (run {run.name}, {run.id[:12]})\n"
            f"SELECT ?name ?value WHERE {{ GRAPH {graph} {{\n"
            f"  {owner} prov:used ?v . ?v a {cls} ; pi:name ?name ; prov:value ?value .\n}} }}\nORDER BY ?name\n")
