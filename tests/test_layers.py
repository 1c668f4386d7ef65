"""The package layout: every own import resolves to a file, layers point one way, no cycles.

Layers, bottom to top:

* ``socialrisk.core``: errors, schema, data paths, network types; imports nothing of ours
  outside itself.
* ``geo`` (data in) and ``risk`` (computation): each imports only itself and the core;
  never each other.
* ``socialrisk`` (settings, pipeline, outputs, CLI) above them, and ``socialrisk.ui`` and
  ``socialrisk.app`` (the app's pages and its Streamlit script) on top: nothing below the app
  imports them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

OWN = ("socialrisk", "geo", "risk")


def _modules() -> dict[str, Path]:
    out = {}
    for top in OWN:
        for f in (ROOT / top).rglob("*.py"):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    out["app"] = ROOT / "app.py"
    return out


def _type_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, runtime: bool = False) -> list[tuple[str, list[str], bool]]:
    """``(module, names, at module level)`` of every import of our own packages.

    With ``runtime``, imports under ``if TYPE_CHECKING:`` (never run) are left out.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(n) for n in tree.body}
    top_level |= {id(c) for n in tree.body if isinstance(n, ast.If) for c in n.body}
    skip = {id(c) for n in tree.body if runtime and _type_only(n) for c in ast.walk(n)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] in OWN:
            found.append((node.module, [a.name for a in node.names], id(node) in top_level))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in OWN:
                    found.append((a.name, [], id(node) in top_level))
    return found


def _layer(module: str) -> str:
    if module == "app" or module.startswith(("socialrisk.ui", "socialrisk.app")):
        return "ui"
    if module.startswith("socialrisk.core"):
        return "core"
    return module.split(".")[0]


ALLOWED = {
    "core": {"core"},
    "geo": {"geo", "core"},
    "risk": {"risk", "core"},
    "socialrisk": {"socialrisk", "geo", "risk", "core"},
    "ui": {"ui", "socialrisk", "geo", "risk", "core"},
}


def test_every_own_import_resolves_to_a_file_in_the_checkout():
    mods = _modules()
    unresolved = []
    for name, path in mods.items():
        for module, names, _ in _imports(path):
            if module not in mods:
                unresolved.append(f"{name}: {module}")
                continue
            for n in names:  # a submodule, or a name the module defines or imports
                if f"{module}.{n}" in mods:
                    continue
                if n == "__version__" or n in _defined(mods[module]):
                    continue
                unresolved.append(f"{name}: {module}.{n}")
    assert len(mods) >= 50 and unresolved == []


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def test_layers_point_one_way():
    wrong = []
    for name, path in _modules().items():
        for module, _, _ in _imports(path):
            if _layer(module) not in ALLOWED[_layer(name)]:
                wrong.append(f"{name} ({_layer(name)}) imports {module} ({_layer(module)})")
    assert wrong == []


def test_risk_imports_nothing_from_pipeline_settings_cli_or_ui():
    for name, path in _modules().items():
        if _layer(name) == "risk":
            assert all(m.startswith(("risk", "socialrisk.core")) for m, _, _ in _imports(path))


def test_own_imports_sit_at_the_top_of_the_file():
    inner = [f"{name}: {m}" for name, path in _modules().items()
             for m, _, top in _imports(path) if not top]
    assert inner == []


def test_no_import_cycles():
    mods = _modules()
    graph = {name: {m for m, _, _ in _imports(path, runtime=True) if m in mods and m != name}
             for name, path in mods.items()}
    for name in graph:  # importing a.b.c runs a/__init__ and a/b/__init__ first
        graph[name] |= {".".join(m.split(".")[:k]) for m in list(graph[name])
                        for k in range(1, m.count(".") + 1)} & (set(mods) - {name})
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(n: str, stack: list[str]) -> bool:
        state[n] = 1
        for m in graph[n]:
            if state.get(m) == 1:
                cycle.extend(stack[stack.index(m):] + [m] if m in stack else [n, m])
                return True
            if m not in state and visit(m, [*stack, m]):
                return True
        state[n] = 2
        return False

    for n in graph:
        if n not in state and visit(n, [n]):
            break
    assert cycle == []


def test_no_file_over_600_lines():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in _modules().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600]
    assert long == []
