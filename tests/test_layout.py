"""The architecture the folders show: which package may import which, no import cycles, small modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from service.model.paths import PROJECT_ROOT

PACKAGES = ("service", "training", "benchmarks")
# Project packages each layer must never import (at any depth: module level or inside a function).
FORBIDDEN = {
    "service.model": ("service.api", "service.batch", "training", "benchmarks"),
    "service.api": ("service.batch", "training", "benchmarks"),
    "service.batch": ("service.api", "training", "benchmarks"),
    "training": ("benchmarks",),
}
# Third-party packages the runtime may use: what the lean install brings for it.
RUNTIME_THIRD_PARTY = {"numpy", "scipy", "tokenizers", "ahocorasick_rs"}
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if "static" not in path.parts
    }


def imports_of(path: Path) -> set[str]:
    """Every module the file imports, anywhere in it, as absolute names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


MODULES = project_modules()


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_what_they_build_on(layer: str) -> None:
    wrong = sorted(
        f"{module} imports {imported}"
        for module, path in MODULES.items()
        if within(module, layer)
        for imported in imports_of(path)
        if any(within(imported, forbidden) for forbidden in FORBIDDEN[layer])
    )
    assert not wrong


def test_runtime_uses_numpy_scipy_tokenizers_and_ahocorasick_only() -> None:
    """The model runtime runs on the lean install: the standard library, NumPy, SciPy, tokenizers (which the
    sentence-embedding block tokenizes with) and ahocorasick-rs (which finds actors' names)."""
    third_party = {
        f"{module} imports {imported}"
        for module, path in MODULES.items()
        if within(module, "service.model")
        for imported in imports_of(path)
        if (top := imported.split(".")[0]) not in sys.stdlib_module_names
        and top not in RUNTIME_THIRD_PARTY
        and top not in PACKAGES
    }
    assert not third_party


def test_no_import_cycles() -> None:
    graph = {
        module: {target for imported in imports_of(path) for target in MODULES if imported == target}
        for module, path in MODULES.items()
    }
    cycles = []
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles


@pytest.mark.parametrize(
    "path",
    [
        *MODULES.values(),
        *sorted((PROJECT_ROOT / "service" / "api" / "static").glob("*.js")),
    ],
    ids=lambda path: str(path.relative_to(PROJECT_ROOT)),
)
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: split it by responsibility"
