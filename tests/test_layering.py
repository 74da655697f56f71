"""The packages' layers, read from the source with `ast` (nothing is imported or run): `models/` is the
contract and depends on nothing of ours; `edge/` (codec, key rings, ID hash, metrics, settings) and
`adapters/` (the simulated outside systems) sit beside the workflows, below the activities and the
starter. Every import counts, at module level or inside a function."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "edge", "adapters", "activities", "workflows", "starter")

FORBIDDEN = {
    "models": {"activities", "workflows", "starter", "edge", "adapters", "worker", "bench", "tests"},
    "edge": {"activities", "workflows", "starter", "adapters", "worker", "bench", "tests"},
    "adapters": {"activities", "workflows", "starter", "worker", "bench", "tests"},
    "workflows": {"starter", "edge", "adapters", "worker", "bench", "tests"},
}
"""Package → the top-level packages its modules must not import."""
ACYCLIC = ("models", "edge", "adapters")
"""Packages whose modules import each other without a cycle."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))
            if "migrations" not in path.parts}


def imports(name: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) of every import in the file; `from a import b` yields `a.b` as well as
    `a`, as b may be a module."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            yield node.lineno, origin
            for alias in node.names:
                yield node.lineno, f"{origin}.{alias.name}"


def graph(package: str) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports."""
    found = modules(package)
    return {name: {target for _, target in imports(name, path) if target in found and target != name}
            for name, path in found.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        state[node], _ = 2, path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize("package", ACYCLIC)
def test_no_import_cycle(package):
    found = cycle(graph(package))
    assert found is None, f"import cycle in {package}/: {' -> '.join(found)}"


@pytest.mark.parametrize("package", FORBIDDEN)
def test_no_import_points_up_or_across(package):
    wrong = [f"{path.relative_to(ROOT)}:{line}: imports {target}"
             for name, path in modules(package).items() for line, target in imports(name, path)
             if target.split(".")[0] in FORBIDDEN[package]]
    assert not wrong, f"{package}/ must not import {sorted(FORBIDDEN[package])}:\n" + "\n".join(sorted(set(wrong)))


def test_the_checker_sees_cycles_and_relative_imports(tmp_path):
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
    source = ROOT / "models" / "policy.py"
    assert ("models.catalog" in {target for _, target in imports("models.policy", source)})
    assert graph("models")["models.contract"] >= {"models.application", "models.termination"}
