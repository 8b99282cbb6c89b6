"""A run's provenance graph in PROV's usual notation, as Graphviz DOT (and SVG/PNG/PDF through `dot`).

Activities are blue rectangles, entities yellow ellipses, agents orange houses; edges point
from the later thing to what it depended on (used, wasGeneratedBy, wasAssociatedWith,
wasInformedBy), as in the PROV documents. By default the per-epoch metrics of one activity
collapse into one node per metric, hyperparameters into one node per activity and the model's
layers into one node ("31 layers: Conv2D ×12, …"); --full draws each of them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provinstr.analysis.facts import AnalysisError, Layer, kind_of
from provinstr.analysis.summary import brief, layer_census
from provinstr.store.results import to_python
from provinstr.vocab import PI, PROV, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.analysis.store import RunInfo

PICTURES = (".svg", ".png", ".pdf")
TEXT = (".dot", ".gv")
INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
                "conda: conda install graphviz)")
_STYLE = {
    "activity": 'shape=box, style=filled, fillcolor="#9FB1FC", color="#0000FF"',
    "entity": 'shape=ellipse, style=filled, fillcolor="#FFFC87", color="#808080"',
    "agent": 'shape=house, style=filled, fillcolor="#FED37F"',
}
_EDGES = {  # predicate -> (label, style)
    str(PROV.used): ("used", ""),
    str(PROV.wasGeneratedBy): ("wasGeneratedBy", ""),
    str(PROV.wasAssociatedWith): ("wasAssociatedWith", ""),
    str(PROV.wasInformedBy): ("wasInformedBy", ""),
    str(PI.run): ("part of run", "style=dashed, color=grey"),
}
_FULL_ONLY_EDGES = {
    str(PI.attribute): ("attribute", "style=dashed"),
    str(PI.library): ("library", "style=dashed"),
}
_GENERIC = {str(PROV.Activity), str(PROV.Entity), str(PROV.Agent)}


@dataclass
class _Node:
    iri: str
    types: set[str] = field(default_factory=set)
    props: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))

    def first(self, predicate) -> Any:
        values = self.props.get(str(predicate))
        return values[0] if values else None

    @property
    def kind(self) -> str:
        if str(PROV.Activity) in self.types or str(PI.Run) in self.types:
            return "activity"
        if self.types & {str(PROV.Agent), str(PROV.Person), str(PROV.SoftwareAgent)}:
            return "agent"
        return "entity"

    @property
    def pi_class(self) -> str | None:
        classes = sorted(kind_of(t) for t in self.types if kind_of(t))
        return classes[0] if classes else None


def _read(run: "RunInfo") -> tuple[dict[str, _Node], list[tuple[str, str, str]]]:
    """Nodes (with their literal properties) and IRI-to-IRI statements of the run's graph."""
    nodes: dict[str, _Node] = {}
    links: list[tuple[str, str, str]] = []
    for quad in run.store.backend.run_quads(run.iri):
        subject, predicate, obj = quad.subject.value, quad.predicate.value, quad.object
        node = nodes.setdefault(subject, _Node(subject))
        if predicate == str(RDF.type):
            node.types.add(obj.value)
        elif type(obj).__name__ == "NamedNode":
            links.append((subject, predicate, obj.value))
        else:
            node.props[predicate].append(to_python(obj))
    for subject, predicate, target in list(links):  # prov:generated is drawn as its inverse, wasGeneratedBy
        if predicate == str(PROV.generated):
            links.append((target, str(PROV.wasGeneratedBy), subject))
    return nodes, list(dict.fromkeys(links))


def _value(node: _Node) -> str:
    name, value = node.first(PI.name), node.first(PROV.value)
    return f"{name} = {brief(value)}" if name is not None and value is not None else ""


def _label(node: _Node, nodes: dict[str, _Node], links_from: dict[str, list[tuple[str, str]]], full: bool) -> str:
    """What a node shows: its class, then its name or value (and folded-in details by default)."""
    heading = node.pi_class or {"agent": "Agent", "activity": "Activity"}.get(node.kind, "Entity")
    if str(PROV.SoftwareAgent) in node.types:
        heading = "SoftwareAgent"
    elif str(PROV.Person) in node.types:
        heading = "Person"
    lines = [heading]
    label = node.first(RDFS.label)
    if node.first(PI.layerClass):
        lines[0] = str(node.first(PI.layerClass)).rsplit(".", 1)[-1]
    if label is not None:
        lines.append(str(label))
    if _value(node):
        lines.append(_value(node))
    for key in (PI.trigger, PI.epoch, PI.version, PI.pythonVersion, PROV.atLocation, PI.shape, PI.dtype):
        value = node.first(key)
        if value is not None and value != label and not (key == PI.epoch and node.pi_class == "Metric"):
            lines.append(f"{str(key).rsplit('#', 1)[-1]}: {brief(value)}")
    if not full:  # fold a layer's arguments and the environment's libraries into their node
        for predicate, target in links_from.get(node.iri, ()):
            other = nodes.get(target)
            if other is None:
                continue
            if predicate == str(PI.attribute):
                lines.append(_value(other))
            elif predicate == str(PI.library):
                lines.append(f"{other.first(PI.name)} {other.first(PI.version)}")
    if len(lines) == 1 and node.pi_class is None:
        lines.append(node.iri.rsplit("/", 1)[-1])
    return "\n".join(line for line in lines if line)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@dataclass
class Group:
    """Nodes drawn as one (an activity's epochs of one metric, its hyperparameters, the model's layers)."""

    key: str  # stable across drawings: "<owner IRI>#metric:loss", "<run IRI>#layers"
    owner: str
    members: list[_Node] = field(default_factory=list)

    @property
    def label(self) -> str:
        return _group_label(self.members)


@dataclass
class Picture:
    """What a drawing shows before it is written as DOT: the nodes drawn one by one, the groups still
    collapsed, and the edges between them (by node IRI or group key)."""

    title: str
    nodes: dict[str, _Node]  # every node of the run's graph, drawn or not
    links_from: dict[str, list[tuple[str, str]]]
    drawn: list[_Node]
    groups: dict[str, Group]
    edges: list[tuple[str, str, str]]  # (source key, predicate, destination key), each once
    replaced: dict[str, str]  # member IRI -> key of the group drawn instead
    opened: dict[str, str]  # member IRI -> key of its expanded group (the member is drawn)
    full: bool

    def label(self, node: _Node) -> str:
        return _label(node, self.nodes, self.links_from, self.full)


def _grouping(run_iri: str, nodes: dict[str, _Node], links: list[tuple[str, str, str]],
              links_from: dict[str, list[tuple[str, str]]]) -> tuple[set[str], dict[str, Group]]:
    """(nodes folded into another's label, the groups by key) of the default, collapsed drawing."""
    hidden = {target for _, predicate, target in links if predicate in _FULL_ONLY_EDGES}
    groups: dict[str, Group] = {}
    for node in nodes.values():
        owner = next((t for p, t in links_from.get(node.iri, ()) if p == str(PROV.wasGeneratedBy)), None)
        if node.pi_class == "Metric" and node.first(PI.epoch) is not None and owner:
            group = f"{owner}#metric:{node.first(PI.name)}"
        elif node.pi_class == "Layer":
            owner, group = run_iri, f"{run_iri}#layers"
        elif node.pi_class in ("Hyperparameter", "Attribute"):
            user = next((s for s, p, t in links if p == str(PROV.used) and t == node.iri), None)
            if user is None or nodes.get(user) is None or nodes[user].pi_class == "Adaptation":
                continue
            if node.pi_class == "Attribute" and nodes[user].pi_class != "Transformation":
                continue
            owner, group = user, f"{user}#{node.pi_class.lower()}s"
        else:
            continue
        groups.setdefault(group, Group(group, owner)).members.append(node)
    return hidden, groups


def _member_order(node: _Node) -> tuple:
    """Epochs in order, layers by position, values by name."""
    return (node.first(PI.epoch) if node.first(PI.epoch) is not None else -1,
            node.first(PI.index) if node.first(PI.index) is not None else -1, str(node.first(PI.name)), node.iri)


def _expanded(found: dict[str, Group], expand, limit: int | None) -> tuple[dict[str, Group], dict[str, str]]:
    """(the groups still drawn as one, {member drawn on its own: its group's key}). A group whose key is
    `in expand` is drawn member by member; past `limit` members the rest stay the group `KEY#more`."""
    groups: dict[str, Group] = {}
    opened: dict[str, str] = {}
    for key, group in found.items():
        members = sorted(group.members, key=_member_order) if key in expand else group.members
        while key in expand:
            shown = members[:limit] if limit else members
            opened.update({member.iri: key for member in shown})
            members, key = members[len(shown):], f"{key}#more"
            if not members:
                break
        if members:
            groups[key] = Group(key, group.owner, members)
    return groups, opened


def picture(run: "RunInfo", full: bool = False, expand: "Container[str]" = frozenset(),
            limit: int | None = None) -> Picture:
    """The run's graph as it is drawn: collapsed groups unless `full`; the groups whose keys are `in
    expand` drawn member by member (at most `limit` of them each, when given)."""
    nodes, links = _read(run)
    links_from: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for subject, predicate, target in links:
        links_from[subject].append((predicate, target))
    hidden: set[str] = set()
    groups: dict[str, Group] = {}
    opened: dict[str, str] = {}
    if not full:
        hidden, found = _grouping(run.iri, nodes, links, links_from)
        groups, opened = _expanded(found, expand, limit)
    replaced = {member.iri: key for key, group in groups.items() for member in group.members}
    drawn = [n for n in nodes.values() if n.iri not in hidden and n.iri not in replaced
             and (n.types or n.props)]
    keys = {node.iri for node in drawn} | set(groups)
    edges: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for subject, predicate, target in links:
        if predicate not in _EDGES and not (full and predicate in _FULL_ONLY_EDGES):
            continue
        edge = (replaced.get(subject, subject), predicate, replaced.get(target, target))
        if edge[0] not in keys or edge[2] not in keys or edge[0] == edge[2] or edge in seen:
            continue
        seen.add(edge)
        edges.append(edge)
    return Picture(f"{run.name} ({run.id[:12]})", nodes, links_from, drawn, groups, edges, replaced, opened, full)


def edge_style(predicate: str) -> tuple[str, str]:
    """(label, extra DOT attributes) of an edge drawn for this predicate."""
    return _EDGES.get(predicate) or _FULL_ONLY_EDGES[predicate]


def dot_text(drawing: Picture, ids: "dict[str, str] | None" = None,
             extra: "dict[str, str] | None" = None) -> str:
    """The drawing as DOT; `ids` names the DOT node of each node IRI / group key (n0, n1 … g0 … when
    not given), `extra` adds DOT attributes to some of them."""
    if ids is None:
        ids = {node.iri: f"n{i}" for i, node in enumerate(drawing.drawn)}
        ids.update({key: f"g{i}" for i, key in enumerate(drawing.groups)})
    extra = extra or {}
    # Left to right: an activity's many inputs and outputs stack up and down, so the picture stays
    # about as wide as it is high (bottom-to-top put them all in one row: thousands of points wide).
    out = ["digraph provenance {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=8];', f"  label={_quote(drawing.title)};"]
    for node in drawing.drawn:
        more = f", {extra[node.iri]}" if node.iri in extra else ""
        out.append(f"  {ids[node.iri]} [label={_quote(drawing.label(node))}, {_STYLE[node.kind]}{more}];")
    for key, group in drawing.groups.items():
        more = f", {extra[key]}" if key in extra else ""
        out.append(f"  {ids[key]} [label={_quote(group.label)}, {_STYLE['entity']}{more}];")
    for source, predicate, destination in drawing.edges:
        label, style = edge_style(predicate)
        attributes = f"label={_quote(label)}" + (f", {style}" if style else "")
        out.append(f"  {ids[source]} -> {ids[destination]} [{attributes}];")
    out.append("}")
    return "\n".join(out) + "\n"


def to_dot(run: "RunInfo", full: bool = False) -> str:
    """The run's provenance graph as DOT text."""
    return dot_text(picture(run, full))


def _group_label(members: list[_Node]) -> str:
    first = members[0]
    if first.pi_class == "Layer":
        found = [Layer(m.iri, m.first(PI.index), m.first(PI.layerClass), m.first(RDFS.label), m.first(PI.sourceLine))
                 for m in members]
        census = layer_census(found, most=len(found)).split(": ", 1)
        return "Layers\n" + census[0] + "\n" + census[1].replace(", ", "\n")
    if first.pi_class == "Metric":
        points = sorted((m.first(PI.epoch), m.first(PROV.value)) for m in members)
        return (f"Metric\n{first.first(PI.name)}\n{len(points)} epochs ({points[0][0]}–{points[-1][0]})\n"
                f"{brief(points[0][1])} → {brief(points[-1][1])}")
    values = sorted(_value(m) for m in members)
    return ("Hyperparameters" if first.pi_class == "Hyperparameter" else "Attributes") + "\n" + "\n".join(values)


def render(dot_text: str, output: str | Path) -> Path:
    """Write DOT as is (.dot/.gv) or draw it with Graphviz (.svg/.png/.pdf); returns the file written."""
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix not in PICTURES + TEXT:
        raise AnalysisError(f"{path}: unknown picture type {path.suffix or '(none)'}; "
                            "name the file .svg, .png, .pdf or .dot")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix in TEXT:
            path.write_text(dot_text)
            return path
        dot = shutil.which("dot")
        if dot is None:
            fallback = path.with_suffix(".dot")
            fallback.write_text(dot_text)
            raise AnalysisError(
                f"Graphviz's `dot` program is not installed, so {path} was not drawn; the graph is in "
                f"{fallback}. To get pictures, {INSTALL_HINT}, then run this again "
                f"(or: dot -T{suffix[1:]} {fallback} -o {path})"
            )
        done = subprocess.run([dot, f"-T{suffix[1:]}", "-o", str(path)], input=dot_text.encode(),
                              capture_output=True, timeout=300, check=False)
    except OSError as error:
        raise AnalysisError(f"cannot write {path}: {error.strerror or error}") from error
    if done.returncode != 0:
        raise AnalysisError(f"Graphviz failed to draw {path}: {done.stderr.decode(errors='replace').strip()}")
    return path
