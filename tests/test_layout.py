"""The package's layering: the model knows no requests, UI or fonts, and no module imports its way
back to itself (lazy imports inside functions included: they hid a cycle once)."""

from __future__ import annotations

import ast

from .support import REPO

PACKAGE = REPO / "unet"


def imports() -> dict[str, set[str]]:
    """``{module: unet modules it imports}``, every import statement counted, wherever it is."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        base = name.split(".") if is_package else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("unet")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    target = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.startswith("unet"):
                    found.add(target)
        graph[name] = found
    return graph


def test_model_imports_nothing_from_the_request_layer_or_above():
    for name, targets in imports().items():
        if name.startswith("unet.model"):
            outside = {t for t in targets if not t.startswith(("unet.model", "unet.errors"))}
            assert not outside, (name, outside)


def test_no_import_cycles_between_modules():
    graph = imports()

    def resolve(target: str) -> str | None:  # "from .model import X" may name a package
        return target if target in graph else None

    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in map(resolve, graph[name]):
            if target is None or target == name:
                continue
            if name.startswith(target + ".") or target.startswith(name + "."):
                continue  # a package and its own modules: Python's usual __init__ re-exports
            assert state.get(target) != 1, " -> ".join(path + [name, target])
            if target not in state:
                visit(target, path + [name])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [])
