"""The package's import graph, read from the source (ast): no cycles, and no arrow from a lower layer up.

Every import counts, also the ones inside functions and under ``TYPE_CHECKING``: a local import hides an
edge, it does not remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "rudratune"

# commands -> {search, report, train} -> {tracking, registry, config, data} -> {errors, runtime}
LAYERS = {
    "__init__": 4,
    "__main__": 4,
    "cli": 4,
    "api": 4,
    "commands": 4,
    "search": 3,
    "report": 3,
    "train": 3,
    "inference": 3,
    "testing": 3,
    "tracking": 2,
    "registry": 2,
    "config": 2,
    "data": 2,
    "serve": 2,
    "nets": 1,
    "measure": 2,
    "errors": 0,
    "runtime": 0,
    "signals": 0,
}
# arrows inside one layer that must not exist either (search hands its record and results to report)
FORBIDDEN = {
    ("search", "report"),
    ("train", "search"),
    ("train", "report"),
    ("train", "inference"),
    ("search", "inference"),
    ("report", "inference"),
    ("inference", "report"),
}

# inside search: driver -> {strategy, placement, results} -> record -> space; the package's own __init__
# (its curated names, for commands and the API) sits above them all. Siblings never import each other.
SEARCH_LAYERS = {
    "__init__": 4,
    "driver": 3,
    "strategy": 2,
    "placement": 2,
    "results": 2,
    "record": 1,
    "space": 0,
}
REPORT_READS = {"results", "record", "space"}
"""The parts of search the report may import."""
PREDICT_READS = {"results", "record"}
"""The parts of search predict may import (a sweep folder's record and trials)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The rudratune modules ``path`` imports, wherever in the file the import is written."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "rudratune"}


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    # `from rudratune.x import y` counts as importing x, and x.y too when y is a module
    return {
        name: {t for t in imports_of(path) if t in modules and t != name} for name, path in modules.items()
    }


def part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path of module names, or [] when there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_every_part_of_the_package_has_a_layer() -> None:
    assert {part(module) for module in import_graph()} <= set(LAYERS)


def test_no_import_cycles() -> None:
    assert find_cycle(import_graph()) == []


def test_no_cycles_between_parts_of_the_package() -> None:
    parts: dict[str, set[str]] = {}
    for src, targets in import_graph().items():
        parts.setdefault(part(src), set()).update(part(dst) for dst in targets if part(dst) != part(src))
    for targets in list(parts.values()):
        for target in targets:
            parts.setdefault(target, set())
    assert find_cycle(parts) == []


def search_part(module: str) -> str:
    """``space``, ``record``, ... for a module of ``rudratune.search``; ``__init__`` for the package itself."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else "__init__"


def wrong_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Every import that breaks a rule: up the layers, a forbidden pair, or inside search against its walls
    (up its layers, between siblings, the report past results/record/space, commands past the curated names)."""
    wrong = []
    for src, targets in sorted(graph.items()):
        for dst in sorted(targets):
            a, b = part(src), part(dst)
            if a != b and (LAYERS[a] < LAYERS[b] or (a, b) in FORBIDDEN):
                wrong.append(f"{src} -> {dst}")
            elif a == b == "search" and (sa := search_part(src)) != (sb := search_part(dst)):
                if SEARCH_LAYERS[sa] <= SEARCH_LAYERS[sb]:
                    wrong.append(f"{src} -> {dst} (search: {sa} may not import {sb})")
            elif b == "search" and a == "report" and search_part(dst) not in REPORT_READS:
                wrong.append(f"{src} -> {dst} (the report reads only search's {sorted(REPORT_READS)})")
            elif b == "search" and a == "inference" and search_part(dst) not in PREDICT_READS:
                wrong.append(f"{src} -> {dst} (inference reads only search's {sorted(PREDICT_READS)})")
            elif b == "search" and a in ("commands", "api") and dst != "rudratune.search":
                wrong.append(f"{src} -> {dst} (commands use rudratune.search's curated names)")
    return wrong


def test_imports_point_down_the_layers() -> None:
    assert wrong_arrows(import_graph()) == []


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("rudratune.search.results.row", "rudratune.search.driver.runner"),  # up the walls
        ("rudratune.search.strategy.asha", "rudratune.search.placement.packing"),  # between siblings
        ("rudratune.report.page", "rudratune.search.strategy.searcher"),  # the report past results
        ("rudratune.commands.run", "rudratune.search.space.sweep"),  # a command past the curated names
        ("rudratune.data.folder", "rudratune.train.loop"),  # up the package's layers
    ],
)
def test_an_arrow_against_the_rules_is_found(src: str, dst: str) -> None:
    graph = import_graph()
    assert src in graph and dst in graph
    graph[src] = graph[src] | {dst}
    assert [w for w in wrong_arrows(graph) if w.startswith(f"{src} -> {dst}")]


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ],
)
def test_find_cycle_finds_cycles(graph: dict[str, set[str]], cycle: list[str]) -> None:
    assert find_cycle(graph) == cycle
