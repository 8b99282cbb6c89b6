"""Triple patterns put in the order the index's data favours, before Oxigraph plans a query.

Oxigraph's planner (sparopt) sizes a pattern by which of its positions are bound, not by the data:
`?k pi:name "K"`, `?k prov:value 24`, `?m pi:epoch 99` and `?m a pi:Metric` all count as 10,000, and
ties go in written order. The seed's query (a) as the contract writes it therefore starts from every
run's K and then visits every metric of each matching run: 2.4 s at 10,000 runs, against 0.47 s for
the same patterns with the values first. This module rewrites each block of triple patterns with the
most selective pattern first, then, pattern by pattern, one whose subject is already bound, else the
one matching least. Sizes come from the index itself: a count of each pattern over every graph,
stopping at COUNT_CAP, and, for a block inside `GRAPH ?var`, the mean count in a sample of graphs
(what the next patterns cost once the first has bound the graph, and what ranks the first when the
totals are all capped). A basic graph pattern's answers do not depend on its order, so only
the order of patterns within one unbroken block changes; a query with anything this reader is not
sure of (property paths, collections, blank-node property lists, quoted triples, VALUES data, a
CONSTRUCT template) keeps those blocks as written, and one it cannot read at all is left as it is.
One more change, on large stores only: a selective FILTER on one pattern of a `GRAPH ?var` group that
holds nothing else is asked first with its pattern, in a subquery (_filtered_first says when and why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

# A count stops here: enough to tell a selective pattern from a common one, ~1 ms each on the index.
COUNT_CAP = 1000
# Inside `GRAPH ?var`, patterns are sized in this many graphs (the first the index lists: in hash order,
# a sample), each count stopping at PER_GRAPH_CAP.
SAMPLE_GRAPHS = 8
PER_GRAPH_CAP = 100
_QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}

_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]\w+)
  | (?P<bnode>_:[\w][\w.-]*(?<!\.))
  | (?P<pname>(?:[A-Za-z][\w.-]*(?<!\.))?:(?:[\w%:-]|\.(?=[\w%:-]))*)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<number>[+-]?(?:\d+\.\d*[eE][+-]?\d+|\.\d+[eE][+-]?\d+|\d+[eE][+-]?\d+|\d*\.\d+|\d+))
  | (?P<word>[A-Za-z_]\w*)
  | (?P<typed>\^\^)
  | (?P<punct>[{}()\[\].;,])
  | (?P<other><<|>>|<=|>=|!=|&&|\|\||[=<>!+\-*/|^?])
""", re.VERBOSE)
_TERM_KINDS = {"iri", "var", "bnode", "pname", "number", "string"}
_SUBJECT_KINDS = {"iri", "var", "bnode", "pname"}


@dataclass
class Token:
    kind: str
    text: str
    start: int
    end: int


@dataclass
class Pattern:
    """One triple pattern: its three terms as written (a literal with its tag or datatype)."""

    subject: str
    predicate: str
    object: str

    def text(self) -> str:
        return f"{self.subject} {self.predicate} {self.object}"

    def variables(self) -> set[str]:
        return {term[1:] for term in (self.subject, self.predicate, self.object) if term[0] in "?$"}


@dataclass
class Block:
    """An unbroken run of triple patterns in one group: where it lies in the query, and its graph."""

    start: int
    end: int
    patterns: list[Pattern]
    graph: str | None  # the enclosing GRAPH's term as written (a variable or an IRI), None outside any
    group: int = -1  # the token index of its group's `{` (-1: outside any)


@dataclass
class Filter:
    """A `FILTER ( … )` of a group: where it lies, its expression as written, and its variables."""

    group: int  # the token index of its group's `{`
    start: int  # where `FILTER` starts in the query
    end: int  # where its `)` ends
    expression: str  # the parenthesised expression
    variables: set[str]
    movable: bool  # no EXISTS (it sees the whole solution), nothing evaluated afresh per call (RAND …)


# Runs a SELECT query (in the store's prefixes and graph options): each solution's values as text, in order.
Select = Callable[[str], "list[list[str | None]]"]


def reorder(sparql: str, select: Select) -> str:
    """`sparql` with each block of two or more triple patterns in the order the index's counts favour
    (asked through `select`), and a selective FILTER of a `GRAPH ?var` block also asked first in a subquery
    of its own; unchanged when it holds no such block or cannot be read."""
    tokens = tokenize(sparql)
    if tokens is None:
        return sparql
    blocks = _blocks(tokens)
    if not blocks:
        return sparql
    prologue = sparql[:_query_form_start(tokens)]
    filters = _filters(tokens, sparql)
    edits: list[tuple[int, int, str]] = []  # (start, end, text): text in place of sparql[start:end]
    for block in blocks:
        ordered, sizes = _order(block, prologue, select)
        moved = _filtered_first(block, blocks, tokens, filters, sizes, prologue, select) if sizes else None
        if moved is not None:
            pattern, where, subquery = moved
            ordered = [p for p in ordered if p is not pattern]
            edits += [(tokens[block.group - 2].start,) * 2 + (subquery,), (where.start, where.end, "")]
        if ordered != block.patterns:
            edits.append((block.start, block.end, " .\n  ".join(p.text() for p in ordered) + " ."))
    pieces, at = [], 0
    for start, end, text in sorted(edits):
        pieces += [sparql[at:start], text]
        at = end
    pieces.append(sparql[at:])
    return "".join(pieces)


# -- reading -------------------------------------------------------------------------
def tokenize(sparql: str) -> list[Token] | None:
    tokens, at = [], 0
    while at < len(sparql):
        match = _TOKEN.match(sparql, at)
        if match is None:
            return None  # something this reader does not know: leave the query as written
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), match.start(), match.end()))
        at = match.end()
    return tokens


def _query_form_start(tokens: list[Token]) -> int:
    """Where the query proper starts: its prologue (BASE, PREFIX) comes before."""
    for token in tokens:
        if token.kind == "word" and token.text.upper() in _QUERY_FORMS:
            return token.start
    return 0


def _blocks(tokens: list[Token]) -> list[Block]:
    """Every unbroken run of two or more plain triple patterns in the query's groups (not in templates or VALUES)."""
    found: list[Block] = []
    # per open brace: its GRAPH term (inherited), whether skipped, and the brace's token index
    groups: list[tuple[str | None, bool, int]] = []
    i = 0
    while i < len(tokens):
        text = tokens[i].text
        if text == "{":
            graph, skipped, _ = groups[-1] if groups else (None, False, -1)
            opened = opener(tokens, i)
            if opened is not None and opened[0] == "GRAPH":
                graph = opened[1]
            skipped = skipped or (opened is not None and opened[0] in ("VALUES", "SKIP"))
            groups.append((graph, skipped, i))
            i += 1
            if not skipped:
                i = _read_group_triples(tokens, i, graph, found, groups[-1][2])
        elif text == "}":
            if groups:
                groups.pop()
            i += 1
        elif groups and not groups[-1][1] and _starts_triples(tokens, i):
            i = _read_group_triples(tokens, i, groups[-1][0], found, groups[-1][2])
        else:
            i += 1
    return found


# Words that make a filter's value depend on more than its variables' values (EXISTS sees the whole
# solution) or differ from one evaluation to the next: such a filter is never asked a second time.
_UNMOVABLE = {"EXISTS", "RAND", "UUID", "STRUUID", "BNODE"}
_VARIABLE = re.compile(r"[?$](\w+)")


def _filters(tokens: list[Token], sparql: str) -> list[Filter]:
    """Every `FILTER ( … )` (a parenthesised expression without a group inside) with its group."""
    found: list[Filter] = []
    braces: list[int] = []
    for i, token in enumerate(tokens):
        if token.text == "{":
            braces.append(i)
        elif token.text == "}":
            if braces:
                braces.pop()
        elif (token.kind == "word" and token.text.upper() == "FILTER" and braces
              and i + 1 < len(tokens) and tokens[i + 1].text == "("):
            end = _closing_paren(tokens, i + 1)
            if end is None:
                continue
            inside = tokens[i + 2:end]
            expression = sparql[tokens[i + 1].start:tokens[end].end]
            # Variables read from the text, not the tokens: `?e<2&&?v>` reads as one IRI token here, two
            # comparisons to Oxigraph. Too many names only means a filter is moved less often.
            names = set(_VARIABLE.findall(" ".join(t.text for t in inside if t.kind != "string")))
            found.append(Filter(braces[-1], token.start, tokens[end].end, expression, names,
                                not any(t.kind == "word" and t.text.upper() in _UNMOVABLE for t in inside)))
    return found


def _closing_paren(tokens: list[Token], opening: int) -> int | None:
    """The index of the `)` closing the `(` at `opening`; None when a group or the query's end comes first."""
    depth = 0
    for j in range(opening, len(tokens)):
        text = tokens[j].text
        if text in ("{", "}"):
            return None
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


def opener(tokens: list[Token], brace: int) -> tuple[str, str | None] | None:
    """What a `{` opens, from the tokens before it: ("GRAPH", term), ("VALUES" | "SKIP", None) or None."""
    if brace >= 2 and tokens[brace - 2].kind == "word" and tokens[brace - 2].text.upper() == "GRAPH":
        return "GRAPH", tokens[brace - 1].text
    j = brace - 1
    while j >= 0 and (tokens[j].kind == "var" or tokens[j].text in "()"):
        j -= 1  # VALUES ?x { … } / VALUES (?x ?y) { … }: data, not patterns
    if j >= 0 and tokens[j].kind == "word":
        word = tokens[j].text.upper()
        if word == "VALUES" and j < brace - 1:
            return "VALUES", None
        if word in ("CONSTRUCT", "SERVICE", "DATA", "INSERT", "DELETE") or (
                word == "SILENT" and j > 0 and tokens[j - 1].text.upper() == "SERVICE") or (
                word == "WHERE" and j > 0 and tokens[j - 1].text.upper() == "CONSTRUCT"):
            return "SKIP", None  # a template (CONSTRUCT WHERE's too), a remote service, an update: as written
    if j >= 1 and tokens[j].kind in ("iri", "pname", "var") and tokens[j - 1].text.upper() in ("SERVICE", "SILENT"):
        return "SKIP", None
    return None


def _starts_triples(tokens: list[Token], i: int) -> bool:
    """Whether a triple pattern can start at i: a subject after `.` or a closed group or filter."""
    return tokens[i].kind in _SUBJECT_KINDS and i > 0 and tokens[i - 1].text in (".", "}", ")")


def _read_group_triples(tokens: list[Token], i: int, graph: str | None, found: list[Block],
                        group: int) -> int:
    """Read the run of triple patterns starting at i (if any) into `found`; returns where reading stopped."""
    patterns: list[Pattern] = []
    start = tokens[i].start if i < len(tokens) else 0
    end = start
    at = i
    while at < len(tokens) and tokens[at].kind in _SUBJECT_KINDS:
        read = _read_triples(tokens, at)
        if read is None:
            return _past_unreadable(tokens, at)  # a path, a collection, …: this run stays as written
        more, at = read
        patterns += more
        end = tokens[at - 1].end
        if at < len(tokens) and tokens[at].text == ".":
            end = tokens[at].end
            at += 1
        else:
            break
    if len(patterns) > 1 and not _followed_by_term(tokens, at):
        found.append(Block(start, end, patterns, graph, group))
    return max(at, i + 1) if patterns else i


def _followed_by_term(tokens: list[Token], at: int) -> bool:
    return at < len(tokens) and tokens[at].kind in _TERM_KINDS


def _past_unreadable(tokens: list[Token], at: int) -> int:
    """Skip to the end of a statement this reader does not take apart (its `.`, or its group's end)."""
    depth = 0
    while at < len(tokens):
        text = tokens[at].text
        if text in "([{":
            depth += 1
        elif text in ")]}":
            if depth == 0:
                return at
            depth -= 1
        elif text == "." and depth == 0:
            return at + 1
        at += 1
    return at


def _read_triples(tokens: list[Token], at: int) -> tuple[list[Pattern], int] | None:
    """One subject with its predicate-object list: its patterns and the index after them, or None."""
    subject = tokens[at].text
    at += 1
    patterns: list[Pattern] = []
    while True:
        if at >= len(tokens):
            return None
        verb = tokens[at]
        if verb.kind in ("iri", "var", "pname"):
            predicate = verb.text
        elif verb.kind == "word" and verb.text == "a":
            predicate = "a"
        else:
            return None
        at += 1
        while True:
            term = _read_object(tokens, at)
            if term is None:
                return None
            text, at = term
            patterns.append(Pattern(subject, predicate, text))
            if at < len(tokens) and tokens[at].text == ",":
                at += 1
                continue
            break
        if at < len(tokens) and (tokens[at].kind == "other" or tokens[at].text in ("[", "(")):
            return None  # a property path operator or a nested node
        while at < len(tokens) and tokens[at].text == ";":
            at += 1
        if at < len(tokens) and (tokens[at].kind in ("iri", "var", "pname") or tokens[at].text == "a") \
                and tokens[at - 1].text == ";":
            continue
        return patterns, at


def _read_object(tokens: list[Token], at: int) -> tuple[str, int] | None:
    if at >= len(tokens):
        return None
    token = tokens[at]
    if token.kind in ("iri", "var", "bnode", "pname", "number"):
        return token.text, at + 1
    if token.kind == "word" and token.text in ("true", "false"):
        return token.text, at + 1
    if token.kind == "string":
        text, at = token.text, at + 1
        if at < len(tokens) and tokens[at].kind == "lang":
            return text + tokens[at].text, at + 1
        if at + 1 < len(tokens) and tokens[at].kind == "typed" and tokens[at + 1].kind in ("iri", "pname"):
            return text + "^^" + tokens[at + 1].text, at + 2
        return text, at
    return None


# -- ordering ------------------------------------------------------------------------
@dataclass
class _GraphSizes:
    """What was counted for a block inside `GRAPH ?var`: each pattern's capped total and mean per sampled graph."""

    totals: list[float]
    means: list[float]
    sample: list[str]


def _order(block: Block, prologue: str, select: Select) -> tuple[list[Pattern], _GraphSizes | None]:
    """The block's patterns, greedily: a bound subject first, else the one matching least. Inside `GRAPH ?var`
    the first is the one with the fewest matches in all graphs (exact below COUNT_CAP, so a small store is
    planned the same in every process; above, the sample decides), the next ones those fewest in a graph.
    Also what was counted inside `GRAPH ?var` (None elsewhere)."""
    patterns = block.patterns
    texts = [p.text() for p in patterns]
    totals = _sizes(texts, block.graph, prologue, select)
    sizes = None
    if block.graph is not None and block.graph[0] in "?$":
        sample = _sample_graphs(prologue, select)
        in_graph = _sizes_per_graph(texts, sample, prologue, select)
        sizes = _GraphSizes(totals, in_graph, sample)
        first = [(total, mean) for total, mean in zip(totals, in_graph)]
        then = [(mean,) for mean in in_graph]
    else:
        first = then = [(total,) for total in totals]
    ordered: list[Pattern] = []
    bound: set[str] = set()
    left = list(range(len(patterns)))
    while left:
        costs = then if ordered else first
        pick = min(left, key=lambda i: _cost(patterns[i], costs[i], bound, i))
        left.remove(pick)
        ordered.append(patterns[pick])
        bound |= patterns[pick].variables()
    return ordered, sizes


def _filtered_first(block: Block, blocks: list[Block], tokens: list[Token], filters: list[Filter],
                    sizes: _GraphSizes, prologue: str, select: Select) -> tuple[Pattern, Filter, str] | None:
    """For a block that is all of a `GRAPH ?var { … }` group but its filters, where every pattern matches
    COUNT_CAP or more (no constant to start from): a FILTER on one pattern's variables that keeps at most half
    as many of its matches per graph as the block's smallest pattern has. Oxigraph applies a group's filter
    only after all its patterns; the pattern and its filter moved before the group as
    `{ SELECT * WHERE { GRAPH ?var { P FILTER(…) } } }` cut the rows the rest are looked up for (every loss
    of epochs 0-3 of 10,000 runs: 18 s -> 7 s). The same answers: the group holds nothing but triple
    patterns and filters, the moved filter reads only the pattern's variables, and the filters left behind
    read none that only the pattern bound, so the join of the two is the group (a triple pattern's matches
    in one graph are distinct: no row is doubled). (pattern, filter, the subquery's text) or None."""
    brace = block.group
    if (opener(tokens, brace) != ("GRAPH", block.graph) or not sizes.sample or min(sizes.totals) < COUNT_CAP
            or min(sizes.means) <= 0 or not _only_block_and_filters(block, blocks, tokens, filters)):
        return None
    smallest = min(sizes.means)
    sample = _iris(sizes.sample)
    best: tuple[float, Pattern, Filter] | None = None
    in_group = [f for f in filters if f.group == brace]
    for candidate in (f for f in in_group if f.movable and f.variables):
        for pattern in block.patterns:
            terms = (pattern.subject, pattern.predicate, pattern.object)
            if any(term.startswith("_:") for term in terms) or not candidate.variables <= pattern.variables():
                continue
            # The group's other filters must not read a variable only this pattern binds: they stay behind.
            rest = set().union(*(p.variables() for p in block.patterns if p is not pattern))
            if any((other.variables & pattern.variables()) - rest for other in in_group if other is not candidate):
                continue
            kept = _count(prologue, f"VALUES ?provinstr_g {{ {sample} }} "
                          f"GRAPH ?provinstr_g {{ {pattern.text()} FILTER {candidate.expression} }}",
                          PER_GRAPH_CAP * len(sizes.sample), select) / len(sizes.sample)
            if kept * 2 <= smallest and (best is None or kept < best[0]):
                best = (kept, pattern, candidate)
    if best is None:
        return None
    _, pattern, candidate = best
    return pattern, candidate, (f"{{ SELECT * WHERE {{ GRAPH {block.graph} {{ {pattern.text()} "
                                f"FILTER {candidate.expression} }} }} }}\n  ")


def _only_block_and_filters(block: Block, blocks: list[Block], tokens: list[Token],
                            filters: list[Filter]) -> bool:
    """Whether the block's group holds nothing but the block and FILTERs (no OPTIONAL, BIND, subgroup …)."""
    if any(other is not block and other.group == block.group for other in blocks):
        return False
    spans = [(block.start, block.end)] + [(f.start, f.end) for f in filters if f.group == block.group]
    for token in tokens[block.group + 1:]:
        if token.text == "{":
            return False
        if token.text == "}":
            return True
        if not any(start <= token.start < end for start, end in spans):
            return False
    return False


def _cost(pattern: Pattern, size: tuple[float, ...], bound: set[str], position: int) -> tuple:
    """What evaluating the pattern next costs, to compare: a bound subject (a few rows) before a bound
    object, before a pattern reached only through its constants; then its size; then a class membership
    (`a C`: usually many nodes) after the rest; then as written."""
    subject_bound = pattern.subject[0] not in "?$" or pattern.subject[1:] in bound
    object_bound = pattern.object[0] in "?$" and pattern.object[1:] in bound
    return (0 if subject_bound else 1 if object_bound else 2, size, pattern.predicate == "a", position)


def _sizes(texts: list[str], graph: str | None, prologue: str, select: Select) -> list[float]:
    """Each pattern's matches (at most COUNT_CAP) in `graph`, or in the default graph."""
    def scope(text: str) -> str:
        return f"GRAPH {graph} {{ {text} }}" if graph is not None else text

    return [_count(prologue, scope(text), COUNT_CAP, select) for text in texts]


def _sample_graphs(prologue: str, select: Select) -> list[str]:
    """The first SAMPLE_GRAPHS named graphs the index lists (in hash order: a sample)."""
    return [row[0] for row in select(f"{prologue}SELECT ?provinstr_g WHERE {{ GRAPH ?provinstr_g {{ }} }} "
                                     f"LIMIT {SAMPLE_GRAPHS}") if row[0]]


def _sizes_per_graph(texts: list[str], graphs: list[str], prologue: str, select: Select) -> list[float]:
    """Inside `GRAPH ?var`: each pattern's mean matches in the sampled graphs (counting stops at PER_GRAPH_CAP
    a graph, on average). Once the first pattern has bound the graph, this is what each next one costs; for
    the first, it ranks as the totals would."""
    if not graphs:
        return [0.0] * len(texts)
    sample = _iris(graphs)
    return [_count(prologue, f"VALUES ?provinstr_g {{ {sample} }} GRAPH ?provinstr_g {{ {text} }}",
                   PER_GRAPH_CAP * len(graphs), select) / len(graphs) for text in texts]


def _iris(graphs: list[str]) -> str:
    """The graphs as VALUES data."""
    return " ".join(f"<{graph}>" for graph in graphs)


def _count(prologue: str, pattern: str, cap: int, select: Select) -> float:
    rows = select(f"{prologue}SELECT (COUNT(*) AS ?provinstr_n) WHERE {{ SELECT * WHERE {{ {pattern} }} LIMIT {cap} }}")
    return float(rows[0][0] or 0) if rows else 0.0
