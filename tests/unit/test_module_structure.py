"""The package's shape: no import cycle, and a stage run imports each module once."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import breweries

PACKAGE = Path(breweries.__file__).parent
REPO = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """The breweries modules a module imports when it runs (``if TYPE_CHECKING:`` blocks excluded)."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "breweries"}


def test_the_package_has_no_import_cycle() -> None:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: runtime_imports(path) & modules.keys() - {name} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, "import cycle: " + " -> ".join((*path[path.index(name) :], name))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, (*path, name))
        done.add(name)

    for name in sorted(modules):
        visit(name, ())


def test_a_stage_run_imports_each_module_once_and_runs_no_stage_module_as_a_script() -> None:
    env = {**os.environ, "BREWERIES_STAGE": "silver"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", REPO / "images" / "stage" / "run_stage.py", "--help"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    imported = [
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "breweries" in line.rsplit("|", 1)[1]
    ]
    assert "breweries.stages.silver" in imported and "breweries.cli" in imported
    assert len(imported) == len(set(imported)), "a module was imported twice"
