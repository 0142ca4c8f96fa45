"""The vault's core never imports its HTTP layer (the layers stay one-way: http -> core)."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import vaultswitch.vault as vault
import vaultswitch.vault.core as core
import vaultswitch.vault.http as http_layer


def _core_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(core.__path__, core.__name__ + ".")
        if ".migrations" not in m.name
    )


def test_core_modules_are_found() -> None:
    names = _core_modules()
    assert "vaultswitch.vault.core.service" in names
    assert "vaultswitch.vault.core.store" in names


def test_importing_all_of_core_loads_nothing_of_http() -> None:
    # a fresh interpreter: this test process may already have imported the HTTP layer
    script = (
        "import importlib, json, sys\n"
        f"for name in {_core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    assert "vaultswitch.vault.core.service" in loaded  # the check can see what was imported
    leaked = [
        m for m in loaded if m == http_layer.__name__ or m.startswith(http_layer.__name__ + ".")
    ]
    assert leaked == []


def _imports_of(path: Path, module: str) -> set[str]:
    """Every vaultswitch.vault module a source file imports, at top level or inside functions."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m.startswith("vaultswitch.vault")}


def _vault_import_graph() -> dict[str, set[str]]:
    root = Path(vault.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(root.parent).with_suffix("")
        name = "vaultswitch." + ".".join(rel.parts).removesuffix(".__init__")
        modules[name] = path
    return {name: _imports_of(path, name) & modules.keys() for name, path in modules.items()}


def test_no_core_module_imports_the_http_layer() -> None:
    graph = _vault_import_graph()
    assert "vaultswitch.vault.core.service" in graph
    bad = {
        name: sorted(m for m in deps if m.startswith(http_layer.__name__))
        for name, deps in graph.items()
        if name.startswith(core.__name__)
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_vault_modules_import_no_circle() -> None:
    # lazy imports inside functions count too: app.py and server.py used to import each other
    graph = _vault_import_graph()

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for dep in graph[todo.pop()]:
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    circles = sorted(name for name in graph if name in reachable(name))
    assert circles == [], f"modules on an import circle: {circles}"
