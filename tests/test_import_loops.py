"""The package's imports form no loop, counting imports inside functions and TYPE_CHECKING blocks too.

import-linter's layers contract (pyproject.toml, run by ./scripts/lint) states which way imports go
between the layers; this states that no module reaches itself through any chain of imports, inside a
layer as much as across layers. grimp (which import-linter uses) reads every import statement.
"""

from __future__ import annotations

import grimp
import pytest


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def import_graph(package: str) -> dict[str, set[str]]:
    graph = grimp.build_graph(package, cache_dir=None)
    return {m: {d for d in graph.find_modules_directly_imported_by(m) if d != package} for m in graph.modules}


def test_the_loop_finder_finds_a_loop_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert loops(graph) == [["a", "b", "c"]]


@pytest.fixture(scope="module")
def policygen_imports() -> dict[str, set[str]]:
    return import_graph("policygen")


def test_imports_inside_functions_count(policygen_imports: dict[str, set[str]]) -> None:
    # render imports project only inside a function; the graph must still have the edge
    assert "policygen.project" in policygen_imports["policygen.render"]


def test_policygen_has_no_import_loop(policygen_imports: dict[str, set[str]]) -> None:
    assert loops(policygen_imports) == []


def test_every_module_has_a_layer_in_the_import_contract(policygen_imports: dict[str, set[str]]) -> None:
    # A module left out of the layers contract could import anything: place each new one.
    import tomllib

    from conftest import REPO

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    placed = {name.strip() for layer in contract["layers"] for name in layer.split("|")}
    assert sorted(set(policygen_imports) - placed - {"policygen"}) == []
