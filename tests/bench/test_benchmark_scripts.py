"""The scripts in benchmarks/ are not run by the suite (each takes minutes), so their imports of the
package, many of them inside functions, are checked here: every name they import must exist."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("*.py"))


def package_imports(path: Path):
    """``(line, module, name)`` of every ``from hotelectron... import name`` in the script, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("hotelectron"):
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def test_there_are_scripts_to_check():
    assert len(SCRIPTS) >= 5
    assert any(list(package_imports(path)) for path in SCRIPTS)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_imported_name_exists(path):
    missing = []
    for line, module, name in package_imports(path):
        target = importlib.import_module(module)
        if not hasattr(target, name):
            try:
                importlib.import_module(f"{module}.{name}")  # a submodule
            except ModuleNotFoundError:
                missing.append(f"{path.name}:{line}: {module}.{name}")
    assert not missing, "benchmark scripts import names the package does not have: " + ", ".join(missing)
