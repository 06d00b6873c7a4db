"""The package's layers (docs/architecture.md): imports only point down, and no module
imports itself back through a circle, TYPE_CHECKING imports included.

The layer of every module is listed here and in docs/architecture.md; a new module must be
placed in both, so the test fails until someone decides where it belongs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vpccni_model

PACKAGE = Path(vpccni_model.__file__).parent

#: Bottom (0) to top. Modules in one layer may import each other, without circles.
LAYERS: dict[str, int] = {
    "_errors": 0,
    "_ipv4": 0,
    "_checks": 0,
    "_env": 0,
    "_version": 0,
    "_iteration": 0,
    "_limits": 1,
    "_stats": 1,
    "_progress": 2,
    "_actions": 1,
    "_events": 1,
    "_subnets": 1,
    "_eniconfig": 2,
    "_config": 2,
    "_maxpods": 2,
    "_lint": 3,
    "_podindex": 2,
    "_model": 3,
    "_eni": 3,
    "_datastore": 4,
    "_goorder": 4,
    "_rules": 5,
    "_state": 6,
    "_policy": 7,
    "pool": 7,
    "_admission": 7,
    "_trunk": 7,
    "_pods": 8,
    "_tick": 9,
    "_tickscratch": 9,
    "_shrink": 8,
    "_nextcheck": 7,
    "_capacity": 7,
    "_maxpods_report": 8,
    "_observe": 8,
    "_outcomes": 8,
    "_lifecycle": 8,
    "_ip6": 0,
    "_ipv6": 8,
    "cloud": 9,
    "_steady": 10,
    "serialize": 10,
    "manifest": 10,
    "node_dump": 10,
    "node_explain": 10,
    "plan": 10,
    "testing": 10,
    "aws": 10,
    "sim": 11,
    "sweep": 12,
    "report": 13,
    "cli": 14,
    "__main__": 14,
    "__init__": 15,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts)


def layer_of(name: str) -> int:
    """A module's layer: its own entry, or its package's (``cloud._fake`` is ``cloud``)."""
    top = name.split(".")[0]
    if name in LAYERS:
        return LAYERS[name]
    assert top in LAYERS, f"{name} has no layer: add it to LAYERS and docs/architecture.md"
    return LAYERS[top]


def imports_of(path: Path) -> set[str]:
    """The vpccni_model modules ``path`` imports (relative to the package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "vpccni_model":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("vpccni_model."):
                found.add(node.module.removeprefix("vpccni_model."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vpccni_model."):
                    found.add(alias.name.removeprefix("vpccni_model."))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        name = name.removesuffix(".__init__") if name != "__init__" else name
        edges[name] = {m for m in imports_of(path) if m != name}
    return edges


def test_every_module_has_a_layer() -> None:
    for name in graph():
        layer_of(name)


def test_imports_only_point_down() -> None:
    upward = [
        (name, target)
        for name, targets in graph().items()
        if name != "__init__"
        for target in targets
        if layer_of(target) > layer_of(name)
    ]
    assert upward == []


def test_no_import_circle() -> None:
    edges = graph()
    known = set(edges)

    def resolve(target: str) -> str:
        # "sim.engine" is a module; "cloud" may be a package (its __init__).
        return target if target in known else target.split(".")[0]

    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    circles: list[list[str]] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(resolve(t) for t in edges.get(name, ())):
            if target not in known or target == "__init__":
                continue
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)
    assert circles == []


def test_core_modules_stay_small() -> None:
    """No core module over ~400 lines (one concept per module)."""
    core = [p for p in PACKAGE.glob("_*.py") if p.name != "__main__.py"] + [PACKAGE / "pool.py"]
    long = {p.name: n for p in core if (n := len(p.read_text().splitlines())) > 420}
    assert long == {}


def test_every_module_says_what_it_owns() -> None:
    missing = [
        module_name(p)
        for p in sorted(PACKAGE.rglob("*.py"))
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []
