"""The package's layering, read from the source with `ast` (nothing is imported).

store is the lowest layer: it imports nothing from capture, analysis, adapters, rewrite, cli or
rules; capture imports nothing from analysis or cli; provinstr.errors imports nothing from
provinstr; and there is no import cycle between store/, capture/, analysis/, adapters/ and rules/.
Imports at module level and inside functions both count; those under `if TYPE_CHECKING:` do not
(they never run). `importlib.import_module("provinstr....")` with a literal name counts too; a
name computed at run time (adapters loaded by name from a rule) cannot be seen here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import provinstr
from conftest import REPO

PACKAGE = REPO / "provinstr"
CYCLE_FREE = ("store", "capture", "analysis", "adapters", "rules")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement of `module` that can run."""
    path = SOURCES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            children = node.orelse  # the TYPE_CHECKING branch never runs
        else:
            children = list(ast.iter_child_nodes(node))
        for child in children:
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base_parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(base_parts + ([child.module] if child.module else []))
                else:
                    base = child.module or ""
                found.append((base, child.lineno))
                for alias in child.names:  # `from provinstr.capture import calls` imports a module
                    if f"{base}.{alias.name}" in SOURCES:
                        found.append((f"{base}.{alias.name}", child.lineno))
            elif (
                isinstance(child, ast.Call)
                and isinstance(child.func, (ast.Attribute, ast.Name))
                and getattr(child.func, "attr", getattr(child.func, "id", None)) == "import_module"
                and child.args
                and isinstance(child.args[0], ast.Constant)
                and isinstance(child.args[0].value, str)
            ):
                found.append((child.args[0].value, child.lineno))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return found


def part_of(name: str) -> str | None:
    """The part of provinstr a module name belongs to: 'store', 'capture', 'config' ...; 'provinstr' for the root."""
    parts = name.split(".")
    if parts[0] != "provinstr":
        return None
    return parts[1] if len(parts) > 1 else "provinstr"


def edges() -> dict[tuple[str, str], list[str]]:
    """(part, part it imports) -> where, for every import from one part of provinstr to another."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module in SOURCES:
        source = part_of(module)
        for name, line in imports(module):
            target = part_of(name)
            if target is not None and target != source:
                found[(source, target)].append(f"{SOURCES[module].relative_to(REPO)}:{line} imports {name}")
    return found


EDGES = edges()


def imported_by(part: str, forbidden: set[str]) -> list[str]:
    return [where for (source, target), places in EDGES.items() if source == part and target in forbidden
            for where in places]


def test_the_scan_sees_the_imports_it_is_about():
    # the layers above do import the store, so an empty graph would mean a broken scan, not a clean package
    assert ("analysis", "store") in EDGES and ("capture", "store") in EDGES and ("store", "config") in EDGES
    assert "provinstr.store.local" in {name for name, _ in imports("provinstr.store.remote")}


def test_the_store_layer_imports_nothing_above_it():
    above = {"capture", "analysis", "adapters", "rewrite", "cli", "rules", "provinstr"}  # the root imports capture
    assert imported_by("store", above) == []


def test_capture_imports_nothing_from_analysis_or_the_command_line():
    assert imported_by("capture", {"analysis", "cli"}) == []


def test_the_settings_module_the_store_reads_imports_nothing_above_the_store():
    # the store imports config, so config importing capture (or anything above) would be the store's too
    assert imported_by("config", {"capture", "analysis", "adapters", "rewrite", "cli", "rules", "provinstr"}) == []


def test_the_shared_errors_module_imports_nothing_from_provinstr():
    assert [name for name, _ in imports("provinstr.errors") if part_of(name)] == []


def test_there_is_no_import_cycle_between_store_capture_analysis_adapters_and_rules():
    graph = {part: {t for (s, t) in EDGES if s == part and t in CYCLE_FREE} for part in CYCLE_FREE}
    cycles = []

    def walk(path: list[str]) -> None:
        for target in sorted(graph[path[-1]]):
            if target == path[0]:
                cycles.append(path + [target])
            elif target not in path and target > path[0]:  # each cycle once, from its smallest part
                walk(path + [target])

    for start in CYCLE_FREE:
        walk([start])
    described = [
        " -> ".join(cycle) + ": " + "; ".join(EDGES[(a, b)][0] for a, b in zip(cycle, cycle[1:]))
        for cycle in cycles
    ]
    assert described == []


def test_there_is_one_open_store_and_provinstr_open_store_is_it():
    defined = [
        f"{module}:{node.lineno}"
        for module, path in SOURCES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "open_store"
    ]
    assert len(defined) == 1 and defined[0].startswith("provinstr.analysis.store:")
    from provinstr.analysis import catalog, store

    assert provinstr.open_store is store.open_store is catalog.open_store
    assert catalog.Store is store.Store and store.Store.__module__ == "provinstr.analysis.store"


# What the web ui (provinstr/ui/) may import from provinstr: it reads stores and steers, nothing more.
UI_MAY_IMPORT = {"provinstr.analysis", "provinstr.config", "provinstr.errors", "provinstr.vocab",
                 "provinstr.capture.steering", "provinstr.ui"}
# `from provinstr.capture import steering` also names the package, whose __init__ is a docstring
UI_MAY_NAME = {"provinstr.capture"}


def test_the_web_ui_imports_only_analysis_settings_errors_vocabulary_and_steering():
    assert "provinstr.ui.app" in SOURCES and ("ui", "analysis") in EDGES  # the scan sees the ui
    wrong = [
        f"{SOURCES[module].relative_to(REPO)}:{line} imports {name}"
        for module in SOURCES if part_of(module) == "ui"
        for name, line in imports(module)
        if part_of(name) and name not in UI_MAY_NAME
        and not any(name == allowed or name.startswith(allowed + ".") for allowed in UI_MAY_IMPORT)
    ]
    assert wrong == []


def test_nothing_but_the_command_line_imports_the_web_ui():
    assert [where for (source, target), places in EDGES.items() if target == "ui" and source not in ("ui", "cli")
            for where in places] == []


def test_listing_and_querying_a_store_never_import_rdflib(tmp_path):
    """rdflib costs a quarter of a second to import: `provinstr runs` and `query` read IRIs as strings."""
    import subprocess
    import sys

    store = tmp_path / "store"
    with provinstr.run(name="t.py", store=store):
        provinstr.log_hyperparameter(learning_rate=0.1)
        provinstr.log_metric("loss", 0.5, epoch=0)
    probe = ("import sys, provinstr, provinstr.cli.store_commands\n"
             f"store = provinstr.open_store({str(store)!r})\n"
             "(run,) = store.runs(where='learning_rate < 1')\n"
             "assert store.query('SELECT ?v WHERE { ?m pi:name \"loss\" ; prov:value ?v }').rows == [(0.5,)]\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rdflib'))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
